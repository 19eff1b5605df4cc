"""Bulk import of B2B orders from CSV and XLSX files (``hub orders import``, the web
upload).

A file is a table with a header row. Columns are found by header name, case, spaces,
underscores and punctuation forgiven ("Order Ref", "order_ref" and " ORDER REF " are one
column); :data:`COLUMNS` lists them with their other accepted names. One row is one
order line; rows with the same order reference are one order. Order-level columns
(account, PO number, requested date, window, notes, delivery address) may be given on
every row of an order or on its first one only; two rows of one order that disagree are
an error.

Values are read strictly:

- SKU, postcode, account number and phone are text: ``00457`` stays ``"00457"``. In
  XLSX a whole number in those columns formatted with zeros (``00000``) is read as the
  sheet shows it (457 → ``"00457"``); any other number is refused naming the row
  ("numeric SKU 457, expected text"), never matched to SKU ``457``.
- quantity a whole number ("3", 3, 3.0 are 3; 2.5 is an error); unit price an exact
  Decimal (an XLSX float 0.0000030335 is ``Decimal("0.0000030335")``); in a
  semicolon-separated CSV a decimal comma ("3,76") is read as 3.76. A price with more
  decimal places than the ledger keeps (10) is refused at import rather than rounded.
- requested date: an XLSX date cell, an XLSX serial number (45384 is 2024-04-02),
  ``2024-04-02`` always, and ``02/04/2024`` (also with ``.`` or ``-``) as
  ``hub.date_order`` says: ``day_first`` 2 April, ``month_first`` 4 February; unset, a
  date that reads both ways is an error, and one file never mixes the two readings.
  A date is a calendar date: it is never converted through a time zone.
- window start and end: ``09:00`` (or an XLSX time cell), local times in
  ``hub.timezone``, both or neither, the end after the start.

A file with any bad row imports nothing: :class:`ImportRejected` lists every bad row
with its row number (the header is row 1), column and reason. A good file imports in
one intake call, one transaction (:func:`hub.core.desk.create_orders`); references that
exist on the channel already are left unchanged, so importing a file twice creates
nothing new. Each import is recorded in ``order_import`` with the file's SHA-256.
"""

from __future__ import annotations

import gc
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import customers, desk, ledger
from hub.core.models import PRICE_SCALE, now, order_import_t
from hub.core.runtime import Hub
from hub.core.sheets import Sheet, Value, is_blank, read_sheet
from hub.errors import InvalidInput
from hub.orders import Address, money
from hub.skus import normalise_sku, sku_problem

__all__ = [
    "COLUMNS",
    "Column",
    "ImportRejected",
    "ImportReport",
    "ParsedFile",
    "RowError",
    "import_file",
    "parse_sheet",
    "template_csv",
    "template_xlsx",
]

Progress = Callable[[str, int, int], None]  # (stage, done, total); stages below
STAGES = ("reading", "importing")  # rows read and checked; orders imported
_CHUNK = 10_000
_MONEY_MAX = Decimal("1e14")
_EPOCH = date(1899, 12, 30)  # day 0 of Excel's (1900) date serials
_SERIAL_MAX = 2_958_465  # 9999-12-31


@dataclass(frozen=True)
class Column:
    """One column of an import file: its name, other accepted headers, meaning, example."""

    name: str
    aliases: tuple[str, ...]
    help: str
    example: str
    required: bool = False
    text: bool = False  # kept as text: the XLSX template formats it as Text


