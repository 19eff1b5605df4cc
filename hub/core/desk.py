"""The order desk: what the merchant's people do with orders, from the CLI, API and web.

B2B orders entered by a person or a file (:class:`NewOrder`) become :class:`hub.Order`
of a ``manual`` channel and go through :meth:`Hub.ingest` like every channel's orders:
the same intake, the same checks, the same reservations. The account number travels as
the order's customer id, so intake ties the order to its account.

Every change a person makes (create, edit, release, cancel, return) is recorded in the
order's history with who (:class:`Actor`), from where (origin) and why.

Created orders carry no channel version (``updated_at`` None): intake never lets such a
version replace a stored order, so creating a reference that exists changes nothing.
"""

from __future__ import annotations

import getpass
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import customers, fulfilment, ledger
from hub.core.allocation import Allocation, orders_allocation
from hub.core.config import Settings
from hub.core.db import in_list, run_in_transaction
from hub.core.holds import HoldView, parse_holds
from hub.core.intake import PERSON_HOLD
from hub.core.models import (
    bundle_t,
    customer_account_t,
    location_t,
    movement_t,
    now,
    order_event_t,
    order_line_t,
    order_t,
    product_t,
)
from hub.core.orderbook import load_order, order_id, to_order
from hub.core.runtime import Hub
from hub.errors import Conflict, InvalidInput, NotFound
from hub.orders import (
    Address,
    Customer,
    DeliveryWindow,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from hub.skus import normalise_sku, sku_problem
from hub.stock import StockChange

log = logging.getLogger("hub.desk")

__all__ = [
    "Actor",
    "EventView",
    "HoldView",
    "LineInput",
    "LineView",
    "NewOrder",
    "OrderList",
    "OrderView",
    "Problem",
    "account_problem",
    "build_orders",
    "check_orders",
    "cancel_order",
    "cancel_unpaid",
    "cli_actor",
    "create_order",
    "create_orders",
    "edit_order",
    "existing_references",
    "hold_order",
    "known_skus",
    "list_orders",
    "order_view",
    "order_views",
    "release_order",
    "return_lines",
    "unknown_sku",
]

ORIGINS = ("cli", "api", "web", "import")
_SHIPPED = (OrderStatus.FULFILLED.value, OrderStatus.DELIVERED.value)
_CLOSED = (OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value)
_CHUNK = 10_000  # values per IN list on SQLite (its limit on parameters is 32,766)
_MONEY_MAX = Decimal("1e14")
_ZERO = Decimal("0")


# -- what callers pass --------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts: ``name`` (OS user for the CLI, API token name, web username) and
    ``origin`` ("cli", "api", "web" or "import")."""

    name: str
    origin: str

    def label(self) -> str:
        """``"cli:alice"``: what history records as the actor (the name alone for jobs,
        whose origin is "")."""
        return f"{self.origin}:{self.name}" if self.origin else self.name


def cli_actor() -> Actor:
    """The person at the terminal."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment
        name = "unknown"
    return Actor(name, "cli")


@dataclass(frozen=True)
class LineInput:
    """One line of a B2B order: SKU, units (1 to ledger.MAX_QUANTITY), unit price (None: 0)."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    title: str = ""


@dataclass(frozen=True)
class NewOrder:
    """A B2B order as a person or a file enters it.

    ``account``: an active account's number. ``channel``: a configured ``manual`` channel
    ("" the first one configured). ``reference``: the order's external id ("" generated,
    e.g. ``B2B-000042``). ``requested_date`` and the window's times are in the merchant's
    zone (``hub.timezone``); give both window ends or neither, the end after the start,
    and a window only with a date. ``address_id``: one of the account's delivery
    addresses (None: its default, if any); ``address``: a one-off address instead.
    ``paid``: prepaid; otherwise the order is unpaid (on account for customers with terms).
    """

    account: str
    lines: tuple[LineInput, ...]
    channel: str = ""
    reference: str = ""
    po_number: str = ""
    requested_date: date | None = None
    window_start: time | None = None
    window_end: time | None = None
    address_id: int | None = None
    address: Address | None = None
    notes: str = ""
    paid: bool = False


# -- what callers get ---------------------------------------------------------------------


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


# -- validating and building ----------------------------------------------------------------


def manual_channels(settings: Settings) -> list[str]:
    """Configured, enabled channels of type ``manual``, in configuration order."""
    return [
        name
        for name, section in settings.channels.items()
        if section.get("type") == "manual" and section.get("enabled", True)
    ]


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)] or [[]]


def account_problem(number: str, row: Any) -> str:
    """Why account ``number`` (its row from customers.accounts_by_number, or None) cannot
    take an order: "" when it can."""
    if row is None:
        return f"no customer account {number!r}"
    return "" if row.active else f"account {number!r} is inactive"


def unknown_sku(sku: str) -> str:
    """What is said of a SKU the catalogue does not have."""
    return f"unknown SKU {sku!r}: add it to the catalogue"


def known_skus(conn: Connection, skus: set[str]) -> set[str]:
    """Those of ``skus`` the catalogue has (a query per 10,000)."""
    found: set[str] = set()
    ordered = sorted(skus)
    for part in _chunks(ordered):
        if part:
            found.update(
                conn.scalars(sa.select(product_t.c.sku).where(in_list(conn, product_t.c.sku, part)))
            )
    return found


def _price(value: Decimal | None, where: str) -> Decimal:
    if value is None:
        return Decimal("0")
    try:
        price = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise InvalidInput(
            f"{where}: unit price {value!r} is not an amount", field=where
        ) from error
    if not price.is_finite() or price < 0 or price >= _MONEY_MAX:
        raise InvalidInput(
            f"{where}: unit price {value} must be an amount from 0 to 1e14", field=where
        )
    return price


def _check_lines(
    lines: Sequence[LineInput],
    prefix: str,
    problems: list[InvalidInput] | None = None,
    positions: list[int] | None = None,
) -> list[tuple[str, LineInput]]:
    """(normalised SKU, line) per line; InvalidInput naming the first bad one, or with
    ``problems`` each bad line's appended there (and left out); ``positions`` gets the
    index of each line kept."""
    if not lines:
        raise InvalidInput(
            f"{prefix}lines: an order needs at least one line", field=f"{prefix}lines"
        )
    out = []
    for n, line in enumerate(lines):
        try:
            out.append(_check_line(line, f"{prefix}lines[{n}]"))
            if positions is not None:
                positions.append(n)
        except InvalidInput as error:
            if problems is None:
                raise
            problems.append(error)
    return out


def _check_line(line: LineInput, where: str) -> tuple[str, LineInput]:
    """(normalised SKU, line); InvalidInput naming what is wrong with it."""
    sku = normalise_sku(line.sku or "")
    if not sku:
        raise InvalidInput(f"{where}.sku: a line needs a SKU", field=f"{where}.sku")
    problem = sku_problem(sku)
    if problem:
        raise InvalidInput(f"{where}.sku: {problem}", field=f"{where}.sku")
    quantity = line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput(
            f"{where}.quantity: {quantity!r} is not a whole number", field=f"{where}.quantity"
        )
    if quantity < 1 or quantity > ledger.MAX_QUANTITY:
        raise InvalidInput(
            f"{where}.quantity: {quantity} must be from 1 to {ledger.MAX_QUANTITY:,}",
            field=f"{where}.quantity",
        )
    _price(line.unit_price, f"{where}.unit_price")
    return sku, line


def _window(
    zone: ZoneInfo, day: date | None, start: time | None, end: time | None, prefix: str = ""
) -> DeliveryWindow | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        missing = "window_start" if start is None else "window_end"
        raise InvalidInput(
            f"{prefix}{missing}: give both ends of the delivery window or neither",
            field=f"{prefix}{missing}",
        )
    if day is None:
        raise InvalidInput(
            f"{prefix}requested_date: a delivery window needs the requested date",
            field=f"{prefix}requested_date",
        )
    if end <= start:
        raise InvalidInput(
            f"{prefix}window_end: the window ends at {end:%H:%M}, not after it starts at "
            f"{start:%H:%M}",
            field=f"{prefix}window_end",
        )
    begin = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    finish = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    return DeliveryWindow(begin, finish)


def _order_lines(checked: list[tuple[str, LineInput]]) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(
            sku=sku,
            quantity=line.quantity,
            unit_price=_ZERO if line.unit_price is None else Decimal(line.unit_price),
            title=line.title,
        )
        for sku, line in checked
    )


def _total(lines: Sequence[OrderLine]) -> Decimal:
    return sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0"))


def _next_number(conn: Connection) -> int:
    return int(conn.scalar(sa.select(sa.func.max(order_t.c.id))) or 0) + 1


@dataclass
class _Built:
    order: Order
    generated: bool


@dataclass(frozen=True)
class Problem:
    """What is wrong with the order at ``index`` of a batch: ``field`` as e.g.
    ``lines[2].sku`` (relative to the order) and the one-line ``message``."""

    index: int
    field: str
    message: str


def _check_new(new: NewOrder, manual: list[str], zone: ZoneInfo, prefix: str) -> None:
    """The checks of one order that need no database, but its lines'."""
    if new.channel:
        if new.channel not in manual:
            names = ", ".join(manual) or "none configured"
            raise InvalidInput(
                f"{prefix}channel: {new.channel!r} is not a manual channel (known: {names})",
                field=f"{prefix}channel",
            )
    elif not manual:
        raise InvalidInput(
            "channel: no channel of type manual is configured; add one, e.g. "
            '[channels.b2b] type = "manual"',
            field=f"{prefix}channel",
        )
    if len(new.reference) > 128 or new.reference != new.reference.strip():
        raise InvalidInput(
            f"{prefix}reference: {new.reference[:40]!r} must have at most 128 characters "
            "and no surrounding spaces",
            field=f"{prefix}reference",
        )
    if len(new.po_number) > 128:
        raise InvalidInput(f"{prefix}po_number: at most 128 characters", field=f"{prefix}po_number")
    if new.address is not None and new.address_id is not None:
        raise InvalidInput(
            f"{prefix}address: give a delivery address or an address id, not both",
            field=f"{prefix}address",
        )
    _window(zone, new.requested_date, new.window_start, new.window_end, prefix)


