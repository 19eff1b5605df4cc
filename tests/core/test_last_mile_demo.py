"""``hub demo``'s last mile, run once in a temporary folder: what it prints and returns
matches what it did (drops delivered, one failed, one late, the offline batch recorded
once, e-mails received by its own mail server, SMS by the Twilio sandbox), and its
files are real PDFs, PNGs and CSVs."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from rich.console import Console

from hub.core.config import load_settings
from hub.core.demoplaces import DENVER, LONDON, city_for
from hub.core.lastmiledemo import LastMileResult, day_clock, run_last_mile_demo
from hub.core.models import notification_message_t, position_ping_t, route_action_t
from hub.core.reports.deliveries import deliveries_report
from hub.core.runtime import Hub


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LastMileResult, str]]:
    # A relative folder, as `hub demo` gives it (.demo): the hub.toml it leaves must open
    # the demo's database, not one under the folder twice over.
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("demo"))
    try:
        out = io.StringIO()
        result = run_last_mile_demo(Path("lastmile"), Console(file=out, width=200))
    finally:
        os.chdir(here)
    yield result, out.getvalue()


@pytest.fixture(scope="module")
def stored(demo: tuple[LastMileResult, str]) -> Iterator[Hub]:
    """The demo's own database, opened again after it finished with the config it
    leaves for that (printed with the commands to look at the day again)."""
    result, printed = demo
    config = result.folder / "hub.toml"
    assert f"route show {result.plan_id} --config {config}" in printed
    with Hub.open(settings=load_settings(config)) as hub:
        yield hub


def test_the_demo_ends_well_and_says_so(demo):
    result, printed = demo
    assert result.ok, printed
    assert "last mile: done" in printed
    assert result.routes == 3 and result.left_out == 0
    assert result.orders == 22  # 19 by van (18 drops: two B2B orders share a door), 3 by carrier
    assert result.stops == 18
    assert len(result.carrier_labels) == 3
    assert all(" easypost " in line for line in result.carrier_labels)


def test_the_printed_report_is_what_the_drivers_did(demo):
    result, printed = demo
    report, drive = result.report, result.drive
    assert sum(d.delivered + d.failed for d in report.days) == result.stops
    assert sum(d.failed for d in report.days) == 1
    assert report.failures == {"not_home": 1}
    assert sum(d.orders_delivered for d in report.days) == len(drive.delivered) == 18
    late_drops = sum(d.with_window - d.in_window for d in report.days)
    assert late_drops == len(drive.late) == 1
    assert sorted(d.driver for d in report.days) == ["Jon Berg", "Priya Nair", "Sam Ortiz"]
    for d in report.days:  # the table's rows as printed
        row = rf"{d.driver}\s+│\s+{d.delivered}\s+│\s+{d.failed}\s+│\s+{d.orders_delivered}\s+│"
        assert re.search(row, printed), row
    for d in report.days:  # drops over the hours from the first arrival to the last outcome
        assert d.stops_per_hour is not None and 1 < d.stops_per_hour < 60
        assert f"{d.stops_per_hour:.1f}" in printed
    assert "failed drops by reason: not_home 1" in printed
    assert f"delivered late: {drive.late[0]}" in printed


def test_the_report_read_again_later_is_the_printed_one(demo, stored):
    result, _ = demo
    zone = ZoneInfo(stored.settings.hub.timezone)
    again = stored.read(lambda c: deliveries_report(c, result.day, result.day, zone))
    assert again == result.report


def test_the_offline_batch_was_recorded_once(demo, stored):
    result, printed = demo
    drive = result.drive
    assert drive.offline_first and set(drive.offline_first) == {"recorded"}
    assert drive.offline_again == ["duplicate"] * len(drive.offline_first)
    actions = stored.read(
        lambda c: c.scalar(sa.select(sa.func.count()).select_from(route_action_t))
    )
    assert actions == 2 * result.stops  # an arrive and an outcome per stop, none twice
    pings = stored.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(position_ping_t)))
    assert pings == result.pings_stored == drive.pings_sent
    assert f"{len(drive.offline_first)} recorded" in printed
    assert f"{len(drive.offline_first)} duplicate" in printed


def test_customers_were_told_by_mail_and_sms(demo, stored):
    result, printed = demo
    m = notification_message_t.c
    sent = stored.read(
        lambda c: c.execute(
            sa.select(m.kind, sa.func.count())
            .where(m.status.in_(("sent", "delivered")))
            .group_by(m.kind)
        ).all()
    )
    assert dict(sent) == {"email": result.emails, "sms": result.sms}
    assert result.emails == result.sms + 1  # the B2B account's "has shipped" is e-mail only
    assert any("has shipped" in s and "PO-5550" in s for s in result.subjects)
    assert any("delivered" in s for s in result.subjects)
    assert set(result.messages_by_event) == {
        "confirmed",
        "dispatched",
        "next_stop",
        "delivered",
        "failed",
    }
    assert result.messages_by_event["failed"] == 2  # e-mail and SMS of the one failed drop
    assert f"{result.emails} e-mails received by the local mail server" in printed
    assert f"{result.sms} SMS by the Twilio sandbox" in printed


def test_its_files_are_real_pdfs_pngs_and_csvs(demo):
    result, printed = demo
    files = result.files
    assert len(files["run sheets"]) == 3
    assert len(files["labels"]) == 19 + 3  # the vans' parcels and the carrier's
    for path in files["labels"] + files["run sheets"] + [p for p in files["audit"]]:
        if path.suffix == ".pdf":
            assert path.read_bytes().startswith(b"%PDF"), path
    assert files["charts"] and all(
        p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in files["charts"]
    )
    audit_csv = next(p for p in files["audit"] if p.suffix == ".csv")
    rows = list(csv.reader(audit_csv.open()))
    assert len(rows) > 100
    text = audit_csv.read_text()
    for step in ("label", "driver", "notification"):
        assert step in text.lower(), step
    deliveries = next(p for p in files["report"] if p.name == "deliveries_by_day.csv")
    assert len(list(csv.reader(deliveries.open()))) == 1 + 3  # a header and a row per driver
    for paths in files.values():
        for path in paths:
            assert path.stat().st_size > 0
            assert f"{path.parent}/ " in printed


@pytest.mark.parametrize(
    ("utc", "city", "shift"),
    [
        ("2026-12-01T09:00:00", LONDON, ("07:55", "08:55")),  # 02:00 in Denver: London
        ("2026-12-01T20:30:00", DENVER, ("12:25", "13:25")),  # 13:30 in Denver
        ("2026-07-01T06:30:00", LONDON, ("06:25", "07:25")),  # 00:30 in Denver (summer)
    ],
)
def test_the_day_is_one_that_ended_minutes_ago_in_a_city_where_it_is_daytime(utc, city, shift):
    moment = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert city_for(moment) is city
    clock = day_clock(moment, city)
    assert (clock.clock(clock.start), clock.clock(clock.end)) == shift
    assert clock.start.date() == clock.end.date() == moment.astimezone(clock.zone).date()
    assert clock.end < moment


def test_tour_and_last_mile_only_together_are_refused(tmp_path, capsys):
    from hub.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--tour", "--last-mile-only", "--folder", str(tmp_path / "demo")])
    assert stopped.value.code == 1
    assert capsys.readouterr().err.strip() == ("error: give --tour or --last-mile-only, not both")
    assert not (tmp_path / "demo").exists()