COLUMNS: tuple[Column, ...] = (
    Column(
        "order_ref",
        ("order_reference", "reference", "order", "order_no", "order_number", "order_id"),
        "Your reference for the order. Rows with the same reference are one order; "
        "importing a reference that exists on the channel changes nothing.",
        "SO-1001",
        required=True,
        text=True,
    ),
    Column(
        "account",
        ("account_number", "account_no", "customer_account", "customer"),
        "The customer's account number (hub customers list).",
        "ACME",
        required=True,
        text=True,
    ),
    Column(
        "sku",
        ("product_sku", "item", "item_code", "product_code"),
        "The product's SKU, exactly as in the catalogue, as text (00457 keeps its zeros).",
        "00457",
        required=True,
        text=True,
    ),
    Column(
        "quantity",
        ("qty", "units", "quantity_ordered"),
        "Units ordered: a whole number of at least 1.",
        "3",
        required=True,
    ),
    Column(
        "unit_price",
        ("price", "unit_cost", "net_price"),
        "Price per unit in the hub's currency, with a decimal point (3.76). Empty: 0.",
        "3.76",
    ),
    Column(
        "po_number",
        ("po", "purchase_order", "po_no", "purchase_order_number"),
        "The buyer's purchase-order number.",
        "PO-7731",
        text=True,
    ),
    Column(
        "requested_date",
        ("delivery_date", "date", "requested_delivery_date", "deliver_on"),
        "Requested delivery day: YYYY-MM-DD, a date cell, or DD/MM/YYYY or MM/DD/YYYY as "
        "hub.date_order says.",
        "2024-04-02",
    ),
    Column(
        "window_start",
        ("from", "delivery_from", "time_from", "start_time"),
        "Start of the delivery window on that day, HH:MM in the merchant's time zone.",
        "09:00",
    ),
    Column(
        "window_end",
        ("to", "until", "delivery_to", "time_to", "end_time"),
        "End of the delivery window, HH:MM, after its start.",
        "12:00",
    ),
    Column("notes", ("note", "comment", "comments", "instructions"), "Notes for the order.", ""),
    Column(
        "name",
        ("ship_name", "delivery_name", "recipient", "contact_name"),
        "One-off delivery address: recipient. Leave the address columns empty to deliver "
        "to the account's default address.",
        "Acme goods in",
    ),
    Column("company", ("ship_company", "delivery_company"), "One-off address: company.", ""),
    Column(
        "line1",
        ("address", "address1", "address_line1", "address_line_1", "street", "ship_line1"),
        "One-off address: street and number (required with an address).",
        "1 Dock Road",
    ),
    Column(
        "line2",
        ("address2", "address_line2", "address_line_2", "ship_line2"),
        "Address line 2.",
        "",
    ),
    Column("city", ("town", "ship_city"), "One-off address: city.", "Boston"),
    Column("region", ("state", "county", "province", "ship_region"), "Region or state.", "MA"),
    Column(
        "postcode",
        ("postal_code", "post_code", "zip", "zip_code", "ship_postcode"),
        "Postcode, as text (02138 keeps its zero).",
        "02138",
        text=True,
    ),
    Column(
        "country",
        ("country_code", "ship_country"),
        "Country as an ISO code, e.g. US, GB (required with an address).",
        "US",
    ),
    Column(
        "phone", ("telephone", "tel", "phone_number"), "Delivery phone, as text.", "", text=True
    ),
)
_ADDRESS = ("name", "company", "line1", "line2", "city", "region", "postcode", "country", "phone")
_ADDRESS_SET = frozenset(_ADDRESS)


def header_key(text: str) -> str:
    """What a header is compared by: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


_BY_KEY: dict[str, Column] = {}
for _col in COLUMNS:
    for _name in (_col.name, *_col.aliases):
        _BY_KEY[header_key(_name)] = _col


# -- errors and reports ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One bad cell: ``row`` as the spreadsheet numbers it (header row 1), ``column`` the
    header as written in the file (or the column's name)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


class ImportRejected(InvalidInput):
    """The file has bad rows and nothing was imported; ``errors`` lists every one,
    ``bad_rows`` counts the rows they are on."""

    def __init__(self, filename: str, errors: Sequence[RowError]) -> None:
        self.filename = filename
        self.errors = sorted(errors, key=lambda e: (e.row, e.column))
        self.bad_rows = rows = len({e.row for e in self.errors})
        first = self.errors[0] if self.errors else ""
        super().__init__(
            f"{filename}: {rows} bad row{'s' if rows != 1 else ''}, nothing imported "
            f"(first: {first})",
            field="file",
        )

    def lines(self, limit: int = 50) -> list[str]:
        """One line per error, at most ``limit``, then "… and N more"."""
        shown = [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(f"… and {len(self.errors) - limit} more")
        return shown


@dataclass(frozen=True)
class PreviousImport:
    at: datetime  # aware UTC
    actor: str
    filename: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``orders_unchanged``: references that existed on the channel
    already (left as they were). ``previous``: the first import of the same file (by
    SHA-256), when there was one."""

    filename: str
    sha256: str
    channel: str
    rows: int
    orders: int
    orders_created: int
    orders_unchanged: int
    previous: PreviousImport | None = None
    import_id: int | None = None
    timezone: str = "UTC"
    dry_run: bool = False  # checked only: ``orders_created`` is what would be created

    def summary(self) -> str:
        """One line, e.g. "orders.csv: 12 rows, 4 orders: 4 new, 0 unchanged"."""
        if self.dry_run:
            seen = ""
            if self.previous is not None:
                local = self.previous.at.astimezone(ZoneInfo(self.timezone))
                seen = f" (imported already on {local:%Y-%m-%d %H:%M} by {self.previous.actor})"
            return (
                f"{self.filename}: {self.rows} rows, {self.orders} orders, all good: "
                f"{self.orders_created} would be new, {self.orders_unchanged} unchanged; "
                f"nothing imported{seen}"
            )
        text = (
            f"{self.filename}: {self.rows} rows, {self.orders} orders: "
            f"{self.orders_created} new, {self.orders_unchanged} unchanged"
        )
        if self.previous is not None:
            local = self.previous.at.astimezone(ZoneInfo(self.timezone))
            text = (
                f"{self.filename}: already imported on {local:%Y-%m-%d %H:%M} "
                f"({self.timezone}) by {self.previous.actor}; {self.orders_created} new "
                f"orders, {self.orders_unchanged} unchanged"
            )
        return text


# -- reading values ---------------------------------------------------------------------------


