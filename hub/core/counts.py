"""Stock counts from a CSV file: every row checked before any is written.

The file is UTF-8 (a byte-order mark and Windows line endings are fine) with a header
``sku,location,quantity[,name]`` in any order and case. SKUs are read through
:func:`hub.skus.normalise_sku`, as everywhere else; a SKU the file spells differently
("MUG\u00a0", "ＭＵＧ") is counted as the hub spells it and the row is reported by
:func:`count_warnings`. Two rows counting one SKU at one location (however spelt) are
refused, since only one of them could be right. Every bad row is reported, one line
each with its line number and column, and nothing is imported until all are fixed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.core.models import location_t
from hub.errors import InvalidInput, StockError
from hub.skus import require_sku, respelled
from hub.stock import StockChange

REQUIRED = ("sku", "location", "quantity")
COLUMNS = (*REQUIRED, "name")
_T = TypeVar("_T")
EXPECTED = "expected a header sku,location,quantity[,name]"


@dataclass(frozen=True)
class CountRow:
    line: int
    sku: str
    location: str
    quantity: int
    name: str = ""
    typed_sku: str = ""  # as the file spells it, when that differs from ``sku``


def read_counts(path: Path) -> list[CountRow]:
    """Parse ``sku,location,quantity[,name]``; one :class:`InvalidInput` (field ``file``)
    lists every bad row, one line each, including a SKU counted twice at a location."""
    reader = csv.reader(io.StringIO(_text(path), newline=""), strict=True)
    try:
        header = _header(path, next(reader, None))
    except csv.Error as error:
        raise InvalidInput(f"{path}: line 1: not valid CSV: {error}", field="file") from None
    rows: list[CountRow] = []
    problems: list[str] = []
    first: dict[tuple[str, str], int] = {}
    for number, cells in _records(reader, problems):
        row = _row(number, cells, header, problems)
        if row is None:
            continue
        seen = first.setdefault((row.sku, row.location), number)
        if seen != number:
            problems.append(
                f"line {number}: {row.sku!r} at {row.location!r} is already counted "
                f"on line {seen}; keep one row per SKU and location"
            )
        rows.append(row)
    _refuse(path, problems)
    return rows


def _text(path: Path) -> str:
    """The file's text; :class:`InvalidInput` names the file when unreadable or not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read: {error.strerror}", field="file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InvalidInput(
            f"{path}: not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start} "
            f"(line {line}); save the file as UTF-8 (CSV UTF-8 in a spreadsheet)",
            field="file",
        ) from None


def _header(path: Path, cells: list[str] | None) -> list[str]:
    """The header's column names, lower case; :class:`InvalidInput` unless it is usable."""
    if not cells:
        raise InvalidInput(f"{path}: the file is empty; {EXPECTED}", field="file")
    header = [cell.strip().lower() for cell in cells]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    twice = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or twice:
        what = [
            *([f"missing column(s) {', '.join(missing)}"] if missing else []),
            *([f"unknown column(s) {', '.join(map(repr, unknown))}"] if unknown else []),
            *([f"column(s) {', '.join(twice)} given twice"] if twice else []),
        ]
        raise InvalidInput(f"{path}: line 1: {'; '.join(what)}; {EXPECTED}", field="file")
    return header


def _records(reader: Iterator[list[str]], problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) for every record but blank lines; a
    record that is not valid CSV (a quote never closed) ends the reading, as a problem."""
    start = 2
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            problems.append(f"line {start}: not valid CSV: {error}; check its quotes")
            return
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1  # type: ignore[attr-defined]


def _row(number: int, cells: list[str], header: list[str], problems: list[str]) -> CountRow | None:
    """The row as a :class:`CountRow`, or None after adding a line per bad cell to
    ``problems``."""
    if len(cells) > len(header):
        extra = ", ".join(repr(c) for c in cells[len(header) :])
        problems.append(
            f"line {number}: {len(cells)} columns, the header has {len(header)} "
            f"(extra: {extra}); quote a value that holds a comma"
        )
        return None
    record = dict(zip(header, cells, strict=False))
    before = len(problems)
    typed = record.get("sku", "")
    sku = _cell(number, "sku", problems, lambda: require_sku(typed))
    location = record.get("location", "").strip()
    if not location:
        problems.append(f"line {number}, column location: empty; give a location code")
    quantity = _cell(
        number, "quantity", problems, lambda: _count(record.get("quantity", "").strip())
    )
    if len(problems) > before or sku is None or quantity is None:
        return None
    name = record.get("name", "").strip()
    return CountRow(number, sku, location, quantity, name, typed if typed != sku else "")


def _cell(number: int, column: str, problems: list[str], parse: Callable[[], _T]) -> _T | None:
    try:
        return parse()
    except InvalidInput as error:
        problems.append(f"line {number}, column {column}: {error}")
        return None


def _count(text: str) -> int:
    if not text:
        raise InvalidInput("empty; give the units counted", field="quantity")
    quantity = ledger.check_quantity(text, "", ledger.MAX_ON_HAND)
    if quantity < 0:
        raise InvalidInput(f"{quantity} is negative", field="quantity")
    return quantity


def _refuse(path: Path, problems: list[str]) -> None:
    """:class:`InvalidInput` with a summary line and one line per problem, if any."""
    if problems:
        rows = "this row" if len(problems) == 1 else f"these {len(problems)} rows"
        raise InvalidInput(
            f"{path}: nothing imported, fix {rows}:\n"
            + "\n".join(f"  {path}: {p}" for p in problems),
            field="file",
        )


def count_warnings(rows: list[CountRow]) -> list[str]:
    """``line 3: SKU 'MUG ' read as 'MUG'`` for every row whose SKU was respelled."""
    return [f"line {row.line}: {respelled(row.typed_sku)}" for row in rows if row.typed_sku]


def apply_counts(
    connection: Connection,
    rows: list[CountRow],
    *,
    actor: str = "import",
    progress: Callable[[int], None] | None = None,
    path: Path | str = "counts",
) -> list[StockChange]:
    """Set on hand to each counted quantity, in the caller's transaction.

    Every row the ledger refuses (an unknown location, a count below what is reserved)
    is reported, one line each; the caller's transaction is then rolled back.
    """
    known = set(connection.scalars(sa.select(location_t.c.code)))
    problems = [
        f"line {row.line}, column location: unknown location {row.location!r} "
        f"(known: {', '.join(sorted(known)) or 'none'})"
        for row in rows
        if row.location not in known
    ]
    _refuse(Path(path), problems)
    changes: list[StockChange] = []
    for row in rows:
        try:
            if row.name:
                ledger.ensure_product(connection, row.sku, name=row.name)
            changes += ledger.set_count(
                connection,
                row.sku,
                row.location,
                row.quantity,
                actor=actor,
                reference=f"count line {row.line}",
            )
        except (InvalidInput, StockError) as error:  # a refused UPDATE; the others go on
            problems.append(f"line {row.line}: {error}")
        if progress:
            progress(1)
    _refuse(Path(path), problems)
    return changes
