"""What people decide about an order: hold, release, cancel, edit; and the job cancelling
unpaid orders. Each recorded in the order's history with who, from where and why."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import customers, fulfilment
from hub.core.db import run_in_transaction
from hub.core.desk.entry import (
    _check_lines,
    _order_lines,
    _total,
    _window,
    known_skus,
    manual_channels,
    unknown_sku,
)
from hub.core.desk.inputs import Actor, LineInput
from hub.core.desk.views import OrderView, order_view, order_views
from hub.core.holds import parse_holds, released_codes, stored_released
from hub.core.intake import PERSON_HOLD
from hub.core.models import customer_account_t, movement_t, now, order_event_t, order_t
from hub.core.orderbook import load_order, order_id, to_order
from hub.core.runtime import Hub
from hub.errors import Conflict, InvalidInput
from hub.orders import Order, OrderStatus
from hub.stock import StockChange

log = logging.getLogger("hub.desk")

_SHIPPED = (OrderStatus.FULFILLED.value, OrderStatus.DELIVERED.value)
_CLOSED = (OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value)


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
        released = released_codes(row["released_holds"]) - {PERSON_HOLD}
        stamp = now()
        conn.execute(
            order_t.update()
            .where(order_t.c.id == oid)
            .values(
                status=OrderStatus.ON_HOLD.value,
                hold_reason=text,
                released_holds=stored_released(released),
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
        released = released_codes(row["released_holds"]) | set(codes)
        conn.execute(
            order_t.update()
            .where(order_t.c.id == oid)
            .values(released_holds=stored_released(released))
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


# -- unpaid orders ---------------------------------------------------------------------------


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
