"""Moving a hub from its SQLite database to PostgreSQL: ``hub db move --to URL``.

The target is migrated to the latest revision and filled in **one transaction**: every
table the migrations made, in foreign-key order, read from the source in batches
(bounded memory however large the journal), then each sequence set past the ids it
copied, then the row counts and every stock balance checked against the journal. Any
failure rolls the whole transaction back, schema included (PostgreSQL's DDL is
transactional), so the target is left as empty as it was found.

The tables are whatever the migrations create (reflected from the target once it is
migrated), never a list kept here: a table added by a new migration is moved too.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from hub.core import ledger, migrate
from hub.core.db import describe_failure, make_engine, sqlite_path, where
from hub.core.recovery import process_alive
from hub.errors import DatabaseUnavailable, HubError, InvalidInput

#: Rows read from the source and written to the target at a time.
BATCH_SIZE = 1000
VERSION_TABLE = "alembic_version"
#: Tables every hub command fills from the configuration (``hub db upgrade`` among them):
#: rows there alone are no hub data, and make way for the source's.
FROM_CONFIG = frozenset({"location"})


@dataclass(frozen=True)
class TableCopy:
    """One table moved: its name and how many rows it holds on both sides."""

    name: str
    rows: int


@dataclass
class MoveReport:
    """What :func:`move` did: the two databases (no passwords), the schema revision, the
    tables in the order they were copied, the balances checked and the time taken."""

    source: str
    target: str
    revision: str
    tables: list[TableCopy] = field(default_factory=list)
    balances: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Rows copied over every table."""
        return sum(t.rows for t in self.tables)


def move(
    source_url: str,
    target_url: str,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[TableCopy], None] | None = None,
) -> MoveReport:
    """Copy the hub's SQLite database at ``source_url`` into the empty PostgreSQL
    database at ``target_url`` and verify the copy; returns a :class:`MoveReport`.

    ``batch_size`` rows are held in memory at a time; ``progress`` is called after each
    table. Raises :class:`InvalidInput` for a URL of the wrong kind, a source that is not
    at the latest revision, a target that holds hub data, or a hub still running on the
    source; :class:`DatabaseUnavailable` when either database cannot be reached; a
    :class:`HubError` when a row cannot be written or the copy does not verify. In every
    one of these cases nothing stays written to the target.
    """
    if batch_size < 1:
        raise InvalidInput(f"--batch-size must be at least 1, not {batch_size}", field="batch_size")
    started = time.monotonic()
    source = _source_engine(source_url)
    try:
        revision = _check_source(source)
        target = _target_engine(target_url)
        try:
            report = MoveReport(where(source.url), where(target.url), revision)
            _copy_all(source, target, report, batch_size, progress)
        finally:
            target.dispose()
    finally:
        source.dispose()
    report.seconds = time.monotonic() - started
    return report


# -- the two databases ---------------------------------------------------------------------


def _source_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        raise InvalidInput(
            f"the source must be an SQLite database (sqlite:///PATH), not {_scheme(url)!r}; "
            "give --from sqlite:///path/to/hub.db",
            field="from",
        )
    path = sqlite_path(url)
    if path in ("", ":memory:") or not Path(path).is_file():
        raise InvalidInput(f"no SQLite database at {path or url!r}", field="from")
    return make_engine(url)


def _target_engine(url: str) -> Engine:
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise InvalidInput(
            f"--to must be a PostgreSQL URL (postgresql://user@host:5432/database), "
            f"not {_scheme(url)!r}",
            field="to",
        )
    try:
        make_url(url)
    except ArgumentError:
        raise InvalidInput("--to is not a database URL", field="to") from None
    return make_engine(url)


def _scheme(url: str) -> str:
    return url.split(":", 1)[0] if ":" in url else url


def _check_source(source: Engine) -> str:
    """The source's revision, after checking it is the latest and no hub works on it."""
    place = where(source.url)
    try:
        current = migrate.current_revision(source)
        head = migrate.head_revision(source) or ""
        if current is None:
            raise InvalidInput(f"{place} is not a hub database (it has no schema revision)")
        if current != head:
            raise InvalidInput(
                f"the SQLite database {place} is at revision {current}, not the latest "
                f"{head}: run `hub db upgrade` on it first (with the config that points at it)"
            )
        with source.connect() as conn:
            holder = _live_lease(conn)
    except DBAPIError as error:
        raise DatabaseUnavailable(_failure(error, source)) from None
    if holder is not None:
        raise InvalidInput(
            f"a hub is working on {place} (worker {holder} holds a lease): stop every "
            "`hub run` on it, then move"
        )
    opener = _other_opener(Path(sqlite_path(str(source.url))))
    if opener is not None:
        raise InvalidInput(
            f"another process has {place} open ({opener}): stop it (`hub run`, a hub "
            "command, sqlite3), then move"
        )
    return current


