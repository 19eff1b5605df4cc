"""The customer's public tracking page: tokens, what the page may show, notes and ratings.

Each order that is told of gets one token (:func:`secrets.token_urlsafe` of 24 bytes:
192 random bits, 32 characters), unique, which is all the page at ``/track/<token>``
knows of the customer. The page shows the order's stage, the ETA window and how many
stops the driver has before this one, nothing else: no name, no address, no items.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.models import (
    notification_message_t,
    now,
    order_t,
    tracking_feedback_t,
    tracking_token_t,
)
from hub.errors import InvalidInput, NotFound

TOKEN_BYTES = 24
MAX_NOTE = 1000  # characters of a delivery note
MAX_FEEDBACK = 20  # notes and ratings one order takes (the page is public: no floods)
#: The stage the page shows, from the newest event the customer was told of.
STAGES = ("confirmed", "dispatched", "next_stop", "delivered", "failed")
_BY_STATUS = {
    "fulfilled": "dispatched",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "refunded": "cancelled",
}


def ensure_token(conn: Connection, order_id: int) -> str:
    """The order's tracking token, made on first use (in ``conn``'s transaction)."""
    t = tracking_token_t.c
    found = conn.scalar(sa.select(t.token).where(t.order_id == order_id))
    if found is not None:
        return str(found)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    stamp = now()
    conn.execute(
        tracking_token_t.insert().values(
            order_id=order_id, token=token, created_at=stamp, updated_at=stamp
        )
    )
    return token


def set_eta(
    conn: Connection,
    order_id: int,
    start: datetime | None,
    end: datetime | None,
    stops_before: int | None = None,
) -> None:
    """Record the ETA window (aware datetimes) and the driver's stops before this order,
    as the page shows them; the token is made if the order has none yet."""
    ensure_token(conn, order_id)
    conn.execute(
        tracking_token_t.update()
        .where(tracking_token_t.c.order_id == order_id)
        .values(eta_start=start, eta_end=end, stops_before=stops_before, updated_at=now())
    )


@dataclass(frozen=True)
class TrackingView:
    """What the public page shows: the stage (one of :data:`STAGES` or ``cancelled``),
    the ETA window (aware UTC, or None) and the stops before this one (None: unknown)."""

    order_id: int
    stage: str
    eta_start: datetime | None
    eta_end: datetime | None
    stops_before: int | None
    feedback_count: int


def _token_row(conn: Connection, token: str) -> Any:
    if not token or len(token) > 64:
        return None
    t = tracking_token_t.c
    return conn.execute(sa.select(tracking_token_t).where(t.token == token)).mappings().first()


def view(conn: Connection, token: str) -> TrackingView | None:
    """The page for ``token``, or None when no order has it."""
    row = _token_row(conn, token)
    if row is None:
        return None
    m = notification_message_t.c
    newest = conn.scalar(
        sa.select(m.event).where(m.order_id == row["order_id"]).order_by(m.id.desc()).limit(1)
    )
    status = conn.scalar(sa.select(order_t.c.status).where(order_t.c.id == row["order_id"]))
    stage = _BY_STATUS.get(str(status), "confirmed")
    if stage != "cancelled" and newest in STAGES and STAGES.index(newest) > STAGES.index(stage):
        stage = str(newest)
    if stage == "delivered" or status == "delivered":
        stage = "delivered"
    f = tracking_feedback_t.c
    count = conn.scalar(
        sa.select(sa.func.count())
        .select_from(tracking_feedback_t)
        .where(f.order_id == row["order_id"])
    )
    return TrackingView(
        order_id=row["order_id"],
        stage=stage,
        eta_start=row["eta_start"],
        eta_end=row["eta_end"],
        stops_before=row["stops_before"],
        feedback_count=int(count or 0),
    )


def leave_feedback(conn: Connection, token: str, note: str, rating: str | int | None) -> int:
    """Store a delivery note and/or a rating from the page; returns the feedback id.

    ``rating`` is 1 to 5 (or empty); the note at most :data:`MAX_NOTE` characters.
    Raises :class:`NotFound` for a token no order has and :class:`InvalidInput` naming
    the field for a bad rating, a note too long, neither given, or an order that has
    :data:`MAX_FEEDBACK` already; nothing is stored then.
    """
    row = _token_row(conn, token)
    if row is None:
        raise NotFound("no order has this tracking link", field="token")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(
            f"the note has {len(text)} characters; at most {MAX_NOTE} fit", field="note"
        )
    stars: int | None = None
    if rating not in (None, ""):
        try:
            stars = int(str(rating))
        except ValueError:
            stars = 0
        if not 1 <= stars <= 5:
            raise InvalidInput(f"a rating is 1 to 5 stars, not {rating!r}", field="rating")
    if not text and stars is None:
        raise InvalidInput("write a note or choose a rating", field="note")
    f = tracking_feedback_t.c
    count = conn.scalar(
        sa.select(sa.func.count())
        .select_from(tracking_feedback_t)
        .where(f.order_id == row["order_id"])
    )
    if int(count or 0) >= MAX_FEEDBACK:
        raise InvalidInput(
            f"this delivery has {MAX_FEEDBACK} notes already; call us instead", field="note"
        )
    result = conn.execute(
        tracking_feedback_t.insert().values(
            order_id=row["order_id"], note=text, rating=stars, created_at=now()
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def order_for_token(conn: Connection, token: str) -> int | None:
    """The order id of ``token``, or None."""
    row = _token_row(conn, token)
    return None if row is None else int(row["order_id"])


def feedback(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    """The notes and ratings left for an order, oldest first."""
    f = tracking_feedback_t.c
    query = sa.select(tracking_feedback_t).where(f.order_id == order_id).order_by(f.id)
    return [dict(r) for r in conn.execute(query).mappings()]
