"""Order analytics and the audit export, on SQLite and PostgreSQL: figures equal to what
the test did through intake, the desk and fulfilment, grouped by the merchant's local day
(America/Chicago); the CSV files, PNG charts and the audit CSV and PDF the CLI writes; and
bad input refused in one line with nothing written."""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from builders import order
from PIL import Image
from pypdf import PdfReader

from hub.cli import main
from hub.core import drivers, driving, ledger
from hub.core.audit import audit_csv, audit_orders
from hub.core.desk import Actor
from hub.core.desk.actions import cancel_order, hold_order, release_order
from hub.core.reports import charts, orders_report
from hub.core.reports.deliveries import deliveries_report
from hub.core.reports.files import delivery_files
from hub.core.runtime import Hub

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from driver_site import driver_site, jpeg, phone_time, png, today  # noqa: E402

CHICAGO = ZoneInfo("America/Chicago")
ANA = Actor("ana", "cli")
# 23:30 in Chicago on 31 March is 04:30 UTC on 1 April
LATE_31_MARCH = datetime(2026, 3, 31, 23, 30, tzinfo=CHICAGO)
EARLY_1_APRIL = datetime(2026, 4, 1, 0, 30, tzinfo=CHICAGO)
MORNING_31_MARCH = datetime(2026, 3, 31, 10, 0, tzinfo=CHICAGO)


@dataclass
class Ran:
    code: int
    out: str
    err: str


@dataclass
class Site:
    config: Path
    capsys: pytest.CaptureFixture[str]

    def hub(self) -> Hub:
        return Hub.open(self.config)

    def run(self, *args: str) -> Ran:
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = self.capsys.readouterr()
        return Ran(code, captured.out, captured.err)


@pytest.fixture
def site(db_url: str, tmp_path: Path, capsys, monkeypatch) -> Site:
    """A hub in Chicago's zone with channels ``web`` and ``shop`` and 100 MUG."""
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[hub]\nname = "Mugs of Chicago"\ntimezone = "America/Chicago"\n\n'
        f'[database]\nurl = "{db_url}"\n\n[locations.main]\nname = "Main"\n\n'
        '[channels.web]\ntype = "manual"\n\n[channels.shop]\ntype = "manual"\n'
    )
    monkeypatch.setenv("HUB_CONFIG", str(config))
    made = Site(config, capsys)
    assert made.run("db", "upgrade").code == 0
    with made.hub() as hub:
        hub.sync_locations()
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 100))
    return made


def placed(external_id: str, at: datetime, units: int = 1, **changes: object):
    """An order of ``units`` MUG at 9.99 placed at ``at``."""
    made = order(external_id, ("MUG", units), channel=str(changes.pop("channel", "web")))
    return replace(made, placed_at=at.astimezone(UTC), updated_at=at.astimezone(UTC), **changes)


def ingest_two_days(hub: Hub) -> None:
    """web: one EUR order late on 31 March, one USD order that morning, cancelled at the
    desk; shop: one USD order just after midnight on 1 April."""
    hub.ingest("web", [placed("W-LATE", LATE_31_MARCH, 2)])
    hub.ingest("web", [placed("W-MORNING", MORNING_31_MARCH, currency="USD")])
    hub.ingest("shop", [placed("S-EARLY", EARLY_1_APRIL, channel="shop", currency="USD")])
    cancel_order(hub, "web:W-MORNING", "customer changed their mind", ANA)


def test_orders_count_on_the_merchants_local_day_with_revenue_per_currency(site):
    with site.hub() as hub:
        ingest_two_days(hub)
        report = hub.read(lambda c: orders_report(c, date(2026, 3, 31), date(2026, 4, 1), CHICAGO))
        only_april = hub.read(
            lambda c: orders_report(c, date(2026, 4, 1), date(2026, 4, 1), CHICAGO)
        )
    rows = [(d.day, d.channel, d.orders, d.cancelled, d.revenue) for d in report.days]
    assert rows == [
        (date(2026, 3, 31), "web", 2, 1, {"EUR": Decimal("19.98")}),
        (date(2026, 4, 1), "shop", 1, 0, {"USD": Decimal("9.99")}),
    ]
    # the late order is 1 April in UTC, but belongs to 31 March in Chicago
    assert [(d.day, d.channel, d.orders) for d in only_april.days] == [
        (date(2026, 4, 1), "shop", 1)
    ]
    assert report.revenue_by_channel() == {
        "web": {"EUR": Decimal("19.98")},
        "shop": {"USD": Decimal("9.99")},
    }