def _build(
    conn: Connection,
    settings: Settings,
    news: Sequence[NewOrder],
    problems: list[Problem] | None = None,
    *,
    lines_checked: bool = False,
) -> list[_Built]:
    """See :func:`build_orders`; marks the orders whose reference was generated. With
    ``problems`` every problem is appended there (fields relative to the order) and only
    the orders without any are built. ``lines_checked``: see :func:`create_orders`."""
    manual = manual_channels(settings)
    zone = ZoneInfo(settings.hub.timezone)
    single = len(news) == 1 or problems is not None
    bad: set[int] = set()

    def fail(i: int, error: InvalidInput) -> None:
        if problems is None:
            raise error
        problems.append(Problem(i, error.field or "", str(error)))
        bad.add(i)

    checked: list[list[tuple[str, LineInput]]] = []
    positions: list[list[int]] = []  # each kept line's index in its order
    for i, new in enumerate(news):
        prefix = "" if single else f"orders[{i}]."
        try:
            _check_new(new, manual, zone, prefix)
        except InvalidInput as error:
            fail(i, error)
        found: list[InvalidInput] = []
        kept: list[int] = []
        try:
            if lines_checked:
                checked.append([(line.sku, line) for line in new.lines])
                kept.extend(range(len(new.lines)))
            else:
                checked.append(
                    _check_lines(new.lines, prefix, found if problems is not None else None, kept)
                )
        except InvalidInput as no_lines:
            fail(i, no_lines)
            checked.append([])
        positions.append(kept)
        for line_error in found:
            fail(i, line_error)
    accounts = {}
    numbers = sorted({n.account.strip() for n in news})
    for part in _chunks(numbers):
        accounts.update(customers.accounts_by_number(conn, part))
    for i, new in enumerate(news):
        row = accounts.get(new.account.strip())
        prefix = "" if single else f"orders[{i}]."
        problem = account_problem(new.account, row)
        if problem:
            fail(i, InvalidInput(f"{prefix}account: {problem}", field=f"{prefix}account"))
    if lines_checked:  # and their SKUs found in the catalogue
        known = {sku for lines in checked for sku, _ in lines}
    else:
        known = known_skus(conn, {sku for lines in checked for sku, _ in lines})
    for i, lines in enumerate(checked):
        prefix = "" if single else f"orders[{i}]."
        for (sku, _line), n in zip(lines, positions[i], strict=True):
            if sku not in known:
                fail(
                    i,
                    InvalidInput(
                        f"{prefix}lines[{n}].sku: {unknown_sku(sku)}",
                        field=f"{prefix}lines[{n}].sku",
                    ),
                )
    addresses = customers.addresses_of(conn, sorted({r.id for r in accounts.values()}))
    number = None
    out = []
    stamp = now()
    for i, (new, lines) in enumerate(zip(news, checked, strict=True)):
        prefix = "" if single else f"orders[{i}]."
        row = accounts.get(new.account.strip())
        if row is None:
            continue
        own = addresses.get(row.id, [])
        if new.address is not None:
            ship = new.address
        elif new.address_id is not None:
            match = [a for a in own if a.id == new.address_id]
            if not match:
                fail(
                    i,
                    InvalidInput(
                        f"{prefix}address_id: address {new.address_id} is not one of account "
                        f"{row.account_number!r}'s delivery addresses",
                        field=f"{prefix}address_id",
                    ),
                )
                continue
            ship = match[0].address
        else:
            default = [a for a in own if a.is_default] or own[:1]
            ship = default[0].address if default else Address()
        if i in bad:
            continue
        generated = not new.reference
        reference = new.reference
        if generated:
            if number is None:
                number = _next_number(conn)
            reference = f"B2B-{number:06d}"
            number += 1
        order_lines = _order_lines(lines)
        window = _window(zone, new.requested_date, new.window_start, new.window_end, prefix)
        out.append(
            _Built(
                Order(
                    channel=new.channel or manual[0],
                    external_id=reference,
                    number=reference,
                    lines=order_lines,
                    currency=settings.hub.currency,
                    total=_total(order_lines),
                    status=OrderStatus.OPEN,
                    payment_status=PaymentStatus.PAID if new.paid else PaymentStatus.PENDING,
                    customer=Customer(
                        external_id=row.account_number,
                        name=row.name,
                        email=row.email,
                        phone=row.phone,
                        company=row.name,
                    ),
                    shipping_address=ship,
                    placed_at=stamp,
                    updated_at=None,
                    delivery_window=window,
                    notes=new.notes,
                    po_number=new.po_number.strip(),
                    requested_date=new.requested_date,
                ),
                generated,
            )
        )
    return out