class _Bad(Exception):
    """A cell's value is wrong; the message says why."""


def _shown(value: Value) -> str:
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, str):
        return repr(value.strip())
    return str(value)


def _plain(number: Decimal) -> Decimal:
    """``number`` without an exponent: Decimal("3.0335E-6") → Decimal("0.0000030335")."""
    return Decimal(format(number, "f"))


def _float_text(value: float) -> str:
    """A number cell as the shortest decimal that is it, with no exponent: 457.0 is
    "457", 3.0335e-06 "0.0000030335"."""
    return str(int(value)) if value.is_integer() else format(money(value), "f")


def _text(value: Value) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise _Bad(f"{value} is a true/false cell, expected text")
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


def _strict_text(label: str) -> Callable[[Value], str]:
    def read(value: Value) -> str:
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, bool):
            raise _Bad(f"{value} is a true/false cell, expected a {label} as text")
        if isinstance(value, (int, float)):
            raise _Bad(
                f"numeric {label} {_shown(value)}, expected text (format the column as "
                "Text so leading zeros are kept)"
            )
        raise _Bad(f"{value} is not a {label}: expected text")

    return read


_sku_text = _strict_text("SKU")


_STRICT = frozenset({"account", "postcode", "phone"})  # text, like the SKU
_ZEROS = re.compile(r"0+")


def _shown_as(sheet: Sheet, row: int, index: int, value: Value) -> Value:
    """A whole number in an XLSX cell formatted with zeros ("00000") as the spreadsheet
    shows it ("00457"); any other value as it is (a text column refuses a number)."""
    if type(value) is not float and type(value) is not int:
        return value
    number = float(value)  # type: ignore[arg-type]
    if not number.is_integer() or number < 0:
        return value
    code = sheet.number_format(row, index)
    if not _ZEROS.fullmatch(code):
        return value
    return str(int(number)).zfill(len(code))


def _sku(value: Value) -> str:
    sku = normalise_sku(_sku_text(value))
    problem = sku_problem(sku)
    if problem:
        raise _Bad(problem)
    return sku


def _quantity(value: Value) -> int:
    if isinstance(value, bool):
        raise _Bad(f"quantity {value} is not a number")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise _Bad(f"quantity {_shown(value)} is not a whole number")
        units = int(value)
    elif isinstance(value, int):
        units = value
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            units = int(text)
        else:
            try:
                number = Decimal(text) if re.fullmatch(r"[+-]?\d+(\.\d*)?", text) else None
            except InvalidOperation:
                number = None
            if number is None:
                raise _Bad(f"quantity {text!r} is not a number")
            if number != number.to_integral_value():
                raise _Bad(f"quantity {text} is not a whole number")
            units = int(number)
    else:
        raise _Bad(f"quantity {value} is not a number")
    if units < 1 or units > ledger.MAX_QUANTITY:
        raise _Bad(f"quantity {units} must be from 1 to {ledger.MAX_QUANTITY:,}")
    return units


_AMOUNT = re.compile(r"\+?(\d+(\.\d*)?|\.\d+)")


def _price(value: Value, comma_decimal: bool) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(f"unit price {value} is not an amount")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Bad(f"unit price {value} is not an amount")
        price = _plain(money(value))  # the shortest text that reads back as value
    elif isinstance(value, int):
        price = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if comma_decimal and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if text.startswith("-") and _AMOUNT.fullmatch(text[1:]):
            raise _Bad(f"unit price {text} is negative")
        if not _AMOUNT.fullmatch(text):
            raise _Bad(
                f"unit price {value.strip()!r} is not an amount (digits and a point, e.g. 3.76)"
            )
        price = Decimal(text)
    else:
        raise _Bad(f"unit price {value} is not an amount")
    if price < 0:
        raise _Bad(f"unit price {price} is negative")
    if price >= _MONEY_MAX:
        raise _Bad(f"unit price {price} is beyond 1e14")
    if -price.normalize().as_tuple().exponent > PRICE_SCALE:  # type: ignore[operator]
        raise _Bad(
            f"unit price {price:f} has more than {PRICE_SCALE} decimal places, more than the "
            "ledger keeps; round it"
        )
    return price


@dataclass(frozen=True)
class _Pending:
    """A date typed as a/b/yyyy, read once the file's date order is known."""

    first: int
    second: int
    year: int
    text: str


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?")
_LOCAL_DATE = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})")


