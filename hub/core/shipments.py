"""Shipments recorded in the hub, and the outbox that tells the selling channel about them.

:func:`record` is the one way a shipment enters the hub (the CLI today; carriers and
drivers call it too): in the caller's transaction, the order's reserved units become
sales in the ledger and a ``shipment`` row with its ``shipment_line`` rows records
exactly what those sales took. A shipment for a channel that can be told starts
``pending``; :func:`push_shipments` leases due pending shipments, calls the channel
adapter's ``fulfill`` through the channel's rate-limited, retrying caller, and records
``confirmed``. A retryable failure (429, 5xx, time-out) tries again later with
exponential backoff; a refusal, or ``MAX_FAILURES`` attempts, makes it ``failed`` with
the reason and a dead letter (kind ``fulfil``) that ``hub retry`` sends again.

A crash after the channel applied a fulfilment but before the hub committed
``confirmed`` sends it again: adapters' ``fulfill`` must treat a fulfilment they already
hold (the same tracking number) as done, so the channel never records it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.channels import Channel
from hub.core import ledger
from hub.core.calls import is_retryable
from hub.core.db import in_list, is_sqlite
from hub.core.models import (
    dead_letter_t,
    location_t,
    movement_t,
    now,
    order_t,
    product_t,
    shipment_line_t,
    shipment_t,
)
from hub.core.ratelimit import Priority
from hub.core.syncstate import add_dead_letter, record_failure, record_success
from hub.errors import HubError, NotFound
from hub.stock import StockChange

if TYPE_CHECKING:
    from hub.core.sync import Sync

log = logging.getLogger("hub.shipments")

PENDING, CONFIRMED, FAILED, NOT_NEEDED = "pending", "confirmed", "failed", "not_needed"
MAX_FAILURES = 5  # attempts (each with the caller's own retries) before a shipment fails
BACKOFF = timedelta(seconds=60)  # wait after the first failed attempt; doubles each time
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(seconds=60)  # how long a worker owns the shipments it claimed
BATCH = 20  # shipments claimed at once: few enough to send within one lease
DEAD_LETTER_KIND = "fulfil"


def tells_channel(adapter: Channel | type[Channel]) -> bool:
    """True when the adapter (or adapter class) implements ``fulfill``; the manual
    channel does not."""
    kind = adapter if isinstance(adapter, type) else type(adapter)
    return kind.fulfill is not Channel.fulfill


def reserved_units(conn: Connection, order_id: int) -> dict[tuple[int, int], int]:
    """Units the order holds reserved, per (product id, location id)."""
    m = movement_t.c
    rows = conn.execute(
        sa.select(m.product_id, m.location_id, sa.func.sum(m.reserved_delta))
        .where(m.order_id == order_id)
        .group_by(m.product_id, m.location_id)
    )
    return {(p, loc): int(r) for p, loc, r in rows if r}


def record(
    conn: Connection,
    order: Mapping[str, Any],
    carrier: str,
    tracking_number: str = "",
    tracking_url: str = "",
    *,
    actor: str = "",
    tell_channel: bool = True,
    shipped_at: datetime | None = None,
) -> tuple[int, list[StockChange]]:
    """Ship everything ``order`` (a ``sales_order`` row) holds reserved, in ``conn``'s
    transaction: sale movements in the ledger, a ``shipment`` row (``pending`` when the
    channel is to be told, else ``not_needed``) and one ``shipment_line`` per
    (product, location) with the units the sale took.

    Returns the shipment id and the ledger's stock changes. Raises
    :class:`hub.errors.StockError` when the ledger refuses a movement (the transaction
    is then rolled back by the caller).
    """
    taken = reserved_units(conn, order["id"])
    moves = [
        ledger.Move(
            "sale",
            product,
            location,
            on_hand_delta=-units,
            reserved_delta=-units,
            channel=order["channel"],
            reference=order["number"] or order["external_id"],
            actor=actor,
            order_id=order["id"],
        )
        for (product, location), units in taken.items()
    ]
    changes = ledger.apply(conn, moves)
    inserted = conn.execute(
        shipment_t.insert().values(
            order_id=order["id"],
            channel=order["channel"],
            source="hub",
            carrier=carrier,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            actor=actor,
            shipped_at=shipped_at or now(),
            channel_state=PENDING if tell_channel else NOT_NEEDED,
            attempts=0,
            last_error="",
            claimed_by="",
        )
    )
    key = inserted.inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    shipment_id = int(key[0])
    if taken:
        conn.execute(
            shipment_line_t.insert(),
            [
                {"shipment_id": shipment_id, "product_id": p, "location_id": loc, "quantity": q}
                for (p, loc), q in taken.items()
                if q > 0
            ],
        )
    return shipment_id, changes


# -- reading ----------------------------------------------------------------------------------


def order_shipments(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    """The order's shipments, oldest first, each with ``lines`` (sku, location, quantity)."""
    s = shipment_t.c
    rows = [
        dict(r)
        for r in conn.execute(
            sa.select(shipment_t).where(s.order_id == order_id).order_by(s.id)
        ).mappings()
    ]
    if not rows:
        return rows
    line = shipment_line_t.c
    lines = conn.execute(
        sa.select(line.shipment_id, product_t.c.sku, location_t.c.code, line.quantity)
        .join(product_t, product_t.c.id == line.product_id)
        .join(location_t, location_t.c.id == line.location_id)
        .where(in_list(conn, line.shipment_id, [r["id"] for r in rows]))
        .order_by(product_t.c.sku, location_t.c.code)
    )
    by_shipment: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
    for shipment_id, sku, location, quantity in lines:
        by_shipment[shipment_id].append({"sku": sku, "location": location, "quantity": quantity})
    for row in rows:
        row["lines"] = by_shipment[row["id"]]
    return rows