def build_orders(conn: Connection, settings: Settings, news: Sequence[NewOrder]) -> list[Order]:
    """Validate ``news`` and convert them to :class:`hub.Order` of their manual channel.

    Checks: account exists and is active, SKUs are in the catalogue, quantities from 1 to
    ledger.MAX_QUANTITY, prices from 0, the window is complete, on a date, and ends after
    it starts, ``address_id`` is one of the account's addresses, the channel is a manual
    one. Raises :class:`InvalidInput` naming the first problem; its ``field`` is e.g.
    ``lines[2].sku`` (``orders[4].lines[2].sku`` when several orders are given),
    ``account`` or ``window_end``. A few queries for the whole batch, none per row.
    Generated references (``B2B-000042``) follow the highest hub id.
    """
    return [b.order for b in _build(conn, settings, news)]


def check_orders(conn: Connection, settings: Settings, news: Sequence[NewOrder]) -> list[Problem]:
    """Every problem of every order of ``news`` (empty when all are good), each with the
    order's index and a field relative to it (``lines[2].sku``, ``account``), in the
    order found: per order its own checks first, then accounts, SKUs and addresses. The
    same checks as :func:`build_orders`, in as few queries."""
    problems: list[Problem] = []
    _build(conn, settings, news, problems)
    return sorted(problems, key=lambda p: p.index)


