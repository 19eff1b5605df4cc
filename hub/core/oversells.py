"""Oversells to investigate: final sales (a shop's till) that the hub's stock could not
cover, listed until a person resolves them.

Intake records an oversell when a point-of-sale channel's completed sale arrives after
another channel took the unit (see :class:`hub.Channel` ``final_sales``): the sale is
booked all the same and the shop's balance goes below zero. Someone then finds out what
happened (a miscount, a unit found in the back room, a customer to call) and resolves the
oversell with a note. Resolving records who, when and why in the order's history; it
does not move stock (a count or a receipt does that, through the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.desk.inputs import Actor
from hub.core.models import location_t, now, order_event_t, oversell_t, product_t
from hub.errors import Conflict, InvalidInput, NotFound

MAX_NOTE = 2000  # characters


@dataclass(frozen=True)
class OversellView:
    """One oversell: ``quantity`` units of ``sku`` handed over at ``location`` beyond the
    stock, by ``channel``'s order ``reference`` (the order's hub id is ``order_id``)."""

    id: int
    channel: str
    order_id: int
    reference: str
    sku: str
    location: str
    quantity: int
    created_at: datetime
    resolved_at: datetime | None


def _select() -> sa.Select:
    v = oversell_t.c
    return (
        sa.select(
            v.id,
            v.channel,
            v.order_id,
            v.reference,
            product_t.c.sku,
            location_t.c.code,
            v.quantity,
            v.created_at,
            v.resolved_at,
        )
        .join(product_t, product_t.c.id == v.product_id)
        .join(location_t, location_t.c.id == v.location_id)
    )


def list_oversells(conn: Connection, include_resolved: bool = False) -> list[OversellView]:
    """Open oversells, oldest first; with ``include_resolved`` the resolved ones too."""
    query = _select().order_by(oversell_t.c.id)
    if not include_resolved:
        query = query.where(oversell_t.c.resolved_at.is_(None))
    return [OversellView(*row) for row in conn.execute(query)]


def resolve(conn: Connection, oversell_id: int, note: str, actor: Actor) -> OversellView:
    """Mark oversell ``oversell_id`` resolved, recording ``note`` (what was found, 1 to
    2,000 characters) with ``actor`` in its order's history.

    Raises :class:`NotFound` for an unknown id, :class:`InvalidInput` for an empty or
    overlong note, and :class:`Conflict` when it was already resolved (saying when).
    """
    note = (note or "").strip()
    if not note:
        raise InvalidInput("note: say what was found", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"note: at most {MAX_NOTE:,} characters", field="note")
    row = conn.execute(_select().where(oversell_t.c.id == oversell_id)).first()
    if row is None:
        raise NotFound(f"no oversell {oversell_id}")
    found = OversellView(*row)
    stamp = now()
    done = conn.execute(
        oversell_t.update()
        .where(oversell_t.c.id == oversell_id, oversell_t.c.resolved_at.is_(None))
        .values(resolved_at=stamp)
    )
    if done.rowcount != 1:  # resolved before us (perhaps by another person just now)
        when = conn.execute(
            sa.select(oversell_t.c.resolved_at).where(oversell_t.c.id == oversell_id)
        ).scalar_one()
        when = when.astimezone(UTC) if when.tzinfo else when
        raise Conflict(f"oversell {oversell_id} was already resolved at {when:%Y-%m-%d %H:%M} UTC")
    conn.execute(
        order_event_t.insert().values(
            order_id=found.order_id,
            status="oversell resolved",
            note=f"{found.quantity} x {found.sku} at {found.location}: {note}",
            actor=actor.label(),
            origin=actor.origin,
            created_at=stamp,
        )
    )
    return OversellView(**{**found.__dict__, "resolved_at": stamp})
