"""A person's hold on an order (``POST /orders/{ref}/hold``), for as long as the order
desk (:mod:`hub.core.desk`) has none of its own.

It follows the desk's conventions: the hold is a ``manual`` code in the order's
``hold_reason`` (``"manual: <reason>"``, beside any plugin holds), which
:func:`hub.core.desk.release_order` may release like any plugin hold; the order keeps
its reservations (held orders do); history records who, from where and why.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import run_in_transaction
from hub.core.models import now, order_event_t, order_t
from hub.core.orderbook import order_id
from hub.core.runtime import Hub
from hub.errors import Conflict, InvalidInput
from hub.hookspecs import hookimpl
from hub.orders import Hold, Order, OrderStatus

CODE = "manual"
_HOLDABLE = {OrderStatus.OPEN.value, OrderStatus.PENDING.value, OrderStatus.ON_HOLD.value}


def hold_order(hub: Hub, ref: str | int, reason: str, actor: Any) -> Any:
    """Put order ``ref`` on hold for ``reason``; Conflict for an order that has shipped,
    is cancelled, or is held already by a person or for a reason no person can lift."""
    from hub.core import desk
    from hub.core.holds import parse_holds

    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("reason: say why the order is held", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("reason: at most 2,000 characters", field="reason")

    def work(conn: Connection) -> int:
        oid = order_id(conn, ref)
        query = sa.select(order_t).where(order_t.c.id == oid)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).mappings().one()
        name = f"{row['channel']}:{row['external_id']}"
        if row["status"] not in _HOLDABLE:
            raise Conflict(f"order {name} is {row['status']}; it cannot be held", field="order")
        holds = parse_holds(row["hold_reason"]) if row["status"] == "on_hold" else []
        if any(h.code == CODE for h in holds):
            raise Conflict(f"order {name} is held by a person already", field="order")
        if any(not h.overridable for h in holds):
            raise Conflict(f"order {name} is on hold already ({row['hold_reason']})", field="order")
        text = "; ".join([*(f"{h.code}: {h.reason}" for h in holds), f"{CODE}: {reason}"])
        released = [c for c in (row["released_holds"] or "").split(",") if c and c != CODE]
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
        conn.execute(
            order_event_t.insert().values(
                order_id=oid,
                status=OrderStatus.ON_HOLD.value,
                note=f"held: {reason}",
                actor=actor.label(),
                origin=actor.origin,
                created_at=stamp,
            )
        )
        return oid

    held = run_in_transaction(hub.engine, work)
    keeper = _person_holds(hub)
    if keeper is not None:
        keeper.forget()
    return desk.order_view(hub, held)


class PersonHolds:
    """A ``check_order`` plugin that keeps a person's hold when intake decides a held
    order again (``recheck-holds``, a new version from the channel): without it, no plugin
    would name the hold and the order would open. A release lifts it as any plugin hold
    (``released_holds``). Registered by the web app (:func:`hub.web.api.mount`).

    The orders held by a person are read in one query and kept for :data:`FRESH` seconds
    (a hold made through this process refreshes them at once), so checking an order
    costs a lookup, not a query.
    """

    FRESH = 1.0

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], str] = {}
        self._read_at = -self.FRESH

    def forget(self) -> None:
        """Read the held orders again at the next check."""
        self._read_at = -self.FRESH

    def _holds(self) -> dict[tuple[str, str], str]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.FRESH:
                o = order_t.c
                query = sa.select(o.channel, o.external_id, o.hold_reason).where(
                    o.status == OrderStatus.ON_HOLD.value,
                    o.hold_reason.contains(f"{CODE}: ", autoescape=True),
                )
                rows = self.hub.read(lambda c: c.execute(query).all())
                self._held = {(r.channel, r.external_id): r.hold_reason for r in rows}
                self._read_at = time.monotonic()
            return self._held

    @hookimpl
    def check_order(self, order: Order) -> Hold | None:
        from hub.core.holds import parse_holds

        reason = self._holds().get((order.channel, order.external_id))
        for hold in parse_holds(reason or ""):
            if hold.code == CODE:
                return Hold(CODE, hold.reason)
        return None


def _person_holds(hub: Hub) -> PersonHolds | None:
    found = [p for p in hub.plugins.pm.get_plugins() if isinstance(p, PersonHolds)]
    return found[0] if found else None


def keep_person_holds(hub: Hub) -> None:
    """Register :class:`PersonHolds` with ``hub``'s plugins (once)."""
    if _person_holds(hub) is None:
        hub.plugins.pm.register(PersonHolds(hub), name="person-holds")
