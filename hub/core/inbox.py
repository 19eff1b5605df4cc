"""The webhook inbox: deliveries are stored before they are acknowledged, then worked.

Rows are leased (``claimed_by``/``claimed_until``) and, on PostgreSQL, claimed with
``FOR UPDATE SKIP LOCKED``, so any number of workers share them and each row is handled
by one. A worker killed mid-row delays it until the lease runs out, or until a worker of
the same host sees it is dead (:func:`release`, run at start and on a schedule).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import in_list, is_sqlite
from hub.core.ledger import insert_ignore
from hub.core.models import inbox_t, now
from hub.core.syncstate import add_dead_letter

LEASE = timedelta(seconds=60)


def store(
    conn: Connection,
    channel: str,
    delivery_id: str,
    topic: str,
    headers: dict[str, str],
    body: bytes,
) -> bool:
    """Keep a verified delivery; False when the same delivery was stored before."""
    result = conn.execute(
        insert_ignore(conn, inbox_t).values(
            channel=channel,
            delivery_id=delivery_id,
            topic=topic[:200],
            headers=json.dumps(headers),
            body=body,
            status="pending",
            attempts=0,
            last_error="",
            claimed_by="",
            received_at=now(),
        )
    )
    return bool(result.rowcount)


def claim(conn: Connection, worker: str, limit: int) -> list[dict[str, Any]]:
    """Lease up to ``limit`` pending rows, oldest first."""
    i = inbox_t.c
    stamp = now()
    query = (
        sa.select(inbox_t)
        .where(i.status == "pending", sa.or_(i.claimed_until.is_(None), i.claimed_until < stamp))
        .order_by(i.id)
        .limit(limit)
    )
    if not is_sqlite(conn):
        query = query.with_for_update(skip_locked=True)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    if rows:
        conn.execute(
            inbox_t.update()
            .where(in_list(conn, i.id, [r["id"] for r in rows]))
            .values(claimed_by=worker, claimed_until=stamp + LEASE, attempts=i.attempts + 1)
        )
    return rows


def done(conn: Connection, row_id: int) -> None:
    """The row was handled."""
    conn.execute(
        inbox_t.update()
        .where(inbox_t.c.id == row_id)
        .values(status="done", processed_at=now(), claimed_by="", claimed_until=None)
    )


def fail(
    conn: Connection, row: dict[str, Any], error: str, max_attempts: int, *, final: bool = False
) -> None:
    """The row failed: try again later, or give up into the dead letters.

    ``attempts`` was counted when the row was claimed; it dies once it reaches
    ``max_attempts``, or at once when ``final`` (retrying cannot help: an unreadable body).
    """
    attempts = row["attempts"] + 1
    dead = final or attempts >= max_attempts
    conn.execute(
        inbox_t.update()
        .where(inbox_t.c.id == row["id"])
        .values(
            status="dead" if dead else "pending",
            last_error=error[:2000],
            claimed_by="",
            claimed_until=now() + timedelta(seconds=min(60, 2**attempts)),
        )
    )
    if dead:
        add_dead_letter(
            conn,
            row["channel"],
            "inbox",
            str(row["id"]),
            error,
            {"topic": row["topic"], "delivery_id": row["delivery_id"]},
            attempts,
        )


def release(conn: Connection, workers: list[str]) -> int:
    """Free the pending rows leased by ``workers`` (dead ones); returns how many."""
    if not workers:
        return 0
    i = inbox_t.c
    result = conn.execute(
        inbox_t.update()
        .where(i.status == "pending", in_list(conn, i.claimed_by, workers))
        .values(claimed_by="", claimed_until=None)
    )
    return int(result.rowcount or 0)


def lease_holders(conn: Connection) -> set[str]:
    """Workers holding a lease on a pending row."""
    i = inbox_t.c
    query = sa.select(i.claimed_by).where(i.status == "pending", i.claimed_by != "").distinct()
    return {name for (name,) in conn.execute(query)}


def requeue(conn: Connection, row_id: int) -> None:
    """Put a dead row back in the queue (``hub retry``)."""
    conn.execute(
        inbox_t.update()
        .where(inbox_t.c.id == row_id)
        .values(status="pending", attempts=0, claimed_by="", claimed_until=None)
    )


def depth(conn: Connection) -> dict[str, int]:
    """Pending rows per channel."""
    i = inbox_t.c
    rows = conn.execute(
        sa.select(i.channel, sa.func.count()).where(i.status == "pending").group_by(i.channel)
    )
    return {channel: int(n) for channel, n in rows}
