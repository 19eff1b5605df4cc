"""Bulk writes for the hot paths, fast on both databases.

On SQLite, inserted rows go straight to the driver's ``executemany`` as tuples, each value
passed through the bind processor SQLAlchemy itself would use for its column type (so
what is stored is the same), without SQLAlchemy building a parameter dictionary per row:
for 100,000 rows that bookkeeping cost more than SQLite's own work. On PostgreSQL, rows go
in with ``COPY`` and bulk updates are one statement over arrays (``unnest``), so a page of
250 orders costs a handful of round trips instead of thousands of pipelined statements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import is_sqlite


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys, each a column of ``table``) into ``table``."""
    if not rows:
        return
    if is_sqlite(conn):
        _sqlite_insert(conn, table, list(rows[0]), rows)
        return
    columns = list(rows[0])
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    finally:
        cursor.close()


def add_to_balances(
    conn: Connection, table: sa.Table, deltas: Sequence[tuple[int, int, int, int]]
) -> int:
    """Add (product, location, on hand delta, reserved delta) to balances, guarded.

    The guard of :func:`hub.core.ledger`'s single updates: a row is only changed when
    reserved stays at zero or more and within on hand, and on hand at zero or more; a
    balance a final sale took below zero (an oversell at a shop) may still rise while
    nothing is reserved there. Returns how many rows changed, so the caller can refuse a
    shortfall.
    """
    if not deltas:
        return 0
    guard = (
        "b.reserved + v.dr >= 0 "
        "AND (b.on_hand + v.doh >= 0 OR (v.doh >= 0 AND b.reserved + v.dr = 0)) "
        "AND (b.reserved + v.dr <= b.on_hand + v.doh OR b.reserved + v.dr = 0)"
    )
    if is_sqlite(conn):
        sql = (
            f"UPDATE {table.name} AS b SET on_hand = on_hand + :doh, reserved = reserved + :dr "
            f"WHERE product_id = :p AND location_id = :l AND "
            + guard.replace("v.", ":").replace("b.", "")
        )
        result = conn.execute(
            sa.text(sql), [{"p": p, "l": loc, "doh": doh, "dr": dr} for p, loc, doh, dr in deltas]
        )
        return int(result.rowcount)
    sql = (
        f"UPDATE {table.name} AS b SET on_hand = b.on_hand + v.doh, "
        "reserved = b.reserved + v.dr FROM (SELECT unnest(CAST(:p AS integer[])) AS p, "
        "unnest(CAST(:l AS integer[])) AS l, unnest(CAST(:doh AS integer[])) AS doh, "
        "unnest(CAST(:dr AS integer[])) AS dr) AS v "
        f"WHERE b.product_id = v.p AND b.location_id = v.l AND {guard}"
    )
    columns = list(zip(*deltas, strict=True))
    result = conn.execute(
        sa.text(sql),
        {
            "p": list(columns[0]),
            "l": list(columns[1]),
            "doh": list(columns[2]),
            "dr": list(columns[3]),
        },
    )
    return int(result.rowcount)


def set_columns(
    conn: Connection, table: sa.Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Update the text columns in ``rows`` of the rows whose integer ``key`` matches."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if is_sqlite(conn):
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        sets = ", ".join(f"{quote(c)} = ?" for c in columns)
        sql = f"UPDATE {quote(table.name)} SET {sets} WHERE {quote(key)} = ?"
        processors = [
            table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            values = _tuples(rows, [*columns, key], [*processors, None])
            cursor.executemany(sql, values)  # type: ignore[arg-type]  # any iterable will do
        finally:
            cursor.close()
        return
    arrays = ", ".join(f"unnest(CAST(:{c} AS text[])) AS {c}" for c in columns)
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    sql = (
        f"UPDATE {table.name} AS t SET {sets} FROM (SELECT unnest(CAST(:{key} AS integer[])) "
        f"AS {key}, {arrays}) AS v WHERE t.{key} = v.{key}"
    )
    conn.execute(sa.text(sql), {c: [r[c] for r in rows] for c in [key, *columns]})


def insert_new_sqlite(
    conn: Connection, table: sa.Table, key: str, rows: Sequence[dict[str, Any]]
) -> dict[Any, int]:
    """On SQLite, insert those of ``rows`` that no unique constraint refuses and return
    {row[key]: id} of the rows inserted (the others are left as they were).

    Every transaction of the hub holds SQLite's write lock from its start (``BEGIN
    IMMEDIATE``), so the rows with an id above the largest before the insert are exactly
    the ones it added.
    """
    if not rows:
        return {}
    before = conn.scalar(sa.select(sa.func.max(table.c.id))) or 0
    _sqlite_insert(conn, table, list(rows[0]), rows, verb="INSERT OR IGNORE")
    added = sa.select(table.c[key], table.c.id).where(table.c.id > before)
    return {k: i for k, i in conn.execute(added)}


def _sqlite_insert(
    conn: Connection,
    table: sa.Table,
    columns: list[str],
    rows: Sequence[dict[str, Any]],
    verb: str = "INSERT",
) -> None:
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    sql = (
        f"{verb} INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    types = [table.c[c].type.dialect_impl(dialect) for c in columns]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        values = _tuples(rows, columns, [t.bind_processor(dialect) for t in types])
        cursor.executemany(sql, values)  # type: ignore[arg-type]  # any iterable will do
    finally:
        cursor.close()


def _tuples(
    rows: Sequence[dict[str, Any]],
    columns: list[str],
    processors: list[Callable[[Any], Any] | None],
) -> Iterator[Sequence[Any]]:
    """Each row's values in ``columns`` order, through its column's bind processor."""
    pick: Callable[[dict[str, Any]], Sequence[Any]]
    if len(columns) == 1:  # itemgetter of one key gives the value, not a 1-tuple
        only = columns[0]
        pick = lambda row: (row[only],)  # noqa: E731
    else:
        pick = itemgetter(*columns)
    converting = [(i, _converter(p)) for i, p in enumerate(processors) if p is not None]
    if not converting:
        yield from map(pick, rows)
        return
    for row in rows:
        values = list(pick(row))
        for i, convert in converting:
            values[i] = convert(values[i])
        yield values


_REMEMBERED = 4_096  # converted values a column keeps: a page's rows share timestamps


def _converter(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` for values that are not None, remembering its recent answers (the
    rows of one write share their timestamps, and converting a datetime is the dearest
    part of an insert)."""
    known: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return known[value]
        except KeyError:
            if len(known) >= _REMEMBERED:
                known.clear()
            answer = known[value] = process(value)
            return answer
        except TypeError:  # not hashable
            return process(value)

    return convert
