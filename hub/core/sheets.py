"""Reading spreadsheets people send: CSV and XLSX, as rows of raw cell values.

CSV is read as UTF-8 (with or without a byte-order mark), comma, semicolon or tab
separated (sniffed from the header line), every cell as text: a SKU ``00457`` or a
postcode ``02138`` stays what was typed. XLSX is read with python-calamine (a fast
reader, not cell by cell): text cells come as ``str``, numbers as ``float``, date cells
as ``date``/``datetime``, time cells as ``time``, booleans as ``bool``. Calamine does not
expose number formats, so a number stays a number (callers decide what it may mean).

Row numbers are the ones a person sees in the spreadsheet: the first row is 1. Blank
rows are left out (their numbers are skipped, not reused).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import cast

from hub.errors import InvalidInput

KINDS = ("csv", "xlsx")
Value = object  # str | float | int | bool | date | datetime | time


@dataclass
class Sheet:
    """A table read from a file: the header's cells (as written, stripped), the header's
    row number, and the rows below it as (row number, cells) with blank rows left out,
    read as they are iterated (once: a big file's rows are never all held as Python
    lists). ``delimiter`` is the CSV separator ("" for XLSX)."""

    kind: str
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[Value]]] = field(default_factory=lambda: iter(()))
    delimiter: str = ""
    size: int = 0  # rows in the file, about (for a progress bar)


def file_kind(filename: str) -> str:
    """``"csv"`` or ``"xlsx"`` from the file name's extension; InvalidInput otherwise."""
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    if suffix not in KINDS:
        shown = f".{suffix}" if suffix else "no extension"
        raise InvalidInput(
            f"{filename}: {shown} is not a spreadsheet the hub reads; give a .csv or .xlsx file",
            field="file",
        )
    return suffix


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The first sheet of ``data`` (a CSV or XLSX file named ``filename``).

    InvalidInput (field ``file``) with one line for a wrong extension, an empty file, a
    file that is not what its extension says, text that is not UTF-8, or no header row.
    """
    kind = file_kind(filename)
    if not data.strip():
        raise InvalidInput(f"{filename}: the file is empty", field="file")
    sheet = _read_csv(data, filename) if kind == "csv" else _read_xlsx(data, filename)
    if not sheet.header:
        raise InvalidInput(f"{filename}: no header row (the sheet is empty)", field="file")
    return sheet


def _blank(value: Value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _trim(cells: list[Value]) -> list[Value]:
    end = len(cells)
    while end and _blank(cells[end - 1]):
        end -= 1
    return cells[:end]


def _delimiter(first_line: str) -> str:
    counts = {d: 0 for d in ",;\t"}
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes, filename: str) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if data[:4] == b"PK\x03\x04":
            raise InvalidInput(
                f"{filename}: this is an XLSX workbook, not CSV text; name it .xlsx",
                field="file",
            ) from None
        raise InvalidInput(
            f"{filename}: not UTF-8 text (byte {error.start + 1}); save it as CSV UTF-8",
            field="file",
        ) from None
    if "\x00" in text:
        raise InvalidInput(f"{filename}: not a text file (it holds NUL bytes)", field="file")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sheet = Sheet("csv", [], 0, delimiter=delimiter, size=text.count("\n") + 1)
    numbered = enumerate(reader, start=1)
    try:
        for number, cells in numbered:
            if any(c.strip() for c in cells):
                sheet.header = [str(c).strip() for c in _trim(list(cells))]
                sheet.header_row = number
                break
    except csv.Error as error:
        raise InvalidInput(
            f"{filename}: row {reader.line_num}: cannot read the CSV ({error})", field="file"
        ) from None

    def rows() -> Iterator[tuple[int, list[Value]]]:
        try:
            for number, cells in numbered:
                for c in cells:
                    if c and not c.isspace():
                        yield number, cast(list[Value], cells)
                        break
        except csv.Error as error:
            raise InvalidInput(
                f"{filename}: row {reader.line_num}: cannot read the CSV ({error})", field="file"
            ) from None

    sheet.rows = rows()
    return sheet


def _read_xlsx(data: bytes, filename: str) -> Sheet:
    from python_calamine import CalamineWorkbook

    if data[:4] != b"PK\x03\x04":
        raise InvalidInput(
            f"{filename}: not an XLSX workbook (an .xlsx file is a zip archive); save it as "
            "Excel Workbook (.xlsx) or CSV",
            field="file",
        )
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not book.sheet_names:
            raise InvalidInput(f"{filename}: the workbook has no sheets", field="file")
        table = book.get_sheet_by_index(0)
        sheet = Sheet("xlsx", [], 0, size=table.height)
        numbered = enumerate(table.iter_rows(), start=1)
        for number, cells in numbered:
            if any(not _blank(c) for c in cells):
                sheet.header = [
                    c.strip() if isinstance(c, str) else str(c) for c in _trim(list(cells))
                ]
                sheet.header_row = number
                break
    except InvalidInput:
        raise
    except Exception as error:  # calamine's errors: broken zip, XML, password
        raise _unreadable(filename, error) from None

    def rows() -> Iterator[tuple[int, list[Value]]]:
        try:
            for number, cells in numbered:
                for c in cells:
                    if not _blank(c):
                        yield number, cast(list[Value], cells)
                        break
        except Exception as error:
            raise _unreadable(filename, error) from None

    sheet.rows = rows()
    return sheet


def _unreadable(filename: str, error: Exception) -> InvalidInput:
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InvalidInput(f"{filename}: cannot read the workbook ({detail})", field="file")