def unsent_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Per channel, shipments still ``pending`` and those ``failed``: {channel: {state: n}}."""
    s = shipment_t.c
    query = (
        sa.select(s.channel, s.channel_state, sa.func.count())
        .where(s.channel_state.in_((PENDING, FAILED)))
        .group_by(s.channel, s.channel_state)
    )
    found: dict[str, dict[str, int]] = {}
    for channel, state, count in conn.execute(query):
        found.setdefault(channel, {})[state] = int(count)
    return found


# -- the outbox -------------------------------------------------------------------------------


@dataclass
class ShipmentPushResult:
    """What one :func:`push_shipments` run did for one channel."""

    channel: str
    confirmed: list[int] = field(default_factory=list)  # shipment ids the channel holds now
    retrying: list[int] = field(default_factory=list)  # failed for now; tried again later
    failed: list[int] = field(default_factory=list)  # refused or out of attempts: dead letters
    not_needed: list[int] = field(default_factory=list)  # the channel cannot be told


def push_shipments(
    sync: Sync, channel: str, *, at: datetime | None = None, limit: int = 1000
) -> ShipmentPushResult:
    """Tell ``channel`` about every due pending shipment, one ``fulfill`` call each.

    ``at`` is the time that decides what is due (default: now). Shipments are leased in
    batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers never send
    the same one at once; at most ``limit`` are handled per run. A retryable failure
    ends the run (the channel is struggling; the rest waits for the next run) and marks
    the channel's ``ship`` job failing. Raises nothing for a failing shipment: its state
    and the dead letters record it.
    """
    result = ShipmentPushResult(channel)
    hub = sync.hub
    seen: set[int] = set()
    trouble = ""
    while len(seen) < limit and not sync.stopping.is_set() and not trouble:
        stamp = at or now()
        if not hub.read(lambda c, s=stamp: c.scalar(_due(channel, s).limit(1))):
            break  # nothing due: no write transaction (SQLite would queue writers on it)
        batch = hub.write(
            lambda c, s=stamp: _claim(c, channel, sync.worker, s, min(BATCH, limit - len(seen)))
        )
        batch = [row for row in batch if row["id"] not in seen]
        if not batch:
            break
        for row in batch:
            seen.add(row["id"])
            if sync.stopping.is_set() or trouble:
                hub.write(lambda c, r=row: _release(c, r["id"], sync.worker))
                continue
            outcome, trouble = _handle(sync, channel, row, at)
            getattr(result, outcome).append(row["id"])
    if trouble:
        hub.write(lambda c: record_failure(c, channel, "ship", trouble))
    elif result.confirmed or result.failed:
        hub.write(
            lambda c: record_success(
                c, channel, "ship", detail={"confirmed": len(result.confirmed)}
            )
        )
    return result


def _handle(
    sync: Sync, channel: str, row: Mapping[str, Any], at: datetime | None
) -> tuple[str, str]:
    """Send one leased shipment and record the outcome; returns the outcome's name (a
    :class:`ShipmentPushResult` field) and, for a retryable failure, its error."""
    adapter = sync.hub.channel(channel)
    if not tells_channel(adapter):
        sync.hub.write(lambda c: _settle(c, row["id"], sync.worker, NOT_NEEDED, now()))
        return "not_needed", ""
    error = _send(sync, adapter, channel, row)
    stamp = at or now()
    if error is None:
        sync.hub.write(lambda c: _settle(c, row["id"], sync.worker, CONFIRMED, stamp))
        return "confirmed", ""
    if is_retryable(error) and row["attempts"] + 1 < MAX_FAILURES:
        sync.hub.write(lambda c: _reschedule(c, row, sync.worker, error, stamp))
        return "retrying", _describe(error)
    sync.hub.write(lambda c: _fail(c, row, sync.worker, error, stamp))
    return "failed", ""


def _send(sync: Sync, adapter: Channel, channel: str, row: Mapping[str, Any]) -> Exception | None:
    """Call the adapter's ``fulfill`` through the channel's caller; the error, if any."""
    call = partial(
        adapter.fulfill,
        row["external_id"],
        row["carrier"],
        row["tracking_number"],
        row["tracking_url"],
    )
    try:
        sync.caller(channel).call(call, Priority.ORDERS)
    except Exception as error:
        log.warning(
            "channel %s: shipment %s of order %s not confirmed: %s",
            channel,
            row["id"],
            row["external_id"],
            _describe(error),
        )
        return error
    return None


def _due(channel: str, stamp: datetime) -> sa.Select:
    """Ids of ``channel``'s pending shipments due at ``stamp`` and leased to no one."""
    s = shipment_t.c
    return sa.select(s.id).where(
        s.channel == channel,
        s.channel_state == PENDING,
        sa.or_(s.next_attempt_at.is_(None), s.next_attempt_at <= stamp),
        sa.or_(s.claimed_until.is_(None), s.claimed_until < stamp),
    )


