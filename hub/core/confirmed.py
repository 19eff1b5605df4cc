"""What the hub believes each channel holds, and how sure it is.

A listing's ``confirmed_quantity`` is the figure the channel last confirmed: by answering
a push, by a stock webhook, or when read back. The pusher sends only what differs from
it, so a wrong belief leaves a store out of step. Three rules keep it honest:

- ``unconfirmed``: set (and committed) before a push is sent, cleared when its answer is
  recorded. A push whose outcome is unknown (a time-out, a crash between sending and
  committing) leaves it set, and such a listing is pushed again whatever the
  availability (compare-and-set channels get ``expected`` = the last confirmed value, so
  a stale answer reads the truth back).
- ``event_at``: the channel's own time of the newest stock event taken as confirmed. An
  event at or before it (a replay, a late retry) never moves the figure (one of the same
  second that disagrees leaves it unconfirmed, see :func:`record_event`); neither does one
  stamped before a push the channel since confirmed (:data:`CLOCK_MARGIN` earlier than
  the moment the push was sent, for clocks a little apart). A different figure recorded
  while a push's answer was on its way leaves the listing unconfirmed instead.
- A read-back (reconciliation) never overwrites a figure confirmed after the read began.

Every write here is a conditional update, so two workers never race a check in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import in_list
from hub.core.models import UTCDateTime, listing_t, now

#: How far a channel's clock may lag the hub's: events the channel stamped more than this
#: before a confirmed push was sent happened before the push reached it.
CLOCK_MARGIN = timedelta(seconds=2)

_l = listing_t.c


def _later(stamp: str) -> sa.ColumnElement:
    """``max(event_at, :stamp)`` in SQL, NULL counting as the earliest time."""
    value = sa.bindparam(stamp, type_=UTCDateTime())
    return sa.case((sa.or_(_l.event_at.is_(None), _l.event_at < value), value), else_=_l.event_at)


def _set_unconfirmed(
    conn: Connection, channel: str, external_ids: Iterable[str], value: bool
) -> None:
    ids = list(external_ids)
    if ids:
        conn.execute(
            listing_t.update()
            .where(_l.channel == channel, in_list(conn, _l.external_id, ids))
            .values(unconfirmed=value)
        )


def mark_unconfirmed(conn: Connection, channel: str, external_ids: Iterable[str]) -> None:
    """A push of these listings is about to be sent: their outcome is unknown until recorded."""
    _set_unconfirmed(conn, channel, external_ids, True)


def clear_unconfirmed(conn: Connection, channel: str, external_ids: Iterable[str]) -> None:
    """The channel refused these pushes outright: it holds what it held before."""
    _set_unconfirmed(conn, channel, external_ids, False)


def record_pushed(
    conn: Connection, channel: str, confirmed: Mapping[str, int], sent_at: datetime
) -> set[str]:
    """The channel answered a push sent at ``sent_at`` (hub clock): it holds ``confirmed``
    (external id -> units). The listings are confirmed again, and stock events the
    channel stamped before the push reached it can no longer move their figures.

    A different figure recorded while the answer was on its way (a stock event, a
    reconciliation) may be the newer one: such a listing keeps it but is no longer
    trusted (``unconfirmed``). Returns the external ids left in doubt that way; the
    caller queues them so the next push checks them against the channel.
    """
    if not confirmed:
        return set()
    stamp = now()
    rows = [
        {"ext": ext, "q": int(q), "at": stamp, "sent": sent_at, "frontier": sent_at - CLOCK_MARGIN}
        for ext, q in confirmed.items()
    ]
    sent = sa.bindparam("sent", type_=UTCDateTime())
    mine = sa.and_(_l.channel == channel, _l.external_id == sa.bindparam("ext"))
    untouched = sa.or_(
        _l.confirmed_at.is_(None),
        _l.confirmed_at <= sent,
        _l.confirmed_quantity == sa.bindparam("q"),  # the push's own echo, say
    )
    conn.execute(
        listing_t.update()
        .where(mine, untouched)
        .values(
            confirmed_quantity=sa.bindparam("q"),
            confirmed_at=sa.bindparam("at"),
            unconfirmed=False,
            event_at=_later("frontier"),
        ),
        rows,
    )
    conn.execute(
        listing_t.update().where(mine, sa.not_(untouched)).values(unconfirmed=True),
        [{"ext": r["ext"], "q": r["q"], "sent": r["sent"]} for r in rows],
    )
    doubt = sa.select(_l.external_id).where(
        _l.channel == channel,
        in_list(conn, _l.external_id, list(confirmed)),
        _l.unconfirmed.is_(True),
    )
    return set(conn.execute(doubt).scalars())


def record_read(
    conn: Connection, channel: str, quantities: Mapping[str, int], read_at: datetime
) -> None:
    """The channel was read from ``read_at`` (hub clock) on: it held ``quantities``
    (external id -> units). A figure confirmed after the read began is newer and stays;
    ``unconfirmed`` stays too (a push may have been in flight while the store was read)."""
    if not quantities:
        return
    stamp = now()
    read = sa.bindparam("read", type_=UTCDateTime())
    conn.execute(
        listing_t.update()
        .where(
            _l.channel == channel,
            _l.external_id == sa.bindparam("ext"),
            sa.or_(_l.confirmed_at.is_(None), _l.confirmed_at < read),
        )
        .values(
            confirmed_quantity=sa.bindparam("q"),
            confirmed_at=sa.bindparam("at"),
            event_at=_later("frontier"),
        ),
        [
            {
                "ext": ext,
                "q": int(q),
                "at": stamp,
                "read": read_at,
                "frontier": read_at - CLOCK_MARGIN,
            }
            for ext, q in quantities.items()
        ],
    )


def record_event(
    conn: Connection,
    channel: str,
    quantities: Mapping[int, int],
    occurred_at: datetime | None,
) -> None:
    """A stock event of the channel says it holds ``quantities`` (product id -> units).

    Taken when newer than what the hub knows of the listing (``occurred_at`` after its
    ``event_at``); an older or equal one never moves the figure. Channels stamp whole
    seconds, so an event of the very same time that disagrees with the figure may be the
    newer one or a replay: the figure stays but is no longer trusted (``unconfirmed``),
    so the next push checks it against the channel. An event without a time is taken.
    """
    if not quantities:
        return
    stamp = now()
    rows = [{"p": p, "q": int(q), "at": stamp, "t": occurred_at} for p, q in quantities.items()]
    product = _l.product_id == sa.bindparam("p")
    if occurred_at is None:
        conn.execute(
            listing_t.update()
            .where(_l.channel == channel, product)
            .values(confirmed_quantity=sa.bindparam("q"), confirmed_at=sa.bindparam("at")),
            rows,
        )
        return
    when = sa.bindparam("t", type_=UTCDateTime())
    conn.execute(
        listing_t.update()
        .where(_l.channel == channel, product, sa.or_(_l.event_at.is_(None), _l.event_at < when))
        .values(
            confirmed_quantity=sa.bindparam("q"), confirmed_at=sa.bindparam("at"), event_at=when
        ),
        rows,
    )
    conn.execute(
        listing_t.update()
        .where(
            _l.channel == channel,
            product,
            _l.event_at == when,
            _l.confirmed_quantity != sa.bindparam("q"),
        )
        .values(unconfirmed=True),
        [{"p": r["p"], "q": r["q"], "t": occurred_at} for r in rows],
    )


def unconfirmed_products(conn: Connection, channel: str | None = None) -> dict[str, list[int]]:
    """Product ids of listings whose last push has no recorded answer, per channel."""
    query = sa.select(_l.channel, _l.product_id).where(_l.unconfirmed.is_(True)).distinct()
    if channel is not None:
        query = query.where(_l.channel == channel)
    found: dict[str, list[int]] = {}
    for name, product in conn.execute(query):
        found.setdefault(name, []).append(product)
    return found