def _other_opener(database: Path) -> str | None:
    """``pid N: command`` of another process of this machine with ``database`` (or its
    WAL) open, as far as /proc shows (Linux, processes this user may see); else None."""
    try:
        wanted = {database.resolve(), Path(f"{database.resolve()}-wal")}
        processes = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return None
    for process in processes:
        if int(process.name) == os.getpid():
            continue
        try:
            opened = {Path(os.readlink(fd)) for fd in (process / "fd").iterdir()}
            if opened & wanted:
                command = (process / "cmdline").read_bytes().decode(errors="replace")
                return f"pid {process.name}: {' '.join(command.replace(chr(0), ' ').split())[:80]}"
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return None


def _live_lease(conn: Connection) -> str | None:
    """A worker that holds a lease on a queue row (inbox, outbox, shipments) and is still
    alive: its lease has not run out, or its process runs on this machine."""
    inspector = sa.inspect(conn)
    stamp = datetime.now(UTC).replace(tzinfo=None)  # SQLite holds naive UTC
    host = socket.gethostname()
    for name in inspector.get_table_names():
        columns = {c["name"] for c in inspector.get_columns(name)}
        if not {"claimed_by", "claimed_until"} <= columns:
            continue
        rows = conn.execute(
            sa.select(
                sa.column("claimed_by", sa.String()),
                sa.func.max(sa.column("claimed_until", sa.DateTime())),
            )
            .select_from(sa.table(name))
            .where(sa.column("claimed_by") != "")
            .group_by(sa.column("claimed_by"))
        )
        for worker, until in rows:
            parts = str(worker).split(":")
            here = len(parts) >= 2 and parts[0] == host and parts[1].isdigit()
            if (until is not None and until > stamp) or (here and process_alive(int(parts[1]))):
                return str(worker)
    return None


def _failure(error: DBAPIError, engine: Engine) -> str:
    return describe_failure(error, engine.url) or (
        f"the database {where(engine.url)} failed: {_first_line(error)}"
    )


def _first_line(error: DBAPIError) -> str:
    text = str(error.orig).strip()
    return text.splitlines()[0] if text else type(error.orig).__name__


# -- the copy --------------------------------------------------------------------------------


def _copy_all(
    source: Engine,
    target: Engine,
    report: MoveReport,
    batch_size: int,
    progress: Callable[[TableCopy], None] | None,
) -> None:
    try:
        out = target.connect()
    except DBAPIError as error:
        line = _failure(error, target).replace("check database.url", "check --to")
        raise DatabaseUnavailable(line) from None
    current = ""
    try:
        # One transaction on each side: the source's (BEGIN IMMEDIATE) keeps writers out
        # while it is read; the target's holds the schema and every row until verified.
        with out, out.begin(), source.connect() as into, into.begin():
            names = _source_tables(into)
            _refuse_hub_data(out, names, report.target)
            _migrate(out)
            tables = _target_tables(out, names)
            _check_columns(into, tables, report.target)
            for table in tables:
                current = table.name
                copied = _copy_table(into, out, table, batch_size)
                report.tables.append(TableCopy(table.name, copied))
                if progress is not None:
                    progress(report.tables[-1])
            current = ""
            _set_sequences(out, tables)
            report.balances = _verify(into, out, report)
    except DBAPIError as error:
        what = f"copying table {current!r} failed" if current else "the move failed"
        raise HubError(
            f"{what}: {_first_line(error)}; nothing was written to {report.target}"
        ) from None


def _source_tables(conn: Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names()) - {VERSION_TABLE}


def _refuse_hub_data(conn: Connection, names: set[str], place: str) -> None:
    """Refuse a target holding any row of a hub table. An empty database is fine, and so
    is one where ``hub db upgrade`` ran: its only rows are the configured locations,
    which are cleared (in the transaction) for the source's own."""
    present = sorted(set(sa.inspect(conn).get_table_names()) & names)
    filled = [
        name
        for name in present
        if conn.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first()
    ]
    held = [name for name in filled if name not in FROM_CONFIG]
    if held:
        raise InvalidInput(
            f"the PostgreSQL database {place} already holds hub data (table {held[0]!r} "
            "has rows): give an empty database",
            field="to",
        )
    for name in filled:
        conn.execute(sa.table(name).delete())