# -- creating -------------------------------------------------------------------------------


def existing_references(conn: Connection, channel: str, refs: Sequence[str]) -> set[str]:
    """Those of ``refs`` (external ids) that orders on ``channel`` have."""
    o = order_t.c
    found: set[str] = set()
    for part in _chunks(sorted(set(refs))):
        if part:
            found.update(
                conn.scalars(
                    sa.select(o.external_id).where(
                        o.channel == channel, in_list(conn, o.external_id, part)
                    )
                )
            )
    return found


def _hub_ids(conn: Connection, channel: str, refs: set[str]) -> dict[str, int]:
    o = order_t.c
    found: dict[str, int] = {}
    for part in _chunks(sorted(refs)):
        found.update(
            conn.execute(
                sa.select(o.external_id, o.id).where(
                    o.channel == channel, in_list(conn, o.external_id, part)
                )
            ).all()
        )
    return found


def create_order(hub: Hub, new: NewOrder, actor: Actor) -> OrderView:
    """Create one B2B order through intake and return it (possibly on hold, with why).

    InvalidInput as :func:`build_orders`; :class:`Conflict` (field ``reference``) when an
    order with that reference exists on the channel already.
    """
    view = create_orders(hub, [new], actor)[0]
    if view is None:
        raise Conflict(
            f"reference: order {new.reference!r} exists already; edit it instead",
            field="reference",
        )
    return view


def create_orders(
    hub: Hub,
    news: Sequence[NewOrder],
    actor: Actor,
    *,
    views: bool = True,
    lines_checked: bool = False,
) -> list[OrderView | None]:
    """Create many B2B orders through one intake call per channel (one transaction each).

    Returns per input its :class:`OrderView`, or None for a reference that existed
    already (re-creating it is a no-op). With ``views=False`` nothing is read back and
    every created order is given as None too (faster for big imports: count with
    ``len([...])`` of the references instead). Raises as :func:`build_orders`.

    ``lines_checked``: every line was checked already, its SKU normalised and found in the
    catalogue (:func:`known_skus`), its quantity and price as :class:`LineInput` says (an
    import checks each row as it reads it); they are not checked again.
    """
    if not news:
        return []
    built = hub.read(lambda c: _build(c, hub.settings, news, lines_checked=lines_checked))
    results: list[OrderView | None] = [None] * len(news)
    ids: dict[int, int] = {}
    by_channel: dict[str, list[int]] = defaultdict(list)
    for i, b in enumerate(built):
        by_channel[b.order.channel].append(i)
    for channel, indexes in by_channel.items():
        todo = indexes
        for attempt in range(8):
            refs = [built[i].order.external_id for i in todo]
            taken = hub.read(
                lambda c, refs=refs, channel=channel: existing_references(c, channel, refs)
            )
            collided = [i for i in todo if built[i].order.external_id in taken]
            retry = [i for i in collided if built[i].generated]
            fresh = [i for i in todo if built[i].order.external_id not in taken]
            seen: set[str] = set()
            page = []
            for i in fresh:  # the same reference twice in one batch: the first counts
                if built[i].order.external_id not in seen:
                    seen.add(built[i].order.external_id)
                    page.append(built[i].order)
            if page:
                report = hub.ingest(channel, page, actor=actor.label(), origin=actor.origin)
                created = {o.external_id for o in report.outcomes if o.action == "created"}
                lost = [
                    i
                    for i in fresh
                    if built[i].generated and built[i].order.external_id not in created
                ]
                retry.extend(lost)  # another desk took the generated reference meanwhile
                if created and views:
                    stored = hub.read(
                        lambda c, created=created, channel=channel: _hub_ids(c, channel, created)
                    )
                    for i in fresh:
                        ext = built[i].order.external_id
                        if ext in created and ext in stored and i not in ids:
                            ids[i] = stored[ext]
                            created.discard(ext)
            if not retry:
                break
            start = hub.read(_next_number) + random.randint(0, 20 * (attempt + 1))
            for n, i in enumerate(sorted(retry)):
                ref = f"B2B-{start + n:06d}"
                built[i] = _Built(replace(built[i].order, external_id=ref, number=ref), True)
            todo = sorted(retry)
        else:
            raise Conflict("could not find a free order reference; try again", field="reference")
    if views and ids:
        found = hub.read(lambda c: {v.id: v for v in order_views(c, list(ids.values()))})
        for i, oid in ids.items():
            results[i] = found.get(oid)
    return results


