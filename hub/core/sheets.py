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
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import cast
from xml.etree import ElementTree

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
    first_column: int = 0  # XLSX: the sheet column (0 is A) of the cells' index 0
    data: bytes = b""  # XLSX: the workbook, for :meth:`number_format`
    _formats: dict[tuple[int, int], str] | None = None

    def number_format(self, row: int, index: int) -> str:
        """The number format (e.g. ``"00000"``) of the numeric XLSX cell at spreadsheet
        ``row`` and cell ``index``; "" when it has none or cannot be read. The first call
        reads the workbook's styles and the sheet's cell styles (rarely needed: only for
        numbers in text columns)."""
        if self.kind != "xlsx":
            return ""
        if self._formats is None:
            try:
                self._formats = _numeric_formats(self.data)
            except Exception:  # an odd workbook: no format, so the cell is refused
                self._formats = {}
        return self._formats.get((row, self.first_column + index), "")


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


def is_blank(value: Value) -> bool:
    """An empty cell: nothing, or spaces only."""
    return value is None or (isinstance(value, str) and not value.strip())


def _trim(cells: list[Value]) -> list[Value]:
    end = len(cells)
    while end and is_blank(cells[end - 1]):
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
        start = table.start
        sheet = Sheet(
            "xlsx", [], 0, size=table.height, first_column=start[1] if start else 0, data=data
        )
        numbered = enumerate(table.iter_rows(), start=1)
        for number, cells in numbered:
            if any(not is_blank(c) for c in cells):
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
                    if not is_blank(c):
                        yield number, cast(list[Value], cells)
                        break
        except Exception as error:
            raise _unreadable(filename, error) from None

    sheet.rows = rows()
    return sheet


def _unreadable(filename: str, error: Exception) -> InvalidInput:
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InvalidInput(f"{filename}: cannot read the workbook ({detail})", field="file")


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL = re.compile(r"([A-Z]+)(\d+)")


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _numeric_formats(data: bytes) -> dict[tuple[int, int], str]:
    """{(row, column): custom number format} of the first sheet's numeric cells that have
    one (calamine reads values, not formats)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        codes = {
            int(f.get("numFmtId", "0")): f.get("formatCode", "")
            for f in styles.iter(f"{_MAIN}numFmt")
        }
        xfs = styles.find(f"{_MAIN}cellXfs")
        by_style = [
            codes.get(int(xf.get("numFmtId", "0")), "") for xf in (xfs if xfs is not None else [])
        ]
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        first = next(workbook.iter(f"{_MAIN}sheet"))
        rel_id = first.get(f"{_DOC_RELS}id")
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        target = next(
            r.get("Target", "") for r in rels.iter(f"{_RELS}Relationship") if r.get("Id") == rel_id
        )
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        found: dict[tuple[int, int], str] = {}
        with book.open(path) as sheet:
            for _event, cell in ElementTree.iterparse(sheet):
                if cell.tag != f"{_MAIN}c":
                    if cell.tag == f"{_MAIN}row":
                        cell.clear()
                    continue
                style = int(cell.get("s", "0"))
                if cell.get("t", "n") == "n" and 0 < style < len(by_style) and by_style[style]:
                    match = _CELL.fullmatch(cell.get("r", ""))
                    if match:
                        found[(int(match[2]), _column_index(match[1]))] = by_style[style]
        return found
