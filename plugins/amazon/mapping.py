"""Amazon payloads ↔ hub data classes: orders (Orders API 2026-01-01) and listings
(Listings Items API 2021-08-01).

Order status, from ``fulfillment.fulfillmentStatus`` (FulfillmentStatus of
``orders_2026-01-01.json``):

===================== ============= ============ ==========================================
Amazon                hub status    payment      stock
===================== ============= ============ ==========================================
PENDING, PENDING_AV.. PENDING       PENDING      reserved; "unpaid" holds it (checks plugin)
UNSHIPPED             OPEN          PAID         reserved
PARTIALLY_SHIPPED     OPEN          PAID         shipped units sold, the rest reserved
SHIPPED               FULFILLED     PAID         sold
CANCELLED             CANCELLED     VOIDED       released
UNFULFILLABLE         OPEN          PAID         (Amazon-fulfilled orders only)
===================== ============= ============ ==========================================

An order ``fulfilledBy`` AMAZON (AFN, "Fulfilled by Amazon") is kept for the sales
picture, but every line has ``stocked=False``: Amazon ships it from its own stock, so it
never reserves or takes units of the merchant's locations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub import (
    Address,
    Customer,
    Listing,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    money,
    utc,
)

DEFAULT_CODE = "DEFAULT"  # fulfillment_channel_code of the merchant's own offer
AFN_TAG = "fulfilled-by-amazon"

STATUSES: dict[str, tuple[OrderStatus, PaymentStatus]] = {
    "PENDING": (OrderStatus.PENDING, PaymentStatus.PENDING),
    "PENDING_AVAILABILITY": (OrderStatus.PENDING, PaymentStatus.PENDING),
    "UNSHIPPED": (OrderStatus.OPEN, PaymentStatus.PAID),
    "PARTIALLY_SHIPPED": (OrderStatus.OPEN, PaymentStatus.PAID),
    "SHIPPED": (OrderStatus.FULFILLED, PaymentStatus.PAID),
    "CANCELLED": (OrderStatus.CANCELLED, PaymentStatus.VOIDED),
    "UNFULFILLABLE": (OrderStatus.OPEN, PaymentStatus.PAID),
}


def is_amazon_fulfilled(data: Mapping[str, Any]) -> bool:
    """True for an order Amazon fulfils (``fulfillment.fulfilledBy`` AMAZON)."""
    return str((data.get("fulfillment") or {}).get("fulfilledBy") or "") == "AMAZON"


def _amount(money_field: Mapping[str, Any] | None) -> tuple[Any, str]:
    if not money_field:
        return money(None), ""
    return money(money_field.get("amount")), str(money_field.get("currencyCode") or "")


def _address(data: Mapping[str, Any] | None) -> Address:
    if not data:
        return Address()
    return Address(
        name=str(data.get("name") or ""),
        company=str(data.get("companyName") or ""),
        line1=str(data.get("addressLine1") or ""),
        line2=" ".join(str(data.get(k) or "") for k in ("addressLine2", "addressLine3")).strip(),
        city=str(data.get("city") or ""),
        region=str(data.get("stateOrRegion") or ""),
        postcode=str(data.get("postalCode") or ""),
        country=str(data.get("countryCode") or ""),
        phone=str(data.get("phone") or ""),
    )


def order(channel: str, data: Mapping[str, Any]) -> Order:
    """An ``Order`` of the Orders API 2026-01-01 (searchOrders / getOrder) in hub terms.

    Raises KeyError or ValueError for an order missing what the model requires
    (``orderId``, ``lastUpdatedTime``, ``orderItems``, ``quantityOrdered``).
    """
    fulfillment = data.get("fulfillment") or {}
    state = str(fulfillment.get("fulfillmentStatus") or "UNSHIPPED")
    status, payment = STATUSES.get(state, (OrderStatus.OPEN, PaymentStatus.UNKNOWN))
    amazon = is_amazon_fulfilled(data)
    currency = ""
    lines = []
    for item in data["orderItems"]:
        product = item.get("product") or {}
        price, currency_of_line = _amount((product.get("price") or {}).get("unitPrice"))
        currency = currency or currency_of_line
        ordered = int(item["quantityOrdered"])
        shipped = int((item.get("fulfillment") or {}).get("quantityFulfilled") or 0)
        lines.append(
            OrderLine(
                sku=str(product.get("sellerSku") or ""),
                quantity=ordered,
                unit_price=price,
                title=str(product.get("title") or ""),
                external_id=str(item.get("orderItemId") or ""),
                fulfilled_quantity=min(shipped, ordered),
                stocked=not amazon,
            )
        )
    total, total_currency = _amount((data.get("proceeds") or {}).get("grandTotal"))
    if not (data.get("proceeds") or {}).get("grandTotal"):
        total = sum((ln.unit_price * ln.quantity for ln in lines), money(0))
    buyer = data.get("buyer") or {}
    return Order(
        channel=channel,
        external_id=str(data["orderId"]),
        number=str(data["orderId"]),
        lines=tuple(lines),
        currency=total_currency or currency or "USD",
        total=total,
        status=status,
        payment_status=payment,
        customer=Customer(
            name=str(buyer.get("buyerName") or ""),
            email=str(buyer.get("buyerEmail") or ""),
            company=str(buyer.get("buyerCompanyName") or ""),
        ),
        shipping_address=_address((data.get("recipient") or {}).get("deliveryAddress")),
        placed_at=utc(str(data["createdTime"])) if data.get("createdTime") else None,
        updated_at=utc(str(data["lastUpdatedTime"])),
        po_number=str(buyer.get("buyerPurchaseOrderNumber") or ""),
        tags=(AFN_TAG,) if amazon else (),
    )


def listing(item: Mapping[str, Any]) -> Listing:
    """An ``Item`` of searchListingsItems as a hub listing.

    The quantity is that of the merchant's own offer (``fulfillmentChannelCode``
    DEFAULT). A SKU without a DEFAULT entry is only offered through Amazon's fulfilment
    network: ``managed=False``, the hub never sends it a quantity.
    """
    summaries = item.get("summaries") or [{}]
    own = [
        entry
        for entry in item.get("fulfillmentAvailability") or ()
        if entry.get("fulfillmentChannelCode") == DEFAULT_CODE
    ]
    quantity = int(own[0].get("quantity") or 0) if own else None
    return Listing(
        sku=str(item["sku"]),
        external_id=str(item["sku"]),
        parent_id="",
        title=str(summaries[0].get("itemName") or ""),
        quantity=quantity,
        managed=bool(own),
    )


def availability(quantity: int) -> list[dict[str, Any]]:
    """The ``fulfillment_availability`` attribute setting the merchant's own quantity only.

    Exactly one entry, ``DEFAULT``: quantities of Amazon's fulfilment network
    (``AMAZON_*`` codes) are Amazon's and are never sent.
    """
    return [{"fulfillment_channel_code": DEFAULT_CODE, "quantity": max(0, int(quantity))}]
