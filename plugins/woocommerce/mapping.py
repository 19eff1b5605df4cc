"""WooCommerce ``wc/v3`` payloads ↔ hub data classes.

Money comes as strings with the store's decimals ("29.35") and becomes ``Decimal``
without passing through float. Times come twice, in the site's timezone
(``date_modified``) and as GMT (``date_modified_gmt``, no offset); only the ``_gmt``
fields are read, so the site's timezone setting never shifts an order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from hub import (
    Address,
    Customer,
    Listing,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    StockResult,
    StockUpdate,
    money,
    utc,
)

Payload = Mapping[str, Any]

#: Woo order status → (hub order status, payment status before refunds are counted).
#: ``failed`` stays pending: the customer may pay again and the order then moves on.
ORDER_STATUSES: dict[str, tuple[OrderStatus, PaymentStatus]] = {
    "pending": (OrderStatus.PENDING, PaymentStatus.PENDING),
    "processing": (OrderStatus.OPEN, PaymentStatus.PAID),
    "on-hold": (OrderStatus.ON_HOLD, PaymentStatus.PENDING),
    "completed": (OrderStatus.FULFILLED, PaymentStatus.PAID),
    "cancelled": (OrderStatus.CANCELLED, PaymentStatus.VOIDED),
    "refunded": (OrderStatus.REFUNDED, PaymentStatus.REFUNDED),
    "failed": (OrderStatus.PENDING, PaymentStatus.FAILED),
    "trash": (OrderStatus.CANCELLED, PaymentStatus.VOIDED),
}


def gmt(payload: Payload, field: str) -> datetime | None:
    """The ``<field>_gmt`` timestamp of a payload as aware UTC, or None when absent."""
    value = payload.get(f"{field}_gmt")
    return utc(value) if value else None


def order_statuses(payload: Payload) -> tuple[OrderStatus, PaymentStatus]:
    """Map Woo's one status field (plus refunds and date_paid) to hub order and payment status."""
    status, payment = ORDER_STATUSES.get(
        str(payload.get("status", "")), (OrderStatus.PENDING, PaymentStatus.UNKNOWN)
    )
    if status is OrderStatus.CANCELLED and payload.get("date_paid_gmt"):
        payment = PaymentStatus.PAID  # paid, then cancelled: the money is still with the store
    refunded = sum((abs(money(r.get("total"))) for r in payload.get("refunds") or ()), Decimal(0))
    if payment is PaymentStatus.PAID and refunded > 0:
        total = money(payload.get("total"))
        payment = PaymentStatus.REFUNDED if refunded >= total else PaymentStatus.PARTIALLY_REFUNDED
    return status, payment


def unit_price(item: Payload) -> Decimal:
    """Price per unit of a line item: subtotal / quantity when exact, else Woo's own price."""
    quantity = int(item.get("quantity") or 0)
    subtotal = money(item.get("subtotal"))
    if quantity > 0:
        per_unit = subtotal / quantity
        if per_unit * quantity == subtotal and per_unit == per_unit.quantize(Decimal("0.0001")):
            return per_unit
    return money(item.get("price"))


#: Order line item meta that ``wc_restock_refunded_items`` (WooCommerce,
#: includes/wc-order-functions.php) keeps: the running total of the line's refunded units
#: it put back into stock. Woo writes it only when a refund is created with
#: ``api_restock`` (wp-admin: "Restock refunded items"), the line's stock had been reduced
#: and the product manages stock. The refund object does not say whether it restocked
#: (``api_restock`` is write-only, order-refunds.md), but wc/v3 returns every meta of a
#: line item in its ``meta_data``, underscore keys included (the refund example there
#: shows ``_refunded_item_id``), so the order itself tells, in pulls and webhooks alike.
RESTOCKED_META = "_restock_refunded_items"


def meta_value(item: Payload, key: str) -> Any:
    """The value of ``key`` in an object's ``meta_data``; None when absent."""
    return next((m.get("value") for m in item.get("meta_data") or () if m.get("key") == key), None)


def has_shipped(payload: Payload) -> bool:
    """Whether every unit of the order has shipped. Woo has no partial shipments: an order
    is ``completed`` once delivered or shipped; a completed order later refunded in full
    turns ``refunded`` but keeps its ``date_completed_gmt``."""
    status = payload.get("status")
    return status == "completed" or (
        status == "refunded" and bool(payload.get("date_completed_gmt"))
    )


def item_id(item: Payload) -> str:
    """The catalogue item a line sells: its variation, else its product ("0": none)."""
    return str(item.get("variation_id") or item.get("product_id") or 0)


def order_line(
    item: Payload, shipped: bool = False, virtual: Collection[str] = frozenset()
) -> OrderLine:
    """One ``line_items`` entry → OrderLine.

    ``quantity`` is what Woo says was ordered (a refund does not change it). Units a
    refund restocked (:data:`RESTOCKED_META`) before the order shipped never leave, so
    they are taken off the quantity; once it has ``shipped`` (:func:`has_shipped`) every
    unit counts as fulfilled and the restocked ones as returned. A line that sells
    nothing of the catalogue (``product_id`` 0: an item added by hand in wp-admin, which
    has no SKU) or a virtual product (``virtual`` holds their ids, see :func:`item_id`)
    takes no stock; another line without SKU keeps sku="" for the core to hold.
    """
    ordered = int(item.get("quantity") or 0)
    restocked = max(0, min(ordered, int(meta_value(item, RESTOCKED_META) or 0)))
    kept = ordered if shipped else ordered - restocked
    return OrderLine(
        sku=str(item.get("sku") or ""),
        quantity=kept,
        unit_price=unit_price(item),
        title=str(item.get("name") or ""),
        external_id=str(item.get("id", "")),
        fulfilled_quantity=kept if shipped else 0,
        returned_quantity=restocked if shipped else 0,
        stocked=item_id(item) != "0" and item_id(item) not in virtual,
    )


