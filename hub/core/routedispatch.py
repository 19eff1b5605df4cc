"""Dispatching routes and telling their customers: the own fleet's "on its way".

:func:`hub.core.planning.dispatch` marks routes dispatched; an order carried by a
carrier is told "dispatched" when its label ships it, but an own-fleet order ships only
when the driver hands it over. :func:`dispatch_and_tell` therefore queues, in the same
transaction as the dispatch, each open order's "dispatched" message with its ETA window
(the planned arrival -/+ ``[notifications] eta_margin_minutes``,
:func:`hub.core.notify.dispatched`). The message is keyed per order and event, so
dispatching again tells nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import notify
from hub.core.models import order_t, planned_route_t, planned_stop_t
from hub.core.planning import dispatch

if TYPE_CHECKING:
    from hub.core.runtime import Hub


@dataclass(frozen=True)
class Dispatched:
    """What :func:`dispatch_and_tell` did: routes dispatched, orders on them still open,
    and the ids of the customer messages it queued (none for those told before)."""

    routes: int
    orders: int
    messages: tuple[int, ...]


def dispatch_and_tell(
    hub: Hub, plan_id: int, vehicle: str | None = None, day: date | None = None
) -> Dispatched:
    """Dispatch plan ``plan_id``'s routes (all, one vehicle's, or one day's) and queue the
    "dispatched" message of every open order on them, in one transaction.

    Raises :class:`hub.errors.RoutingError` as :func:`hub.core.planning.dispatch` does
    (unknown plan, vehicle or day), and then nothing is dispatched nor queued.
    """

    def work(conn: Connection) -> Dispatched:
        routes = dispatch(conn, plan_id, vehicle, day)
        order_ids = _open_orders(conn, plan_id, vehicle, day)
        messages: list[int] = []
        for order_id in order_ids:
            messages += notify.dispatched(hub, conn, order_id)
        return Dispatched(routes, len(order_ids), tuple(messages))

    result: Dispatched = hub.write(work)
    return result


def _open_orders(
    conn: Connection, plan_id: int, vehicle: str | None, day: date | None
) -> list[int]:
    """Open orders on the plan's dispatched routes (of ``vehicle``, on ``day``), in route
    and stop order."""
    r, s, o = planned_route_t.c, planned_stop_t.c, order_t.c
    query = (
        sa.select(s.order_id)
        .join(planned_route_t, r.id == s.route_id)
        .join(order_t, o.id == s.order_id)
        .where(r.plan_id == plan_id, r.dispatched.is_(True), o.status == "open")
        .order_by(r.id, s.seq, s.id)
    )
    if vehicle is not None:
        query = query.where(r.vehicle == vehicle)
    if day is not None:
        query = query.where(r.day == day)
    return list(dict.fromkeys(conn.scalars(query)))
