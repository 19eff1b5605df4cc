"""A person's hold on an order (``POST /orders/{ref}/hold``), for as long as the order
desk (:mod:`hub.core.desk`) has none of its own.

It follows the desk's conventions: the hold is a ``manual`` code in the order's
``hold_reason`` (``"manual: <reason>"``, beside any plugin holds), which
:func:`hub.core.desk.release_order` may release like any plugin hold; the order keeps
its reservations (held orders do); history records who, from where and why. Intake
keeps the hold whenever it decides the order again (``recheck-holds``, stock arriving, a
new version), until a person releases it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import run_in_transaction
from hub.core.intake import PERSON_HOLD
from hub.core.models import now, order_event_t, order_t
from hub.core.orderbook import order_id
from hub.core.runtime import Hub
from hub.errors import Conflict, InvalidInput
from hub.orders import OrderStatus

CODE = PERSON_HOLD  # intake keeps it whenever the order is decided again
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

    return desk.order_view(hub, run_in_transaction(hub.engine, work))