def _date(value: Value) -> date | _Pending:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise _Bad(f"{value:%Y-%m-%d %H:%M} has a time of day; give the date alone")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _Bad(f"{value} is not a date")
    if isinstance(value, (int, float)):
        if not float(value).is_integer() or not 1 <= value <= _SERIAL_MAX:
            raise _Bad(f"{_shown(value)} is not a date (a date serial is a whole number of days)")
        return _EPOCH + timedelta(days=int(value))
    if isinstance(value, str):
        text = value.strip()
        match = _ISO_DATE.fullmatch(text)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                raise _Bad(f"{text} is not a date") from None
        match = _LOCAL_DATE.fullmatch(text)
        if match:
            return _Pending(int(match[1]), int(match[3]), int(match[4]), text)
        raise _Bad(f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2024-04-02")
    raise _Bad(f"{value} is not a date")


_TIME = re.compile(r"(\d{1,2})[:.h](\d{2})(?::(\d{2}))?")


def _time(value: Value) -> time:
    if isinstance(value, datetime):
        raise _Bad(f"{value} is a date and time; give a time of day, e.g. 09:00")
    if isinstance(value, time):
        return value.replace(microsecond=0)
    if isinstance(value, bool):
        raise _Bad(f"{value} is not a time")
    if isinstance(value, (int, float)):
        if not 0 <= value < 1:
            raise _Bad(f"{_shown(value)} is not a time of day; give HH:MM, e.g. 09:00")
        seconds = round(float(value) * 86400)
        if seconds >= 86400:
            raise _Bad(f"{_shown(value)} is not a time of day; give HH:MM, e.g. 09:00")
        return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    if isinstance(value, str):
        text = value.strip()
        match = _TIME.fullmatch(text)
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if hour < 24 and minute < 60 and second < 60:
                return time(hour, minute, second)
        raise _Bad(f"{text!r} is not a time of day; give HH:MM (24 hours), e.g. 09:00")
    raise _Bad(f"{value} is not a time")


def _country(value: Value) -> str:
    text = _text(value)
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return text


_READERS: dict[str, Callable[[Value], Any]] = {
    "order_ref": _text,
    "account": _strict_text("account number"),
    "sku": _sku,
    "quantity": _quantity,
    "po_number": _text,
    "requested_date": _date,
    "window_start": _time,
    "window_end": _time,
    "postcode": _strict_text("postcode"),
    "phone": _strict_text("phone number"),
    "country": _country,
}


# -- parsing a sheet ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Order:
    reference: str
    row: int  # its first row
    fields: dict[str, Any] = field(default_factory=dict)
    field_rows: dict[str, int] = field(default_factory=dict)
    lines: list[desk.LineInput] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the row of each line
    bad: bool = False  # a row of it is bad (and reported): it is not built


@dataclass
class ParsedFile:
    """A sheet read into orders; ``errors`` the bad rows (nothing may be imported when any).
    ``news`` holds one :class:`desk.NewOrder` per order, ``rows_of[i]`` the rows of its
    lines; ``headers`` each column's header as the file writes it (by column name)."""

    rows: int
    news: list[desk.NewOrder]
    rows_of: list[list[int]]
    errors: list[RowError]
    sku_rows: list[tuple[int, str]] = field(default_factory=list)  # every readable SKU
    account_rows: list[tuple[int, str]] = field(default_factory=list)  # per order
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """Column ``name``'s header in the file (the name itself when it has none)."""
        return self.headers.get(name, name)


def _columns(sheet: Sheet, filename: str) -> dict[str, tuple[int, str]]:
    """Column name → (index, header as written); InvalidInput naming unknown, repeated
    and missing columns."""
    found: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    twice: list[str] = []
    for index, header in enumerate(sheet.header):
        if not header:
            continue
        column = _BY_KEY.get(header_key(header))
        if column is None:
            unknown.append(header)
        elif column.name in found:
            twice.append(f"{found[column.name][1]!r} and {header!r} are both {column.name}")
        else:
            found[column.name] = (index, header)
    problems = []
    missing = [c.name for c in COLUMNS if c.required and c.name not in found]
    if missing:
        problems.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))
    if unknown:
        known = ", ".join(c.name for c in COLUMNS)
        problems.append(
            "unknown column"
            + ("s " if len(unknown) > 1 else " ")
            + ", ".join(repr(u) for u in unknown)
            + f" (known: {known})"
        )
    if twice:
        problems.append("; ".join(twice))
    if problems:
        raise InvalidInput(
            f"{filename}: header row {sheet.header_row}: " + "; ".join(problems), field="file"
        )
    return found


def _memo(read: Callable[[Value], Any]) -> Callable[[Value], Any]:
    """``read`` remembering what it made of each text or number (a file repeats its SKUs,
    quantities, prices and dates); bad values are judged (and refused) each time."""
    cache: dict[object, Any] = {}

    def cached(value: Value) -> Any:
        kind = type(value)
        if kind is not str and kind is not float:  # bool, int, date: cheap, and 1 == True
            return read(value)
        key = (kind, value)
        got = cache.get(key, cache)
        if got is cache:
            got = cache[key] = read(value)
        return got

    return cached


_MEMO = frozenset({"requested_date", "window_start", "window_end", "country", "account"})