def test_a_desk_hold_released_lasts_from_hold_to_release_and_an_open_hold_counts_apart(site):
    today = datetime.now(CHICAGO).date()
    with site.hub() as hub:
        hub.ingest("web", [placed("H-1", datetime.now(UTC))])
        hub.ingest("web", [placed("H-2", datetime.now(UTC))])
        before_hold = datetime.now(UTC)
        hold_order(hub, "web:H-1", "customer asked to wait", ANA)
        after_hold = datetime.now(UTC)
        hold_order(hub, "web:H-2", "address to check", ANA)
        before_release = datetime.now(UTC)
        release_order(hub, "web:H-1", "customer called back", ANA)
        after_release = datetime.now(UTC)
        report = hub.read(lambda c: orders_report(c, today, today, CHICAGO))
    [manual] = report.holds
    assert (manual.code, manual.orders, manual.ended, manual.still_open) == ("manual", 2, 1, 1)
    assert manual.median_hours == manual.max_hours
    seconds = manual.max_hours * 3600
    assert (before_release - after_hold).total_seconds() <= seconds
    assert seconds <= (after_release - before_hold).total_seconds()
    ended = [s for s in report.spells if s.end is not None]
    assert [s.ended_by for s in ended] == ["released"]
    with Image.open(io.BytesIO(charts.hold_durations(report))) as image:  # a box for manual
        assert image.format == "PNG" and image.size == charts.SIZE


def test_an_order_shipped_gives_its_time_to_ship(site):
    today = datetime.now(CHICAGO).date()
    with site.hub() as hub:
        placed_at = datetime.now(UTC) - timedelta(hours=5)
        hub.ingest("web", [placed("SHIP-1", placed_at)])
        hub.ingest("web", [placed("WAIT-1", placed_at)])  # not shipped: not counted
        before = datetime.now(UTC)
        hub.ship("web:SHIP-1", "dhl", "JD0001")
        after = datetime.now(UTC)
        report = hub.read(lambda c: orders_report(c, today - timedelta(days=1), today, CHICAGO))
    [web] = report.ship_times
    assert (web.channel, web.shipped) == ("web", 1)
    assert (before - placed_at).total_seconds() / 3600 <= web.median_hours
    assert web.median_hours <= (after - placed_at).total_seconds() / 3600
    assert web.p90_hours == web.median_hours


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_report_orders_prints_tables_and_writes_csv_and_png_charts(site, tmp_path):
    with site.hub() as hub:
        ingest_two_days(hub)
    out = tmp_path / "out"
    out.mkdir()
    ran = site.run(
        "report", "orders", "--from", "2026-03-31", "--to", "2026-04-01", "--out", str(out)
    )
    assert ran.code == 0, ran
    assert "Orders per day" in ran.out and "19.98 EUR" in ran.out
    names = ["orders_by_day.csv", "holds.csv", "time_to_ship.csv"]
    pictures = ["orders_per_day.png", "revenue_per_channel.png", "hold_durations.png"]
    for name in names + pictures:
        assert f"wrote {out / name}" in ran.out
    assert _csv(out / "orders_by_day.csv") == [
        {
            "day": "2026-03-31",
            "channel": "web",
            "orders": "2",
            "cancelled": "1",
            "currency": "EUR",
            "revenue": "19.98",
        },
        {
            "day": "2026-04-01",
            "channel": "shop",
            "orders": "1",
            "cancelled": "0",
            "currency": "USD",
            "revenue": "9.99",
        },
    ]
    assert _csv(out / "time_to_ship.csv") == []  # nothing shipped
    assert (out / "holds.csv").read_text().splitlines()[0] == (
        "reason,orders,ended,still_open,median_hours,max_hours"
    )
    for name in pictures:
        assert (out / name).stat().st_size > 0
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.size == charts.SIZE
    assert sorted(p.name for p in out.iterdir()) == sorted(names + pictures)


