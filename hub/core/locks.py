"""Job locks: each scheduled job of a channel runs in one worker at a time.

On PostgreSQL a session-level advisory lock spans every worker on every machine and is
released by the server if the worker dies; one session per process holds them all
(:class:`_Session`). Advisory locks belong to the database, not to a schema, so the key
includes the schema the hub works in: two hubs in two schemas of one database (tests, a
staging copy) never skip each other's jobs. SQLite is one process, so a lock in the
process suffices.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
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


class _Session:
    """The one PostgreSQL session that holds this process's advisory locks for an engine.

    A session-level advisory lock lives as long as the session that took it, so each job
    once held a pooled connection for its whole run; with more job threads than pooled
    connections, every connection could be holding a lock while its job waited for a
    second one to work with, and the pool's checkout timeout (30 s) stalled the worker.
    One session holds them all instead, taken when the first lock is and closed when the
    last is released; statements on it are serialised by a mutex (each is one round
    trip). A session re-enters its own advisory locks, so the in-process lock per name
    keeps two threads of this process from running one job at once.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.mutex = threading.Lock()
        self.conn: sa.Connection | None = None
        self.schema = ""
        self.held = 0

    def try_lock(self, name: str) -> int | None:
        """The key locked for ``name``, or None when another worker holds it."""
        with self.mutex:
            if self.conn is None:
                self.conn = self.engine.connect()
                self.schema = str(self.conn.execute(sa.text("SELECT current_schema()")).scalar())
                self.conn.commit()
            key = lock_key(f"{self.schema}:{name}")
            try:
                sql = sa.text("SELECT pg_try_advisory_lock(:k)")
                taken = bool(self.conn.execute(sql, {"k": key}).scalar())
                self.conn.commit()
            except Exception:
                self._close()
                raise
            if not taken:
                self._close()
                return None
            self.held += 1
            return key

    def unlock(self, key: int) -> None:
        with self.mutex:
            if self.conn is None:  # the session broke: the server released its locks
                return
            try:
                self.conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                self.conn.commit()
            except Exception:
                self.held = 0  # a broken session held nothing any more
                self._close()
                raise
            self.held -= 1
            self._close()

    def _close(self) -> None:
        if self.held <= 0 and self.conn is not None:
            conn, self.conn = self.conn, None
            self.held = 0
            conn.close()


_sessions: weakref.WeakKeyDictionary[Engine, _Session] = weakref.WeakKeyDictionary()


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to take the lock ``name``; yields whether this worker holds it."""
    with _guard:
        lock = _local_locks.setdefault(f"{engine.url}:{name}", threading.Lock())
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        if is_sqlite(engine):
            yield True
            return
        with _guard:
            session = _sessions.get(engine)
            if session is None:
                session = _sessions[engine] = _Session(engine)
        key = session.try_lock(name)
        try:
            yield key is not None
        finally:
            if key is not None:
                session.unlock(key)
    finally:
        lock.release()
