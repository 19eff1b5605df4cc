"""Square's JSON (Connect API v2) in hub terms: money, orders, counts.

Rules taken from Square's OpenAPI description (``Order``, ``OrderLineItem``,
``InventoryCount``, ``InventoryState``): money is an integer ``amount`` in the currency's
smallest unit; a line's ``quantity`` is a decimal string; an order's ``state`` is OPEN,
COMPLETED, CANCELED or DRAFT; only ``IN_STOCK`` units are "on hand and available for
sale", every other state (ORDERED_FROM_VENDOR, RECEIVED_FROM_VENDOR, WASTE, ...) is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hub import Customer, Order, OrderLine, OrderStatus, PaymentStatus, utc

#: ISO 4217 currencies without minor units (Square's amounts are then whole units).
_NO_MINOR = {"JPY", "KRW", "CLP", "ISK", "VND", "XAF", "XOF", "UGX", "PYG"}

#: Square order states in hub terms. A COMPLETED sale at the till was handed over.
STATES = {
    "DRAFT": (OrderStatus.PENDING, PaymentStatus.PENDING),
    "OPEN": (OrderStatus.OPEN, PaymentStatus.PENDING),
    "COMPLETED": (OrderStatus.FULFILLED, PaymentStatus.PAID),
    "CANCELED": (OrderStatus.CANCELLED, PaymentStatus.VOIDED),
}

SELLABLE = "IN_STOCK"


def money(value: Mapping[str, Any] | None) -> Decimal:
    """A Money object (``{"amount": 1250, "currency": "USD"}``) in major units (12.50)."""
    if not value:
        return Decimal("0")
    amount = Decimal(int(value.get("amount") or 0))
    if str(value.get("currency", "")).upper() in _NO_MINOR:
        return amount
    return amount / 100


def units(text: Any, where: str) -> int:
    """A Square quantity ("2", "2.00000") as whole units; ValueError for "1.5" or junk."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ValueError(f"{where}: quantity {text!r} is not a number") from None
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"{where}: quantity {text!r} is not a whole number of units")
    return int(value)


def _rounded_up(text: Any) -> int:
    """A measured quantity ("1.5") as whole units, rounded up; 0 for junk."""
    try:
        return max(0, int(Decimal(str(text)).to_integral_value(rounding="ROUND_CEILING")))
    except InvalidOperation:
        return 0


def is_return(order: Mapping[str, Any]) -> bool:
    """An order that only takes units back (``returns``, no ``line_items``)."""
    return bool(order.get("returns")) and not order.get("line_items")


def returned_units(returns: Iterable[Mapping[str, Any]], source_id: str) -> dict[str, int]:
    """Units returned per source line uid, over every return order of ``source_id``
    (lines sold by measure are left out: they took no stock)."""
    out: dict[str, int] = {}
    for order in returns:
        for ret in order.get("returns") or []:
            if ret.get("source_order_id") != source_id:
                continue
            for line in ret.get("return_line_items") or []:
                uid = str(line.get("source_line_item_uid", ""))
                try:
                    back = units(line.get("quantity", "0"), f"return {order.get('id')}")
                except ValueError:  # a line sold by measure took no stock
                    continue
                out[uid] = out.get(uid, 0) + back
    return out


def payment(order: Mapping[str, Any], default: PaymentStatus) -> PaymentStatus:
    """Paid, partly or wholly refunded, from the order's ``refunds`` against its total."""
    refunded = sum(
        (
            money(r.get("amount_money"))
            for r in order.get("refunds") or []
            if r.get("status") in ("COMPLETED", "APPROVED")
        ),
        Decimal("0"),
    )
    total = money(order.get("total_money"))
    if refunded > 0:
        return PaymentStatus.REFUNDED if refunded >= total else PaymentStatus.PARTIALLY_REFUNDED
    return default


def order(
    channel: str,
    data: Mapping[str, Any],
    skus: Mapping[str, str],
    location: str,
    returned: Mapping[str, int] | None = None,
    updated_at: str | None = None,
) -> Order:
    """A Square order as a hub :class:`Order` taken at hub location ``location``.

    ``skus`` maps catalogue object ids to SKUs (a line whose id has no SKU keeps its SKU
    empty, so intake holds the order and says so); a line without a catalogue object (a
    custom amount) takes no stock. ``returned`` is units taken back per line uid (from the
    return orders that name this sale); ``updated_at`` overrides the version time (a
    return's time). A line sold by measure (a fractional quantity, e.g. 1.5 kg) is kept
    rounded up and takes no stock: the hub counts whole units only. Raises KeyError for an
    order without ``id``.
    """
    status, paid = STATES.get(str(data.get("state")), (OrderStatus.PENDING, PaymentStatus.UNKNOWN))
    returned = returned or {}
    lines = []
    for n, item in enumerate(data.get("line_items") or [], 1):
        catalogue = item.get("catalog_object_id")
        measured = False
        try:
            quantity = units(item.get("quantity", "0"), f"order {data.get('id')} line {n}")
        except ValueError:  # sold by measure (1.5 kg): kept, but takes no whole units
            quantity, measured = _rounded_up(item.get("quantity", "0")), True
        done = quantity if status is OrderStatus.FULFILLED else 0
        lines.append(
            OrderLine(
                sku=skus.get(catalogue, "") if catalogue else "",
                quantity=quantity,
                unit_price=money(item.get("base_price_money")),
                title=str(item.get("name") or item.get("variation_name") or ""),
                external_id=str(item.get("uid", "")),
                fulfilled_quantity=done,
                returned_quantity=min(done, returned.get(str(item.get("uid", "")), 0)),
                stocked=bool(catalogue)
                and item.get("item_type", "ITEM") == "ITEM"
                and not measured,
            )
        )
    total = money(data.get("total_money"))
    currency = str((data.get("total_money") or {}).get("currency") or "USD")
    pay = payment(data, paid)
    if status is OrderStatus.FULFILLED and pay is PaymentStatus.REFUNDED and returned:
        status = OrderStatus.REFUNDED
    return Order(
        channel=channel,
        external_id=str(data["id"]),
        lines=tuple(lines),
        currency=currency,
        total=total,
        status=status,
        payment_status=pay,
        customer=Customer(external_id=str(data.get("customer_id", ""))),
        placed_at=utc(data.get("created_at")),
        updated_at=utc(updated_at or data.get("updated_at")),
        number=str(data.get("reference_id") or data["id"]),
        notes=str((data.get("source") or {}).get("name", "")),
        location=location,
    )


def in_stock(counts: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """IN_STOCK units per (catalogue object id, location id); rows in any other state
    (ORDERED_FROM_VENDOR, WASTE, ...) are not stock. A pair without an IN_STOCK row is
    absent: unknown, not zero. Fractional counts are rounded down to whole units."""
    out: dict[tuple[str, str], int] = {}
    for row in counts:
        if row.get("state") != SELLABLE:
            continue
        try:
            quantity = int(
                Decimal(str(row.get("quantity", "0"))).to_integral_value(rounding="ROUND_FLOOR")
            )
        except InvalidOperation:
            continue
        out[(str(row.get("catalog_object_id")), str(row.get("location_id")))] = quantity
    return out
