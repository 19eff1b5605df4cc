"""Values in imported spreadsheets read exactly: leading zeros, exact prices, whole
quantities, and dates in the merchant's locale (issue 11's scenarios), from real CSV and
XLSX files."""

from __future__ import annotations

import io
import time as clock
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from import_fixtures import (
    HEADER,
    csv_bytes,
    errors_of,
    import_hub,
    order_count,
    parse,
    stored_lines,
    xlsx_bytes,
)
from openpyxl import Workbook

from hub.core import importer
from hub.core.desk import Actor, order_view

ME = Actor("ops", "import")
ADDRESS = ["name", "line1", "city", "postcode", "country"]


# -- leading zeros and exact numbers ----------------------------------------------------------


def test_csv_keeps_leading_zeros_and_exact_numbers():
    data = csv_bytes(
        [
            [*HEADER, *ADDRESS],
            [
                "SO-1",
                "ACME",
                "00457",
                "3",
                "3.76",
                "Goods in",
                "1 Main St",
                "Cambridge",
                "02138",
                "US",
            ],
        ]
    )
    parsed = parse(data, "orders.csv")
    assert parsed.errors == []
    (new,) = parsed.news
    (line,) = new.lines
    assert line.sku == "00457" and line.quantity == 3
    assert line.unit_price == Decimal("3.76") and str(line.unit_price) == "3.76"
    assert new.address is not None and new.address.postcode == "02138"


def test_a_csv_import_stores_exactly_what_the_file_says(db_url):
    hub = import_hub(db_url)
    data = csv_bytes(
        [
            [*HEADER, *ADDRESS],
            [
                "SO-1",
                "ACME",
                "00457",
                "3",
                "3.76",
                "Goods in",
                "1 Main St",
                "Cambridge",
                "02138",
                "US",
            ],
        ]
    )
    report = importer.import_file(hub, data, "orders.csv", actor=ME)
    assert report.orders_created == 1
    assert stored_lines(hub) == [("SO-1", "00457", 3, Decimal("3.76"))]
    view = order_view(hub, "b2b:SO-1")
    assert view.ship_postcode == "02138"
    assert view.history[0].origin == "import" and view.history[0].actor == "import:ops"
    hub.close()


def test_xlsx_sku_as_text_or_zero_formatted_number_is_00457_and_a_plain_number_refused():
    data = xlsx_bytes(
        [
            HEADER,
            ["SO-1", "ACME", "00457", 3, 3.76],
            ["SO-2", "ACME", 457, 1, 1],  # shown as 00457 through its format
            ["SO-3", "ACME", 457, 1, 1],  # General: 457, its zeros lost when typed
        ],
        formats={"C3": "00000"},
    )
    parsed = parse(data, "orders.xlsx")
    assert errors_of(parsed) == [
        "row 4, column sku: numeric SKU 457, expected text (format the column as Text so "
        "leading zeros are kept)"
    ]
    assert [ln.sku for n in parsed.news for ln in n.lines] == ["00457", "00457"]


def test_a_numeric_xlsx_sku_is_never_matched_to_the_sku_457(db_url):
    hub = import_hub(db_url)  # the catalogue has both 00457 and 457
    formatted = xlsx_bytes([HEADER, ["SO-8", "ACME", 457, 1, 2]], formats={"C2": "00000"})
    importer.import_file(hub, formatted, "formatted.xlsx", actor=ME)
    assert stored_lines(hub) == [("SO-8", "00457", 1, Decimal("2"))]
    plain = xlsx_bytes([HEADER, ["SO-9", "ACME", 457, 1, 2]], formats={"C2": "0"})
    with pytest.raises(importer.ImportRejected) as refused:
        importer.import_file(hub, plain, "plain.xlsx", actor=ME)
    assert [str(e) for e in refused.value.errors] == [
        "row 2, column sku: numeric SKU 457, expected text (format the column as Text so "
        "leading zeros are kept)"
    ]
    assert order_count(hub) == 1
    hub.close()