# -- reading ----------------------------------------------------------------------------------


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
                released_holds=tuple(filter(None, (row["released_holds"] or "").split(","))),
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


# -- changing ----------------------------------------------------------------------------------


def _event(
    conn: Connection, oid: int, status: str, note: str, actor: Actor, stamp: datetime | None = None
) -> None:
    conn.execute(
        order_event_t.insert().values(
            order_id=oid,
            status=status,
            note=note,
            actor=actor.label(),
            origin=actor.origin,
            created_at=stamp or now(),
        )
    )


def _required(text: str, name: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"{name}: say {what}", field=name)
    if len(text) > 2000:
        raise InvalidInput(f"{name}: at most 2,000 characters", field=name)
    return text


_HOLDABLE = (OrderStatus.OPEN.value, OrderStatus.PENDING.value, OrderStatus.ON_HOLD.value)


def hold_order(hub: Hub, ref: str | int, reason: str, actor: Actor) -> OrderView:
    """Put an order that has not shipped on hold for ``reason``: a person's hold (code
    ``manual``, beside any plugin holds), which :func:`release_order` lifts like any
    plugin hold. The order keeps its reservation, and intake keeps the hold whenever it
    decides the order again (recheck, stock arriving, a new version) until a person
    releases it. History records who, from where and why.

    InvalidInput (field ``reason``) without a reason; :class:`Conflict` for an order that
    has shipped or is cancelled, or is held already by a person or for a reason no
    person can lift.
    """
    reason = _required(" ".join((reason or "").split()), "reason", "why the order is held")

    def work(conn: Connection) -> int:
        oid = order_id(conn, ref)
        query = sa.select(order_t).where(order_t.c.id == oid)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).mappings().one()
        name = f"{row['channel']}:{row['external_id']}"
        if row["status"] not in _HOLDABLE:
            raise Conflict(f"order {name} is {row['status']}; it cannot be held", field="order")
        on_hold = row["status"] == OrderStatus.ON_HOLD.value
        holds = parse_holds(row["hold_reason"]) if on_hold else []
        if any(h.code == PERSON_HOLD for h in holds):
            raise Conflict(f"order {name} is held by a person already", field="order")
        if any(not h.overridable for h in holds):
            raise Conflict(f"order {name} is on hold already ({row['hold_reason']})", field="order")
        text = "; ".join([*(f"{h.code}: {h.reason}" for h in holds), f"{PERSON_HOLD}: {reason}"])
        released = [c for c in (row["released_holds"] or "").split(",") if c and c != PERSON_HOLD]
        stamp = now()
        conn.execute(
            order_t.update()
            .where(order_t.c.id == oid)
            .values(
                status=OrderStatus.ON_HOLD.value,
                hold_reason=text,
                released_holds=",".join(released),
                updated_at=stamp,
            )
        )
        _event(conn, oid, OrderStatus.ON_HOLD.value, f"held: {reason}", actor, stamp)
        return oid

    return order_view(hub, run_in_transaction(hub.engine, work))


def release_order(hub: Hub, ref: str | int, note: str, actor: Actor) -> OrderView:
    """Release the holds a person may override (plugin holds: unpaid, fraud_*,
    credit_limit, address_incomplete, ...) and decide the order again: it opens and
    reserves stock, or stays on hold for what still applies.

    The released codes are kept on the order (``released_holds``) so later versions are
    not held for them again. InvalidInput (field ``note``) without a note;
    :class:`Conflict` when the order is not on hold or a hard hold applies (unknown SKU,
    line without SKU, not enough stock, shipped but short), naming it.
    """
    note = _required(note, "note", "why the order may go ahead")

    def work(conn: Connection) -> Order:
        oid = order_id(conn, ref)
        query = sa.select(order_t).where(order_t.c.id == oid)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).mappings().one()
        name = f"{row['channel']}:{row['external_id']}"
        if row["status"] != OrderStatus.ON_HOLD.value:
            raise Conflict(f"order {name} is {row['status']}, not on hold", field="order")
        holds = parse_holds(row["hold_reason"])
        hard = [h for h in holds if not h.overridable]
        if hard:
            shown = "; ".join(f"{h.code}: {h.reason}" for h in hard)
            raise Conflict(
                f"order {name} cannot be released while a hold no person can override "
                f"applies ({shown})",
                field="order",
            )
        codes = sorted({h.code for h in holds})
        released = set(filter(None, (row["released_holds"] or "").split(","))) | set(codes)
        conn.execute(
            order_t.update()
            .where(order_t.c.id == oid)
            .values(released_holds=",".join(sorted(released)))
        )
        _event(conn, oid, row["status"], f"released {', '.join(codes)}: {note}", actor)
        return to_order(load_order(conn, oid), as_channel_sent=True)

    order = run_in_transaction(hub.engine, work)
    hub.ingest(order.channel, [order], actor=actor.label(), reevaluate=True, origin=actor.origin)
    return order_view(hub, f"{order.channel}:{order.external_id}")


