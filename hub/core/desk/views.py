"""What the order desk shows: an order's view (lines, holds, allocation, history) and pages
of them, read in a few batched queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import customers
from hub.core.allocation import Allocation, orders_allocation
from hub.core.db import in_list
from hub.core.holds import HoldView, parse_holds, released_codes
from hub.core.models import customer_account_t, order_event_t, order_line_t, order_t
from hub.core.orderbook import order_id
from hub.core.runtime import Hub
from hub.errors import InvalidInput, NotFound
from hub.orders import OrderStatus

_CHUNK = 10_000  # values per IN list on SQLite (its limit on parameters is 32,766)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)] or [[]]


@dataclass(frozen=True)
class LineView:
    line_no: int
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    fulfilled_quantity: int
    returned_quantity: int


@dataclass(frozen=True)
class EventView:
    """One history entry: ``at`` aware UTC; ``actor`` e.g. "cli:alice"; ``origin`` "cli",
    "api", "web", "import" or "" (intake, jobs)."""

    at: datetime
    status: str
    note: str
    actor: str
    origin: str


@dataclass(frozen=True)
class OrderView:
    """An order as pages, the API and the CLI show it. Money is Decimal in ``currency``;
    ``window_start``/``window_end`` aware UTC datetimes (or None); ``requested_date`` the
    calendar day in the merchant's zone."""

    id: int
    channel: str
    external_id: str
    number: str
    status: str
    hold_reason: str
    holds: list[HoldView]
    account_number: str
    customer_name: str
    customer_email: str
    po_number: str
    requested_date: date | None
    window_start: datetime | None
    window_end: datetime | None
    currency: str
    total: Decimal
    payment_status: str
    lines: list[LineView]
    allocation: list[Allocation]  # per shipment (location), as hub.core.allocation reads it
    history: list[EventView]
    placed_at: datetime | None
    ship_name: str = ""
    ship_company: str = ""
    ship_line1: str = ""
    ship_line2: str = ""
    ship_city: str = ""
    ship_region: str = ""
    ship_postcode: str = ""
    ship_country: str = ""
    notes: str = ""
    released_holds: tuple[str, ...] = ()  # plugin hold codes a person released
    on_account: bool = False  # unpaid, accepted on the customer's payment terms

    @property
    def ref(self) -> str:
        """``channel:external_id``."""
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True)
class OrderList:
    """A page of :func:`list_orders`: newest first; ``next_cursor`` None on the last page."""

    orders: list[OrderView]
    next_cursor: str | None = None


def order_view(hub: Hub, ref: str | int) -> OrderView:
    """The order ``ref`` names (hub id or ``channel:external_id``, as
    :func:`hub.core.orderbook.order_id` reads it); NotFound / InvalidInput otherwise."""
    return hub.read(lambda c: order_views(c, [order_id(c, ref)])[0])


def order_views(conn: Connection, ids: Sequence[int]) -> list[OrderView]:
    """Views of the orders with hub ids ``ids``, in that order (unknown ids left out).
    Five queries per 10,000 orders."""
    if not ids:
        return []
    if len(ids) > _CHUNK:
        return [v for part in _chunks(list(ids)) for v in order_views(conn, part)]
    o = order_t.c
    rows = {
        r["id"]: dict(r)
        for r in conn.execute(
            sa.select(
                order_t,
                customer_account_t.c.account_number,
                customer_account_t.c.payment_terms_days,
            )
            .outerjoin(customer_account_t, customer_account_t.c.id == o.account_id)
            .where(in_list(conn, o.id, list(ids)))
        ).mappings()
    }
    lines: dict[int, list[LineView]] = defaultdict(list)
    for r in conn.execute(
        sa.select(order_line_t)
        .where(in_list(conn, order_line_t.c.order_id, list(ids)))
        .order_by(order_line_t.c.order_id, order_line_t.c.line_no)
    ):
        lines[r.order_id].append(
            LineView(
                r.line_no,
                r.sku,
                r.title,
                int(r.quantity),
                Decimal(r.unit_price),
                int(r.fulfilled_quantity),
                int(r.returned_quantity),
            )
        )
    events: dict[int, list[EventView]] = defaultdict(list)
    for r in conn.execute(
        sa.select(order_event_t)
        .where(in_list(conn, order_event_t.c.order_id, list(ids)))
        .order_by(order_event_t.c.id)
    ):
        events[r.order_id].append(EventView(r.created_at, r.status, r.note, r.actor, r.origin))
    allocations = orders_allocation(conn, list(rows))
    out = []
    for oid in ids:
        row = rows.get(oid)
        if row is None:
            continue
        on_hold = row["status"] == OrderStatus.ON_HOLD.value
        holds = parse_holds(row["hold_reason"]) if on_hold else []
        out.append(
            OrderView(
                id=oid,
                channel=row["channel"],
                external_id=row["external_id"],
                number=row["number"],
                status=row["status"],
                hold_reason=row["hold_reason"],
                holds=holds,
                account_number=row["account_number"] or "",
                customer_name=row["customer_name"],
                customer_email=row["customer_email"],
                po_number=row["po_number"],
                requested_date=row["requested_date"],
                window_start=row["window_start"],
                window_end=row["window_end"],
                currency=row["currency"],
                total=Decimal(row["total"]),
                payment_status=row["payment_status"],
                lines=lines.get(oid, []),
                allocation=allocations.get(oid, []),
                history=events.get(oid, []),
                placed_at=row["placed_at"],
                ship_name=row["ship_name"],
                ship_company=row["company"],
                ship_line1=row["ship_line1"],
                ship_line2=row["ship_line2"],
                ship_city=row["ship_city"],
                ship_region=row["ship_region"],
                ship_postcode=row["ship_postcode"],
                ship_country=row["ship_country"],
                notes=row["notes"],
                released_holds=tuple(sorted(released_codes(row["released_holds"]))),
                on_account=row["payment_status"] in customers.UNPAID
                and row["payment_terms_days"] is not None
                and all(h.code != "unpaid" for h in holds),
            )
        )
    return out


