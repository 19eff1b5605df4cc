"""Re-planning during the day, from the database, on SQLite and PostgreSQL: a day planned
and dispatched, the driver delivers stop 1 and fails stop 2 (through hub.core.driving),
new orders come in, and ``plan_routes`` continues the route from where the driver is."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from replan_day import (  # noqa: E402
    Day,
    action,
    config_file,
    morning_plan,
    open_day,
    place,
    refs,
    stops_by_seq,
)

from hub import DeliveryWindow  # noqa: E402
from hub.cli import main  # noqa: E402
from hub.core import driving, notify  # noqa: E402
from hub.core.planning import plan_routes, plan_summary  # noqa: E402
from hub.core.sync import Sync  # noqa: E402
from hub.errors import Conflict, RoutingError  # noqa: E402
from hub.routing import Location  # noqa: E402
from hub.web.app import make_app  # noqa: E402
from hub_plugins.routing.matrix import HaversineMatrix  # noqa: E402


@pytest.fixture
def site(db_url: str) -> Iterator[Day]:
    with open_day(db_url) as made:
        yield made


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


def test_a_stop_cancelled_since_dispatch_stays_as_history_and_is_not_kept(site):
    route, seen = morning_plan(site)
    delivered, failed, third, fourth = stops_by_seq(route)
    site.day.cancel("web", third[0], "customer rang")
    outcome = plan_routes(site.day, site.today, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    assert stops_by_seq(van1)[:3] == [delivered, failed, third]  # done: left as it was
    rest = [s for stop in stops_by_seq(van1)[3:] for s in stop]
    assert sorted(rest) == sorted([failed[0], fourth[0]])  # the retry goes where it fits
    assert "kept on van-1" in outcome.changes[0] and "1 dispatched stop(s)" in outcome.changes[0]
    assert "3 done stop(s)" in outcome.changes[0]
    view = site.day.read(lambda c: driving.todays_route(c, seen["driver"], site.today))
    assert [s.state for s in view.stops[:3]] == ["delivered", "failed", "cancelled"]


def test_planning_tomorrow_leaves_todays_remaining_stops_on_their_van(site):
    route, _ = morning_plan(site)
    delivered, failed, third, fourth = stops_by_seq(route)
    tomorrow = site.today + timedelta(days=1)
    outcome = plan_routes(site.day, tomorrow, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    left = {x["external_id"]: (x["code"], x["reason"]) for x in summary["left_out"]}
    assert left == {
        ref[0]: ("on_dispatched_route", "still on the dispatched route of van-1 today")
        for ref in (third, fourth)
    }
    planned = {s["external_id"]: r["day"] for r in summary["routes"] for s in r["stops"]}
    assert planned == {failed[0]: tomorrow}  # failed today: tomorrow is another try


def test_an_order_refused_today_goes_from_tomorrow_when_the_plan_covers_it(site):
    route, _ = morning_plan(site, fail_reason="refused")
    _, failed, *_ = stops_by_seq(route)
    outcome = plan_routes(site.day, site.today, days=2, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    planned = {s["external_id"]: r["day"] for r in summary["routes"] for s in r["stops"]}
    assert planned[failed[0]] == site.today + timedelta(days=1)
    assert failed[0] not in {x["external_id"] for x in summary["left_out"]}


def test_an_order_that_fails_again_on_the_continued_route_is_a_second_attempt(site):
    route, seen = morning_plan(site)
    _, failed, *_ = stops_by_seq(route)
    outcome = plan_routes(site.day, site.today, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    again = max(s["seq"] for s in van1["stops"] if s["external_id"] == failed[0])
    assert again > 2  # the retry, not the failed stop kept as history
    driving.submit_actions(
        site.day,
        seen["driver"],
        "phone-1",
        [action(van1["id"], again, "fail", site.now, reason="not_home")],
    )
    ids = site.day.read(lambda c: notify.order_ids(c, "web", [failed[0]]))
    told = site.day.read(lambda c: notify.messages(c, order_id=ids[failed[0]]))
    assert sorted(m["event"] for m in told if m["event"] == "failed") == ["failed", "failed"]


def test_a_phone_still_on_the_old_route_tells_the_next_stop_of_the_new_one(site):
    route, seen = morning_plan(site)
    _, _, [third], [fourth] = stops_by_seq(route)
    between = (2.0 * int(third[1:]) + 2.0 * int(fourth[1:])) / 2  # o<n> lies 2n km north
    place(site.day, "new-near", between, boxes=1)  # on the way from stop 3 to stop 4
    outcome = plan_routes(site.day, site.today, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    order = stops_by_seq(van1)
    following = order[order.index([third]) + 1][0]  # what comes after stop 3 now
    assert following == "new-near"  # not the old route's stop 4
    ids = site.day.read(lambda c: notify.order_ids(c, "web", [s[0] for s in order]))

    def told_next() -> set[str]:
        return {
            ref
            for ref, i in ids.items()
            for m in site.day.read(lambda c, i=i: notify.messages(c, order_id=i))
            if m["event"] == "next_stop"
        }

    before = told_next()  # the failure at stop 2 told the old route's next stop
    driving.submit_actions(
        site.day, seen["driver"], "phone-1", [action(route["id"], 3, "deliver", site.now)]
    )
    assert told_next() - before == {following}
