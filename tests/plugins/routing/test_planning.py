"""Horizons of several days, fixed routes on re-planning, the auto choice, plugin wiring."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from routing_kit import DAY, at, ring, shift, stop, vehicle

from hub.core.plugins import PluginHost
from hub.errors import InvalidInput
from hub.routing import Break, FixedRoute, Plan, Router, RoutingProblem, TimeWindow
from hub_plugins.routing.auto import AutoRouter
from hub_plugins.routing.checks import plan_violations

WEEK = [DAY + timedelta(days=n) for n in range(5)]


def week_van(vid: str = "van1", **kwargs: object):  # noqa: ANN201
    return vehicle(vid, shifts=tuple(shift(d) for d in WEEK), **kwargs)


def test_each_stop_goes_to_a_day_inside_its_allowed_dates(router, solve) -> None:
    stops = [
        replace(s, earliest_day=WEEK[n % 5], latest_day=WEEK[min(n % 5 + 1, 4)])
        for n, s in enumerate(ring(10))
    ]
    plan = solve(router, RoutingProblem(tuple(stops), (week_van(),)))
    assert plan.unassigned == ()
    for s in stops:
        assert s.earliest_day <= plan.route_of(s.id).day <= s.latest_day


def test_daily_capacity_pushes_flexible_stops_to_later_days(router, solve) -> None:
    stops = tuple(replace(s, weight=10, earliest_day=WEEK[0]) for s in ring(6))
    plan = solve(router, RoutingProblem(stops, (week_van(max_weight=20),)))
    assert plan.unassigned == ()
    assert len({r.day for r in plan.routes if r.visits}) == 3


def test_stop_due_today_wins_the_room_over_a_flexible_one(router, solve) -> None:
    due = stop("due", 2, weight=10, earliest_day=WEEK[0], latest_day=WEEK[0])
    flexible = stop("flexible", -2, weight=10, earliest_day=WEEK[0], latest_day=WEEK[1])
    plan = solve(router, RoutingProblem((flexible, due), (week_van(max_weight=10),)))
    assert plan.route_of("due").day == WEEK[0]
    assert plan.route_of("flexible").day == WEEK[1]


def test_stop_outside_every_working_day_is_explained(router, solve) -> None:
    sunday = DAY - timedelta(days=1)
    lonely = stop("sunday", 1, earliest_day=sunday, latest_day=sunday)
    plan = solve(router, RoutingProblem((lonely, *ring(2)), (week_van(),)))
    assert {u.stop_id: u.code for u in plan.unassigned} == {"sunday": "no_allowed_day"}


def test_time_windows_on_several_days_pick_one_of_them(router, solve) -> None:
    windows = tuple(TimeWindow(at(10, d), at(11, d)) for d in WEEK[2:4])
    plan = solve(router, RoutingProblem((stop("w", 1, time_windows=windows),), (week_van(),)))
    assert plan.route_of("w").day in WEEK[2:4]


def test_replanning_keeps_dispatched_routes_as_they_are(router, solve) -> None:
    stops = tuple(ring(8))
    vans = (vehicle("a"), vehicle("b"))
    dispatched = FixedRoute("a", DAY, ("s3", "s0", "s5"))  # deliberately not the best order
    plan = solve(router, RoutingProblem(stops, vans, fixed_routes=(dispatched,)))
    (kept,) = [r for r in plan.routes if r.vehicle_id == "a"]
    assert kept.fixed and kept.stop_ids == ("s3", "s0", "s5")
    others = {sid for r in plan.routes if r.vehicle_id == "b" for sid in r.stop_ids}
    assert others == {"s1", "s2", "s4", "s6", "s7"}
    assert plan.unassigned == ()


def test_a_fixed_route_naming_an_unknown_stop_is_an_error(router) -> None:
    problem = RoutingProblem(tuple(ring(2)), (vehicle("a"),), (FixedRoute("a", DAY, ("x",)),))
    with pytest.raises(InvalidInput, match="'x'"):
        router.solve(problem, 0.2)


def test_a_plan_is_never_empty_because_of_impossible_stops(router, solve) -> None:
    impossible = (
        stop("heavy", 1, weight=1e6),
        stop("cold", 1, skills=frozenset({"frozen"})),
        stop("night", 1, time_windows=(TimeWindow(at(23), at(23.5)),)),
    )
    plan = solve(router, RoutingProblem((*impossible, *ring(3)), (vehicle(max_weight=100),)))
    assert len(plan.routes[0].visits) == 3
    assert {u.stop_id: u.code for u in plan.unassigned} == {
        "heavy": "too_heavy",
        "cold": "no_vehicle_with_skills",
        "night": "window_unreachable",
    }
    assert all(u.reason for u in plan.unassigned)


def test_explicit_drop_penalty_lets_a_costly_stop_go() -> None:
    from hub_plugins.routing.pyvrp_router import PyVRPRouter

    far = stop("far", 60)  # 120 km round trip at 1/km costs far more than 5
    plan = PyVRPRouter().solve(RoutingProblem((far,), (vehicle(),), drop_penalty=5.0), 0.3)
    assert [u.code for u in plan.unassigned] == ["no_room"]


def test_auto_picks_pyvrp_when_it_can_model_everything() -> None:
    auto = AutoRouter()
    plan = auto.solve(RoutingProblem(tuple(ring(3)), (vehicle(),)), 0.3)
    assert plan.router == "pyvrp" and plan.stats["auto_choice"] == "pyvrp"
    assert "auto picked pyvrp" in plan.note


def test_auto_picks_ortools_for_driver_breaks_and_says_why() -> None:
    lunch = Break(at(12), at(13), timedelta(minutes=30))
    problem = RoutingProblem(tuple(ring(3)), (vehicle(shifts=(shift(breaks=(lunch,)),)),))
    router, why = AutoRouter().choose(problem)
    assert router.name == "ortools" and "driver breaks" in why
    plan = AutoRouter().solve(problem, 0.3)
    assert plan.router == "ortools" and "driver breaks" in plan.note
    assert plan_violations(problem, plan) == []


def test_a_third_party_router_registers_through_the_hook() -> None:
    from hub import hookimpl

    class Greedy(Router):
        name = "greedy"

        def solve(self, problem, time_limit, progress=None) -> Plan:  # noqa: ANN001
            return Plan((), (), self.name)

    class Plugin:
        @hookimpl
        def register_routers(self, register) -> None:  # noqa: ANN001
            register(Greedy())

    routers = PluginHost.load([Plugin()]).routers
    assert {"pyvrp", "ortools", "auto", "greedy"} <= set(routers)


def test_replanning_a_week_keeps_the_dispatched_day_and_plans_the_rest(router, solve) -> None:
    stops = tuple(replace(s, earliest_day=WEEK[0], latest_day=WEEK[1]) for s in ring(6))
    dispatched = FixedRoute("van1", WEEK[0], ("s0", "s1"))
    problem = RoutingProblem(stops, (week_van(),), fixed_routes=(dispatched,))
    plan = solve(router, problem)
    monday = [r for r in plan.routes if r.day == WEEK[0]]
    assert [(r.stop_ids, r.fixed) for r in monday] == [(("s0", "s1"), True)]
    assert {plan.route_of(f"s{n}").day for n in range(2, 6)} == {WEEK[1]}


def test_progress_reports_each_day(router) -> None:
    messages: list[str] = []
    stops = tuple(replace(s, earliest_day=WEEK[0]) for s in ring(3))
    router.solve(RoutingProblem(stops, (week_van(),)), 0.5, messages.append)
    assert any(str(WEEK[0]) in m for m in messages)


def test_an_infeasible_solver_route_is_trimmed_not_thrown_away() -> None:
    from hub_plugins.routing.feasibility import screen
    from hub_plugins.routing.matrix import HaversineMatrix
    from hub_plugins.routing.model import build_model
    from hub_plugins.routing.plans import RawRoute, make_feasible

    van = vehicle(max_weight=10)
    stops = [*ring(3, weight=4), stop("late", 2, time_windows=(TimeWindow(at(8), at(8.17)),))]
    model = build_model(at(0), [(van, van.shifts[0], DAY)], stops, HaversineMatrix())
    assert screen(model) == []
    fixed = make_feasible(model, RawRoute(0, [0, 1, 2, 3]))  # overloaded, "late" served late
    kept = [model.stops[i].stop.id for i in fixed.stops]
    assert "late" not in kept and len(kept) == 2


def test_pyvrp_refuses_driver_breaks_and_names_the_routers_that_can() -> None:
    from hub_plugins.routing.pyvrp_router import PyVRPRouter

    lunch = Break(at(12), at(13), timedelta(minutes=30))
    problem = RoutingProblem(tuple(ring(2)), (vehicle(shifts=(shift(breaks=(lunch,)),)),))
    with pytest.raises(InvalidInput, match="ortools or auto"):
        PyVRPRouter().solve(problem, 0.2)
