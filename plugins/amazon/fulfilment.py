"""Telling Amazon a merchant-fulfilled order shipped: v0 ``confirmShipment``.

The Orders API 2026-01-01 has no shipment operation; ``confirmShipment``
(``POST /orders/v0/orders/{orderId}/shipmentConfirmation``, ordersV0.json) takes one
package: ``packageReferenceId`` (a positive number unique within the order),
``carrierCode``, ``trackingNumber``, ``shipDate`` and the order items with quantities.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub import ChannelError

from .mapping import is_amazon_fulfilled

#: Carrier codes Amazon knows by name (a subset of its CarrierCode list); any other
#: carrier is sent as "Other" with its name in ``carrierName``.
CARRIER_CODES = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dpd": "DPD",
    "royal mail": "Royal Mail",
    "hermes": "Hermes",
    "gls": "GLS",
    "canada post": "Canada Post",
}


def already_confirmed(order: Mapping[str, Any], tracking_number: str) -> bool:
    """True when the order holds a package with this tracking number (``packages``)."""
    return any(
        str(p.get("trackingNumber") or "") == tracking_number for p in order.get("packages") or ()
    )


def refusal(order_id: str, order: Mapping[str, Any]) -> str:
    """Why the order cannot be confirmed as shipped by the merchant, or "" when it can."""
    if is_amazon_fulfilled(order):
        return f"Amazon order {order_id} is fulfilled by Amazon; Amazon ships it, not the merchant"
    status = str((order.get("fulfillment") or {}).get("fulfillmentStatus") or "")
    if status in ("CANCELLED", "PENDING", "PENDING_AVAILABILITY"):
        return f"Amazon order {order_id} is {status}; it cannot be confirmed as shipped"
    return ""


def confirmation(
    order: Mapping[str, Any],
    marketplace_id: str,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime | None = None,
) -> dict[str, Any]:
    """The ConfirmShipmentRequest body for every unit not yet shipped.

    Raises a non-retryable ChannelError when no unit is left to ship.
    """
    items: list[dict[str, Any]] = []
    for item in order["orderItems"]:
        state = item.get("fulfillment") or {}
        left = int(state.get("quantityUnfulfilled", item["quantityOrdered"]))
        if left > 0:
            items.append({"orderItemId": str(item["orderItemId"]), "quantity": left})
    if not items:
        raise ChannelError(
            f"Amazon order {order['orderId']} has no unit left to ship", retryable=False, status=409
        )
    code = CARRIER_CODES.get(carrier.strip().lower(), "Other")
    detail: dict[str, Any] = {
        "packageReferenceId": str(len(order.get("packages") or ()) + 1),
        "carrierCode": code,
        "trackingNumber": tracking_number,
        "shipDate": (shipped_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "orderItems": items,
    }
    if code == "Other":
        detail["carrierName"] = carrier
    return {"marketplaceId": marketplace_id, "packageDetail": detail}