def parse_sheet(
    sheet: Sheet,
    filename: str,
    *,
    date_order: str = "",
    channel: str = "",
    progress: Progress | None = None,
) -> ParsedFile:
    """Read ``sheet`` into orders, checking every value (no database): see the module's
    doc. InvalidInput for the header (unknown, missing, repeated columns); row errors are
    collected in the result, not raised."""
    columns = _columns(sheet, filename)
    comma_decimal = sheet.delimiter == ";"
    errors: list[RowError] = []
    orders: dict[str, _Order] = {}
    pending: list[tuple[int, str, _Order, _Pending]] = []  # row, header, order, date
    sku_rows: list[tuple[int, str]] = []
    width = len(sheet.header)
    blank_headers = [i for i, h in enumerate(sheet.header) if not h]
    plan = [
        (
            name,
            index,
            header,
            _memo(_READERS.get(name, _text)) if name in _MEMO else _READERS.get(name, _text),
        )
        for name, (index, header) in columns.items()
        if name not in ("order_ref", "sku", "quantity", "unit_price")
    ]
    sku_cache: dict[str, str] = {}  # a file repeats its SKUs, quantities and prices
    qty_cache: dict[str, int] = {}
    price_cache: dict[str, Decimal] = {}
    ref_at, ref_header = columns["order_ref"]
    sku_at, sku_header = columns["sku"]
    qty_at, qty_header = columns["quantity"]
    price_at, price_header = columns.get("unit_price", (-1, ""))
    size = sheet.size - sheet.header_row
    count = 0
    for row, cells in sheet.rows:
        count += 1
        if progress is not None and not count % 2000:
            progress("reading", count, max(size, count))
        n = len(cells)
        bad = False
        if n != width or blank_headers:
            for i in [*blank_headers, *range(width, n)]:
                if i < n and not is_blank(cells[i]):
                    errors.append(RowError(row, f"#{i + 1}", "a value in a column with no header"))
                    bad = True
        value = cells[ref_at] if ref_at < n else ""
        ref = value.strip() if type(value) is str else _text(value)
        if not ref:
            errors.append(RowError(row, ref_header, "order reference is missing"))
            bad = True
        elif len(ref) > 128:
            errors.append(RowError(row, ref_header, "order reference is over 128 characters"))
            bad = True
        sku = ""
        value = cells[sku_at] if sku_at < n else None
        if value is None or value == "" or (type(value) is str and value.isspace()):
            errors.append(RowError(row, sku_header, "SKU is missing"))
            bad = True
        else:
            try:
                if type(value) is str:
                    sku = sku_cache.get(value) or sku_cache.setdefault(value, _sku(value))
                else:
                    sku = _sku(_shown_as(sheet, row, sku_at, value))
                sku_rows.append((row, sku))
            except _Bad as error:
                errors.append(RowError(row, sku_header, str(error)))
                bad = True
        units = 0
        value = cells[qty_at] if qty_at < n else None
        if value is None or value == "" or (type(value) is str and value.isspace()):
            errors.append(RowError(row, qty_header, "quantity is missing"))
            bad = True
        else:
            try:
                if type(value) is str:
                    units = qty_cache.get(value) or qty_cache.setdefault(value, _quantity(value))
                else:
                    units = _quantity(value)
            except _Bad as error:
                errors.append(RowError(row, qty_header, str(error)))
                bad = True
        price = None
        if 0 <= price_at < n:
            value = cells[price_at]
            if not (value is None or value == "" or (type(value) is str and value.isspace())):
                try:
                    if type(value) is str:
                        price = price_cache.get(value)
                        if price is None:
                            price = price_cache[value] = _price(value, comma_decimal)
                    else:
                        price = _price(value, comma_decimal)
                except _Bad as error:
                    errors.append(RowError(row, price_header, str(error)))
                    bad = True
        order = orders.get(ref) if ref else None
        if ref and order is None:
            order = orders[ref] = _Order(ref, row)
        for name, index, header, read in plan:
            value = cells[index] if index < n else None
            if value is None or value == "" or (type(value) is str and value.isspace()):
                continue
            if name in _STRICT and type(value) in (float, int):
                value = _shown_as(sheet, row, index, value)
            try:
                got = read(value)
            except _Bad as error:
                errors.append(RowError(row, header, str(error)))
                bad = True
                continue
            if order is None or got == "":
                continue
            if type(got) is _Pending:
                pending.append((row, header, order, got))
            fields = order.fields
            have = fields.get(name)
            if have is None:
                fields[name] = got
                order.field_rows[name] = row
            elif have != got:
                errors.append(
                    RowError(
                        row,
                        header,
                        f"{_said(got)} differs from {_said(have)} on row "
                        f"{order.field_rows[name]} of order {ref}",
                    )
                )
                bad = True
        if order is not None:
            if bad:
                order.bad = True
            else:
                order.lines.append(desk.LineInput(sku, units, price))
                order.rows.append(row)
    if progress is not None:
        progress("reading", count, count)
    _resolve_dates(pending, date_order, errors)
    news: list[desk.NewOrder] = []
    rows_of: list[list[int]] = []
    for order in orders.values():
        problem = _order_problem(order, columns)
        if problem is not None:
            errors.append(problem)
            continue
        if order.bad or not order.lines:
            continue  # a row of it is bad, and reported
        f = order.fields
        address = None
        if not _ADDRESS_SET.isdisjoint(f):  # fields hold non-blank values only
            address = Address(**{k: f.get(k, "") for k in _ADDRESS})
        news.append(
            desk.NewOrder(
                account=f.get("account", ""),
                lines=tuple(order.lines),
                channel=channel,
                reference=order.reference,
                po_number=f.get("po_number", ""),
                requested_date=f.get("requested_date"),
                window_start=f.get("window_start"),
                window_end=f.get("window_end"),
                address=address,
                notes=f.get("notes", ""),
            )
        )
        rows_of.append(order.rows)
    account_rows = [
        (o.field_rows["account"], o.fields["account"])
        for o in orders.values()
        if o.fields.get("account")
    ]
    headers = {name: header for name, (_index, header) in columns.items()}
    return ParsedFile(count, news, rows_of, errors, sku_rows, account_rows, headers)


