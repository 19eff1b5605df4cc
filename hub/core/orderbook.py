"""Reading orders back: lists and the full record of one order with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.models import order_event_t, order_line_t, order_t
from hub.errors import NotFound
from hub.orders import (
    Address,
    Customer,
    DeliveryWindow,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)


@dataclass(frozen=True)
class OrderSummary:
    id: int
    channel: str
    external_id: str
    number: str
    status: str
    hold_reason: str
    customer: str
    total: Decimal
    currency: str
    placed_at: datetime | None


@dataclass(frozen=True)
class OrderRecord:
    """An order as stored: its row, its lines and its history (oldest first)."""

    order: dict
    lines: list[dict]
    events: list[dict]


def list_orders(
    connection: Connection,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 50,
) -> list[OrderSummary]:
    """The most recent orders, optionally of one status or channel."""
    o = order_t.c
    query = sa.select(order_t).order_by(o.id.desc()).limit(limit)
    if status:
        query = query.where(o.status == status)
    if channel:
        query = query.where(o.channel == channel)
    return [
        OrderSummary(
            r.id,
            r.channel,
            r.external_id,
            r.number,
            r.status,
            r.hold_reason,
            r.customer_name or r.customer_email,
            r.total,
            r.currency,
            r.placed_at,
        )
        for r in connection.execute(query)
    ]


def find_order(connection: Connection, ref: str, channel: str | None = None) -> OrderRecord:
    """One order by hub id (``42``), ``channel:external_id`` or external id."""
    o = order_t.c
    if ":" in ref and channel is None:
        channel, ref = ref.split(":", 1)
    query = sa.select(order_t).where(o.external_id == ref)
    if channel:
        query = query.where(o.channel == channel)
    elif ref.isdigit():
        query = sa.select(order_t).where(sa.or_(o.id == int(ref), o.external_id == ref))
    rows = connection.execute(query).mappings().all()
    if not rows:
        raise NotFound(
            f"no order {ref!r}" + (f" on channel {channel!r}" if channel else ""), field="order"
        )
    if len(rows) > 1:
        options = ", ".join(f"{r['channel']}:{r['external_id']}" for r in rows)
        raise NotFound(f"order {ref!r} is ambiguous; name one of {options}", field="order")
    row = dict(rows[0])
    lines = (
        connection.execute(
            sa.select(order_line_t)
            .where(order_line_t.c.order_id == row["id"])
            .order_by(order_line_t.c.line_no)
        )
        .mappings()
        .all()
    )
    events = (
        connection.execute(
            sa.select(order_event_t)
            .where(order_event_t.c.order_id == row["id"])
            .order_by(order_event_t.c.id)
        )
        .mappings()
        .all()
    )
    return OrderRecord(row, [dict(x) for x in lines], [dict(x) for x in events])


def to_order(record: OrderRecord, *, as_channel_sent: bool = False) -> Order:
    """Rebuild the :class:`hub.Order` data class from a stored record.

    Its status is the hub's (for hooks), or with ``as_channel_sent`` the one the channel
    gave (to decide the order again).
    """
    o = record.order
    window = (
        DeliveryWindow(o["window_start"], o["window_end"])
        if o["window_start"] and o["window_end"]
        else None
    )
    return Order(
        channel=o["channel"],
        external_id=o["external_id"],
        number=o["number"],
        lines=tuple(
            OrderLine(
                sku=ln["sku"],
                quantity=ln["quantity"],
                unit_price=Decimal(ln["unit_price"]),
                title=ln["title"],
                external_id=ln["external_id"],
            )
            for ln in record.lines
        ),
        currency=o["currency"],
        total=Decimal(o["total"]),
        status=_status(o, as_channel_sent),
        payment_status=PaymentStatus(o["payment_status"] or "unknown"),
        customer=Customer(
            external_id=o["customer_id"],
            name=o["customer_name"],
            email=o["customer_email"],
            phone=o["customer_phone"],
            company=o["company"],
        ),
        shipping_address=Address(
            name=o["ship_name"],
            company=o["company"],
            line1=o["ship_line1"],
            line2=o["ship_line2"],
            city=o["ship_city"],
            region=o["ship_region"],
            postcode=o["ship_postcode"],
            country=o["ship_country"],
            phone=o["ship_phone"],
            latitude=o["latitude"],
            longitude=o["longitude"],
        ),
        placed_at=o["placed_at"],
        updated_at=o["version"],
        delivery_window=window,
        notes=o["notes"],
        risk_level=o["risk_level"] or None,
    )


def _status(row: dict, as_channel_sent: bool) -> OrderStatus:
    keys = ("channel_status", "status") if as_channel_sent else ("status",)
    for value in (row.get(key) for key in keys):
        if isinstance(value, str) and value in OrderStatus._value2member_map_:
            return OrderStatus(value)
    return OrderStatus.OPEN


def held_orders(connection: Connection, limit: int = 1000) -> list[Order]:
    """Orders on hold, oldest first, as :class:`hub.Order` for a fresh decision."""
    o = order_t.c
    ids = [
        row.id
        for row in connection.execute(
            sa.select(o.id).where(o.status == "on_hold").order_by(o.id).limit(limit)
        )
    ]
    return [to_order(find_order(connection, str(i)), as_channel_sent=True) for i in ids]