def _claim(
    conn: Connection, channel: str, worker: str, stamp: datetime, limit: int
) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due pending shipments of ``channel`` to ``worker``."""
    s = shipment_t.c
    query = _due(channel, stamp).order_by(s.id).limit(limit)
    if not is_sqlite(conn):
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.scalars(query))
    if not ids:
        return []
    conn.execute(
        shipment_t.update()
        .where(in_list(conn, s.id, ids))
        .values(claimed_by=worker, claimed_until=stamp + LEASE)
    )
    rows = conn.execute(
        sa.select(
            s.id,
            s.carrier,
            s.tracking_number,
            s.tracking_url,
            s.attempts,
            order_t.c.external_id,
            order_t.c.channel,
        )
        .join(order_t, order_t.c.id == s.order_id)
        .where(in_list(conn, s.id, ids))
        .order_by(s.id)
    ).mappings()
    return [dict(r) for r in rows]


def _mine(shipment_id: int, worker: str) -> Any:
    s = shipment_t.c
    return sa.and_(s.id == shipment_id, s.claimed_by == worker, s.channel_state == PENDING)


def _release(conn: Connection, shipment_id: int, worker: str) -> None:
    conn.execute(
        shipment_t.update()
        .where(_mine(shipment_id, worker))
        .values(claimed_by="", claimed_until=None)
    )


def _settle(conn: Connection, shipment_id: int, worker: str, state: str, stamp: datetime) -> None:
    """The channel holds the shipment (or cannot be told): it leaves the outbox."""
    conn.execute(
        shipment_t.update()
        .where(_mine(shipment_id, worker))
        .values(
            channel_state=state,
            attempts=shipment_t.c.attempts + (1 if state == CONFIRMED else 0),
            confirmed_at=stamp if state == CONFIRMED else None,
            last_error="",
            next_attempt_at=None,
            claimed_by="",
            claimed_until=None,
        )
    )
    d = dead_letter_t.c
    conn.execute(  # a dead letter of this shipment has nothing left to retry
        dead_letter_t.update()
        .where(d.kind == DEAD_LETTER_KIND, d.reference == str(shipment_id), d.retried_at.is_(None))
        .values(retried_at=stamp)
    )


def _reschedule(
    conn: Connection, row: Mapping[str, Any], worker: str, error: Exception, stamp: datetime
) -> None:
    """A retryable failure: try again after a backoff that doubles with each attempt."""
    attempts = row["attempts"] + 1
    delay = min(MAX_BACKOFF, BACKOFF * 2 ** (attempts - 1))
    conn.execute(
        shipment_t.update()
        .where(_mine(row["id"], worker))
        .values(
            attempts=attempts,
            last_error=_describe(error)[:2000],
            next_attempt_at=stamp + delay,
            claimed_by="",
            claimed_until=None,
        )
    )


def _fail(
    conn: Connection, row: Mapping[str, Any], worker: str, error: Exception, stamp: datetime
) -> None:
    """Refused, or out of attempts: ``failed`` with the reason, and a dead letter."""
    reason = _describe(error)
    attempts = row["attempts"] + 1
    updated = conn.execute(
        shipment_t.update()
        .where(_mine(row["id"], worker))
        .values(
            channel_state=FAILED,
            attempts=attempts,
            last_error=reason[:2000],
            next_attempt_at=None,
            claimed_by="",
            claimed_until=None,
        )
    )
    if not updated.rowcount:
        return  # the lease ran out and another worker owns the shipment now
    d = dead_letter_t.c
    reference = str(row["id"])
    letter = conn.scalar(
        sa.select(d.id).where(
            d.channel == row["channel"],
            d.kind == DEAD_LETTER_KIND,
            d.reference == reference,
            d.retried_at.is_(None),
        )
    )
    if letter is not None:  # a retry failed again: the open letter says why
        conn.execute(
            dead_letter_t.update()
            .where(d.id == letter)
            .values(error=reason[:2000], attempts=d.attempts + attempts)
        )
        return
    add_dead_letter(
        conn,
        row["channel"],
        DEAD_LETTER_KIND,
        reference,
        reason,
        {
            "shipment": row["id"],
            "external_id": row["external_id"],
            "carrier": row["carrier"],
            "tracking_number": row["tracking_number"],
        },
        attempts,
    )


def _describe(error: BaseException) -> str:
    """One line for people: our errors say what they are; others get their type's name."""
    if isinstance(error, HubError):
        return str(error)
    return f"{type(error).__name__}: {error}"


