"""Stock counts from a CSV file: every row checked before any is written."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.errors import InvalidInput
from hub.stock import StockChange

REQUIRED = ("sku", "location", "quantity")


@dataclass(frozen=True)
class CountRow:
    line: int
    sku: str
    location: str
    quantity: int
    name: str = ""


def read_counts(path: Path) -> list[CountRow]:
    """Parse ``sku,location,quantity[,name]``; one error lists every bad row by line number."""
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
        for number, raw in enumerate(reader, start=2):
            record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            try:
                rows.append(_row(number, record))
            except InvalidInput as error:
                problems.append(f"line {number}: {error}")
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise InvalidInput(f"{path}: nothing imported, fix these rows: {shown}", field="file")
    return rows


def _row(number: int, record: dict[str, str]) -> CountRow:
    if not record.get("sku"):
        raise InvalidInput("sku is empty")
    if not record.get("location"):
        raise InvalidInput("location is empty")
    quantity = ledger.check_quantity(record.get("quantity", ""), "quantity")
    if quantity < 0:
        raise InvalidInput(f"quantity {quantity} is negative")
    return CountRow(number, record["sku"], record["location"], quantity, record.get("name", ""))


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