def cancel_order(hub: Hub, ref: str | int, reason: str, actor: Actor) -> OrderView:
    """Cancel an order that has not shipped: its reservation goes back to free stock, and
    history records who, from where and why. InvalidInput (field ``reason``) without a
    reason; :class:`Conflict` for an order that has shipped or is cancelled already."""
    reason = _required(reason, "reason", "why the order is cancelled")

    def work(conn: Connection) -> tuple[int, list[StockChange]]:
        oid = order_id(conn, ref)
        row = conn.execute(sa.select(order_t).where(order_t.c.id == oid)).mappings().one()
        name = f"{row['channel']}:{row['external_id']}"
        if row["status"] in _SHIPPED:
            raise Conflict(
                f"order {name} has shipped; record a return instead of cancelling", field="order"
            )
        if row["status"] in _CLOSED:
            raise Conflict(f"order {name} is {row['status']} already", field="order")
        _record, changes = fulfilment.cancel(conn, str(oid), reason, actor.label(), actor.origin)
        return oid, changes

    oid, changes = run_in_transaction(hub.engine, work)
    if changes:  # plugins are told; held orders waiting for freed stock are decided
        hub.stock_changed(changes)
    return order_view(hub, oid)


def edit_order(
    hub: Hub,
    ref: str | int,
    actor: Actor,
    *,
    lines: Sequence[LineInput] | None = None,
    po_number: str | None = None,
    requested_date: date | None = None,
    window_start: time | None = None,
    window_end: time | None = None,
    notes: str | None = None,
    address_id: int | None = None,
) -> OrderView:
    """Change a B2B (manual-channel) order until it ships: a new version goes through
    intake, so reservations follow the lines (units added are reserved, removed ones
    released) and checks run again. None leaves a field as it is; the window's times are
    in the merchant's zone on the (new or stored) requested date.

    :class:`Conflict` for an order of another channel or one that has shipped (even in
    part) or is cancelled; InvalidInput as :func:`build_orders` for bad values.
    """
    zone = ZoneInfo(hub.settings.hub.timezone)
    checked = _check_lines(lines, "") if lines is not None else None
    if po_number is not None and len(po_number) > 128:
        raise InvalidInput("po_number: at most 128 characters", field="po_number")

    def work(conn: Connection) -> tuple[int, Order, list[str]]:
        oid = order_id(conn, ref)
        record = load_order(conn, oid)
        row = record.order
        name = f"{row['channel']}:{row['external_id']}"
        if row["channel"] not in manual_channels(hub.settings):
            raise Conflict(
                f"order {name} came from channel {row['channel']!r}; only orders of a manual "
                "channel are edited in the hub",
                field="order",
            )
        sold = conn.scalar(
            sa.select(sa.func.count())
            .select_from(movement_t)
            .where(movement_t.c.order_id == oid, movement_t.c.kind == "sale")
        )
        if row["status"] in _SHIPPED or sold:
            raise Conflict(f"order {name} has shipped; it can no longer be edited", field="order")
        if row["status"] in _CLOSED:
            raise Conflict(f"order {name} is {row['status']}; it cannot be edited", field="order")
        order = to_order(record, as_channel_sent=True)
        changes: list[str] = []
        if checked is not None:
            known = known_skus(conn, {sku for sku, _ in checked})
            for n, (sku, _line) in enumerate(checked):
                if sku not in known:
                    raise InvalidInput(
                        f"lines[{n}].sku: {unknown_sku(sku)}",
                        field=f"lines[{n}].sku",
                    )
            new_lines = _order_lines(checked)
            order = replace(order, lines=new_lines, total=_total(new_lines))
            changes.append("lines " + ", ".join(f"{ln.quantity} × {ln.sku}" for ln in new_lines))
        if po_number is not None:
            order = replace(order, po_number=po_number.strip())
            changes.append(f"PO {po_number.strip() or '(none)'}")
        if notes is not None:
            order = replace(order, notes=notes)
            changes.append("notes")
        if address_id is not None:
            match = [
                a
                for a in customers.addresses_of(
                    conn, [row["account_id"]] if row["account_id"] else []
                ).get(row["account_id"], [])
                if a.id == address_id
            ]
            if not match:
                raise InvalidInput(
                    f"address_id: address {address_id} is not one of this customer's delivery "
                    "addresses",
                    field="address_id",
                )
            order = replace(order, shipping_address=match[0].address)
            changes.append(f"delivery address {address_id}")
        if requested_date is not None or window_start is not None or window_end is not None:
            day = requested_date or order.requested_date
            start, end = window_start, window_end
            if order.delivery_window is not None and (start is None) != (end is None):
                old_start = order.delivery_window.start.astimezone(zone).time()
                old_end = order.delivery_window.end.astimezone(zone).time()
                start, end = start or old_start, end or old_end
            elif start is None and end is None and order.delivery_window is not None:
                start = order.delivery_window.start.astimezone(zone).time()
                end = order.delivery_window.end.astimezone(zone).time()
            window = _window(zone, day, start, end)
            order = replace(order, requested_date=day, delivery_window=window)
            changes.append(f"delivery {day}" + (f" {start:%H:%M}-{end:%H:%M}" if window else ""))
        if not changes:
            raise InvalidInput("nothing to change: give lines or another field", field="order")
        previous = row["version"]
        stamp = now()
        if previous is not None and stamp <= previous:
            stamp = previous + timedelta(microseconds=1)
        return oid, replace(order, updated_at=stamp), changes

    oid, order, changes = hub.read(work)
    hub.ingest(order.channel, [order], actor=actor.label(), origin=actor.origin)

    def record(conn: Connection) -> OrderView:
        status = conn.execute(sa.select(order_t.c.status).where(order_t.c.id == oid)).scalar_one()
        _event(conn, oid, status, "edited: " + "; ".join(changes), actor)
        return order_views(conn, [oid])[0]

    return run_in_transaction(hub.engine, record)


