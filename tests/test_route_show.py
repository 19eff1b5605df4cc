"""``hub route show N`` prints each route's stops in visiting order, in the merchant's time
zone: stop number, order, address, planned arrival and delivery window (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import order

from hub import Address, DeliveryWindow
from hub.cli import main
from hub.core import ledger
from hub.core.models import order_t
from hub.core.planning import store_plan
from hub.core.runtime import Hub
from hub.routing import Plan, Route, Visit

DAY = date(2026, 12, 1)  # Berlin is UTC+1 in December


def utc(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def config(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n[routing]\ntimezone = "Europe/Berlin"\n\n'
        '[locations.main]\nname = "Main"\n\n[channels.web]\ntype = "manual"\n'
    )
    monkeypatch.setenv("COLUMNS", "200")
    return path


def _ingest(hub: Hub) -> dict[str, int]:
    """Three orders in Berlin, two with a delivery window; their hub ids by external id."""
    hub.write(lambda c: ledger.receive(c, "BOX", "main", 10))
    placed = {
        "B1": ("Unter den Linden 1", "10117", DeliveryWindow(utc(8), utc(15))),
        "B2": ("Alexanderplatz 3", "10178", None),
        "B3": ("", "", DeliveryWindow(utc(16), utc(9, day=2))),  # coordinates only
    }
    for ref, (line1, postcode, window) in placed.items():
        address = Address(
            line1=line1, postcode=postcode, city="Berlin" if line1 else "", country="DE",
            latitude=52.52, longitude=13.40,
        )  # fmt: skip
        hub.ingest(
            "web", [order(ref, ("BOX", 1), shipping_address=address, delivery_window=window)]
        )
    rows = hub.read(lambda c: c.execute(sa.select(order_t.c.external_id, order_t.c.id)).all())
    return {ref: oid for ref, oid in rows}


def _store(hub: Hub, ids: dict[str, int]) -> int:
    """Van stops at B2, then B1 and B3 together (one stop, arriving early for B1's window)."""
    visits = (
        Visit("s-b2", utc(7, 20), utc(7, 20), utc(7, 25)),
        Visit("s-b1", utc(7, 40), utc(8), utc(8, 10)),
    )
    route = Route("van", DAY, visits, utc(7), utc(9), 12_300.0, 2.0, 0.0, 0.0)
    members = {"s-b2": [ids["B2"]], "s-b1": [ids["B1"], ids["B3"]]}
    plan = Plan((route,), (), "test")
    return int(hub.write(lambda c: store_plan(c, DAY, 1, plan, members, [])))


def show(config: Path, capsys: pytest.CaptureFixture[str], plan_id: int) -> str:
    """What ``hub route show plan_id`` prints; it must succeed."""
    capsys.readouterr()
    try:
        main(["route", "show", str(plan_id), "--config", str(config)])
    except SystemExit as done:
        assert not done.code, capsys.readouterr().err
    return capsys.readouterr().out


def test_show_prints_each_routes_stops_in_order_in_the_merchants_time_zone(config, capsys):
    with Hub.open(config) as hub:
        hub.upgrade()
        plan_id = _store(hub, _ingest(hub))

    out = show(config, capsys, plan_id)

    rows = [line for line in out.splitlines() if line.startswith("│")]
    cells = [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]
    summary, *stops = cells
    assert summary == ["2026-12-01", "van", "2", "12.3", "08:00", "10:00", "2.0", ""]
    early = "08:40 (waits until 09:00)"
    assert stops == [
        ["1", "web:B2", "Alexanderplatz 3, 10178 Berlin", "08:20", "any time"],
        ["2", "web:B1", "Unter den Linden 1, 10117 Berlin", early, "09:00-16:00"],
        ["2", "web:B3", "52.52000, 13.40000", early, "17:00-2026-12-02 10:00"],
    ]
    assert "times in Europe/Berlin" in out
    assert "2026-12-01 van" in out  # the stops table's title names the route


def test_show_of_a_plan_without_stops_prints_its_routes_only(config, capsys):
    with Hub.open(config) as hub:
        hub.upgrade()
        empty = Route("van", DAY, (), utc(7), utc(7), 0.0, 0.0, 0.0, 0.0)
        plan_id = hub.write(lambda c: store_plan(c, DAY, 1, Plan((empty,), (), "test"), {}, []))

    out = show(config, capsys, plan_id)

    assert "│ 2026-12-01 │ van" in out
    assert "arrives" in out and "web:" not in out