# -- recovery ---------------------------------------------------------------------------------


def claim_holders(conn: Connection) -> set[str]:
    """Workers holding a lease on a pending shipment."""
    s = shipment_t.c
    query = sa.select(s.claimed_by).where(s.claimed_by != "", s.channel_state == PENDING).distinct()
    return {name for (name,) in conn.execute(query)}


def release(conn: Connection, workers: list[str]) -> int:
    """Free the shipments leased by ``workers`` (dead ones) for the next run; returns how
    many. Sending one again is safe: adapters' ``fulfill`` is idempotent."""
    if not workers:
        return 0
    s = shipment_t.c
    result = conn.execute(
        shipment_t.update()
        .where(in_list(conn, s.claimed_by, workers), s.channel_state == PENDING)
        .values(claimed_by="", claimed_until=None)
    )
    return int(result.rowcount or 0)


# -- hub retry --------------------------------------------------------------------------------


def retry_dead_letter(sync: Sync, letter: Mapping[str, Any]) -> str:
    """Send the failed shipment of dead letter ``letter`` again, now.

    Returns what happened, in a few words. Raises :class:`hub.errors.NotFound` when the
    shipment no longer exists, and :class:`hub.errors.HubError` with the channel's reason
    when it fails again (the letter then stays open with that reason).
    """
    shipment_id = int(letter["reference"])
    s = shipment_t.c

    def requeue(conn: Connection) -> str | None:
        state = conn.scalar(sa.select(s.channel_state).where(s.id == shipment_id))
        if state == FAILED:
            conn.execute(
                shipment_t.update()
                .where(s.id == shipment_id)
                .values(
                    channel_state=PENDING,
                    attempts=0,
                    next_attempt_at=None,
                    claimed_by="",
                    claimed_until=None,
                )
            )
        return state

    before = sync.hub.write(requeue)
    if before is None:
        raise NotFound(f"shipment {shipment_id} no longer exists", field="shipment")
    if before in (CONFIRMED, NOT_NEEDED):
        return f"shipment {shipment_id} is {before} already"
    push_shipments(sync, letter["channel"])
    after = sync.hub.read(
        lambda c: (
            c.execute(sa.select(s.channel_state, s.last_error).where(s.id == shipment_id))
            .mappings()
            .one()
        )
    )
    if after["channel_state"] == CONFIRMED:
        return f"shipment {shipment_id} confirmed by the channel"
    raise HubError(
        f"shipment {shipment_id} is {after['channel_state']}: {after['last_error']}",
        field="shipment",
    )
