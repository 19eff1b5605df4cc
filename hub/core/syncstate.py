"""Persistent sync bookkeeping: per channel and job, cursors and health; dead letters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.ledger import insert_ignore
from hub.core.models import dead_letter_t, now, sync_state_t


@dataclass(frozen=True)
class JobState:
    """A channel job's bookmark and health."""

    channel: str
    job: str
    cursor: str = ""
    high_water: datetime | None = None
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    failures: int = 0
    last_error: str = ""
    detail: dict[str, Any] | None = None


def get_state(conn: Connection, channel: str, job: str) -> JobState:
    """The stored state (an empty one before the first run)."""
    s = sync_state_t.c
    row = (
        conn.execute(sa.select(sync_state_t).where(s.channel == channel, s.job == job))
        .mappings()
        .first()
    )
    if row is None:
        return JobState(channel, job, detail={})
    values = dict(row)
    values["detail"] = json.loads(values["detail"] or "{}")
    return JobState(**values)


def save_state(conn: Connection, channel: str, job: str, **values: Any) -> None:
    """Create or update the state of ``channel``'s ``job`` with ``values``."""
    if "detail" in values:
        values["detail"] = json.dumps(values["detail"], default=str)
    conn.execute(
        insert_ignore(conn, sync_state_t).values(channel=channel, job=job, cursor="", detail="{}")
    )
    s = sync_state_t.c
    conn.execute(sync_state_t.update().where(s.channel == channel, s.job == job).values(**values))


def record_success(conn: Connection, channel: str, job: str, **values: Any) -> None:
    """The job ran to the end: clear its failures."""
    stamp = now()
    save_state(
        conn,
        channel,
        job,
        last_success_at=stamp,
        last_attempt_at=stamp,
        failures=0,
        last_error="",
        **values,
    )


def record_failure(conn: Connection, channel: str, job: str, error: str) -> int:
    """The job failed: count it and keep the error; returns the failures in a row."""
    current = get_state(conn, channel, job)
    failures = current.failures + 1
    save_state(
        conn, channel, job, last_attempt_at=now(), failures=failures, last_error=error[:2000]
    )
    return failures


def add_dead_letter(
    conn: Connection,
    channel: str,
    kind: str,
    reference: str,
    error: str,
    payload: dict[str, Any] | None = None,
    attempts: int = 0,
) -> None:
    """Keep a job or record that kept failing, for ``hub status`` and ``hub retry``."""
    conn.execute(
        dead_letter_t.insert().values(
            channel=channel,
            kind=kind,
            reference=reference,
            error=error[:2000],
            payload=json.dumps(payload or {}, default=str),
            attempts=attempts,
            created_at=now(),
        )
    )


def open_dead_letters(
    conn: Connection, channel: str | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Dead letters not yet retried (all, of one channel, or the given ids)."""
    d = dead_letter_t.c
    query = sa.select(dead_letter_t).where(d.retried_at.is_(None)).order_by(d.id)
    if channel:
        query = query.where(d.channel == channel)
    if ids:
        query = query.where(d.id.in_(ids))
    return [dict(r) for r in conn.execute(query).mappings()]
