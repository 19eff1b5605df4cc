"""Builders of the import tests: a hub to import into, and real CSV and XLSX files."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook

from hub.core import customers, ledger
from hub.core.config import parse_settings
from hub.core.importer import ParsedFile, parse_sheet
from hub.core.models import order_line_t, order_t
from hub.core.runtime import Hub
from hub.core.sheets import read_sheet

HEADER = ["order_ref", "account", "sku", "quantity", "unit_price"]


def import_hub(url: str, *, timezone: str = "UTC", date_order: str = "") -> Hub:
    """A migrated hub with manual channel ``b2b``; SKUs 00457, 457, MUG and CUP (50 each
    at main) and accounts ACME and BETA."""
    settings = parse_settings(
        {
            "hub": {"timezone": timezone, "currency": "EUR", "date_order": date_order},
            "database": {"url": url},
            "locations": {"main": {"name": "Main warehouse"}},
            "channels": {"b2b": {"type": "manual", "locations": ["main"]}},
        }
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()

    def seed(conn):  # type: ignore[no-untyped-def]
        for sku in ("00457", "457", "MUG", "CUP"):
            ledger.receive(conn, sku, "main", 50)
        customers.create_account(conn, "ACME", "Acme Ltd", payment_terms_days=30)
        customers.create_account(conn, "BETA", "Beta GmbH", payment_terms_days=14)

    hub.write(seed)
    return hub


def csv_bytes(rows: Sequence[Sequence[str]], delimiter: str = ",", bom: bool = False) -> bytes:
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def xlsx_bytes(
    rows: Sequence[Sequence[object]], formats: dict[str, str] | None = None, start: str = ""
) -> bytes:
    """A workbook whose first sheet holds ``rows`` from A1 (or below ``start`` rows of
    nothing when ``start`` is e.g. "3"); ``formats`` maps cells ("C2") to number formats."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    skip = int(start or 1) - 1
    for r, row in enumerate(rows, start=1 + skip):
        for c, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parse(data: bytes, name: str, date_order: str = "") -> ParsedFile:
    """The file read and checked (no database)."""
    return parse_sheet(read_sheet(data, name), name, date_order=date_order)


def errors_of(parsed: ParsedFile) -> list[str]:
    return [str(e) for e in sorted(parsed.errors, key=lambda e: (e.row, e.column))]


def stored_lines(hub: Hub) -> list[tuple[str, str, int, object]]:
    """(order reference, SKU, quantity, unit price) of every stored order line."""
    o, ln = order_t.c, order_line_t.c
    return hub.read(
        lambda c: [
            tuple(r)
            for r in c.execute(
                sa.select(o.external_id, ln.sku, ln.quantity, ln.unit_price)
                .join(order_line_t, ln.order_id == o.id)
                .order_by(o.external_id, ln.line_no)
            )
        ]
    )


def order_count(hub: Hub) -> int:
    return int(hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_t))))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path