def _said(value: Any) -> str:
    if isinstance(value, _Pending):
        return value.text
    if isinstance(value, time):
        return f"{value:%H:%M}"
    return str(value)


def _resolve_dates(
    pending: list[tuple[int, str, _Order, _Pending]], date_order: str, errors: list[RowError]
) -> None:
    """Read the a/b/yyyy dates of a file with one interpretation: ``date_order``'s. When
    it is unset, a date that reads both ways (02/04/2024) is an error, never a guess, and
    a file whose unambiguous dates disagree (13/04/2024 and 04/13/2024) is an error on
    the rows of the fewer kind."""
    if not pending:
        return
    order = date_order
    if not order:
        day_first = [p for p in pending if p[3].first > 12 >= p[3].second]
        month_first = [p for p in pending if p[3].second > 12 >= p[3].first]
        if day_first and month_first:
            fewer, other, kind, other_kind = (
                (month_first, day_first, "month first", "day first")
                if len(month_first) <= len(day_first)
                else (day_first, month_first, "day first", "month first")
            )
            for row, header, order_, p in fewer:
                errors.append(
                    RowError(
                        row,
                        header,
                        f"{p.text} reads {kind} but row {other[0][0]} ({other[0][3].text}) "
                        f"reads {other_kind}; one file has one date order: set hub.date_order "
                        "or use YYYY-MM-DD",
                    )
                )
                order_.bad = True
            dropped = {id(p) for p in fewer}
            pending = [p for p in pending if id(p) not in dropped]
    for row, header, order_, p in pending:
        if not date_order:  # each unambiguous date reads its one way; they agree (above)
            order = "month_first" if p.second > 12 else "day_first"
        if not date_order and p.first != p.second and p.first <= 12 and p.second <= 12:
            errors.append(
                RowError(
                    row,
                    header,
                    f"{p.text} could be day/month or month/day; set hub.date_order "
                    "(day_first or month_first) or use YYYY-MM-DD",
                )
            )
            order_.bad = True
            continue
        day, month = (p.second, p.first) if order == "month_first" else (p.first, p.second)
        try:
            value = date(p.year, month, day)
        except ValueError:
            reading = "month/day/year" if order == "month_first" else "day/month/year"
            errors.append(RowError(row, header, f"{p.text} is not a date (read as {reading})"))
            order_.bad = True
            continue
        if order_.fields.get("requested_date") is p:
            order_.fields["requested_date"] = value


def _order_problem(order: _Order, columns: dict[str, tuple[int, str]]) -> RowError | None:
    f, rows = order.fields, order.field_rows

    def header(name: str) -> str:
        return columns[name][1] if name in columns else name

    if not f.get("account"):
        return RowError(order.row, header("account"), f"order {order.reference} has no account")
    start, end = f.get("window_start"), f.get("window_end")
    if order.bad:  # a bad window or date cell is reported already; its pair is not judged
        start = end = None
    if (start is None) != (end is None):
        missing = "window_end" if end is None else "window_start"
        there = "window_start" if end is None else "window_end"
        return RowError(
            rows[there], header(missing), "give both ends of the delivery window or neither"
        )
    if start is not None and end is not None:
        if end <= start:
            return RowError(
                rows["window_end"],
                header("window_end"),
                f"the window ends at {end:%H:%M}, not after it starts at {start:%H:%M}",
            )
        if "requested_date" not in f:
            return RowError(
                rows["window_start"],
                header("requested_date"),
                "a delivery window needs the requested date",
            )
    if not _ADDRESS_SET.isdisjoint(f):
        gaps = [
            k
            for k, ok in (
                ("line1", f.get("line1")),
                ("city or postcode", f.get("city") or f.get("postcode")),
                ("country", f.get("country")),
            )
            if not ok
        ]
        if gaps:
            first = min(rows[k] for k in _ADDRESS if k in rows)
            return RowError(
                first,
                header(gaps[0].split()[0]),
                "a delivery address needs " + ", ".join(gaps),
            )
    return None