def test_xlsx_postcodes_follow_the_sku_rule():
    data = xlsx_bytes(
        [
            [*HEADER, "line1", "city", "postcode", "country"],
            ["SO-1", "ACME", "MUG", 1, 1, "1 Main St", "Cambridge", "02138", "US"],
            ["SO-2", "ACME", "MUG", 1, 1, "1 Main St", "Cambridge", 2138, "US"],
            ["SO-3", "ACME", "MUG", 1, 1, "1 Main St", "Cambridge", 2138, "US"],
        ],
        formats={"H3": "00000"},
    )
    parsed = parse(data, "orders.xlsx")
    assert errors_of(parsed) == [
        "row 4, column postcode: numeric postcode 2138, expected text (format the column as "
        "Text so leading zeros are kept)"
    ]
    postcodes = [n.address.postcode for n in parsed.news if n.address is not None]
    assert postcodes == ["02138", "02138"]


def test_a_zero_formatted_sku_in_a_sheet_starting_at_column_b_is_read_by_its_own_format():
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for c, value in enumerate(HEADER, start=2):
        sheet.cell(row=2, column=c, value=value)
    for c, value in enumerate(["SO-1", "ACME", 457, 1, 1], start=2):
        sheet.cell(row=3, column=c, value=value)
    sheet["D3"].number_format = "000000"
    sheet["E3"].number_format = "00000"  # the quantity's format is no SKU's business
    out = io.BytesIO()
    book.save(out)
    parsed = parse(out.getvalue(), "orders.xlsx")
    assert parsed.errors == []
    assert parsed.news[0].lines[0].sku == "000457"


def test_an_xlsx_price_in_scientific_range_is_that_exact_decimal():
    data = xlsx_bytes([HEADER, ["SO-1", "ACME", "MUG", 3, 0.0000030335]])
    (new,) = parse(data, "orders.xlsx").news
    price = new.lines[0].unit_price
    assert price == Decimal("0.0000030335")
    assert str(price) == "0.0000030335"  # no "3.0335E-6"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_tiny_price_is_stored_and_read_back_exactly(db_url, kind):
    hub = import_hub(db_url)
    if kind == "xlsx":  # a number cell
        data = xlsx_bytes([HEADER, ["SO-1", "ACME", "MUG", 3, 0.0000030335]])
    else:
        data = csv_bytes([HEADER, ["SO-1", "ACME", "MUG", "3", "0.0000030335"]])
    importer.import_file(hub, data, f"orders.{kind}", actor=ME)
    ((_ref, _sku, _qty, price),) = stored_lines(hub)
    assert price == Decimal("0.0000030335")
    assert order_view(hub, "b2b:SO-1").lines[0].unit_price == Decimal("0.0000030335")
    hub.close()


def test_a_price_finer_than_the_ledger_keeps_is_refused_not_rounded(db_url):
    hub = import_hub(db_url)
    data = csv_bytes(
        [HEADER, ["SO-1", "ACME", "MUG", "3", "0.00000000001"], ["SO-2", "ACME", "MUG", "1", "1"]]
    )
    with pytest.raises(importer.ImportRejected) as refused:
        importer.import_file(hub, data, "orders.csv", actor=ME)
    assert [str(e) for e in refused.value.errors] == [
        "row 2, column unit_price: unit price 0.00000000001 has more than 10 decimal places, "
        "more than the ledger keeps; round it"
    ]
    assert order_count(hub) == 0
    hub.close()


def test_xlsx_prices_are_the_shortest_decimal_of_the_float():
    data = xlsx_bytes([HEADER, ["SO-1", "ACME", "MUG", 1, 3.76], ["SO-1", "ACME", "CUP", 1, 0.1]])
    prices = [ln.unit_price for ln in parse(data, "orders.xlsx").news[0].lines]
    assert prices == [Decimal("3.76"), Decimal("0.1")]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_quantity_three_point_oh_is_three_and_two_point_five_is_a_row_error(kind):
    rows: list[list[object]] = [
        HEADER,
        ["SO-1", "ACME", "MUG", 3.0 if kind == "xlsx" else "3.0", "1"],
        ["SO-2", "ACME", "MUG", 2.5 if kind == "xlsx" else "2.5", "1"],
        ["SO-3", "ACME", "MUG", 3 if kind == "xlsx" else "3", "1"],
    ]
    data = xlsx_bytes(rows) if kind == "xlsx" else csv_bytes([[str(v) for v in r] for r in rows])
    parsed = parse(data, f"orders.{kind}")
    assert errors_of(parsed) == ["row 3, column quantity: quantity 2.5 is not a whole number"]
    assert [(n.reference, n.lines[0].quantity) for n in parsed.news] == [("SO-1", 3), ("SO-3", 3)]


