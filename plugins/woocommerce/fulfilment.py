"""Recording a shipment in WooCommerce: status ``completed``, a tracking note, and the
WooCommerce Shipment Tracking meta when the store uses that extension.

Each step is safe to repeat, so the core may retry a fulfilment that failed half-way or
whose answer was lost: the status, the tracking item and the note are only written when
the order does not hold them already.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from hub import ChannelError

from .client import WooClient

# Statuses a shipment cannot complete: the order is void or its stock went back already.
UNSHIPPABLE = frozenset({"cancelled", "refunded", "failed", "trash"})


def tracking_note(carrier: str, tracking_number: str, tracking_url: str = "") -> str:
    """The note left on the order for the merchant (and the customer)."""
    note = f"Shipped with {carrier}, tracking number {tracking_number}"
    return f"{note}: {tracking_url}" if tracking_url else note


def tracking_item(carrier: str, tracking_number: str, tracking_url: str) -> dict[str, str]:
    """One entry of the Shipment Tracking extension's ``_wc_shipment_tracking_items`` meta."""
    return {
        "tracking_provider": "",
        "custom_tracking_provider": carrier,
        "custom_tracking_link": tracking_url,
        "tracking_number": tracking_number,
        "date_shipped": str(int(time.time())),
        "tracking_id": hashlib.md5(f"{carrier}:{tracking_number}".encode()).hexdigest(),
    }


def _meta_value(order: dict[str, Any], key: str) -> list[dict[str, Any]]:
    for meta in order.get("meta_data") or ():
        if meta.get("key") == key and isinstance(meta.get("value"), list):
            return list(meta["value"])
    return []


def fulfill_order(
    client: WooClient,
    order_id: str,
    carrier: str,
    tracking_number: str,
    tracking_url: str = "",
    *,
    meta_key: str | None = None,
    to_customer: bool = True,
) -> None:
    """Complete ``order_id`` and record the tracking number on it.

    Idempotent: an order already ``completed`` with this tracking note (and item, when
    ``meta_key`` is set) is left as it is, without a write. Raises a non-retryable
    :class:`ChannelError` for an order the store has cancelled, refunded, failed or
    trashed: completing it would take its stock off the shelf again.
    """
    order = client.get(f"orders/{order_id}").data
    status = str(order.get("status") or "")
    if status in UNSHIPPABLE:
        raise ChannelError(
            f"WooCommerce order {order_id} is {status} in the store; it cannot be marked "
            f"shipped with {carrier} {tracking_number}".rstrip(),
            status=409,
        )
    note = tracking_note(carrier, tracking_number, tracking_url)
    notes = client.get(f"orders/{order_id}/notes").data
    noted = any(str(n.get("note", "")) == note for n in notes)
    change: dict[str, Any] = {}
    if status != "completed":
        change["status"] = "completed"
    if meta_key:
        items = _meta_value(order, meta_key)
        if not any(i.get("tracking_number") == tracking_number for i in items):
            items.append(tracking_item(carrier, tracking_number, tracking_url))
            change["meta_data"] = [{"key": meta_key, "value": items}]
    if change:
        client.put(f"orders/{order_id}", change)
    if not noted:
        client.post(f"orders/{order_id}/notes", {"note": note, "customer_note": to_customer})
