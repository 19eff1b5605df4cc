"""Bad quantities and bad count files are refused with a clear message, and nothing is
written: the ledger reads the same afterwards and still equals its journal."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import order

from hub.core import ledger, migrate
from hub.core.counts import apply_counts, read_counts
from hub.core.db import make_engine
from hub.core.models import balance_t, movement_t, order_line_t, order_t
from hub.errors import InvalidInput, StockError

MAX, CEILING = ledger.MAX_QUANTITY, ledger.MAX_ON_HAND


def snapshot(hub) -> tuple:
    """Everything a refused input must leave as it was: balances and the journal."""
    return (
        [(lv.sku, lv.location, lv.on_hand, lv.reserved) for lv in hub.read(ledger.levels)],
        hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(movement_t))),
    )


def refused(hub, work, error: type[Exception], message: str) -> None:
    """``work`` raises ``error`` with exactly ``message`` and changes nothing."""
    before = snapshot(hub)
    with pytest.raises(error) as caught:
        hub.write(work)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert snapshot(hub) == before
    assert hub.read(ledger.verify) == []


# -- quantities ---------------------------------------------------------------------------


def test_a_receipt_of_the_largest_64_bit_integer_is_refused(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    refused(
        hub,
        lambda c: ledger.receive(c, "MUG", "main", 9223372036854775807),
        InvalidInput,
        "receipt of 'MUG': quantity 9223372036854775807 is beyond the maximum of "
        "1,000,000,000 units",
    )
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))  # the overflow example: fine now
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 6


def test_a_receipt_beyond_any_integer_column_is_refused(hub):
    refused(
        hub,
        lambda c: ledger.receive(c, "MUG", "main", 99999999999999999999),
        InvalidInput,
        "receipt of 'MUG': quantity 99999999999999999999 is beyond the maximum of "
        "1,000,000,000 units",
    )


def test_a_receipt_above_postgresqls_old_integer_columns_is_kept_exactly(hub):
    for _ in range(3):
        hub.write(lambda c: ledger.receive(c, "MUG", "main", MAX))
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 3 * MAX  # > 2**31
    assert hub.read(ledger.verify) == []


def test_the_maximum_itself_is_accepted_everywhere(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", MAX))
    hub.write(lambda c: ledger.transfer(c, "MUG", "main", "store", MAX))
    hub.write(lambda c: ledger.adjust(c, "MUG", "store", -MAX, reason="count"))
    hub.write(lambda c: ledger.set_count(c, "MUG", "main", CEILING))
    levels = {lv.location: lv.on_hand for lv in hub.read(lambda c: ledger.levels(c, "MUG"))}
    assert levels == {"main": CEILING, "store": 0}
    assert hub.read(ledger.verify) == []


def test_a_receipt_above_the_ceiling_names_sku_location_current_and_maximum(hub):
    hub.write(lambda c: ledger.set_count(c, "MUG", "main", CEILING - 5))
    refused(
        hub,
        lambda c: ledger.receive(c, "MUG", "main", 10),
        StockError,
        "'MUG' at 'main' would have 1,000,000,000,005 on hand (now 999,999,999,995, +10), "
        "above the maximum of 1,000,000,000,000 units per SKU and location",
    )
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    hub.write(lambda c: ledger.set_count(c, "MUG", "main", 10))  # a later count still lands
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 10


def test_an_adjustment_of_zero_or_beyond_the_maximum_or_above_the_ceiling_is_refused(hub):
    hub.write(lambda c: ledger.set_count(c, "MUG", "main", CEILING))
    refused(
        hub,
        lambda c: ledger.adjust(c, "MUG", "main", 0, reason="count"),
        InvalidInput,
        "adjustment of 'MUG': quantity must not be 0 (give units to add, or negative units "
        "to remove)",
    )
    refused(
        hub,
        lambda c: ledger.adjust(c, "MUG", "main", -MAX - 1, reason="count"),
        InvalidInput,
        "adjustment of 'MUG': quantity -1000000001 is beyond the maximum of 1,000,000,000 units",
    )
    refused(
        hub,
        lambda c: ledger.adjust(c, "MUG", "main", 1, reason="found"),
        StockError,
        "'MUG' at 'main' would have 1,000,000,000,001 on hand (now 1,000,000,000,000, +1), "
        "above the maximum of 1,000,000,000,000 units per SKU and location",
    )


def test_a_transfer_beyond_the_maximum_or_into_a_full_location_moves_nothing(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
    hub.write(lambda c: ledger.set_count(c, "MUG", "store", CEILING))
    refused(
        hub,
        lambda c: ledger.transfer(c, "MUG", "main", "store", MAX + 1),
        InvalidInput,
        "transfer of 'MUG': quantity 1000000001 is beyond the maximum of 1,000,000,000 units",
    )
    refused(
        hub,
        lambda c: ledger.transfer(c, "MUG", "main", "store", 3),
        StockError,
        "'MUG' at 'store' would have 1,000,000,000,003 on hand (now 1,000,000,000,000, +3), "
        "above the maximum of 1,000,000,000,000 units per SKU and location",
    )


def test_a_count_above_the_ceiling_is_refused(hub):
    refused(
        hub,
        lambda c: ledger.set_count(c, "MUG", "main", CEILING + 1),
        InvalidInput,
        "count of 'MUG': quantity 1000000000001 is beyond the maximum of 1,000,000,000,000 units",
    )


def test_moves_too_large_for_any_balance_are_refused_before_the_database_sees_them(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
    pid = hub.read(lambda c: ledger.product_id(c, "MUG"))
    loc = hub.read(lambda c: ledger.location_id(c, "main"))
    huge = ledger.Move("receipt", pid, loc, on_hand_delta=2**70)
    before = snapshot(hub)
    with pytest.raises(StockError, match="above the maximum of 1,000,000,000,000 units"):
        hub.write(lambda c: ledger.apply(c, [huge]))
    assert snapshot(hub) == before


def test_a_bundle_component_beyond_the_maximum_keeps_the_bundle_as_it_was(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 4))
    hub.write(lambda c: ledger.ensure_product(c, "SET"))
    hub.write(lambda c: ledger.set_bundle(c, "SET", {"MUG": 2}))
    refused(
        hub,
        lambda c: ledger.set_bundle(c, "SET", {"MUG": MAX + 1}),
        InvalidInput,
        "bundle 'SET': component 'MUG': quantity 1000000001 is beyond the maximum of "
        "1,000,000,000 units",
    )
    assert hub.read(lambda c: ledger.available_to_promise(c, ["SET"])) == {"SET": 2}


def test_a_typed_quantity_beyond_any_integer_is_refused_without_building_it():
    with pytest.raises(InvalidInput) as caught:
        ledger.check_quantity("9" * 5000, "component 'CUP=9999'")
    assert str(caught.value) == (
        "component 'CUP=9999': quantity 999999999999999999999999... is beyond the maximum of "
        "1,000,000,000 units"
    )


def test_an_order_line_beyond_the_maximum_is_held_with_the_reason(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    report = hub.ingest("web", [order("W1", ("MUG", MAX + 1))])
    assert [(o.external_id, o.status) for o in report.outcomes] == [("W1", "on_hold")]
    reason = hub.read(lambda c: c.scalar(sa.select(order_t.c.hold_reason)))
    assert reason == (
        "line 1 'MUG': quantity 1000000001 is beyond the maximum of 1,000,000,000 units; "
        "correct it on the channel"
    )
    assert hub.read(lambda c: c.scalar(sa.select(order_line_t.c.quantity))) == MAX + 1
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].reserved == 0
    assert hub.read(ledger.verify) == []


def test_an_order_line_beyond_what_the_hub_stores_is_reported_and_the_page_goes_on(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    page = [order("W1", ("MUG", 99999999999999999999)), order("W2", ("MUG", 2))]
    report = hub.ingest("web", page)
    outcomes = {o.external_id: (o.action, o.reason) for o in report.outcomes}
    assert outcomes["W1"] == (
        "rejected",
        "a line's quantity is beyond 1,000,000,000,000 units; correct it on the channel",
    )
    assert outcomes["W2"][0] == "created"
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].reserved == 2
    assert hub.read(ledger.verify) == []


def test_migration_0006_widens_stock_columns_keeping_rows_and_checks(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO product (sku, name, barcode, weight_grams, "
                             "volume_cm3, created_at) VALUES ('MUG', '', '', 0, 0, "
                             "CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO location (code, name, kind, address) "
                             "VALUES ('main', 'Main', 'warehouse', '')"))  # fmt: skip
        conn.execute(balance_t.insert().values(product_id=1, location_id=1, on_hand=7, reserved=2))
    migrate.upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(sa.select(balance_t.c.on_hand, balance_t.c.reserved)).one() == (7, 2)
        conn.execute(balance_t.update().values(on_hand=CEILING))  # beyond 32 bits
        assert conn.scalar(sa.select(balance_t.c.on_hand)) == CEILING
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(balance_t.update().values(reserved=CEILING + 1))
    engine.dispose()


# -- count files --------------------------------------------------------------------------


def sheet(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "counts.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        read_counts(path)
    return str(caught.value).splitlines()


def test_a_count_file_that_is_not_utf8_names_the_file_the_offset_and_the_line(tmp_path):
    path = sheet(tmp_path, b"sku,location,quantity\nMUG,main,4\nCAF\xc9,main,2\n")
    assert problems_of(path) == [
        f"{path}: not UTF-8: byte 0xc9 at offset 36 (line 3); save the file as UTF-8 "
        "(CSV UTF-8 in a spreadsheet)"
    ]


def test_every_bad_row_is_reported_with_its_line_and_column_one_line_each(tmp_path):
    path = sheet(
        tmp_path,
        "sku,location,quantity\nMUG,main,4\nTEE,main,lots\nCAP,,-1\n,main,3\n"
        "CUP,main,2,extra,more\nMUG ,main,6\nBIG,main,99999999999999999999999999\n",
    )
    assert problems_of(path) == [
        f"{path}: nothing imported, fix these 7 rows:",
        f"  {path}: line 3, column quantity: 'lots' is not a whole number",
        f"  {path}: line 4, column location: empty; give a location code",
        f"  {path}: line 4, column quantity: -1 is negative",
        f"  {path}: line 5, column sku: SKU is empty",
        f"  {path}: line 6: 5 columns, the header has 3 (extra: 'extra', 'more'); "
        "quote a value that holds a comma",
        f"  {path}: line 7: 'MUG' at 'main' is already counted on line 2; keep one row per "
        "SKU and location",
        f"  {path}: line 8, column quantity: quantity 999999999999999999999999... is beyond "
        "the maximum of 1,000,000,000,000 units",
    ]


def test_a_count_file_with_a_bom_and_windows_line_endings_is_read(tmp_path):
    path = sheet(tmp_path, b"\xef\xbb\xbfSKU,Location,Quantity,Name\r\nMUG,main,4,Mug\r\n\r\n")
    assert [(r.line, r.sku, r.location, r.quantity, r.name) for r in read_counts(path)] == [
        (2, "MUG", "main", 4, "Mug")
    ]


def test_a_count_file_header_with_unknown_or_repeated_columns_is_refused(tmp_path):
    path = sheet(tmp_path, "sku,location,quantity,qty,sku\nMUG,main,1,1,MUG\n")
    assert problems_of(path) == [
        f"{path}: line 1: unknown column(s) 'qty'; column(s) sku given twice; expected a "
        "header sku,location,quantity[,name]"
    ]
    assert problems_of(sheet(tmp_path, "")) == [
        f"{tmp_path / 'counts.csv'}: the file is empty; expected a header "
        "sku,location,quantity[,name]"
    ]


def test_a_missing_count_file_is_named(tmp_path):
    assert problems_of(tmp_path / "nope.csv") == [
        f"{tmp_path / 'nope.csv'}: cannot read: No such file or directory"
    ]


def test_counts_at_unknown_locations_are_all_reported_and_nothing_is_written(hub, tmp_path):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    hub.write(lambda c: ledger.reserve(c, "MUG", "main", 3))
    rows = read_counts(
        sheet(tmp_path, "sku,location,quantity\nTEE,main,4\nMUG,attic,1\nCAP,cellar,2\n")
    )
    before = snapshot(hub)
    with pytest.raises(InvalidInput) as caught:
        hub.write(lambda c: apply_counts(c, rows, path="counts.csv"))
    assert str(caught.value).splitlines() == [
        "counts.csv: nothing imported, fix these 2 rows:",
        "  counts.csv: line 3, column location: unknown location 'attic' (known: main, store)",
        "  counts.csv: line 4, column location: unknown location 'cellar' (known: main, store)",
    ]
    rows = read_counts(sheet(tmp_path, "sku,location,quantity\nTEE,main,4\nMUG,main,1\n"))
    with pytest.raises(InvalidInput) as caught:
        hub.write(lambda c: apply_counts(c, rows, path="counts.csv"))
    assert str(caught.value).splitlines() == [
        "counts.csv: nothing imported, fix this row:",
        "  counts.csv: line 3: not enough stock of 'MUG' at 'main': on hand 5, reserved 3; "
        "asked to change on hand by -4 and reserved by +0",
    ]
    assert snapshot(hub) == before
    assert hub.read(ledger.verify) == []


def test_a_quote_never_closed_is_named_with_its_line_and_the_rows_before_it_too(tmp_path):
    path = sheet(tmp_path, 'sku,location,quantity\nMUG,main,x\nTEE,"main,2\nCAP,main,3\n')
    assert problems_of(path) == [
        f"{path}: nothing imported, fix these 2 rows:",
        f"  {path}: line 2, column quantity: 'x' is not a whole number",
        f"  {path}: line 3: not valid CSV: unexpected end of data; check its quotes",
    ]
    path = sheet(tmp_path, "sku,location,quantity\nMUG,main," + "9" * 200_000 + "\n")
    assert problems_of(path)[1:] == [
        f"  {path}: line 2: not valid CSV: field larger than field limit (131072); check its quotes"
    ]
