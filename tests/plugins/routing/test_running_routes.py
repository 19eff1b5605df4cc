"""Re-planning during the day: a dispatched route being driven keeps its remaining stops
in their order on its vehicle, starts where the vehicle is now, and takes new stops only
where capacity (less what is carried) and time windows allow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_kit import DAY, at, ring, stop, vehicle

from hub.errors import InvalidInput
from hub.routing import (
    Break,
    FixedRoute,
    Location,
    Router,
    RoutingProblem,
    Shift,
    TimeWindow,
)
from hub_plugins.routing.auto import AutoRouter
from hub_plugins.routing.checks import plan_violations
from hub_plugins.routing.matrix import HaversineMatrix
from hub_plugins.routing.ortools_router import OrToolsRouter
from hub_plugins.routing.pyvrp_router import PyVRPRouter

LIMIT = 1.0
HERE = Location(2 / 111.2, 0.0, "driver")  # 2 km north of the depot
NOW = at(11)


def running(stop_ids: tuple[str, ...], **kwargs: object) -> FixedRoute:
    kwargs.setdefault("start", HERE)
    kwargs.setdefault("start_at", NOW)
    return FixedRoute("a", DAY, stop_ids, open_for_insertion=True, **kwargs)  # type: ignore[arg-type]


def solved(problem: RoutingProblem, router: Router | None = None):  # noqa: ANN201
    """The plan of ``router`` (default ortools), checked against every rule."""
    plan = (router or OrToolsRouter()).solve(problem, LIMIT)
    assert plan_violations(problem, plan) == []
    return plan


def route_of(plan, vehicle_id: str = "a"):  # noqa: ANN001, ANN201
    return next(r for r in plan.routes if r.vehicle_id == vehicle_id)


def test_remaining_stops_keep_their_order_and_a_new_stop_is_inserted_between_them() -> None:
    kept = (stop("k1", 4), stop("k2", 8))  # the van drives north from the driver's position
    new = stop("new", 6)  # on the way between them
    problem = RoutingProblem((new, *kept), (vehicle("a"),), (running(("k1", "k2")),))
    route = route_of(solved(problem))
    assert route.stop_ids == ("k1", "new", "k2")
    assert route.fixed


def test_a_deliberately_bad_dispatched_order_is_kept_and_new_stops_go_where_they_fit() -> None:
    stops = tuple(ring(6))
    problem = RoutingProblem(stops, (vehicle("a"), vehicle("b")), (running(("s3", "s0", "s5")),))
    plan = solved(problem)
    route = route_of(plan)
    assert [s for s in route.stop_ids if s in ("s3", "s0", "s5")] == ["s3", "s0", "s5"]
    assert plan.unassigned == ()
    assert {s for r in plan.routes for s in r.stop_ids} == {s.id for s in stops}


def test_the_route_starts_where_the_driver_is_at_the_current_time(router: Router) -> None:
    kept = stop("k1", 5)  # 3 km on from the driver, 5 km from the depot
    problem = RoutingProblem((kept,), (vehicle("a"),), (running(("k1",)),))
    route = route_of(solved(problem, router))
    assert route.departure == NOW
    metres, seconds = HaversineMatrix().matrix([HERE, kept.location], vehicle("a"))
    assert route.distance > metres[0][1]  # there and back to the depot
    assert abs((route.visits[0].arrival - NOW).total_seconds() - seconds[0][1]) <= 1


def test_capacity_counts_what_is_still_aboard() -> None:
    kept = (stop("k1", 4, weight=10), stop("k2", 8, weight=10))
    heavy = stop("heavy", 6, weight=8)  # 10 + 10 + 5 carried + 8 > 30
    light = stop("light", 6.5, weight=4)  # 10 + 10 + 5 carried + 4 <= 30
    problem = RoutingProblem(
        (heavy, light, *kept),
        (vehicle("a", max_weight=30),),
        (running(("k1", "k2"), carried_weight=5),),
    )
    plan = solved(problem)
    assert route_of(plan).stop_ids == ("k1", "light", "k2")
    assert [(u.stop_id, u.code) for u in plan.unassigned] == [("heavy", "no_room")]


def test_a_new_stop_whose_window_has_passed_is_left_out_with_the_reason(router: Router) -> None:
    kept = (stop("k1", 4),)
    morning = stop("morning", 5, time_windows=(TimeWindow(at(9), at(10)),))
    later = stop("later", 5.5, time_windows=(TimeWindow(at(13), at(14)),))
    problem = RoutingProblem((morning, later, *kept), (vehicle("a"),), (running(("k1",)),))
    plan = solved(problem, router)
    route = route_of(plan)
    assert sorted(route.stop_ids) == ["k1", "later"]  # k1 has no window: either order
    (visit,) = [v for v in route.visits if v.stop_id == "later"]
    assert at(13) <= visit.start <= at(14)
    assert [(u.stop_id, u.code) for u in plan.unassigned] == [("morning", "window_unreachable")]


def test_a_stop_already_late_stays_and_nothing_is_inserted_that_makes_it_later(
    router: Router,
) -> None:
    late = stop("late", 6, time_windows=(TimeWindow(at(9), at(10)),))  # it is 11:00 now
    detour = stop("detour", 4, east_km=6)  # before it, it would cost the late stop time
    problem = RoutingProblem((detour, late), (vehicle("a"),), (running(("late",)),))
    plan = router.solve(problem, LIMIT)
    route = route_of(plan)
    assert route.stop_ids[0] == "late"  # served as soon as the van gets there
    metres, seconds = HaversineMatrix().matrix([HERE, late.location], vehicle("a"))
    assert abs((route.visits[0].start - NOW).total_seconds() - seconds[0][1]) <= 1
    assert route.stop_ids == ("late", "detour")  # the detour comes after it


def test_a_running_route_with_nothing_left_takes_new_stops_from_where_it_is(router: Router) -> None:
    problem = RoutingProblem((stop("new", 3),), (vehicle("a"),), (running(()),))
    route = route_of(solved(problem, router))
    assert route.stop_ids == ("new",) and route.departure == NOW


def test_breaks_already_over_are_not_planned_again() -> None:
    shifts = (Shift(at(8), at(18), (Break(at(9), at(10), timedelta(minutes=30)),)),)
    problem = RoutingProblem(
        (stop("k1", 4), stop("new", 5)),
        (vehicle("a", shifts=shifts),),
        (running(("k1",)),),
    )
    plan = OrToolsRouter().solve(problem, LIMIT)
    route = route_of(plan)
    assert sorted(route.stop_ids) == ["k1", "new"] and plan.unassigned == ()
    assert route.breaks == ()  # its window closed before the re-plan


def test_pyvrp_cannot_keep_the_order_so_auto_picks_ortools_and_says_why() -> None:
    kept = (stop("k1", 4), stop("k2", 8))
    problem = RoutingProblem(kept, (vehicle("a"),), (running(("k1", "k2")),))
    with pytest.raises(InvalidInput, match="open for insertion"):
        PyVRPRouter().solve(problem, LIMIT)
    plan = AutoRouter().solve(problem, LIMIT)
    assert plan.stats["auto_choice"] == "ortools"
    assert "open for insertion" in plan.note


def test_bad_fixed_routes_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match="needs open_for_insertion"):
        FixedRoute("a", DAY, ("k1",), start=HERE)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        FixedRoute("a", DAY, (), open_for_insertion=True, start_at=NOW.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match="negative"):
        FixedRoute("a", DAY, (), open_for_insertion=True, carried_weight=-1)
    with pytest.raises(InvalidInput, match="'k1' is on two fixed routes"):
        RoutingProblem(
            (stop("k1"),),
            (vehicle("a"), vehicle("b")),
            (running(("k1",)), FixedRoute("b", DAY, ("k1",))),
        )
    with pytest.raises(InvalidInput, match="'ghost'"):
        OrToolsRouter().solve(
            RoutingProblem((stop("k1"),), (vehicle("a"),), (running(("ghost",)),)), LIMIT
        )


def test_a_horizon_of_days_continues_today_and_plans_tomorrow() -> None:
    tomorrow = DAY + timedelta(days=1)
    van = vehicle("a", shifts=(Shift(at(8), at(18)), Shift(at(8, tomorrow), at(18, tomorrow))))
    later = stop("later", 5, earliest_day=tomorrow, latest_day=tomorrow)
    problem = RoutingProblem(
        (stop("k1", 4), stop("k2", 8), stop("new", 6), later), (van,), (running(("k1", "k2")),)
    )
    plan = solved(problem)
    today = next(r for r in plan.routes if r.day == DAY)
    assert today.stop_ids == ("k1", "new", "k2") and today.departure == NOW
    assert plan.route_of("later").day == tomorrow and not plan.route_of("later").fixed


def test_with_one_stop_left_pyvrp_models_it_and_auto_keeps_pyvrp() -> None:
    problem = RoutingProblem(
        (stop("k1", 4), stop("new", 5)), (vehicle("a"), vehicle("b")), (running(("k1",)),)
    )
    plan = solved(problem, AutoRouter())
    assert plan.stats["auto_choice"] == "pyvrp"
    assert "k1" in route_of(plan).stop_ids and route_of(plan).departure == NOW


def test_a_solver_that_gives_up_still_leaves_the_route_as_dispatched() -> None:
    from hub_plugins.routing.engine import solve_problem

    problem = RoutingProblem(
        (stop("k1", 4), stop("k2", 8), stop("new", 6)), (vehicle("a"),), (running(("k1", "k2")),)
    )
    plan = solve_problem(problem, LIMIT, lambda model, seconds: [], "gave-up")
    route = route_of(plan)
    assert route.stop_ids == ("k1", "k2") and route.fixed and route.departure == NOW
    assert [(u.stop_id, u.code) for u in plan.unassigned] == [("new", "no_room")]
    assert plan_violations(problem, plan) == []
