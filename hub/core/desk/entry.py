"""Entering B2B orders: validating (every problem of a batch, for imports), building
:class:`hub.Order` of a manual channel, and creating them through intake."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import customers, ledger
from hub.core.config import Settings
from hub.core.db import in_list
from hub.core.desk.inputs import Actor, LineInput, NewOrder
from hub.core.desk.views import OrderView, _chunks, order_views
from hub.core.models import now, order_t, product_t
from hub.core.runtime import Hub
from hub.errors import Conflict, InvalidInput
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

_MONEY_MAX = Decimal("1e14")
_ZERO = Decimal("0")


def manual_channels(settings: Settings) -> list[str]:
    """Configured, enabled channels of type ``manual``, in configuration order."""
    return [
        name
        for name, section in settings.channels.items()
        if section.get("type") == "manual" and section.get("enabled", True)
    ]


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