def list_orders(
    hub: Hub,
    *,
    status: str | None = None,
    channel: str | None = None,
    hold_code: str | None = None,
    account: str | None = None,
    search: str = "",
    limit: int = 50,
    cursor: str | None = None,
) -> OrderList:
    """Orders newest first (by hub id), filtered; ``cursor`` is the ``next_cursor`` of the
    previous page. ``hold_code``: orders on hold for that code (e.g. ``unpaid``,
    ``short_stock``); ``account``: an account number; ``search``: part of the external
    id, number, PO number, customer name or e-mail. ``limit`` 1 to 500. InvalidInput
    (field ``cursor`` / ``limit`` / ``status``) for bad values."""
    if not 1 <= limit <= 500:
        raise InvalidInput(f"limit {limit} must be from 1 to 500", field="limit")
    if status is not None and status not in OrderStatus._value2member_map_:
        known = ", ".join(s.value for s in OrderStatus)
        raise InvalidInput(f"unknown status {status!r} (known: {known})", field="status")
    before = None
    if cursor:
        if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 12:
            raise InvalidInput(f"cursor {cursor[:20]!r} is not one this API gave", field="cursor")
        before = int(cursor)

    def work(conn: Connection) -> OrderList:
        o = order_t.c
        query = sa.select(o.id, o.status, o.hold_reason).order_by(o.id.desc())
        if before is not None:
            query = query.where(o.id < before)
        if status:
            query = query.where(o.status == status)
        if channel:
            query = query.where(o.channel == channel)
        if account:
            aid = conn.scalar(
                sa.select(customer_account_t.c.id).where(
                    customer_account_t.c.account_number == account.strip()
                )
            )
            if aid is None:
                raise NotFound(f"no customer account {account!r}", field="account")
            query = query.where(o.account_id == aid)
        if search:
            like = f"%{search.strip().lower()}%"
            query = query.where(
                sa.or_(
                    sa.func.lower(o.external_id).like(like),
                    sa.func.lower(o.number).like(like),
                    sa.func.lower(o.po_number).like(like),
                    sa.func.lower(o.customer_name).like(like),
                    sa.func.lower(o.customer_email).like(like),
                )
            )
        batch = limit + 1  # one more than a page tells whether another follows
        if hold_code:  # the code is read from the hold text: held orders in batches
            query = query.where(o.status == OrderStatus.ON_HOLD.value)
            batch = max(limit * 4, 200)
        picked: list[int] = []
        more = False
        page = query
        while True:
            rows = conn.execute(page.limit(batch)).all()
            for r in rows:
                if hold_code and hold_code not in {h.code for h in parse_holds(r.hold_reason)}:
                    continue
                if len(picked) == limit:
                    more = True
                    break
                picked.append(r.id)
            if more or len(rows) < batch:
                break
            page = query.where(o.id < rows[-1].id)
        return OrderList(order_views(conn, picked), str(picked[-1]) if more else None)

    return hub.read(work)