# -- checking against the database --------------------------------------------------------------


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def check_catalogue(conn: Connection, parsed: ParsedFile) -> list[RowError]:
    """Row errors for unknown or inactive accounts and unknown SKUs, by the desk's rules
    (every row, the rows of orders with other bad rows too): two queries for the whole
    file (chunked for very long ones)."""
    errors: list[RowError] = []
    numbers = sorted({number for _row, number in parsed.account_rows})
    accounts: dict[str, Any] = {}
    for part in _chunks(numbers):
        accounts.update(customers.accounts_by_number(conn, part))
    known = desk.known_skus(conn, {sku for _row, sku in parsed.sku_rows})
    for row, number in parsed.account_rows:
        problem = desk.account_problem(number, accounts.get(number))
        if problem:
            errors.append(RowError(row, parsed.header("account"), problem))
    for row, sku in parsed.sku_rows:
        if sku not in known:
            errors.append(RowError(row, parsed.header("sku"), desk.unknown_sku(sku)))
    return errors


_FIELD = re.compile(r"(?:orders\[(\d+)\]\.)?(?:lines\[(\d+)\]\.)?(\w+)")


def _row_error(field_name: str, message: str, parsed: ParsedFile) -> RowError:
    """Where in the file a problem :mod:`hub.core.desk` found lies: ``field_name`` as
    ``orders[4].lines[2].sku`` (or relative to one order, ``lines[2].sku``)."""
    match = _FIELD.match(field_name or "")
    order_no, line_no, name = match.groups() if match else (None, None, "file")
    i = int(order_no) if order_no is not None else 0
    rows = parsed.rows_of[i] if i < len(parsed.rows_of) else [0]
    row = rows[int(line_no)] if line_no is not None and int(line_no) < len(rows) else rows[0]
    message = re.sub(r"^(orders\[\d+\]\.)?(lines\[\d+\]\.)?\w+: ", "", message)
    return RowError(row, parsed.header(name or "file"), message)


def _desk_problems(hub: Hub, parsed: ParsedFile) -> list[RowError]:
    """Every problem :func:`hub.core.desk.check_orders` finds in the file's orders, as row
    errors."""
    problems = hub.read(lambda c: desk.check_orders(c, hub.settings, parsed.news))
    return [_row_error(f"orders[{p.index}].{p.field}", p.message, parsed) for p in problems]


# -- importing ----------------------------------------------------------------------------------


def _read_input(source: bytes | str | Path, filename: str) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, filename or "upload"
    path = Path(source)
    name = filename or path.name
    try:
        if path.is_dir():
            raise InvalidInput(f"{path}: is a folder, not a file", field="file")
        return path.read_bytes(), name
    except OSError as error:
        raise InvalidInput(
            f"cannot read {path}: {error.strerror or type(error).__name__}", field="file"
        ) from None


