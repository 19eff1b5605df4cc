"""Importing order files: every bad row reported, nothing half-imported, a second import
creating nothing, columns found by name, unreadable files refused in one line, and the
``hub orders import`` / ``hub orders template`` commands (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from import_fixtures import (
    HEADER,
    csv_bytes,
    errors_of,
    import_hub,
    order_count,
    parse,
    stored_lines,
    write,
    xlsx_bytes,
)
from openpyxl import load_workbook

from hub.cli import main
from hub.core import importer
from hub.core.desk import Actor, order_view
from hub.core.models import order_import_t
from hub.errors import InvalidInput

ME = Actor("ops", "import")

GOOD = [
    HEADER,
    ["SO-1", "ACME", "MUG", "2", "4.50"],
    ["SO-1", "", "CUP", "1", "3.00"],
    ["SO-2", "BETA", "00457", "5", ""],
]


@pytest.fixture
def hub(db_url):
    the_hub = import_hub(db_url)
    yield the_hub
    the_hub.close()


# -- all or nothing ---------------------------------------------------------------------------


def test_a_file_with_bad_rows_imports_nothing_and_reports_every_one(hub):
    data = csv_bytes(
        [
            HEADER,
            ["SO-1", "ACME", "MUG", "2", "4.50"],
            ["SO-2", "NOBODY", "MUG", "1", "1"],
            ["SO-3", "ACME", "TEAPOT", "1", "1"],
            ["SO-4", "ACME", "MUG", "2.5", "1"],
            ["", "ACME", "MUG", "1", "1"],
            ["SO-5", "ACME", "CUP", "1", "1"],
            ["SO-5", "BETA", "MUG", "1", "1"],
        ]
    )
    with pytest.raises(importer.ImportRejected) as refused:
        importer.import_file(hub, data, "day.csv", actor=ME)
    assert refused.value.lines() == [
        "row 3, column account: no customer account 'NOBODY'",
        "row 4, column sku: unknown SKU 'TEAPOT': add it to the catalogue",
        "row 5, column quantity: quantity 2.5 is not a whole number",
        "row 6, column order_ref: order reference is missing",
        "row 8, column account: BETA differs from ACME on row 7 of order SO-5",
    ]
    assert str(refused.value).startswith("day.csv: 5 bad rows, nothing imported (first: row 3")
    assert order_count(hub) == 0  # SO-1, a good order, was not imported either
    assert hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_import_t))) == 0


def test_a_good_file_imports_its_orders_grouped_by_reference(hub):
    report = importer.import_file(hub, csv_bytes(GOOD), "day.csv", actor=ME)
    assert (report.rows, report.orders, report.orders_created, report.orders_unchanged) == (
        3,
        2,
        2,
        0,
    )
    assert report.summary() == "day.csv: 3 rows, 2 orders: 2 new, 0 unchanged"
    assert [(ref, sku, qty) for ref, sku, qty, _ in stored_lines(hub)] == [
        ("SO-1", "MUG", 2),
        ("SO-1", "CUP", 1),
        ("SO-2", "00457", 5),
    ]
    assert order_view(hub, "b2b:SO-2").account_number == "BETA"


def test_importing_the_same_file_twice_creates_nothing_new(hub):
    data = xlsx_bytes([GOOD[0]] + [[*r[:3], int(r[3]), r[4]] for r in GOOD[1:]])
    first = importer.import_file(hub, data, "day.xlsx", actor=ME)
    lines = stored_lines(hub)
    again = importer.import_file(hub, data, "day.xlsx", actor=Actor("bob", "import"))
    assert (first.orders_created, again.orders_created, again.orders_unchanged) == (2, 0, 2)
    assert again.previous is not None and again.previous.actor == "import:ops"
    assert again.summary().startswith("day.xlsx: already imported on ")
    assert again.summary().endswith("by import:ops; 0 new orders, 2 unchanged")
    assert stored_lines(hub) == lines and order_count(hub) == 2
    rows = hub.read(
        lambda c: c.execute(
            sa.select(
                order_import_t.c.file_sha256,
                order_import_t.c.orders_created,
                order_import_t.c.orders_unchanged,
                order_import_t.c.actor,
            ).order_by(order_import_t.c.id)
        ).all()
    )
    assert [tuple(r) for r in rows] == [
        (first.sha256, 2, 0, "import:ops"),
        (first.sha256, 0, 2, "import:bob"),
    ]


def test_a_new_file_naming_existing_references_leaves_them_unchanged(hub):
    importer.import_file(hub, csv_bytes(GOOD), "day.csv", actor=ME)
    other = csv_bytes(
        [HEADER, ["SO-2", "BETA", "MUG", "9", "1"], ["SO-3", "ACME", "MUG", "1", "1"]]
    )
    report = importer.import_file(hub, other, "later.csv", actor=ME)
    assert (report.orders_created, report.orders_unchanged, report.previous) == (1, 1, None)
    assert ("SO-2", "00457", 5) in [(r, s, q) for r, s, q, _ in stored_lines(hub)]
    assert order_count(hub) == 3


# -- columns and files ------------------------------------------------------------------------


def test_headers_match_whatever_their_case_spacing_and_underscores():
    data = csv_bytes(
        [
            [
                " ORDER REF ",
                "Account_Number",
                "sku",
                "Qty",
                "Unit Price",
                "PO #",
                "Zip",
                "Street",
                "Country",
            ],
            ["SO-1", "ACME", "MUG", "1", "1", "PO-7", "02138", "1 Main St", "us"],
        ]
    )
    parsed = parse(data, "orders.csv")
    assert parsed.errors == []
    (new,) = parsed.news
    assert (new.reference, new.account, new.po_number) == ("SO-1", "ACME", "PO-7")
    assert new.address is not None
    assert (new.address.postcode, new.address.line1, new.address.country) == (
        "02138",
        "1 Main St",
        "US",
    )


def test_unknown_missing_and_repeated_columns_are_named(hub):
    data = csv_bytes(
        [
            ["order_ref", "sku", "colour", "Size", "qty", "Quantity"],
            ["A", "MUG", "red", "L", "1", "1"],
        ]
    )
    with pytest.raises(InvalidInput) as refused:
        importer.import_file(hub, data, "odd.csv", actor=ME)
    message = str(refused.value)
    assert message.startswith(
        "odd.csv: header row 1: missing column account; unknown columns 'colour', 'Size' "
        "(known: order_ref, account, sku, quantity,"
    )
    assert message.endswith("'qty' and 'Quantity' are both quantity")
    assert "\n" not in message
    assert order_count(hub) == 0


def test_row_numbers_are_the_spreadsheets_even_below_blank_rows():
    data = xlsx_bytes(
        [HEADER, ["SO-1", "ACME", "MUG", 1, 1], [], ["SO-2", "ACME", "MUG", 0, 1]], start="3"
    )
    assert errors_of(parse(data, "orders.xlsx")) == [
        "row 6, column quantity: quantity 0 must be from 1 to 1,000,000,000"
    ]


def test_values_under_no_header_are_refused():
    data = b"order_ref,account,sku,quantity\nSO-1,ACME,MUG,1,surprise\n"
    assert errors_of(parse(data, "orders.csv")) == [
        "row 2, column #5: a value in a column with no header"
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "orders.txt",
            b"order_ref\n",
            "orders.txt: .txt is not a spreadsheet the hub reads; give a .csv or .xlsx file",
        ),
        (
            "orders",
            b"x",
            "orders: no extension is not a spreadsheet the hub reads; give a .csv or .xlsx file",
        ),
        ("orders.csv", b"", "orders.csv: the file is empty"),
        ("orders.csv", b"\n \n", "orders.csv: the file is empty"),
        (
            "orders.csv",
            b"order_ref,sku\n\xff\xfe,x\n",
            "orders.csv: not UTF-8 text (byte 15); save it as CSV UTF-8",
        ),
        (
            "orders.xlsx",
            b"order_ref,sku\nA,B\n",
            "orders.xlsx: not an XLSX workbook (an .xlsx file is a zip archive); save it as "
            "Excel Workbook (.xlsx) or CSV",
        ),
        ("orders.xlsx", b"PK\x03\x04broken", "orders.xlsx: cannot read the workbook ("),
        ("orders.xlsx", xlsx_bytes([]), "orders.xlsx: no header row (the sheet is empty)"),
        ("orders.csv", b"order_ref,account,sku,quantity\n", "orders.csv: no rows below the header"),
    ],
)
def test_unreadable_files_are_refused_in_one_line(hub, name, data, message):
    with pytest.raises(InvalidInput) as refused:
        importer.import_file(hub, data, name, actor=ME)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    assert order_count(hub) == 0


def test_an_incomplete_one_off_address_is_a_row_error():
    data = csv_bytes(
        [[*HEADER, "city", "country"], ["SO-1", "ACME", "MUG", "1", "1", "Hull", "GB"]]
    )
    assert errors_of(parse(data, "orders.csv")) == [
        "row 2, column line1: a delivery address needs line1"
    ]


def test_an_unknown_channel_is_refused(hub):
    with pytest.raises(InvalidInput, match="channel 'shop' is not a manual channel"):
        importer.import_file(hub, csv_bytes(GOOD), "day.csv", channel="shop", actor=ME)


def test_progress_is_reported_per_stage(hub):
    seen: list[tuple[str, int, int]] = []
    importer.import_file(
        hub, csv_bytes(GOOD), "day.csv", actor=ME, progress=lambda *a: seen.append(a)
    )
    assert seen == [("reading", 3, 3), ("importing", 0, 2), ("importing", 2, 2)]


# -- the CLI ----------------------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(hub, tmp_path, capsys, monkeypatch):
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[database]\nurl = "{hub.engine.url.render_as_string(hide_password=False)}"\n\n'
        '[locations.main]\nname = "Main warehouse"\n\n'
        '[channels.b2b]\ntype = "manual"\nlocations = ["main"]\n'
    )
    monkeypatch.setenv("HUB_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def test_cli_imports_a_file_and_a_second_time_creates_nothing(cli, hub, tmp_path):
    path = write(tmp_path, "day.csv", csv_bytes(GOOD))
    ran = cli("orders", "import", str(path), "--channel", "b2b")
    assert (ran.code, ran.out.strip()) == (0, "day.csv: 3 rows, 2 orders: 2 new, 0 unchanged")
    again = cli("orders", "import", str(path))
    assert again.code == 0
    assert "already imported on" in again.out and "0 new orders, 2 unchanged" in again.out
    assert order_count(hub) == 2


def test_cli_prints_every_bad_row_capped_and_exits_1(cli, hub, tmp_path):
    rows = [HEADER] + [[f"SO-{n}", "ACME", "MUG", "0", "1"] for n in range(60)]
    path = write(tmp_path, "bad.csv", csv_bytes(rows))
    ran = cli("orders", "import", str(path))
    lines = ran.err.splitlines()
    assert ran.code == 1
    assert lines[0] == "row 2, column quantity: quantity 0 must be from 1 to 1,000,000,000"
    assert len(lines) == 52
    assert lines[50:] == ["… and 10 more", "error: bad.csv: 60 bad rows; nothing imported"]
    assert order_count(hub) == 0


def test_cli_refuses_an_unreadable_file_in_one_line(cli, tmp_path):
    ran = cli("orders", "import", str(tmp_path / "missing.csv"))
    assert ran.code == 1
    assert ran.err.splitlines() == [
        f"error: cannot read {tmp_path / 'missing.csv'}: No such file or directory"
    ]
    empty = write(tmp_path, "empty.xlsx", b"")
    ran = cli("orders", "import", str(empty))
    assert (ran.code, ran.err.splitlines()) == (1, ["error: empty.xlsx: the file is empty"])


def test_cli_csv_template_imports_as_is(cli, hub, tmp_path):
    ran = cli("orders", "template", "--output", "t.csv")
    assert (ran.code, ran.out.strip()) == (0, "wrote t.csv")
    text = (tmp_path / "t.csv").read_text()
    header, example = text.splitlines()
    assert header.split(",")[:4] == ["order_ref", "account", "sku", "quantity"]
    assert "00457" in example and "02138" in example
    done = cli("orders", "import", "t.csv")
    assert done.code == 0, done.err
    view = order_view(hub, "b2b:SO-1001")
    assert (view.lines[0].sku, view.ship_postcode, view.po_number) == ("00457", "02138", "PO-7731")


def test_cli_xlsx_template_documents_columns_and_keeps_zeros(cli, hub, tmp_path):
    ran = cli("orders", "template", "--xlsx")
    assert (ran.code, ran.out.strip()) == (0, "wrote order-template.xlsx")
    book = load_workbook(tmp_path / "order-template.xlsx")
    orders, columns = book["Orders"], book["Columns"]
    header = [c.value for c in orders[1]]
    sku = header.index("sku") + 1
    postcode = header.index("postcode") + 1
    assert orders.cell(row=2, column=sku).value == "00457"
    assert orders.cell(row=2, column=sku).number_format == "@"
    assert orders.cell(row=500, column=postcode).number_format == "@"
    assert "Required" in (orders.cell(row=1, column=sku).comment.text or "")
    documented = {row[0] for row in columns.iter_rows(min_row=2, values_only=True) if row[0]}
    assert set(header) <= documented
    done = cli("orders", "import", "order-template.xlsx")
    assert done.code == 0, done.err
    assert order_view(hub, "b2b:SO-1001").lines[0].sku == "00457"


def test_cli_template_refuses_a_wrong_output_name(cli, tmp_path):
    ran = cli("orders", "template", "--xlsx", "--output", "t.csv")
    assert (ran.code, ran.err.splitlines()) == (
        1,
        ["error: --output t.csv: give a .xlsx file name"],
    )
    assert not Path(tmp_path / "t.csv").exists()


def test_the_import_guide_documents_every_column():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "order-import.md").read_text()
    for column in importer.COLUMNS:
        assert f"| `{column.name}` |" in guide, f"document {column.name} in docs/order-import.md"
        assert ", ".join(column.aliases) in guide


def test_problems_only_the_desk_checks_are_still_reported_for_every_row(hub):
    long_po = "P" * 129
    data = csv_bytes(
        [
            [*HEADER, "PO Number"],
            ["SO-1", "ACME", "MUG", "1", "1", "PO-1"],
            ["SO-2", "ACME", "MUG", "1", "1", long_po],
            ["SO-3", "BETA", "CUP", "1", "1", long_po],
        ]
    )
    with pytest.raises(importer.ImportRejected) as refused:
        importer.import_file(hub, data, "po.csv", actor=ME)
    assert [(e.row, e.column) for e in refused.value.errors] == [
        (3, "PO Number"),
        (4, "PO Number"),
    ]
    assert all("128 characters" in e.message for e in refused.value.errors)
    assert order_count(hub) == 0


def test_a_check_counts_what_would_be_created_and_writes_nothing(cli, hub, tmp_path):
    path = write(tmp_path, "day.csv", csv_bytes(GOOD))
    ran = cli("orders", "import", str(path), "--check")
    assert (ran.code, ran.out.strip()) == (
        0,
        "day.csv: 3 rows, 2 orders, all good: 2 would be new, 0 unchanged; nothing imported",
    )
    assert order_count(hub) == 0
    assert hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_import_t))) == 0
    bad = write(tmp_path, "bad.csv", csv_bytes([HEADER, ["SO-9", "ACME", "MUG", "x", "1"]]))
    refused = cli("orders", "import", str(bad), "--check")
    assert (refused.code, refused.err.splitlines()) == (
        1,
        [
            "row 2, column quantity: quantity 'x' is not a number",
            "error: bad.csv: 1 bad row; nothing imported",
        ],
    )
