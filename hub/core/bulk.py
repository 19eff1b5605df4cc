"""Bulk writes for the hot paths, fast on both databases.

On SQLite, SQLAlchemy's ``executemany`` is already fast. On PostgreSQL, rows go in with
``COPY`` and bulk updates are one statement over arrays (``unnest``), so a page of 250
orders costs a handful of round trips instead of thousands of pipelined statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import is_sqlite

_BATCH = 5_000  # rows per executemany on SQLite: SQLAlchemy copies a batch's parameters


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) into ``table``."""
    if not rows:
        return
    if is_sqlite(conn):
        statement = table.insert()
        for start in range(0, len(rows), _BATCH):
            conn.execute(statement, list(rows[start : start + _BATCH]))
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

    A row is only changed when neither figure would go negative and reserved stays within
    on hand; returns how many rows changed, so the caller can refuse a shortfall.
    """
    if not deltas:
        return 0
    guard = (
        "b.reserved + v.dr >= 0 AND b.on_hand + v.doh >= 0 "
        "AND b.reserved + v.dr <= b.on_hand + v.doh"
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
        conn.execute(
            table.update().where(table.c[key] == sa.bindparam("_key")),
            [{**{c: r[c] for c in columns}, "_key": r[key]} for r in rows],
        )
        return
    arrays = ", ".join(f"unnest(CAST(:{c} AS text[])) AS {c}" for c in columns)
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    sql = (
        f"UPDATE {table.name} AS t SET {sets} FROM (SELECT unnest(CAST(:{key} AS integer[])) "
        f"AS {key}, {arrays}) AS v WHERE t.{key} = v.{key}"
    )
    conn.execute(sa.text(sql), {c: [r[c] for r in rows] for c in [key, *columns]})
