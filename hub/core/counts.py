"""Stock counts from a CSV file: every row checked before any is written.

SKUs are read through :func:`hub.skus.normalise_sku`, as everywhere else; a SKU the file
spells differently ("MUG\u00a0", "ＭＵＧ") is counted as the hub spells it and the row
is reported by :func:`count_warnings`. Two rows counting one SKU at one location
(however spelt) are refused, since only one of them could be right.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.errors import InvalidInput
from hub.skus import require_sku, respelled
from hub.stock import StockChange

REQUIRED = ("sku", "location", "quantity")


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
    lists every bad row by line number, including a SKU counted twice at a location."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read: {error.strerror}", field="file") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InvalidInput(
                f"{path}: missing column(s) {', '.join(missing)}; expected a header "
                "sku,location,quantity[,name]",
                field="file",
            )
        rows, problems = [], []
        first: dict[tuple[str, str], int] = {}
        for number, raw in enumerate(reader, start=2):
            record = {(k or "").strip().lower(): v or "" for k, v in raw.items()}
            try:
                row = _row(number, record)
            except InvalidInput as error:
                problems.append(f"line {number}: {error}")
                continue
            seen = first.setdefault((row.sku, row.location), number)
            if seen != number:
                problems.append(
                    f"line {number}: {row.sku!r} at {row.location!r} is already counted "
                    f"on line {seen}; keep one row per SKU and location"
                )
            rows.append(row)
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise InvalidInput(f"{path}: nothing imported, fix these rows: {shown}", field="file")
    return rows


def _row(number: int, record: dict[str, str]) -> CountRow:
    typed = record.get("sku", "")
    sku = require_sku(typed)
    location = record.get("location", "").strip()
    if not location:
        raise InvalidInput("location is empty")
    quantity = ledger.check_quantity(record.get("quantity", "").strip(), "quantity")
    if quantity < 0:
        raise InvalidInput(f"quantity {quantity} is negative")
    name = record.get("name", "").strip()
    return CountRow(number, sku, location, quantity, name, typed if typed != sku else "")


def count_warnings(rows: list[CountRow]) -> list[str]:
    """``line 3: SKU 'MUG ' read as 'MUG'`` for every row whose SKU was respelled."""
    return [f"line {row.line}: {respelled(row.typed_sku)}" for row in rows if row.typed_sku]


def apply_counts(
    connection: Connection,
    rows: list[CountRow],
    *,
    actor: str = "import",
    progress: Callable[[int], None] | None = None,
) -> list[StockChange]:
    """Set on hand to each counted quantity, in the caller's transaction."""
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
        except InvalidInput as error:
            raise InvalidInput(f"line {row.line}: {error}", field="file") from None
        except ledger.StockError as error:
            raise ledger.StockError(f"line {row.line}: {error}") from None
        except Exception as error:
            if type(error).__name__ == "NotFound":
                raise InvalidInput(f"line {row.line}: {error}", field="file") from None
            raise
        if progress:
            progress(1)
    return changes