def test_bad_quantities_and_prices_name_row_column_and_value():
    data = csv_bytes(
        [
            HEADER,
            ["SO-1", "ACME", "MUG", "0", "1"],
            ["SO-2", "ACME", "MUG", "three", "1"],
            ["SO-3", "ACME", "MUG", "1", "€3.50"],
            ["SO-4", "ACME", "MUG", "1", "-2"],
            ["SO-5", "ACME", "MUG", "", "2"],
        ]
    )
    assert errors_of(parse(data, "orders.csv")) == [
        "row 2, column quantity: quantity 0 must be from 1 to 1,000,000,000",
        "row 3, column quantity: quantity 'three' is not a number",
        "row 4, column unit_price: unit price '€3.50' is not an amount (digits and a point, "
        "e.g. 3.76)",
        "row 5, column unit_price: unit price -2 is negative",
        "row 6, column quantity: quantity is missing",
    ]


def test_a_semicolon_csv_with_bom_reads_decimal_commas_and_keeps_text():
    data = csv_bytes(
        [["Order Ref", "Account", "SKU", "Qty", "Price"], ["SO-1", "ACME", "00457", "2", "3,76"]],
        ";",
        bom=True,
    )
    (new,) = parse(data, "orders.csv").news
    assert (new.reference, new.lines[0].sku, new.lines[0].unit_price) == (
        "SO-1",
        "00457",
        Decimal("3.76"),
    )


# -- dates in the merchant's locale -----------------------------------------------------------


def _dated_xlsx(values: list[object], formats: dict[str, str] | None = None) -> bytes:
    rows: list[list[object]] = [[*HEADER, "requested_date"]]
    rows += [[f"SO-{i}", "ACME", "MUG", 1, 1, v] for i, v in enumerate(values, start=1)]
    return xlsx_bytes(rows, formats)


def _dates(data: bytes, name: str, date_order: str) -> tuple[list[date | None], list[str]]:
    parsed = parse(data, name, date_order)
    return [n.requested_date for n in parsed.news], errors_of(parsed)


def test_day_first_date_cell_serial_slashes_and_iso_all_mean_2_april():
    data = _dated_xlsx(
        [date(2024, 4, 2), 45384, "02/04/2024", "2024-04-02", datetime(2024, 4, 2)],
        formats={"F2": "dd/mm/yyyy", "F6": "yyyy-mm-dd hh:mm"},
    )
    days, errors = _dates(data, "orders.xlsx", "day_first")
    assert errors == []
    assert days == [date(2024, 4, 2)] * 5


def test_day_first_csv_dates():
    rows = [[*HEADER, "requested_date"]]
    for i, text in enumerate(["02/04/2024", "2024-04-02", "13/04/2024", "02.04.2024"], 1):
        rows.append([f"SO-{i}", "ACME", "MUG", "1", "1", text])
    days, errors = _dates(csv_bytes(rows), "orders.csv", "day_first")
    assert errors == []
    assert days == [date(2024, 4, 2), date(2024, 4, 2), date(2024, 4, 13), date(2024, 4, 2)]


def test_the_thirty_first_of_february_is_a_row_error_naming_row_and_column():
    data = _dated_xlsx(["02/04/2024", "31/02/2024"])
    days, errors = _dates(data, "orders.xlsx", "day_first")
    assert errors == [
        "row 3, column requested_date: 31/02/2024 is not a date (read as day/month/year)"
    ]
    assert days == [date(2024, 4, 2)]


def test_month_first_reads_02_04_as_4_february_and_refuses_13_04():
    data = _dated_xlsx(["02/04/2024", "2024-04-02", "13/04/2024"])
    days, errors = _dates(data, "orders.xlsx", "month_first")
    assert days == [date(2024, 2, 4), date(2024, 4, 2)]
    assert errors == [
        "row 4, column requested_date: 13/04/2024 is not a date (read as month/day/year)"
    ]


def test_without_a_date_order_an_ambiguous_date_is_an_error():
    data = _dated_xlsx(["02/04/2024", "2024-04-02", "05/05/2024"])
    days, errors = _dates(data, "orders.xlsx", "")
    assert errors == [
        "row 2, column requested_date: 02/04/2024 could be day/month or month/day; set "
        "hub.date_order (day_first or month_first) or use YYYY-MM-DD"
    ]
    assert days == [date(2024, 4, 2), date(2024, 5, 5)]


