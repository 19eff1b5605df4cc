"""The ``hub`` command refuses bad names and values with one line and exit code 1, and
writes nothing: every table reads the same afterwards (SQLite and PostgreSQL).

The commands run in-process through :func:`hub.cli.main`, as the ``hub`` script runs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import order

from hub.cli import main
from hub.core import ledger
from hub.core.models import metadata
from hub.core.planning import store_plan
from hub.core.runtime import Hub
from hub.routing import Plan, Route


@dataclass
class Ran:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    config: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Ran:
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = self.capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    def hub(self) -> Hub:
        return Hub.open(self.config)

    def tables(self) -> dict[str, list]:
        """Every row of every table, to show that a refused command wrote nothing."""
        with self.hub() as hub, hub.engine.connect() as conn:
            return {
                t.name: sorted(map(tuple, conn.execute(sa.select(t))), key=repr)
                for t in metadata.sorted_tables
            }

    def refuses(self, *args: str, message: str) -> None:
        """``hub args`` exits 1 printing ``error: message`` alone, and writes nothing."""
        before = self.tables()
        ran = self(*args)
        assert (ran.code, ran.err.splitlines()) == (1, [f"error: {message}"]), ran
        assert self.tables() == before
        with self.hub() as hub:
            assert hub.read(ledger.verify) == []


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys, monkeypatch) -> Cli:
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        '[locations.main]\nname = "Main"\n\n[locations.store]\nname = "Store"\n\n'
        '[channels.web]\ntype = "manual"\n\n[channels.b2b]\ntype = "manual"\n'
        'locations = ["main"]\n'
    )
    monkeypatch.setenv("HUB_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    run = Cli(config, capsys)
    assert run("db", "upgrade").code == 0
    assert run("stock", "receive", "MUG", "5").code == 0
    return run


# -- quantities ---------------------------------------------------------------------------


def _beyond_max(what: str, quantity: str) -> str:
    """The refusal of a quantity above the per-movement maximum, e.g. for "receipt of 'MUG'"."""
    return f"{what}: quantity {quantity} is beyond the maximum of 1,000,000,000 units"


def test_receiving_the_largest_64_bit_integer_is_refused_and_a_receipt_after_it_adds_up(cli):
    cli.refuses(
        "stock", "receive", "MUG", "9223372036854775807",
        message=_beyond_max("receipt of 'MUG'", "9223372036854775807"),
    )  # fmt: skip
    assert cli("stock", "receive", "MUG", "1").code == 0
    levels = cli("stock", "levels")
    assert "9.2" not in levels.out and "│ 6 " in levels.out
    assert cli("stock", "verify").code == 0
    assert cli("stock", "import", _csv(cli, "sku,location,quantity\nMUG,main,10\n")).code == 0
    with cli.hub() as hub:
        assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 10


def test_receiving_more_than_any_integer_column_holds_is_refused(cli):
    cli.refuses(
        "stock", "receive", "MUG", "99999999999999999999",
        message=_beyond_max("receipt of 'MUG'", "99999999999999999999"),
    )  # fmt: skip
    cli.refuses(
        "stock", "receive", "MUG", "2147483648", "-l", "store",
        message=_beyond_max("receipt of 'MUG'", "2147483648"),
    )  # fmt: skip


def test_receiving_past_the_ceiling_names_sku_location_current_and_maximum(cli):
    assert (
        cli("stock", "import", _csv(cli, "sku,location,quantity\nMUG,main,1000000000000\n")).code
        == 0
    )
    cli.refuses(
        "stock", "receive", "MUG", "1",
        message="'MUG' at 'main' would have 1,000,000,000,001 on hand (now "
        "1,000,000,000,000, +1), above the maximum of 1,000,000,000,000 units per SKU and "
        "location",
    )  # fmt: skip


def test_an_adjustment_of_zero_is_refused(cli):
    cli.refuses(
        "stock", "adjust", "MUG", "0", "--reason", "count",
        message="adjustment of 'MUG': quantity must not be 0 (give units to add, or negative "
        "units to remove)",
    )  # fmt: skip
    cli.refuses(
        "stock", "adjust", "MUG", "-1000000001", "--reason", "count",
        message=_beyond_max("adjustment of 'MUG'", "-1000000001"),
    )  # fmt: skip


def test_transfers_beyond_the_maximum_or_to_an_unknown_location_are_refused(cli):
    cli.refuses(
        "stock", "transfer", "MUG", "1000000001", "--from", "main", "--to", "store",
        message=_beyond_max("transfer of 'MUG'", "1000000001"),
    )  # fmt: skip
    cli.refuses(
        "stock", "transfer", "MUG", "1", "--from", "main", "--to", "attic",
        message="unknown location 'attic' (known: main, store); declare it under "
        "[locations] in the config",
    )  # fmt: skip


def test_bundle_components_with_a_bad_count_are_refused(cli):
    cli.refuses(
        "stock", "bundle", "SET", "MUG=1000000001",
        message=_beyond_max("component 'MUG=1000000001'", "1000000001"),
    )  # fmt: skip
    cli.refuses(
        "stock", "bundle", "SET", "MUG=",
        message="component 'MUG=': give the units after '=', e.g. CUP=2",
    )  # fmt: skip
    cli.refuses("stock", "bundle", "SET", "=2", message="SKU is empty")


# -- count files --------------------------------------------------------------------------


def _csv(cli: Cli, text: str | bytes, name: str = "counts.csv") -> str:
    path = cli.config.parent / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_a_count_file_that_is_not_utf8_is_refused_naming_file_offset_and_line(cli):
    path = _csv(cli, b"sku,location,quantity\nMUG,main,4\nCAF\xc9,main,2\n")
    cli.refuses(
        "stock", "import", path,
        message=f"{path}: not UTF-8: byte 0xc9 at offset 36 (line 3); save the file as "
        "UTF-8 (CSV UTF-8 in a spreadsheet)",
    )  # fmt: skip


def test_a_count_file_prints_every_bad_row_and_imports_nothing(cli):
    path = _csv(cli, "sku,location,quantity\nTEE,main,4,x\nMUG,attic,2\nCAP,main,1.5\n")
    before = cli.tables()
    ran = cli("stock", "import", path)
    assert ran.code == 1
    assert ran.err.splitlines() == [
        f"error: {path}: nothing imported, fix these 2 rows:",
        f"  {path}: line 2: 4 columns, the header has 3 (extra: 'x'); quote a value that "
        "holds a comma",
        f"  {path}: line 4, column quantity: '1.5' is not a whole number",
    ]
    path = _csv(cli, "sku,location,quantity\nTEE,main,4\nMUG,attic,2\nCAP,cellar,1\n")
    ran = cli("stock", "import", path)
    assert ran.code == 1
    assert ran.err.splitlines() == [
        f"error: {path}: nothing imported, fix these 2 rows:",
        f"  {path}: line 3, column location: unknown location 'attic' (known: main, store)",
        f"  {path}: line 4, column location: unknown location 'cellar' (known: main, store)",
    ]
    assert cli.tables() == before


def test_a_count_file_from_windows_with_a_bom_imports(cli):
    path = _csv(cli, b"\xef\xbb\xbfsku,location,quantity\r\nMUG,main,7\r\nTEE,store,2\r\n")
    ran = cli("stock", "import", path)
    assert ran.code == 0, ran.err
    with cli.hub() as hub:
        levels = {(lv.sku, lv.location): lv.on_hand for lv in hub.read(ledger.levels)}
    assert levels == {("MUG", "main"): 7, ("TEE", "store"): 2}


def test_a_missing_count_file_is_named(cli):
    cli.refuses(
        "stock", "import", "nope.csv", message="nope.csv: cannot read: No such file or directory"
    )


# -- names ----------------------------------------------------------------------------------


def test_unknown_channels_are_refused_naming_the_configured_ones(cli):
    known = f"no channel 'nosuch' in {cli.config} (known: b2b, web)"
    cli.refuses("stock", "levels", "--channel", "nosuch", message=known)
    for job in ("pull", "push", "shipments", "reconcile", "listings"):
        cli.refuses("sync", job, "nosuch", message=known)
    status = json.loads(cli("status", "--json").out)
    assert [row["channel"] for row in status] == ["b2b", "web"]
    assert not any(row["failing"] for row in status)
    cli.refuses(
        "orders", "list", "--channel", "nosuch", message="no channel 'nosuch' (known: b2b, web)"
    )
    cli.refuses("retry", "--channel", "nosuch", message="no channel 'nosuch' (known: b2b, web)")


def test_an_unknown_order_status_is_refused_naming_the_statuses(cli):
    cli.refuses(
        "orders", "list", "--status", "bogus",
        message="unknown status 'bogus' (known: pending, open, on_hold, fulfilled, delivered, "
        "cancelled, refunded)",
    )  # fmt: skip


def test_an_unknown_sku_in_stock_levels_is_refused(cli):
    cli.refuses(
        "stock", "levels", "--sku", "NOSUCH",
        message="unknown SKU 'NOSUCH'; add it with `hub stock receive` or a listing import",
    )  # fmt: skip


def test_retrying_dead_letters_that_do_not_exist_names_them(cli):
    cli.refuses("retry", "998", "999", message="no open dead letter #998, #999 (open: none)")


def test_blank_names_are_refused(cli):
    cli.refuses("stock", "receive", "MUG", "1", "--actor", " ", message="--actor must not be empty")
    cli.refuses("stock", "product", "MUG", "--name", "", message="--name must not be empty")
    cli.refuses("stock", "receive", " ", "1", message="SKU is empty")


def test_product_figures_must_be_numbers(cli):
    cli.refuses(
        "stock", "product", "MUG", "--weight", "inf", message="--weight must be a number, got inf"
    )


# -- shipping -------------------------------------------------------------------------------


def test_shipping_with_a_blank_carrier_or_a_bad_tracking_url_is_refused(cli):
    with cli.hub() as hub:
        hub.ingest("web", [order("W1", ("MUG", 2))])
    cli.refuses(
        "orders", "ship", "web:W1", "--carrier", "",
        message="carrier must not be empty; name it, e.g. DHL or own-fleet",
    )  # fmt: skip
    cli.refuses(
        "orders", "ship", "web:W1", "--carrier", "  ",
        message="carrier must not be empty; name it, e.g. DHL or own-fleet",
    )  # fmt: skip
    cli.refuses(
        "orders", "ship", "web:W1", "--carrier", "DHL", "--tracking-url", "JD0001",
        message="tracking URL 'JD0001' is not an http(s) address, e.g. "
        "https://track.example.com/JD0001",
    )  # fmt: skip
    shipped = cli("orders", "ship", "web:W1", "--carrier", " DHL ")
    assert shipped.code == 0, shipped.err
    assert "with DHL" in shipped.out


# -- routes ---------------------------------------------------------------------------------


def _stored_plan(cli: Cli) -> int:
    """A plan with one route of van "van" on 2026-12-01, as the planner stores one."""
    leave = datetime(2026, 12, 1, 8, tzinfo=UTC)
    route = Route("van", date(2026, 12, 1), (), leave, leave, 0.0, 0.0, 0.0, 0.0)
    with cli.hub() as hub:
        return int(
            hub.write(
                lambda c: store_plan(c, date(2026, 12, 1), 1, Plan((route,), (), "test"), {}, [])
            )
        )


def test_dispatching_a_plan_that_does_not_exist_is_refused(cli):
    cli.refuses("route", "dispatch", "999", message="no route plan 999 (stored: none planned yet)")
    plan = _stored_plan(cli)
    cli.refuses("route", "dispatch", "999", message=f"no route plan 999 (stored: plan {plan})")
    cli.refuses(
        "route", "dispatch", str(plan), "--vehicle", "truck",
        message=f"route plan {plan} has no routes of vehicle 'truck' (vehicles: van)",
    )  # fmt: skip
    cli.refuses(
        "route", "dispatch", str(plan), "--date", "2026-12-02",
        message=f"route plan {plan} has no routes on 2026-12-02 (days: 2026-12-01)",
    )  # fmt: skip
    cli.refuses(
        "route", "dispatch", str(plan), "--date", "soon",
        message="--date 'soon' is not a date like 2026-12-01",
    )  # fmt: skip
    cli.refuses(
        "route", "dispatch", str(plan), "--vehicle", " ", message="--vehicle must not be empty"
    )  # fmt: skip
    done = cli("route", "dispatch", str(plan), "--vehicle", "van")
    assert done.code == 0 and f"1 route(s) of plan {plan} dispatched" in done.out


def test_planning_a_past_day_needs_allow_past(cli):
    today = datetime.now(UTC).date()
    cli.refuses(
        "route", "plan", "--date", "2001-02-03",
        message=f"--date 2001-02-03 is in the past (today is {today.isoformat()} in UTC); plan "
        "today or later, or add --allow-past to plan past days",
    )  # fmt: skip
    cli.refuses(
        "route",
        "plan",
        "--date",
        "03/02/2001",
        message="--date '03/02/2001' is not a date like 2026-12-01",
    )


def test_a_blank_or_unknown_router_is_refused(cli):
    cli.refuses(
        "route", "plan", "--date", "2999-01-01", "--router", " ",
        message="--router must not be empty",
    )  # fmt: skip
    ran = cli("route", "plan", "--date", "2999-01-01", "--router", "teleport")
    assert ran.code == 1 and ran.err.startswith("error: no router 'teleport' (installed: ")


def test_channel_figures_show_for_a_configured_channel(cli):
    ran = cli("stock", "levels", "--channel", "b2b")
    assert ran.code == 0 and "ATP b2b" in ran.out


def test_files_to_write_are_checked_before_the_work(cli):
    cli.refuses(
        "route", "plan", "--date", "2999-01-01", "--svg", "missing/plan.svg",
        message="--svg missing/plan.svg: folder missing does not exist",
    )  # fmt: skip
    cli.refuses(
        "route", "show", "1", "--json", "--csv", message="give --json or --csv, not both"
    )  # fmt: skip


def test_a_plan_to_show_that_does_not_exist_names_the_stored_ones(cli):
    plan = _stored_plan(cli)
    cli.refuses("route", "show", "7", message=f"no route plan 7 (stored: plan {plan})")


def test_endless_time_limits_are_refused(cli, tmp_path):
    cli.refuses(
        "route", "plan", "--date", "2999-01-01", "--time-limit", "inf",
        message="--time-limit must be a number of seconds, got inf",
    )  # fmt: skip
    cli.refuses(
        "demo",
        "--duration",
        "inf",
        "--folder",
        str(tmp_path / "demo"),
        message="--duration must be a number of seconds, got inf",
    )
    assert not (tmp_path / "demo").exists()


def test_files_and_folders_that_cannot_be_used_are_named(cli, tmp_path):
    cli.refuses(
        "stock", "import", str(tmp_path), message=f"{tmp_path}: cannot read: Is a directory"
    )
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cli.refuses(
        "init", "--config", str(a_file / "hub.toml"),
        message=f"cannot write {a_file / 'hub.toml'}: {a_file} is a file, not a folder",
    )  # fmt: skip
    cli.refuses(
        "init",
        "--config",
        str(tmp_path),
        message=f"{tmp_path} is a folder; give --config a file name such as hub.toml",
    )
    cli.refuses(
        "demo",
        "--folder",
        str(a_file),
        message=f"--folder {a_file} is a file; give a folder for the demo hub",
    )
    solomon = tmp_path / "c101.txt"
    solomon.write_bytes(b"C101\n\xff\xfe\n")
    ran = cli("route", "solve", "--solomon", str(solomon))
    assert (ran.code, ran.err.splitlines()) == (
        1,
        [f"error: {solomon}: not UTF-8 text (byte offset 5)"],
    )
