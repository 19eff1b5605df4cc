"""Database engine and transactions: SQLite embedded by default, PostgreSQL at scale.

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of
failing when a read turns into a write. On PostgreSQL, a transaction that loses a
deadlock or serialization race is retried.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from hub.errors import ConfigError, DatabaseUnavailable

log = logging.getLogger("hub.db")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 60_000


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create the engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    if url.startswith("postgresql+psycopg"):
        return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=25)
    raise ConfigError(
        f"database.url: unsupported database {url.split(':', 1)[0]!r} "
        "(expected sqlite:///PATH or postgresql+psycopg://...)"
    )


def _sqlite_engine(url: str, echo: bool) -> Engine:
    path = sqlite_path(url)
    if path and path != ":memory:" and "mode=ro" not in url:
        _make_folder(Path(path))
    engine = sa.create_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _make_folder(database: Path) -> None:
    """Create the SQLite file's folder, or say in one line why it cannot be."""
    blocked = next((p for p in database.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise DatabaseUnavailable(
            f"cannot create the SQLite database {database}: {blocked} is a file, not a folder"
        )
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(
            f"cannot create the folder of the SQLite database {database}: "
            f"{(error.strerror or str(error)).lower()}"
        ) from None


def sqlite_path(url: str) -> str:
    """The file of an SQLite URL: ``sqlite:///PATH`` or the URI form
    ``sqlite:///file:PATH?mode=ro&uri=true`` (a database opened read-only)."""
    path = url.split("///", 1)[-1]
    if path.startswith("file:"):
        path = path[len("file:") :].split("?", 1)[0]
    return path


def where(url: URL) -> str:
    """Where the database is, for a person: the SQLite file, or PostgreSQL's
    ``user@host:port/database`` (never the password)."""
    if url.get_backend_name() == "sqlite":
        return (url.database or ":memory:").removeprefix("file:")
    user = f"{url.username}@" if url.username else ""
    return f"{user}{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


#: SQLSTATE codes of PostgreSQL refusals a person fixes outside the hub.
_READ_ONLY, _NO_PRIVILEGE = "25006", "42501"


def is_read_only(error: DBAPIError) -> bool:
    """The database refused a write because it is read-only (file, mount, role or session)."""
    text = str(error.orig)
    return "readonly database" in text or getattr(error.orig, "sqlstate", None) == _READ_ONLY


def refuses_writes(error: DBAPIError) -> bool:
    """A read-only database, or a role without the privilege to write: reads still work."""
    return is_read_only(error) or getattr(error.orig, "sqlstate", None) == _NO_PRIVILEGE


def describe_failure(error: DBAPIError, url: URL) -> str | None:
    """One line saying what the database refused and where, or None for errors that are
    not about reaching, opening or writing it (a bug shows its traceback)."""
    text = str(error.orig).strip()
    first = text.splitlines()[0] if text else type(error.orig).__name__
    place = where(url)
    sqlite = url.get_backend_name() == "sqlite"
    code = getattr(error.orig, "sqlstate", None)
    if is_read_only(error):
        return (
            f"the database {place} is read-only, so nothing was written: "
            "give the hub's user write access to it (and, for SQLite, to its folder)"
        )
    if code == _NO_PRIVILEGE:
        return (
            f"the database {place} refused: {first}, so nothing was written; "
            "grant the hub's role the privileges on its tables"
        )
    if not isinstance(error, OperationalError):
        return None
    if sqlite:
        if "unable to open database file" in text:
            return f"cannot open the SQLite database {place}: its folder is missing or not writable"
        return f"the SQLite database {place} failed: {first}"
    reason = " ".join(first.rsplit("failed: ", 1)[-1].split())
    at_connect = error.statement is None  # no statement yet: the connection itself failed
    if at_connect or error.connection_invalidated or first.startswith("connection failed"):
        return (
            f"cannot connect to the database at {place}: {reason}; check database.url "
            "and that PostgreSQL runs there"
        )
    return f"the database at {place} failed: {reason}"


def is_sqlite(engine: Engine | Connection) -> bool:
    """True on the embedded SQLite database."""
    return engine.dialect.name == "sqlite"


def _retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    if code in ("40001", "40P01"):  # serialization failure, deadlock detected
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def run_in_transaction(engine: Engine, work: Callable[[Connection], T], attempts: int = 8) -> T:
    """Run ``work(connection)`` in one transaction, retrying lost deadlock races."""
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as connection:
                return work(connection)
        except DBAPIError as error:
            if attempt == attempts or not _retryable(error):
                raise
            log.warning("transaction retried after %s", type(error.orig).__name__)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A plain transaction (no retry): commit on success, roll back on error."""
    with engine.begin() as connection:
        yield connection


_SHORT = 32  # values an IN list on SQLite spells out


def in_list(connection: Connection, column: Any, values: Iterable[Any]) -> Any:
    """``column IN values``, one parameter however many values: on PostgreSQL as
    ``= ANY(array)``; on SQLite, a list longer than a few dozen of texts and whole numbers
    as ``IN (SELECT value FROM json_each(:json))``.

    Long IN lists cost time to build and parse on every page (SQLAlchemy expands each
    value into a placeholder of its own); one array or JSON parameter does not. SQLite
    still looks each value up in the column's index.
    """
    values = list(values)
    if is_sqlite(connection):
        if len(values) <= _SHORT or not all(type(v) in (str, int) for v in values):
            return column.in_(values)
        each = sa.func.json_each(sa.bindparam(None, json.dumps(values), type_=sa.String))
        return column.in_(sa.select(each.table_valued("value").c.value))
    return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))
