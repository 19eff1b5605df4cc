"""Reading orders back: lists and the full record of one order with its history.

Inside the hub an order is named by its hub id (an integer). People name one by its hub
id (``42``) or by ``channel:external_id`` (``web:1001``): two channels may well use the
same external id, so a bare external id is refused with the candidates spelt out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import in_list
from hub.core.models import order_event_t, order_line_t, order_t
from hub.errors import InvalidInput, NotFound
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


REF_HELP = (
    "The order: its hub id (42) or channel:external_id (web:1001). A bare external id "
    "is refused, since channels may share one; the error lists the channel:external_id "
    "forms to choose from."
)
_CANDIDATES = 10  # external-id matches named in an error, at most
_MAX_ID = 2**31 - 1  # hub ids are INTEGER columns


def order_id(connection: Connection, ref: str | int) -> int:
    """The hub id of the order ``ref`` names: a hub id (``42`` or ``"42"``) or
    ``"channel:external_id"``.

    :class:`NotFound` (field ``order``) when no order matches; :class:`InvalidInput`
    (field ``order``) for text that is no hub id but some channels' external id, naming
    each candidate as ``channel:external_id``.
    """
    o = order_t.c
    text = str(ref).strip()
    number = text.isascii() and text.isdigit()
    if number and int(text) <= _MAX_ID:
        found = connection.scalar(sa.select(o.id).where(o.id == int(text)))
        if found is not None:
            return int(found)
    channel, colon, external_id = text.partition(":")
    if colon:
        found = connection.scalar(
            sa.select(o.id).where(o.channel == channel, o.external_id == external_id)
        )
        if found is not None:
            return int(found)
    candidates = [
        f"{c}:{e}"
        for c, e in connection.execute(
            sa.select(o.channel, o.external_id)
            .where(o.external_id == text)
            .order_by(o.channel)
            .limit(_CANDIDATES + 1)
        )
    ]
    if candidates:
        shown = ", ".join(candidates[:_CANDIDATES]) + (
            " and more" if len(candidates) > _CANDIDATES else ""
        )
        said = f"no order has hub id {text}, but" if number else "hub ids are numbers;"
        raise InvalidInput(
            f"order {text!r}: {said} {text!r} is the external id of {shown}; "
            "name the order as channel:external_id",
            field="order",
        )
    if colon:
        raise NotFound(f"no order {external_id!r} on channel {channel!r}", field="order")
    raise NotFound(
        f"no order {text!r}: give its hub id (42) or channel:external_id (web:1001)",
        field="order",
    )


def find_order(connection: Connection, ref: str | int) -> OrderRecord:
    """One order with its lines and history, named as :func:`order_id` reads ``ref``."""
    return load_order(connection, order_id(connection, ref))


def load_order(connection: Connection, hub_id: int) -> OrderRecord:
    """The order with hub id ``hub_id``; :class:`NotFound` when there is none."""
    row = connection.execute(sa.select(order_t).where(order_t.c.id == hub_id)).mappings().first()
    if row is None:
        raise NotFound(f"no order with hub id {hub_id}", field="order")
    return _record(connection, dict(row))


def _record(connection: Connection, row: dict) -> OrderRecord:
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
                fulfilled_quantity=ln["fulfilled_quantity"],
                returned_quantity=ln["returned_quantity"],
                stocked=ln["stocked"],
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
        billing_address=Address(
            name=o["bill_name"],
            line1=o["bill_line1"],
            line2=o["bill_line2"],
            city=o["bill_city"],
            region=o["bill_region"],
            postcode=o["bill_postcode"],
            country=o["bill_country"],
        ),
        po_number=o["po_number"],
        requested_date=o["requested_date"],
    )


def _status(row: dict, as_channel_sent: bool) -> OrderStatus:
    keys = ("channel_status", "status") if as_channel_sent else ("status",)
    for value in (row.get(key) for key in keys):
        if isinstance(value, str) and value in OrderStatus._value2member_map_:
            return OrderStatus(value)
    return OrderStatus.OPEN


@dataclass(frozen=True)
class HeldOrder:
    """An order on hold, for a fresh decision: ``order`` as the channel sent it, or
    ``error`` saying why it could not be rebuilt (``order`` is then None)."""

    id: int
    ref: str  # channel:external_id, for people
    order: Order | None
    error: str = ""


def held_orders(
    connection: Connection, limit: int = 1000, ids: Sequence[int] | None = None
) -> list[HeldOrder]:
    """Up to ``limit`` orders on hold, oldest first, each by hub id (only those of
    ``ids`` when given); one that cannot be read back carries its error instead of
    failing the others."""
    o = order_t.c
    query = sa.select(order_t).where(o.status == "on_hold")
    if ids is not None:
        query = query.where(in_list(connection, o.id, list(ids)))
    rows = connection.execute(query.order_by(o.id).limit(limit)).mappings()
    held = []
    for row in [dict(r) for r in rows]:
        ref = f"{row['channel']}:{row['external_id']}"
        try:
            order = to_order(_record(connection, row), as_channel_sent=True)
        except Exception as error:  # a stored row the code no longer reads: report it
            held.append(HeldOrder(row["id"], ref, None, f"{type(error).__name__}: {error}"))
        else:
            held.append(HeldOrder(row["id"], ref, order))
    return held