def test_audit_exports_every_touched_order_with_its_history_in_order(site, tmp_path):
    today = datetime.now(CHICAGO).date()
    with site.hub() as hub:
        hub.ingest("web", [placed("A-1", datetime.now(UTC))])
        hold_order(hub, "web:A-1", "fragile: check packing", ANA)
        release_order(hub, "web:A-1", "packed twice", Actor("bo", "web"))
        hub.ship("web:A-1", "dhl", "JD0042", actor="cli:ana")
        hub.ingest("shop", [placed("A-2", datetime.now(UTC), channel="shop")])
        cancel_order(hub, "shop:A-2", "duplicate of A-1", ANA)
    out = tmp_path / "audit"
    out.mkdir()
    ran = site.run("report", "audit", "--from", str(today), "--to", str(today), "--out", str(out))
    assert ran.code == 0, ran
    rows = _csv(out / "audit.csv")
    assert [(r["order"], r["kind"], r["actor"], r["origin"], r["what"]) for r in rows] == [
        ("web:A-1", "intake", "intake", "", "created from web"),
        ("web:A-1", "allocation", "intake", "web", "allocated 1 × MUG at main"),
        ("web:A-1", "hold", "cli:ana", "cli", "held: fragile: check packing"),
        ("web:A-1", "release", "web:bo", "web", "released manual: packed twice"),
        ("web:A-1", "update", "web:bo", "web", "updated from web"),  # decided again: open
        ("web:A-1", "fulfilment", "cli:ana", "", "shipped with dhl JD0042"),
        (
            "web:A-1",
            "shipment",
            "cli:ana",
            "hub",
            "shipped by dhl JD0042; channel told: not_needed",
        ),
        ("shop:A-2", "intake", "intake", "", "created from shop"),
        ("shop:A-2", "allocation", "intake", "shop", "allocated 1 × MUG at main"),
        ("shop:A-2", "cancellation", "cli:ana", "cli", "duplicate of A-1"),
    ]
    times = [r["utc_time"] for r in rows if r["order"] == "web:A-1"]
    assert times == sorted(times)
    assert all(r["local_time"].endswith(("-05:00", "-06:00")) for r in rows)
    text = " ".join(page.extract_text() for page in PdfReader(out / "audit.pdf").pages)
    text = " ".join(text.split())
    for needle in (
        "Order web:A-1",
        "Order shop:A-2",
        "held: fragile: check packing",
        "packed twice",
        "shipped by dhl JD0042",
        "duplicate of A-1",
        f"{today} to {today} (America/Chicago)",
        "page 1",
    ):
        assert needle in text, needle


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--from", "2026-04-02", "--to", "2026-04-01"),
            "--from 2026-04-02 is after --to 2026-04-01",
        ),
        (("--from", "1/4/2026"), "--from '1/4/2026' is not a date; give YYYY-MM-DD"),
        (("--to", "2026-02-30"), "--to '2026-02-30' is not a date; give YYYY-MM-DD"),
    ],
)
def test_bad_dates_are_refused_in_one_line_and_nothing_is_written(site, tmp_path, args, message):
    out = tmp_path / "out"
    out.mkdir()
    for command in ("orders", "audit"):
        ran = site.run("report", command, *args, "--out", str(out))
        assert (ran.code, ran.err.splitlines()) == (1, [f"error: {message}"]), ran
    assert list(out.iterdir()) == []


def test_an_out_folder_that_does_not_exist_is_refused(site, tmp_path):
    missing = tmp_path / "nowhere"
    for command in ("orders", "audit"):
        ran = site.run("report", command, "--out", str(missing))
        assert ran.code == 1
        assert ran.err.splitlines() == [
            f"error: --out {missing} does not exist; create the folder first"
        ]
    assert not missing.exists()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    ran = site.run("report", "orders", "--out", str(a_file))
    assert ran.err.splitlines() == [f"error: --out {a_file} is a file, not a folder"]
    assert a_file.read_text() == "mine"