def address(part: Payload, fallback_phone: str = "") -> Address:
    """A Woo ``shipping`` or ``billing`` object → Address."""
    name = " ".join(p for p in (part.get("first_name"), part.get("last_name")) if p)
    return Address(
        name=name,
        company=part.get("company") or "",
        line1=part.get("address_1") or "",
        line2=part.get("address_2") or "",
        city=part.get("city") or "",
        region=part.get("state") or "",
        postcode=part.get("postcode") or "",
        country=part.get("country") or "",
        phone=part.get("phone") or fallback_phone,
    )


def shipping_address(payload: Payload) -> Address:
    """Where to deliver: the shipping address, or billing when the order has none."""
    billing = payload.get("billing") or {}
    shipping = payload.get("shipping") or {}
    chosen = shipping if shipping.get("address_1") else billing
    return address(chosen, fallback_phone=billing.get("phone") or "")


def customer(payload: Payload) -> Customer:
    """The buyer, from ``customer_id`` and the billing details."""
    billing = payload.get("billing") or {}
    customer_id = payload.get("customer_id") or 0
    return Customer(
        external_id=str(customer_id) if customer_id else "",
        name=" ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p),
        email=billing.get("email") or "",
        phone=billing.get("phone") or "",
        company=billing.get("company") or "",
    )


def order(channel: str, payload: Payload, virtual: Collection[str] = frozenset()) -> Order:
    """A Woo order payload (REST or webhook) → hub Order, in UTC and exact decimals;
    ``virtual``: ids of the virtual products and variations it may sell."""
    status, payment = order_statuses(payload)
    shipped = has_shipped(payload)
    return Order(
        channel=channel,
        external_id=str(payload["id"]),
        lines=tuple(order_line(item, shipped, virtual) for item in payload.get("line_items") or ()),
        currency=str(payload.get("currency") or "USD"),
        total=money(payload.get("total")),
        status=status,
        payment_status=payment,
        customer=customer(payload),
        shipping_address=shipping_address(payload),
        placed_at=gmt(payload, "date_created"),
        updated_at=gmt(payload, "date_modified"),
        notes=str(payload.get("customer_note") or ""),
        number=str(payload.get("number") or payload["id"]),
    )


def is_managed(item: Payload) -> bool:
    """True when Woo tracks stock for this very item (a variation's "parent" does not count)."""
    return item.get("manage_stock") is True


def listing(item: Payload, parent: Payload | None = None) -> Listing:
    """A simple product, or a variation of ``parent``, → Listing."""
    managed = is_managed(item)
    title = str(item.get("name") or "")
    if parent is not None:
        options = ", ".join(str(a.get("option")) for a in item.get("attributes") or ())
        title = f"{parent.get('name', '')} – {options}" if options else str(parent.get("name"))
    quantity = item.get("stock_quantity")
    return Listing(
        sku=str(item.get("sku") or ""),
        external_id=str(item["id"]),
        parent_id=str(parent["id"]) if parent is not None else "",
        title=title,
        quantity=int(quantity) if managed and quantity is not None else None,
        managed=managed,
    )


def stock_payload(updates: Sequence[StockUpdate]) -> dict[str, list[dict[str, int]]]:
    """The body of a ``products/batch`` or ``variations/batch`` call setting quantities."""
    return {"update": [{"id": int(u.external_id), "stock_quantity": u.quantity} for u in updates]}


def unaddressable(updates: Sequence[StockUpdate]) -> dict[int, StockResult]:
    """Failed results, by position, for updates whose ids cannot be Woo ids (not numeric)."""
    return {
        index: StockResult(
            u.sku,
            u.external_id,
            ok=False,
            error=f"{u.external_id!r} is not a WooCommerce product or variation id",
        )
        for index, u in enumerate(updates)
        if not (u.external_id.isdigit() and (u.parent_id or "0").isdigit())
    }


def batch_answers(data: Any) -> dict[str, Payload]:
    """The ``update`` entries of a batch reply, by id (empty if the reply has none)."""
    entries = data.get("update") if isinstance(data, dict) else None
    return {str(item.get("id")): item for item in entries or () if isinstance(item, dict)}


def stock_result(update: StockUpdate, item: Payload | None) -> StockResult:
    """What Woo answered for one update (``item`` is its entry in the batch reply, if any)."""
    if item is None:
        return StockResult(
            update.sku,
            update.external_id,
            ok=False,
            error=f"WooCommerce did not answer for id {update.external_id}",
        )
    if "error" in item:
        error = item["error"] or {}
        return StockResult(
            update.sku,
            update.external_id,
            ok=False,
            error=f"{error.get('code', 'error')}: {error.get('message', '')}",
        )
    if not is_managed(item):
        return StockResult(
            update.sku,
            update.external_id,
            ok=False,
            error=f"WooCommerce does not manage stock for SKU {update.sku!r} "
            f"(id {update.external_id}); tick 'Manage stock?' on it to let the hub set it",
        )
    confirmed = item.get("stock_quantity")
    return StockResult(
        update.sku,
        update.external_id,
        ok=True,
        confirmed=int(confirmed) if confirmed is not None else None,
    )