# -- returns ------------------------------------------------------------------------------------


def quarantine_location(conn: Connection) -> str:
    """The code of the location damaged returns go to: the first of kind ``quarantine``,
    else one created with code ``quarantine``."""
    code = conn.scalar(
        sa.select(location_t.c.code)
        .where(location_t.c.kind == "quarantine")
        .order_by(location_t.c.code)
        .limit(1)
    )
    if code:
        return str(code)
    ledger.ensure_location(conn, "quarantine", name="Quarantine", kind="quarantine")
    return "quarantine"


def return_lines(
    hub: Hub,
    ref: str | int,
    lines: Sequence[tuple[str, int]],
    to_location: str,
    damaged: bool,
    actor: Actor,
) -> OrderView:
    """Take shipped units back: ``lines`` are (SKU, units). They go on hand at
    ``to_location``, or when ``damaged`` at the quarantine location (which no channel
    sells from), as ``return`` movements naming the order; the order's lines count them
    as returned and history records it.

    InvalidInput naming the line (field ``lines[n]``) for a SKU not on the order or more
    units than shipped and not yet returned; NotFound for an unknown location; Conflict
    for an order nothing of which has shipped.
    """
    if not lines:
        raise InvalidInput("lines: name at least one SKU:QTY to return", field="lines")
    wanted: list[tuple[str, int]] = []
    for n, (sku, quantity) in enumerate(lines):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(
                f"lines[{n}]: quantity {quantity!r} must be a whole number of at least 1",
                field=f"lines[{n}].quantity",
            )
        if quantity > ledger.MAX_QUANTITY:
            raise InvalidInput(
                f"lines[{n}]: quantity {quantity} is beyond {ledger.MAX_QUANTITY:,}",
                field=f"lines[{n}].quantity",
            )
        wanted.append((normalise_sku(sku or ""), quantity))

    def work(conn: Connection) -> tuple[int, list[StockChange]]:
        oid = order_id(conn, ref)
        row = conn.execute(sa.select(order_t).where(order_t.c.id == oid)).mappings().one()
        name = f"{row['channel']}:{row['external_id']}"
        location = quarantine_location(conn) if damaged else to_location.strip()
        if not location:
            raise InvalidInput("to: name the location the units go back to", field="to")
        loc_id = ledger.location_id(conn, location)  # NotFound naming it
        order_lines = [
            dict(r)
            for r in conn.execute(
                sa.select(order_line_t)
                .where(order_line_t.c.order_id == oid)
                .order_by(order_line_t.c.line_no)
            ).mappings()
        ]
        m = movement_t.c
        figures: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # product: sold, returned
        for product, kind, on_hand in conn.execute(
            sa.select(m.product_id, m.kind, sa.func.sum(m.on_hand_delta))
            .where(m.order_id == oid, m.kind.in_(("sale", "return")))
            .group_by(m.product_id, m.kind)
        ):
            figures[product][0 if kind == "sale" else 1] += abs(int(on_hand or 0))
        if not any(sold for sold, _ in figures.values()):
            raise Conflict(
                f"order {name} has not shipped; cancel it or edit its lines instead",
                field="order",
            )
        products: dict[str, int] = dict(
            conn.execute(
                sa.select(product_t.c.sku, product_t.c.id).where(
                    product_t.c.sku.in_(sorted({s for s, _ in wanted}))
                )
            ).all()
        )
        moves: list[ledger.Move] = []
        line_updates: dict[int, int] = {}
        taken: dict[int, int] = defaultdict(int)
        for n, (sku, quantity) in enumerate(wanted):
            mine = [ln for ln in order_lines if ln["sku"] == sku and ln["stocked"]]
            if not mine or sku not in products:
                raise InvalidInput(
                    f"lines[{n}]: {sku!r} is not a line of order {name}", field=f"lines[{n}]"
                )
            parts: list[tuple[int, int]] = [
                (int(c), int(q))
                for c, q in conn.execute(
                    sa.select(bundle_t.c.component_id, bundle_t.c.quantity).where(
                        bundle_t.c.bundle_id == products[sku]
                    )
                )
            ] or [(products[sku], 1)]
            shipped_lines = sum(int(ln["quantity"]) for ln in mine)
            returned_lines = sum(int(ln["returned_quantity"]) for ln in mine)
            room = min((figures[p][0] - figures[p][1] - taken[p]) // per for p, per in parts)
            room = min(
                room, shipped_lines - returned_lines - line_updates_total(line_updates, mine)
            )
            if quantity > room:
                raise InvalidInput(
                    f"lines[{n}]: {quantity} × {sku!r} is more than order {name} shipped and "
                    f"has not had back ({max(room, 0)})",
                    field=f"lines[{n}]",
                )
            for p, per in parts:
                taken[p] += per * quantity
                moves.append(
                    ledger.Move(
                        "return",
                        p,
                        loc_id,
                        on_hand_delta=per * quantity,
                        channel=row["channel"],
                        actor=actor.label(),
                        order_id=oid,
                        reference=row["number"] or row["external_id"],
                        reason="damaged return" if damaged else "return",
                    )
                )
            left = quantity
            for ln in mine:
                has = (
                    int(ln["quantity"])
                    - int(ln["returned_quantity"])
                    - line_updates.get(ln["line_no"], 0)
                )
                step = min(left, max(has, 0))
                if step:
                    line_updates[ln["line_no"]] = line_updates.get(ln["line_no"], 0) + step
                    left -= step
        changes = ledger.apply(conn, moves)
        by_no = {ln["line_no"]: ln for ln in order_lines}
        for line_no, extra in line_updates.items():
            conn.execute(
                order_line_t.update()
                .where(order_line_t.c.order_id == oid, order_line_t.c.line_no == line_no)
                .values(returned_quantity=int(by_no[line_no]["returned_quantity"]) + extra)
            )
        shown = ", ".join(f"{q} × {s}" for s, q in wanted)
        where = f"{location} (damaged)" if damaged else location
        _event(conn, oid, row["status"], f"returned {shown} to {where}", actor)
        return oid, changes

    oid, changes = run_in_transaction(hub.engine, work)
    if changes:  # plugins are told; held orders waiting for freed stock are decided
        hub.stock_changed(changes)
    return order_view(hub, oid)


def line_updates_total(updates: dict[int, int], lines: list[dict]) -> int:
    """Units already taken from ``lines`` by earlier entries of the same return."""
    return sum(updates.get(ln["line_no"], 0) for ln in lines)


# -- unpaid orders ----------------------------------------------------------------------------


def cancel_unpaid(hub: Hub, actor: Actor | None = None, *, at: datetime | None = None) -> list[str]:
    """Cancel orders still unpaid ``auto_cancel_unpaid_days`` after they were placed, for
    each channel whose ``checks`` set it (0: never). Orders on account (unpaid, account
    with terms, channel accepting on account) are left alone. Returns the
    ``channel:external_id`` of each cancelled order; one that fails is logged and skipped.
    """
    actor = actor or Actor("auto-cancel", "")
    stamp = at or now()
    done: list[str] = []
    for channel in sorted(hub.channel_configs):
        settings = hub.checks_config(channel)
        days = settings.auto_cancel_unpaid_days
        if not days:
            continue
        cutoff = stamp - timedelta(days=days)

        def due(
            conn: Connection,
            channel: str = channel,
            cutoff: datetime = cutoff,
            settings: Any = settings,
        ) -> list[int]:
            o, a = order_t.c, customer_account_t.c
            query = (
                sa.select(o.id, a.payment_terms_days)
                .outerjoin(customer_account_t, a.id == o.account_id)
                .where(
                    o.channel == channel,
                    o.payment_status.in_(customers.UNPAID),
                    o.status.in_(
                        (
                            OrderStatus.PENDING.value,
                            OrderStatus.OPEN.value,
                            OrderStatus.ON_HOLD.value,
                        )
                    ),
                    sa.func.coalesce(o.placed_at, o.created_at) < cutoff,
                )
                .order_by(o.id)
            )
            return [
                r.id
                for r in conn.execute(query)
                if not (settings.accept_on_account and r.payment_terms_days is not None)
            ]

        for oid in hub.read(due):
            try:
                view = cancel_order(hub, oid, f"unpaid after {days} days", actor)
            except Exception:
                log.exception("auto-cancel of unpaid order %d failed", oid)
                continue
            done.append(view.ref)
    return done