def test_the_audit_shows_a_drivers_action_with_device_and_position(db_url, tmp_path):
    made = driver_site(db_url, tmp_path / "media")
    with made.hub as hub:
        dora = hub.read(lambda c: drivers.find_driver(c, "Dora"))
        failed = driving.Action(
            client_id="phone-7:1",
            route_id=made.routes["van-1"],
            stop_seq=2,
            kind="fail",
            phone_at=phone_time(15),
            reason="no_access",
            note="gate locked",
            latitude=51.50735,
            longitude=-0.12776,
            accuracy_m=8,
        )
        driving.submit_actions(hub, dora, "phone-7", [failed])
        zone = ZoneInfo("Europe/London")
        day = failed.phone_at.astimezone(zone).date()
        found = hub.read(lambda c: audit_orders(c, day, day, zone))
    rows = list(csv.DictReader(io.StringIO(audit_csv(found, zone).decode())))
    mine = [r for r in rows if r["order"] == "b2b:C1" and r["origin"] == "driver"]
    app = [r for r in mine if r["kind"] == "driver_app"]
    assert [(r["actor"], r["what"]) for r in app] == [
        (
            "driver:Dora",
            "fail (no_access): gate locked; device phone-7, at 51.50735,-0.12776 ±8 m",
        )
    ]
    assert app[0]["utc_time"] == failed.phone_at.isoformat(timespec="seconds")
    assert any(r["kind"] == "driver" and "gate locked" in r["what"] for r in mine)
    told = [r["what"] for r in rows if r["order"] == "b2b:C1" and r["kind"] == "notification"]
    assert told == [
        "confirmed by email to goods-in@cash.example via mail: queued",
        "failed by email to goods-in@cash.example via mail: queued",
    ]


def test_deliveries_count_each_drop_on_its_local_day_with_failures_and_minutes_vs_plan(
    db_url, tmp_path
):
    made = driver_site(db_url, tmp_path / "media")
    van = made.routes["van-1"]
    delivered = driving.Action(
        "phone-7:1",
        van,
        1,
        "deliver",
        phone_time(10),
        recipient_name="Jo",
        signature=png(),
        photo=jpeg(),
    )
    failed = driving.Action("phone-7:2", van, 2, "fail", phone_time(30), reason="no_access")
    with made.hub as hub:
        dora = hub.read(lambda c: drivers.find_driver(c, "Dora"))
        driving.submit_actions(hub, dora, "phone-7", [delivered, failed])
        zone = ZoneInfo("Europe/London")
        day = delivered.phone_at.astimezone(zone).date()
        report = hub.read(lambda c: deliveries_report(c, day, day, zone))
        before = hub.read(
            lambda c: deliveries_report(c, day - timedelta(days=1), day - timedelta(days=1), zone)
        )
    # the plan: stop 1 (A1 and A2 together) at 08:20 UTC, stop 2 (C1) at 08:40
    late = [
        (delivered.phone_at - (today() + timedelta(minutes=20))).total_seconds() / 60,
        (failed.phone_at - (today() + timedelta(minutes=40))).total_seconds() / 60,
    ]
    [dora_day] = report.days
    assert (dora_day.day, dora_day.driver, dora_day.delivered, dora_day.failed) == (
        day,
        "Dora",
        1,
        1,
    )
    assert dora_day.orders_delivered == 2
    assert (dora_day.with_window, dora_day.in_window) == (0, 0)
    assert dora_day.median_minutes_vs_plan == pytest.approx(sum(late) / 2)
    assert report.failures == {"no_access": 1}
    assert before.days == [] and before.failures == {}
    files = delivery_files(report)
    rows = list(csv.DictReader(io.StringIO(files["deliveries_by_day.csv"].decode())))
    assert [
        (r["day"], r["driver"], r["delivered"], r["failed"], r["orders_delivered"]) for r in rows
    ] == [(day.isoformat(), "Dora", "1", "1", "2")]
    assert files["failures.csv"].decode().splitlines() == ["reason,drops", "no_access,1"]
    with Image.open(io.BytesIO(files["drops_per_day.png"])) as image:
        assert image.format == "PNG" and image.size == charts.SIZE


def test_report_deliveries_refuses_bad_input_in_one_line(site, tmp_path):
    ran = site.run("report", "deliveries", "--from", "2026-04-02", "--to", "2026-04-01")
    assert (ran.code, ran.err.splitlines()) == (
        1,
        ["error: --from 2026-04-02 is after --to 2026-04-01"],
    )
    ran = site.run("report", "deliveries", "--out", str(tmp_path / "nowhere"))
    assert ran.err.splitlines() == [
        f"error: --out {tmp_path / 'nowhere'} does not exist; create the folder first"
    ]
    ran = site.run("report", "deliveries", "--from", "2026-03-31", "--to", "2026-04-01")
    assert ran.code == 0 and "no drops in this range" in ran.out
