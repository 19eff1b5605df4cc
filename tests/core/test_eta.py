"""ETAs recomputed from the drivers' real progress (SQLite and PostgreSQL).

The stops lie due north of the depot on one meridian, 6 km of road apart (the planner's
model: great-circle metres x 1.3), and the van drives 36 km/h (10 m/s): every leg takes
exactly 600 s, so each expected instant below is worked out by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from builders import order

from hub import Address, DeliveryWindow
from hub.core import drivers, driving, positions
from hub.core.config import parse_settings
from hub.core.eta import EtaBoard, tracking_window
from hub.core.models import (
    order_eta_t,
    order_event_t,
    order_t,
    planned_route_t,
    tracking_token_t,
)
from hub.core.planning import dispatch, store_plan
from hub.core.runtime import Hub
from hub.routing import Plan, Route, Visit

CHICAGO = ZoneInfo("America/Chicago")
DEPOT = (41.80, -87.60)
LEG = 600  # seconds between neighbours: 6 km of road at 10 m/s
DAY = date(2026, 11, 20)  # Chicago is UTC-6 that day


def north(km_of_road: float) -> tuple[float, float]:
    """The point ``km_of_road`` kilometres of road north of the depot."""
    degrees = math.degrees(km_of_road * 1000 / 1.3 / 6_371_008.8)
    return DEPOT[0] + degrees, DEPOT[1]


def utc(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    raw = {
        "hub": {"name": "Chicago Crates", "timezone": "America/Chicago", "currency": "USD"},
        "database": {"url": db_url},
        "locations": {"depot": {"latitude": DEPOT[0], "longitude": DEPOT[1]}},
        "fleet": {"van-1": {"depot": "depot", "speed_kmh": 36}, "van-2": {"depot": "depot"}},
        "channels": {"web": {"type": "manual", "locations": ["depot"]}},
    }
    with Hub.open(settings=parse_settings(raw)) as the_hub:
        the_hub.upgrade()
        yield the_hub


def orders(hub: Hub, windows: dict[str, tuple[datetime, datetime]], km: dict[str, float]):
    """Open orders at ``km`` north of the depot with promised ``windows``; ids by ref."""
    from hub.core import ledger

    hub.write(lambda c: ledger.receive(c, "BOX", "depot", 100))
    for ref, (start, end) in windows.items():
        lat, lon = north(km[ref])
        address = Address(
            name=ref, line1=f"{ref} Street", city="Chicago", country="US",
            latitude=lat, longitude=lon,
        )  # fmt: skip
        hub.ingest(
            "web",
            [
                order(
                    ref,
                    ("BOX", 1),
                    channel="web",
                    shipping_address=address,
                    delivery_window=DeliveryWindow(start, end),
                )
            ],
        )
    rows = hub.read(lambda c: c.execute(sa.select(order_t.c.external_id, order_t.c.id)).all())
    return {ref: oid for ref, oid in rows}


def dispatched(hub: Hub, day: date, routes: list[tuple[Route, dict[str, list[int]]]]):
    """Store and dispatch a plan of ``routes``; route ids by vehicle."""
    members = {k: v for _, m in routes for k, v in m.items()}
    plan = Plan(tuple(r for r, _ in routes), (), "test")

    def store(conn):  # type: ignore[no-untyped-def]
        from hub.core.planning import depots, vehicles

        fleet = vehicles(hub.settings, depots(conn), day, day, CHICAGO)
        from hub.routing import RoutingProblem

        problem = RoutingProblem(stops=(), vehicles=fleet)
        plan_id = store_plan(conn, day, 1, plan, members, [], problem)
        dispatch(conn, plan_id)
        rows = conn.execute(sa.select(planned_route_t.c.vehicle, planned_route_t.c.id))
        return {v: i for v, i in rows}

    return hub.write(store)


def visit(key: str, arrival: datetime, minutes: int = 5) -> Visit:
    return Visit(key, arrival, arrival, arrival + timedelta(minutes=minutes))


@pytest.fixture
def day_of_two_vans(hub: Hub):
    """van-1: O1 (6 km), O2 (12 km), O3 (18 km, promised by 15:50 UTC), O4 (24 km,
    promised from 16:30 UTC); planned arrivals 15:10, 15:25, 15:40, 15:55 after leaving
    at 15:00 with 5 minutes at each stop. van-2: V1, never pinged."""
    ids = orders(
        hub,
        {
            "O1": (utc(15), utc(16)),
            "O2": (utc(15), utc(16)),
            "O3": (utc(15), utc(15, 50)),
            "O4": (utc(16, 30), utc(17, 30)),
            "V1": (utc(15), utc(17)),
        },
        {"O1": 6, "O2": 12, "O3": 18, "O4": 24, "V1": 3},
    )
    van1 = Route(
        "van-1",
        DAY,
        tuple(visit(f"s{n}", utc(15, 10 + 15 * (n - 1))) for n in range(1, 5)),
        utc(15),
        utc(16, 40),
        48_000.0,
        0.0,
        0.0,
        0.0,
    )
    van2 = Route("van-2", DAY, (visit("v1", utc(15, 5)),), utc(15), utc(15, 20), 6000.0, 0, 0, 0)
    members = {f"s{n}": [ids[f"O{n}"]] for n in range(1, 5)}
    routes = dispatched(hub, DAY, [(van1, members), (van2, {"v1": [ids["V1"]]})])
    _, dora = hub.write(lambda c: drivers.create_driver(c, "Dora", "van-1"))
    return ids, routes, dora


def eta_rows(hub: Hub) -> dict[int, dict]:
    rows = hub.read(lambda c: c.execute(sa.select(order_eta_t)).mappings().all())
    return {r["order_id"]: dict(r) for r in rows}


def ping(hub: Hub, driver, route: int, at: datetime, km: float) -> None:  # type: ignore[no-untyped-def]
    lat, lon = north(km)
    hub.write(lambda c: positions.record_pings(c, driver, route, [positions.Ping(lat, lon, at)]))


def act(hub: Hub, driver, route: int, seq: int, kind: str, at: datetime, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    extra = {"recipient_name": "Pat"} if kind == "deliver" else {}
    action = driving.Action(f"{kind}-{seq}-{at:%H%M%S}", route, seq, kind, at, **extra)  # type: ignore[arg-type]
    hub.write(
        lambda c: driving.record_actions(c, driver, "phone", [action], driving.Media(tmp), 10**6)
    )


def test_without_progress_the_plan_stands(hub: Hub, day_of_two_vans):
    ids, routes, _ = day_of_two_vans
    board = EtaBoard(hub.engine, hub.settings)
    etas = board.day(DAY)
    assert [(e.vehicle, e.basis, e.done, e.total) for e in etas] == [
        ("van-1", "plan", 0, 4),
        ("van-2", "plan", 0, 1),
    ]
    assert [s.eta for s in etas[0].stops] == [utc(15, 10), utc(15, 25), utc(15, 40), utc(15, 55)]
    assert etas[0].late == [] and etas[0].delay == timedelta(0)
    stored = eta_rows(hub)
    assert stored[ids["V1"]]["eta"] == utc(15, 5) and stored[ids["V1"]]["basis"] == "plan"
    assert stored[ids["O3"]]["stops_before"] == 2


def test_a_ping_moves_only_its_routes_etas(hub: Hub, day_of_two_vans):
    ids, routes, dora = day_of_two_vans
    board = EtaBoard(hub.engine, hub.settings)
    board.day(DAY)
    # 15:12, halfway (3 km) to O1: 300 s on, 5 minutes there, 600 s to each next stop
    ping(hub, dora, routes["van-1"], utc(15, 12), 3)
    van1, van2 = board.refresh([routes["van-1"], routes["van-2"]])
    assert van1.basis == "ping" and van1.position is not None
    assert [s.eta for s in van1.stops] == [utc(15, 17), utc(15, 32), utc(15, 47), utc(16, 2)]
    assert van1.delay == timedelta(minutes=7)
    assert van1.late == []  # O3 at 15:47 is still inside its window (to 15:50)
    assert van2.basis == "plan" and [s.eta for s in van2.stops] == [utc(15, 5)]
    stored = eta_rows(hub)
    assert stored[ids["O2"]]["eta"] == utc(15, 32) and stored[ids["O2"]]["basis"] == "ping"
    assert stored[ids["V1"]]["eta"] == utc(15, 5)
    # the tracking page's window: 15:32 -/+ 30 minutes, rounded out to 5 minutes
    token = hub.read(
        lambda c: (
            c.execute(sa.select(tracking_token_t).where(tracking_token_t.c.order_id == ids["O2"]))
            .mappings()
            .one()
        )
    )
    assert (token["eta_start"], token["eta_end"], token["stops_before"]) == (
        utc(15, 0),
        utc(16, 5),
        1,
    )


def test_service_time_is_learned_and_a_stop_becoming_late_is_flagged(
    hub: Hub, day_of_two_vans, tmp_path: Path
):
    ids, routes, dora = day_of_two_vans
    route = routes["van-1"]
    board = EtaBoard(hub.engine, hub.settings)
    ping(hub, dora, route, utc(15, 12), 3)
    board.refresh([route])
    act(hub, dora, route, 1, "arrive", utc(15, 17), tmp_path)
    act(hub, dora, route, 1, "deliver", utc(15, 29), tmp_path)  # 12 minutes at the stop
    (van1,) = board.refresh([route])
    assert van1.basis == "stop" and (van1.done, van1.total) == (1, 4)
    assert van1.service == timedelta(minutes=12)
    # from O1 at 15:29: O2 15:39, 12 min there; O3 16:01 (late: promised by 15:50);
    # O4 16:23, early for its window (16:30) but not late
    assert [(s.seq, s.eta) for s in van1.stops] == [
        (2, utc(15, 39)),
        (3, utc(16, 1)),
        (4, utc(16, 23)),
    ]
    assert [(s.seq, o) for s, o in van1.late] == [(3, ids["O3"])]
    stored = eta_rows(hub)
    assert ids["O1"] not in stored  # delivered: no ETA any more
    assert stored[ids["O3"]]["late"] is True and stored[ids["O2"]]["late"] is False
    notes = hub.read(
        lambda c: c.scalars(
            sa.select(order_event_t.c.note).where(
                order_event_t.c.order_id == ids["O3"], order_event_t.c.actor == "eta"
            )
        ).all()
    )
    assert notes == ["running late: expected at 10:01 CST, promised by 09:50 CST"]

    # at O2 since 15:40 (arrived); a ping at 15:58 says still there: O3 no sooner than 16:08
    act(hub, dora, route, 2, "arrive", utc(15, 40), tmp_path)
    ping(hub, dora, route, utc(15, 58), 12)
    (van1,) = board.refresh([route])
    assert [(s.seq, s.eta) for s in van1.stops] == [
        (2, utc(15, 40)),
        (3, utc(16, 8)),
        (4, utc(16, 30)),
    ]
    assert len(hub.read(lambda c: c.scalars(
        sa.select(order_event_t.c.id).where(order_event_t.c.actor == "eta")
    ).all())) == 1  # fmt: skip  # late once, told once


def test_only_changed_etas_are_written(hub: Hub, day_of_two_vans):
    ids, routes, dora = day_of_two_vans
    board = EtaBoard(hub.engine, hub.settings)
    ping(hub, dora, routes["van-1"], utc(15, 12), 3)
    board.day(DAY)
    before = eta_rows(hub)
    tokens_before = hub.read(lambda c: c.execute(sa.select(tracking_token_t)).all())
    again = EtaBoard(hub.engine, hub.settings)  # a restarted hub reads what is stored
    again.day(DAY)
    board.day(DAY)
    assert eta_rows(hub) == before
    assert hub.read(lambda c: c.execute(sa.select(tracking_token_t)).all()) == tokens_before
    ping(hub, dora, routes["van-1"], utc(15, 13), 3)  # a minute later at the same place
    board.day(DAY)
    after = eta_rows(hub)
    assert after[ids["V1"]] == before[ids["V1"]]  # the other van's row is untouched
    assert after[ids["O1"]]["eta"] == utc(15, 18)


def test_eta_across_the_start_of_daylight_saving_in_chicago(hub: Hub):
    """2024-03-10: at 02:00 CST the clocks jump to 03:00 CDT. A ping at 01:55 CST ten
    minutes of driving before the stop gives 03:05 CDT, which is after a window ending at
    03:00 CDT: late, though 01:55 + 10 minutes on the wall clock would be 02:05."""
    day = date(2024, 3, 10)
    ids = orders(hub, {"D1": (utc(7, day=day), utc(8, day=day))}, {"D1": 6})
    route = Route(
        "van-1", day, (visit("d1", utc(7, 30, day=day)),), utc(7, 20, day=day),
        utc(7, 50, day=day), 6000.0, 0, 0, 0,
    )  # fmt: skip
    routes = dispatched(hub, day, [(route, {"d1": [ids["D1"]]})])
    _, dora = hub.write(lambda c: drivers.create_driver(c, "Dora", "van-1"))
    ping(hub, dora, routes["van-1"], datetime(2024, 3, 10, 1, 55, tzinfo=CHICAGO), 0)
    (van1,) = EtaBoard(hub.engine, hub.settings).day(day)
    (stop,) = van1.stops
    assert stop.eta == datetime(2024, 3, 10, 3, 5, tzinfo=CHICAGO)
    assert stop.eta.tzinfo is not None and stop.eta.utcoffset() == timedelta(0)
    assert stop.eta.astimezone(CHICAGO).strftime("%H:%M %Z") == "03:05 CDT"
    assert stop.late_orders == (ids["D1"],)
    assert eta_rows(hub)[ids["D1"]]["eta"] == utc(8, 5, day=day)


def test_tracking_window_rounds_out_to_five_minutes():
    assert tracking_window(utc(15, 32, 10), 30) == (utc(15, 0), utc(16, 5))
    assert tracking_window(utc(15, 30), 30) == (utc(15, 0), utc(16, 0))


def test_a_cancelled_order_leaves_the_route_and_its_eta(hub: Hub, day_of_two_vans):
    ids, routes, dora = day_of_two_vans
    board = EtaBoard(hub.engine, hub.settings)
    board.day(DAY)
    hub.cancel("web", "O2", "customer changed their mind")
    ping(hub, dora, routes["van-1"], utc(15, 12), 3)
    (van1,) = board.refresh([routes["van-1"]])
    # O2's stop is skipped: O1 15:17, then 12 km (1200 s) to O3 at 15:42, O4 15:57
    assert (van1.done, van1.total) == (0, 3)
    assert [(s.seq, s.eta) for s in van1.stops] == [
        (1, utc(15, 17)),
        (3, utc(15, 42)),
        (4, utc(15, 57)),
    ]
    assert ids["O2"] not in eta_rows(hub)


def test_a_route_continued_by_a_re_plan_keeps_the_drivers_progress(
    hub: Hub, day_of_two_vans, tmp_path: Path
):
    """A re-plan during the day stores a new dispatched route (same stop keys); actions
    and pings on the route it continued count on it."""
    ids, routes, dora = day_of_two_vans
    old = routes["van-1"]
    act(hub, dora, old, 1, "arrive", utc(15, 10), tmp_path)
    act(hub, dora, old, 1, "deliver", utc(15, 15), tmp_path)
    ping(hub, dora, old, utc(15, 20), 9)  # half way to O2, still on the old route
    continued = Route(
        "van-1",
        DAY,
        (visit("s1", utc(15, 10)), visit("s3", utc(15, 30)), visit("s2", utc(15, 45))),
        utc(15),
        utc(16),
        36_000.0,
        0.0,
        0.0,
        0.0,
    )
    members = {"s1": [ids["O1"]], "s2": [ids["O2"]], "s3": [ids["O3"]]}
    new = dispatched(hub, DAY, [(continued, members)])["van-1"]
    assert new != old
    (van1,) = [e for e in EtaBoard(hub.engine, hub.settings).day(DAY) if e.vehicle == "van-1"]
    assert van1.route_id == new and van1.basis == "ping"
    assert (van1.done, van1.total) == (1, 3)
    # 15:20 at 9 km: the new order sends the van to O3 (18 km, 900 s) first, then O2
    assert [(s.seq, s.order_ids, s.eta) for s in van1.stops] == [
        (2, (ids["O3"],), utc(15, 35)),
        (3, (ids["O2"],), utc(15, 50)),
    ]
    stored = eta_rows(hub)
    assert stored[ids["O3"]]["route_id"] == new and ids["O1"] not in stored


def test_a_re_plan_clears_the_etas_of_the_route_it_continued(hub: Hub, day_of_two_vans):
    ids, routes, dora = day_of_two_vans
    board = EtaBoard(hub.engine, hub.settings)
    board.day(DAY)
    assert ids["O4"] in eta_rows(hub)
    continued = Route("van-1", DAY, (visit("s1", utc(15, 10)),), utc(15), utc(16), 6000.0, 0, 0, 0)
    new = dispatched(hub, DAY, [(continued, {"s1": [ids["O1"]]})])["van-1"]
    board.day(DAY)
    stored = eta_rows(hub)
    assert stored[ids["O1"]]["route_id"] == new
    assert not {ids["O2"], ids["O3"], ids["O4"]} & set(stored)  # not on van-1 any more