def _migrate(conn: Connection) -> None:
    """Bring the target to the latest revision inside the open transaction."""
    config = migrate.alembic_config(conn.engine)
    config.attributes["connection"] = conn  # Alembic joins the transaction, commits nothing
    try:
        command.upgrade(config, "head")
    except CommandError as error:  # a revision this hub does not know: a newer hub's
        raise InvalidInput(
            f"the PostgreSQL database cannot be migrated: {error}; give an empty database",
            field="to",
        ) from None


def _target_tables(conn: Connection, names: set[str]) -> list[sa.Table]:
    """The hub's tables as migrated on the target, parents before children."""
    metadata = sa.MetaData()
    metadata.reflect(conn, only=lambda name, _: name in names)
    missing = sorted(names - set(metadata.tables))
    if missing:
        raise HubError(
            f"the source has tables the latest revision does not make: {', '.join(missing)}; "
            "was it changed by hand?"
        )
    return [t for t in metadata.sorted_tables if t.name in names]


def _check_columns(conn: Connection, tables: list[sa.Table], place: str) -> None:
    inspector = sa.inspect(conn)
    for table in tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        want = set(table.columns.keys())
        if have != want:
            raise HubError(
                f"table {table.name!r} has columns {sorted(have ^ want)} on one side only "
                f"(source against {place} at the same revision); was it changed by hand?"
            )


def _copy_table(source: Connection, target: Connection, table: sa.Table, batch: int) -> int:
    """Stream ``table`` from the source into the target ``batch`` rows at a time."""
    columns = [sa.column(c.name, c.type) for c in table.columns]  # read as the target types
    read = sa.select(*columns).select_from(sa.table(table.name))
    key = list(table.primary_key.columns) or list(table.columns)
    read = read.order_by(*(sa.column(c.name) for c in key))  # parents first in a self-reference
    aware = [c.name for c in table.columns if _aware(c.type)]
    copied = 0
    result = source.execute(read, execution_options={"yield_per": batch})
    for rows in _batches(result, aware):
        target.execute(table.insert(), rows)
        copied += len(rows)
    return copied


def _aware(kind: Any) -> bool:
    return isinstance(kind, sa.DateTime) and bool(kind.timezone)


def _batches(result: sa.Result[Any], aware: list[str]) -> Iterator[list[dict[str, Any]]]:
    for partition in result.mappings().partitions():
        rows = [dict(row) for row in partition]
        for row in rows:  # SQLite keeps UTC without a zone: say so, or PostgreSQL guesses
            for name in aware:
                value = row[name]
                if value is not None and value.tzinfo is None:
                    row[name] = value.replace(tzinfo=UTC)
        yield rows


def _set_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """Each serial or identity column's sequence continues after the largest copied id."""
    for table in tables:
        for column in table.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            sequence = conn.execute(
                sa.select(sa.func.pg_get_serial_sequence(_quoted(conn, table.name), column.name))
            ).scalar()
            if sequence is None:
                continue
            largest = conn.execute(sa.select(sa.func.max(column))).scalar()
            conn.execute(sa.select(sa.func.setval(sequence, largest or 1, largest is not None)))


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _verify(source: Connection, target: Connection, report: MoveReport) -> int:
    """Row counts equal on both sides, every balance equal to the journal's sum; returns
    how many balances were checked."""
    for copy in report.tables:
        table = sa.table(copy.name)
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for conn in (source, target)
        ]
        if counts != [copy.rows, copy.rows]:
            raise HubError(
                f"table {copy.name!r}: {counts[0]} rows in the source, {counts[1]} in the "
                f"target after copying {copy.rows}; nothing was written to {report.target}"
            )
    problems = ledger.verify(target)
    if problems:
        raise HubError(
            f"the copied balances differ from the journal ({len(problems)}, first: "
            f"{problems[0]}): run `hub stock verify` on the source; nothing was written "
            f"to {report.target}"
        )
    balances = target.execute(sa.select(sa.func.count()).select_from(sa.table("balance")))
    return int(balances.scalar_one())
