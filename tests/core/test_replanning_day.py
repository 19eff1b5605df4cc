"""Re-planning during the day, from the database, on SQLite and PostgreSQL: a day planned
and dispatched, the driver delivers stop 1 and fails stop 2 (through hub.core.driving),
new orders come in, and ``plan_routes`` continues the route from where the driver is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from builders import order

from hub import Address, DeliveryWindow
from hub.cli import main
from hub.core import drivers, driving, ledger, notify
from hub.core.config import parse_settings
from hub.core.planning import dispatch, plan_routes, plan_summary
from hub.core.positions import Ping, record_pings
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.errors import Conflict, RoutingError
from hub.routing import Location
from hub.web.app import make_app
from hub_plugins.routing.matrix import HaversineMatrix

DEPOT = (55.9533, -3.1883)
KM = 1 / 111.2  # degrees of latitude in a kilometre


def local_noon_zone() -> str:
    """A fixed-offset zone in which it is about noon now, so that a working day lies
    around the real clock (drivers' actions may not be in the future)."""
    offset = 12 - datetime.now(UTC).hour  # hours east of UTC
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


@dataclass
class Day:
    """Two hubs on one database: the morning's (one van) and the day's (two vans)."""

    morning: Hub
    day: Hub
    now: datetime
    zone: ZoneInfo

    @property
    def today(self):  # noqa: ANN201
        return self.now.astimezone(self.zone).date()


def settings(url: str, zone: str, vans: list[str]):  # noqa: ANN201
    return parse_settings(
        {
            "database": {"url": url},
            "hub": {"timezone": zone},
            "web": {"secret_key": "test secret key of the driver app"},
            # customers are told by e-mail; nothing sends in these tests, messages queue
            "notifiers": {
                "mail": {
                    "type": "smtp",
                    "host": "127.0.0.1",
                    "tls": "none",
                    "sender": "a@b.example",
                }
            },
            "notifications": {"quiet_start": "00:00:00", "quiet_end": "00:00:00"},
            "locations": {"main": {"latitude": DEPOT[0], "longitude": DEPOT[1]}},
            "routing": {"timezone": zone, "service_minutes": 4},
            "fleet": {
                v: {
                    "depot": "main",
                    "shift_start": "06:00",
                    "shift_end": "22:00",
                    "weekdays": [0, 1, 2, 3, 4, 5, 6],
                    "max_weight_kg": 30,
                }
                for v in vans
            },
        }
    )


@contextmanager
def open_day(url: str) -> Iterator[Day]:
    zone = local_noon_zone()
    with Hub.open(settings=settings(url, zone, ["van-1"])) as morning:
        morning.upgrade()
        morning.write(lambda c: ledger.ensure_product(c, "BOX", weight_grams=2000))
        morning.write(lambda c: ledger.receive(c, "BOX", "main", 500))
        with Hub.open(settings=settings(url, zone, ["van-1", "van-2"])) as day:
            now = datetime.now(UTC).replace(microsecond=0)
            yield Day(morning, day, now, ZoneInfo(zone))


@pytest.fixture
def site(db_url: str) -> Iterator[Day]:
    with open_day(db_url) as made:
        yield made


def place(hub: Hub, ref: str, north_km: float, boxes: int = 2, window=None) -> None:  # noqa: ANN001
    address = Address(
        name="X",
        line1=f"{ref} Road",
        city="Edinburgh",
        postcode="EH1",
        country="GB",
        latitude=DEPOT[0] + north_km * KM,
        longitude=DEPOT[1],
    )
    hub.ingest(
        "web", [order(ref, ("BOX", boxes), shipping_address=address, delivery_window=window)]
    )


def action(route_id: int, seq: int, kind: str, at: datetime, **kwargs: object):  # noqa: ANN201
    if kind == "deliver":
        kwargs.setdefault("recipient_name", "Jo")
    return driving.Action(str(uuid.uuid4()), route_id, seq, kind, at, **kwargs)  # type: ignore[arg-type]


def refs(stops: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [s["external_id"] for s in stops]


def stops_by_seq(route: dict) -> list[list[str]]:  # type: ignore[type-arg]
    by_seq: dict[int, list[str]] = {}
    for s in route["stops"]:
        by_seq.setdefault(s["seq"], []).append(s["external_id"])
    return [by_seq[k] for k in sorted(by_seq)]


def morning_plan(site: Day, fail_reason: str = "not_home") -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Four orders on a road north of the depot, planned at T-3h and dispatched; the
    driver delivers stop 1, fails stop 2 and is last seen there. Returns the route and
    the driver."""
    for n, ref in enumerate(("o1", "o2", "o3", "o4"), 1):
        place(site.morning, ref, 2.0 * n)
    first = plan_routes(
        site.morning, site.today, time_limit=1, router="ortools", at=site.now - timedelta(hours=3)
    )
    site.morning.write(lambda c: dispatch(c, first.plan_id))
    (route,) = site.morning.read(lambda c: plan_summary(c, first.plan_id))["routes"]
    token, dora = site.morning.write(lambda c: drivers.create_driver(c, "Dora", "van-1"))
    driving.submit_actions(
        site.day,
        dora,
        "phone-1",
        [
            action(route["id"], 1, "arrive", site.now - timedelta(minutes=40)),
            action(route["id"], 1, "deliver", site.now - timedelta(minutes=35)),
            action(route["id"], 2, "fail", site.now - timedelta(minutes=20), reason=fail_reason),
        ],
    )
    second = next(s for s in route["stops"] if s["seq"] == 2)
    here = Ping(second["latitude"] + 0.1 * KM, second["longitude"], site.now - timedelta(minutes=5))
    site.day.write(lambda c: record_pings(c, dora, route["id"], [here]))
    return route, {"driver": dora, "ping": here, "token": token}


def test_a_replan_keeps_done_stops_keeps_the_order_and_places_new_and_failed_orders(site):
    route, seen = morning_plan(site)
    dispatched = stops_by_seq(route)
    delivered, failed, *remaining = dispatched
    # new orders: one light on the way with an afternoon window, one too heavy for what
    # van-1 has room for (8 kg aboard + 24 kg > 30 kg), one whose window has passed
    soon = DeliveryWindow(site.now, site.now + timedelta(hours=3))
    place(site.day, "new-light", 5.0, boxes=1, window=soon)
    place(site.day, "new-heavy", 3.0, boxes=12)
    gone = DeliveryWindow(site.now - timedelta(hours=5), site.now - timedelta(hours=4))
    place(site.day, "new-late", 1.0, window=gone)

    outcome = plan_routes(site.day, site.today, time_limit=2, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    seqs = stops_by_seq(van1)

    # done stops first, as they happened (same planned times), not planned again
    assert seqs[:2] == [delivered, failed]
    before = {s["external_id"]: s for s in route["stops"]}
    after = {s["external_id"]: s for s in van1["stops"] if s["seq"] == 1}
    assert after[delivered[0]]["arrival"] == before[delivered[0]]["arrival"]
    assert van1["dispatched"] and van1["id"] != route["id"]
    # the remaining dispatched stops in their order, on the same vehicle
    rest = [s for stop in seqs[2:] for s in stop]
    assert [s for s in rest if [s] in remaining] == [s[0] for s in remaining]
    # the failed order is tried again on van-1, and the light one inserted into it
    assert failed[0] in rest and "new-light" in rest
    # the heavy one does not fit what is aboard van-1: another van takes it
    (van2,) = [r for r in summary["routes"] if r["vehicle"] == "van-2"]
    assert refs(van2["stops"]) == ["new-heavy"] and not van2["dispatched"]
    left = {x["external_id"]: x["code"] for x in summary["left_out"]}
    assert left == {"new-late": "window_unreachable"}

    # the route goes on from the driver's position, now
    planned = next(r for r in outcome.plan.routes if r.vehicle_id == "van-1")
    assert planned.departure == site.now and planned.fixed
    first_stop = next(s for s in van1["stops"] if s["seq"] == 3)
    position = Location(seen["ping"].latitude, seen["ping"].longitude)
    target = Location(first_stop["latitude"], first_stop["longitude"])
    assert outcome.problem is not None
    speed = next(v for v in outcome.problem.vehicles if v.id == "van-1")
    _, seconds = HaversineMatrix().matrix([position, target], speed)
    assert abs((planned.visits[0].arrival - site.now).total_seconds() - seconds[0][1]) <= 1
    # capacity: what is aboard after leaving is at most the van's 30 kg
    assert planned.weight <= 30
    # the light order's window is kept
    light = next(s for s in van1["stops"] if s["external_id"] == "new-light")
    assert soon.start <= light["service_start"] <= soon.end

    # what the CLI prints
    assert outcome.changes[0].startswith("kept on van-1")
    assert "2 dispatched stop(s) in their order" in outcome.changes[0]
    assert "driver's position" in outcome.changes[0] and "2 done stop(s)" in outcome.changes[0]
    assert outcome.changes[1].startswith(f"inserted into van-1 {site.today}: ")
    assert "web:new-light" in outcome.changes[1] and f"web:{failed[0]}" in outcome.changes[1]

    # the driver's app shows the continued route: done stops with their states, the
    # inserted stops in order
    dora = seen["driver"]
    view = site.day.read(lambda c: driving.todays_route(c, dora, site.today))
    assert view.id == van1["id"]
    shown = [([o["ref"] for o in s.orders], s.state) for s in view.stops]
    assert shown[0] == ([f"web:{delivered[0]}"], "delivered")
    assert shown[1] == ([f"web:{failed[0]}"], "failed")
    assert [r for r, _ in shown[2:]] == [[f"web:{x}" for x in stop] for stop in seqs[2:]]
    assert all(state == "pending" for _, state in shown[2:])

    # stop 1 of the new route was delivered on the old one: it cannot fail now
    with pytest.raises(Conflict, match="stop 1 was delivered at"):
        driving.submit_actions(
            site.day, dora, "phone-1", [action(van1["id"], 1, "fail", site.now, reason="refused")]
        )

    # an action the phone queued for the old route before it saw the new one still
    # counts, and shows on the new route
    old_third = next(s for s in route["stops"] if s["seq"] == 3)["external_id"]
    driving.submit_actions(site.day, dora, "phone-1", [action(route["id"], 3, "deliver", site.now)])
    view = site.day.read(lambda c: driving.todays_route(c, dora, site.today))
    states = {s.orders[0]["ref"]: s.state for s in view.stops}
    assert states[f"web:{old_third}"] == "delivered"


def test_an_order_refused_today_is_left_out_and_rides_back_in_the_van(site):
    route, _ = morning_plan(site, fail_reason="refused")
    delivered, failed, *remaining = stops_by_seq(route)
    place(site.day, "new-big", 5.0, boxes=10)  # 20 kg: 8 kg aboard + 4 kg refused + 20 > 30
    outcome = plan_routes(site.day, site.today, time_limit=2, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    left = {x["external_id"]: (x["code"], x["reason"]) for x in summary["left_out"]}
    assert left[failed[0]][0] == "failed_today"
    assert "Refused by the recipient" in left[failed[0]][1]
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    assert [s for stop in stops_by_seq(van1)[2:] for s in stop] == [s[0] for s in remaining]
    assert outcome.problem is not None
    (fixed,) = outcome.problem.fixed_routes
    assert fixed.carried_weight == 4.0 and fixed.open_for_insertion
    van2 = [r for r in summary["routes"] if r["vehicle"] == "van-2"]
    assert refs(van2[0]["stops"]) == ["new-big"]


def test_pyvrp_is_refused_for_a_day_being_driven_with_what_to_use(site):
    morning_plan(site)
    with pytest.raises(RoutingError, match="use --router auto or ortools"):
        plan_routes(site.day, site.today, time_limit=1, router="pyvrp", at=site.now)


def config_file(site: Day, url: str, path: Path) -> Path:
    """The day hub's configuration as a file, for the CLI."""
    vans = "".join(
        f'\n[fleet.{v}]\ndepot = "main"\nshift_start = "06:00"\nshift_end = "22:00"\n'
        f"weekdays = [0, 1, 2, 3, 4, 5, 6]\nmax_weight_kg = 30\n"
        for v in ("van-1", "van-2")
    )
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[hub]\ntimezone = "{site.zone.key}"\n\n'
        '[web]\nsecret_key = "test secret key of the driver app"\n\n'
        f'[routing]\ntimezone = "{site.zone.key}"\nservice_minutes = 4\n\n'
        f"[locations.main]\nlatitude = {DEPOT[0]}\nlongitude = {DEPOT[1]}\n{vans}"
    )
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(list(args))
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def test_hub_route_plan_says_what_it_kept_inserted_and_left_out(site, db_url, tmp_path, capsys):
    _, failed, *_ = stops_by_seq(morning_plan(site)[0])
    place(site.day, "new-near", 5.0, boxes=1)
    gone = DeliveryWindow(site.now - timedelta(hours=5), site.now - timedelta(hours=4))
    place(site.day, "new-late", 1.0, window=gone)
    path = str(config_file(site, db_url, tmp_path / "hub.toml"))
    today = site.today.isoformat()
    code, out, err = run_cli(
        capsys, "route", "plan", "--date", today, "--config", path, "--time-limit", "1"
    )
    assert code == 0, err
    lines = out.splitlines()
    kept = next(line for line in lines if line.startswith("kept on van-1"))
    assert "2 dispatched stop(s) in their order" in kept and "2 done stop(s)" in kept
    inserted = next(line for line in lines if line.startswith("inserted into van-1"))
    assert "web:new-near" in inserted and f"web:{failed[0]}" in inserted
    assert any(line.startswith("left out web:new-late: ") for line in lines)

    code, out, err = run_cli(
        capsys, "route", "plan", "--date", today, "--config", path, "--router", "pyvrp"
    )
    assert code == 1 and not out.strip()
    assert err.strip().splitlines() == [
        "error: router 'pyvrp' cannot model dispatched routes open for insertion (stops kept "
        "in their order), which today's dispatched routes need; use --router auto or ortools"
    ]


async def test_the_driver_app_shows_the_inserted_stop_in_order(site):
    route, seen = morning_plan(site)
    delivered, failed, *remaining = stops_by_seq(route)
    place(site.day, "new-near", 5.0, boxes=1)
    outcome = plan_routes(site.day, site.today, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    async with TestClient(TestServer(make_app(Sync(site.day)))) as client:
        answer = await client.get(
            "/api/v1/driver/route", headers={"Authorization": f"Bearer {seen['token']}"}
        )
        assert answer.status == 200, await answer.text()
        shown = await answer.json()
    assert shown["route"] == van1["id"]
    stops = [([o["ref"] for o in s["orders"]], s["state"]) for s in shown["stops"]]
    assert [s["seq"] for s in shown["stops"]] == list(range(1, len(stops) + 1))
    assert stops[:2] == [([f"web:{delivered[0]}"], "delivered"), ([f"web:{failed[0]}"], "failed")]
    assert [r for r, _ in stops[2:]] == [[f"web:{x}" for x in s] for s in stops_by_seq(van1)[2:]]
    assert ["web:new-near"] in [r for r, _ in stops[2:]]
    # the inserted order's customer is told it is on its way, with the ETA window
    near = next(s for s in van1["stops"] if s["external_id"] == "new-near")
    ids = site.day.read(lambda c: notify.order_ids(c, "web", ["new-near"]))
    told = site.day.read(lambda c: notify.messages(c, order_id=ids["new-near"]))
    assert sorted(m["event"] for m in told) == ["confirmed", "dispatched"]
    eta = site.day.read(lambda c: notify.planned_window(c, ids["new-near"], 30))
    assert eta is not None and eta[0] <= near["arrival"] <= eta[1]
