"""Reading orders back: lists and the full record of one order with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.models import order_event_t, order_line_t, order_t
from hub.errors import NotFound


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


def list_orders(connection: Connection, *, status: str | None = None, channel: str | None = None,
                limit: int = 50) -> list[OrderSummary]:
    """The most recent orders, optionally of one status or channel."""
    o = order_t.c
    query = sa.select(order_t).order_by(o.id.desc()).limit(limit)
    if status:
        query = query.where(o.status == status)
    if channel:
        query = query.where(o.channel == channel)
    return [OrderSummary(r.id, r.channel, r.external_id, r.number, r.status, r.hold_reason,
                         r.customer_name or r.customer_email, r.total, r.currency, r.placed_at)
            for r in connection.execute(query)]


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
        raise NotFound(f"no order {ref!r}" + (f" on channel {channel!r}" if channel else ""),
                       field="order")
    if len(rows) > 1:
        options = ", ".join(f"{r['channel']}:{r['external_id']}" for r in rows)
        raise NotFound(f"order {ref!r} is ambiguous; name one of {options}", field="order")
    row = dict(rows[0])
    lines = connection.execute(sa.select(order_line_t).where(order_line_t.c.order_id == row["id"])
                               .order_by(order_line_t.c.line_no)).mappings().all()
    events = connection.execute(sa.select(order_event_t)
                                .where(order_event_t.c.order_id == row["id"])
                                .order_by(order_event_t.c.id)).mappings().all()
    return OrderRecord(row, [dict(x) for x in lines], [dict(x) for x in events])
