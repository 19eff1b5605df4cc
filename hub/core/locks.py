"""Job locks: each scheduled job of a channel runs in one worker at a time.

On PostgreSQL a session-level advisory lock, held on a connection of its own for the
job's duration, spans every worker on every machine and is released by the server if
the worker dies. Advisory locks belong to the database, not to a schema, so the key
includes the schema the hub works in: two hubs in two schemas of one database (tests, a
staging copy) never skip each other's jobs. SQLite is one process, so a lock in the
process suffices.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hub.core.db import is_sqlite

_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to take the lock ``name``; yields whether this worker holds it."""
    if is_sqlite(engine):
        with _guard:
            lock = _local_locks.setdefault(f"{engine.url}:{name}", threading.Lock())
        taken = lock.acquire(blocking=False)
        try:
            yield taken
        finally:
            if taken:
                lock.release()
        return
    with engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
        key = lock_key(f"{schema}:{name}")
        taken = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield taken
        finally:
            if taken:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