def _previous(conn: Connection, digest: str) -> PreviousImport | None:
    i = order_import_t.c
    row = conn.execute(
        sa.select(i.created_at, i.actor, i.filename)
        .where(i.file_sha256 == digest)
        .order_by(i.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return PreviousImport(at, row.actor, row.filename)


_paused = 0  # imports running with the cycle collector paused
_pausing = threading.Lock()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while files are imported. A big file is hundreds of
    thousands of live objects (its rows, orders and intake's rows), none of them garbage,
    and every collection walks them all again: about 2 of 11 CPU seconds for 100,000
    rows. Reference counting still frees what is let go; the collector resumes when the
    last running import ends (as it was: an application that disabled it keeps it off)."""
    global _paused
    with _pausing:
        mine = _paused > 0 or gc.isenabled()  # else the application paused it itself
        if mine:
            _paused += 1
            gc.disable()
    try:
        yield
    finally:
        if mine:
            with _pausing:
                _paused -= 1
                if _paused == 0:
                    gc.enable()


@_collector_paused()
def import_file(
    hub: Hub,
    source: bytes | str | Path,
    filename: str = "",
    *,
    channel: str = "",
    actor: desk.Actor | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import the orders of a CSV or XLSX file: ``source`` is its bytes (then give its
    ``filename``, whose extension says the format) or its path.

    ``channel``: a manual channel ("" the first one configured). ``actor``: who imports
    (history records it with origin "import"; default the OS user). ``progress(stage,
    done, total)`` is called as the stages "reading" (rows read and checked) and
    "importing" (orders, at the start and the end of the one intake call) go.

    ``dry_run``: check everything (the desk's own checks too) and count what would be
    created, but create and record nothing.

    Raises :class:`ImportRejected` listing every bad row when any row is bad (nothing is
    imported), InvalidInput with one line for an unreadable or empty file, a wrong
    extension, unknown or missing columns, or a channel that is not a manual one.
    """
    who = actor or desk.Actor(desk.cli_actor().name, "import")
    if who.origin != "import":
        who = desk.Actor(who.name, "import")
    data, name = _read_input(source, filename)
    digest = hashlib.sha256(data).hexdigest()
    manual = desk.manual_channels(hub.settings)
    if channel and channel not in manual:
        names = ", ".join(manual) or "none configured"
        raise InvalidInput(
            f"channel {channel!r} is not a manual channel (known: {names})", field="channel"
        )
    if not manual:
        raise InvalidInput(
            'no channel of type manual is configured; add one, e.g. [channels.b2b] type = "manual"',
            field="channel",
        )
    target = channel or manual[0]
    sheet = read_sheet(data, name)
    parsed = parse_sheet(
        sheet, name, date_order=hub.settings.hub.date_order, channel=target, progress=progress
    )
    if not parsed.rows:
        raise InvalidInput(f"{name}: no rows below the header", field="file")
    errors = parsed.errors + hub.read(lambda c: check_catalogue(c, parsed))
    if errors:
        raise ImportRejected(name, errors)
    parsed.sku_rows, parsed.account_rows = [], []  # checked: let the memory go
    del sheet, data
    previous = hub.read(lambda c: _previous(c, digest))
    refs = [n.reference for n in parsed.news]
    before = hub.read(lambda c: desk.existing_references(c, target, refs))
    if dry_run:
        problems = _desk_problems(hub, parsed)
        if problems:
            raise ImportRejected(name, problems)
        return ImportReport(
            filename=name,
            sha256=digest,
            channel=target,
            rows=parsed.rows,
            orders=len(parsed.news),
            orders_created=len(set(refs) - before),
            orders_unchanged=len(before),
            previous=previous,
            timezone=hub.settings.hub.timezone,
            dry_run=True,
        )
    if progress is not None:
        progress("importing", 0, len(parsed.news))
    try:  # every line is checked (parse_sheet, check_catalogue): the desk checks the rest
        desk.create_orders(hub, parsed.news, who, views=False, lines_checked=True)
    except InvalidInput as error:  # a problem only the desk's own checks know
        found = _desk_problems(hub, parsed)
        raise ImportRejected(
            name, found or [_row_error(error.field or "", str(error), parsed)]
        ) from None
    after = hub.read(lambda c: desk.existing_references(c, target, refs))
    created = len(after - before)
    unchanged = len(before)
    if progress is not None:
        progress("importing", len(parsed.news), len(parsed.news))

    def record(conn: Connection) -> int:
        result = conn.execute(
            order_import_t.insert().values(
                file_sha256=digest,
                filename=name[:255],
                channel=target,
                rows=parsed.rows,
                orders_created=created,
                orders_unchanged=unchanged,
                actor=who.label(),
                created_at=now(),
            )
        )
        key = result.inserted_primary_key
        return int(key[0]) if key else 0

    import_id = hub.write(record)
    return ImportReport(
        filename=name,
        sha256=digest,
        channel=target,
        rows=parsed.rows,
        orders=len(parsed.news),
        orders_created=created,
        orders_unchanged=unchanged,
        previous=previous,
        import_id=import_id,
        timezone=hub.settings.hub.timezone,
    )


# -- templates ----------------------------------------------------------------------------------


def _example_row() -> list[str]:
    return [c.example for c in COLUMNS]


def template_csv() -> str:
    """A CSV template: the header row and one example row."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in COLUMNS])
    writer.writerow(_example_row())
    return out.getvalue()


def template_xlsx() -> bytes:
    """An XLSX template: sheet "Orders" with the header row (a comment on each header
    explaining the column), one example row and Text-formatted SKU, postcode, account and
    phone columns (so Excel keeps leading zeros); sheet "Columns" documents each column."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    bold = Font(bold=True)
    for i, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        head = sheet.cell(row=1, column=i, value=column.name)
        head.font = bold
        note = column.help + (" Required." if column.required else "")
        head.comment = Comment(note, "hub")
        cell = sheet.cell(row=2, column=i)
        if column.name == "requested_date":
            cell.value = date.fromisoformat(column.example)
            cell.number_format = "yyyy-mm-dd"
        elif column.name == "quantity":
            cell.value = int(column.example)
        elif column.name == "unit_price":
            cell.value = float(column.example)
        else:
            cell.value = column.example or None
        if column.text or column.name in ("window_start", "window_end"):
            cell.number_format = "@"
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(3, 1001):  # Excel applies a column's format to new cells
                sheet.cell(row=row, column=i).number_format = "@"
        sheet.column_dimensions[letter].width = max(12, len(column.name) + 4)
    sheet.freeze_panes = "A2"
    docs = book.create_sheet("Columns")
    docs.append(["column", "required", "also accepted as", "meaning", "example"])
    for cell in docs[1]:
        cell.font = bold
    for column in COLUMNS:
        docs.append(
            [
                column.name,
                "yes" if column.required else "",
                ", ".join(column.aliases),
                column.help,
                column.example,
            ]
        )
    docs.append([])
    docs.append(
        [
            "One row per order line; rows with the same order_ref are one order. Headers "
            "are matched ignoring case, spaces and underscores. A file with any bad row "
            "imports nothing and lists every bad row."
        ]
    )
    for letter, width in zip("ABCDE", (16, 10, 40, 90, 14), strict=True):
        docs.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