def test_one_file_is_never_read_with_two_date_orders():
    """Without a date order, 13/04 reads day first and 04/14 month first: the file is
    refused (the fewer kind's rows named), never read half one way and half the other."""
    data = _dated_xlsx(["13/04/2024", "14/04/2024", "04/15/2024"])
    days, errors = _dates(data, "orders.xlsx", "")
    assert errors == [
        "row 4, column requested_date: 04/15/2024 reads month first but row 2 (13/04/2024) "
        "reads day first; one file has one date order: set hub.date_order or use YYYY-MM-DD"
    ]
    assert days[:2] == [date(2024, 4, 13), date(2024, 4, 14)]
    # with day_first configured the same month-first date is simply not a date
    assert _dates(data, "orders.xlsx", "day_first")[1] == [
        "row 4, column requested_date: 04/15/2024 is not a date (read as day/month/year)"
    ]


def test_dates_with_a_time_of_day_or_in_no_known_shape_are_refused():
    data = _dated_xlsx([datetime(2024, 4, 2, 15, 30), "April 2nd", "2024-02-30", 45384.5])
    assert _dates(data, "orders.xlsx", "day_first")[1] == [
        "row 2, column requested_date: 2024-04-02 15:30 has a time of day; give the date alone",
        "row 3, column requested_date: 'April 2nd' is not a date: give YYYY-MM-DD, e.g. 2024-04-02",
        "row 4, column requested_date: 2024-02-30 is not a date",
        "row 5, column requested_date: 45384.5 is not a date (a date serial is a whole "
        "number of days)",
    ]


@pytest.fixture
def far_server_zone(monkeypatch):
    """The server's own clock in Kiribati (UTC+14), far from the merchant's zone."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def test_a_requested_date_stays_that_calendar_date_whatever_the_servers_zone(
    db_url, far_server_zone
):
    hub = import_hub(db_url, timezone="America/Los_Angeles", date_order="day_first")
    data = _dated_xlsx([date(2024, 4, 2), 45384, "02/04/2024"])
    importer.import_file(hub, data, "orders.xlsx", actor=ME)
    days = {order_view(hub, f"b2b:SO-{i}").requested_date for i in (1, 2, 3)}
    assert days == {date(2024, 4, 2)}
    hub.close()


def test_windows_are_local_times_in_the_merchants_zone(db_url):
    hub = import_hub(db_url, timezone="Europe/Berlin")
    data = csv_bytes(
        [
            [*HEADER, "Requested Date", "Window Start", "Window End"],
            ["SO-1", "ACME", "MUG", "1", "1", "2024-04-02", "09:00", "12:30"],
        ]
    )
    importer.import_file(hub, data, "orders.csv", actor=ME)
    view = order_view(hub, "b2b:SO-1")
    assert view.requested_date == date(2024, 4, 2)
    assert view.window_start == datetime(2024, 4, 2, 7, 0, tzinfo=UTC)  # CEST is UTC+2
    assert view.window_end == datetime(2024, 4, 2, 10, 30, tzinfo=UTC)
    hub.close()


def test_xlsx_time_cells_and_bad_windows():
    rows: list[list[object]] = [
        [*HEADER, "requested_date", "window_start", "window_end"],
        ["SO-1", "ACME", "MUG", 1, 1, "2024-04-02", time(9), time(12)],
        ["SO-2", "ACME", "MUG", 1, 1, "2024-04-02", "12:00", "09:00"],
        ["SO-3", "ACME", "MUG", 1, 1, "2024-04-02", "9am", "10:00"],
        ["SO-4", "ACME", "MUG", 1, 1, "2024-04-02", "09:00", None],
        ["SO-5", "ACME", "MUG", 1, 1, None, "09:00", "10:00"],
    ]
    parsed = parse(xlsx_bytes(rows), "orders.xlsx", "day_first")
    assert [(n.window_start, n.window_end) for n in parsed.news] == [(time(9), time(12))]
    assert errors_of(parsed) == [
        "row 3, column window_end: the window ends at 09:00, not after it starts at 12:00",
        "row 4, column window_start: '9am' is not a time of day; give HH:MM (24 hours), e.g. 09:00",
        "row 5, column window_end: give both ends of the delivery window or neither",
        "row 6, column requested_date: a delivery window needs the requested date",
    ]
