"""Each real-world constraint holds in the plan, with both built-in routers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from routing_kit import DEPOT, at, ring, shift, stop, vehicle

from hub.routing import Break, Location, RoutingProblem, Stop, TimeWindow, Vehicle
from hub_plugins.routing.matrix import HaversineMatrix


def reasons(plan):  # noqa: ANN001, ANN201
    return {u.stop_id: u.code for u in plan.unassigned}


def test_weight_capacity_splits_stops_between_vehicles(router, solve) -> None:
    vans = (vehicle("a", max_weight=10), vehicle("b", max_weight=10))
    plan = solve(router, RoutingProblem(tuple(ring(4, weight=5)), vans))
    assert plan.unassigned == ()
    assert sorted(len(r.visits) for r in plan.routes if r.visits) == [2, 2]
    assert all(r.weight <= 10 for r in plan.routes)


def test_volume_capacity_splits_stops_between_vehicles(router, solve) -> None:
    vans = (vehicle("a", max_volume=1.0), vehicle("b", max_volume=1.0))
    plan = solve(router, RoutingProblem(tuple(ring(4, volume=0.5)), vans))
    assert plan.unassigned == ()
    assert all(r.volume <= 1.0 for r in plan.routes)


def test_load_after_each_visit_counts_down_to_zero(router, solve) -> None:
    plan = solve(router, RoutingProblem(tuple(ring(3, weight=4)), (vehicle(max_weight=20),)))
    (route,) = plan.routes
    assert route.weight == 12
    assert [v.weight_after for v in route.visits] == [8, 4, 0]


def test_stop_heavier_than_every_vehicle_is_left_out_and_the_rest_planned(router, solve) -> None:
    stops = (*ring(3, weight=5), stop("piano", 2, weight=500))
    plan = solve(router, RoutingProblem(stops, (vehicle(max_weight=100),)))
    assert reasons(plan) == {"piano": "too_heavy"}
    assert "500 kg" in plan.unassigned[0].reason
    assert len(plan.routes[0].visits) == 3


def test_stop_bulkier_than_every_vehicle_is_left_out(router, solve) -> None:
    stops = (*ring(2), stop("wardrobe", 2, volume=9))
    plan = solve(router, RoutingProblem(stops, (vehicle(max_volume=3),)))
    assert reasons(plan) == {"wardrobe": "too_bulky"}


def test_stop_needing_a_skill_goes_to_the_vehicle_that_has_it(router, solve) -> None:
    cold = vehicle("cold", skills=frozenset({"refrigerated"}))
    stops = (*ring(4), stop("ice", 1, 1, skills=frozenset({"refrigerated"})))
    plan = solve(router, RoutingProblem(stops, (vehicle("plain"), cold)))
    assert plan.unassigned == ()
    assert plan.route_of("ice").vehicle_id == "cold"


def test_stop_needing_a_skill_nobody_has_is_explained(router, solve) -> None:
    stops = (*ring(2), stop("ice", 1, 1, skills=frozenset({"refrigerated"})))
    plan = solve(router, RoutingProblem(stops, (vehicle(),)))
    assert reasons(plan) == {"ice": "no_vehicle_with_skills"}
    assert "refrigerated" in plan.unassigned[0].reason


def test_service_starts_inside_the_time_window(router, solve) -> None:
    late = stop("late", 2, time_windows=(TimeWindow(at(15), at(15.5)),))
    early = stop("early", -2, time_windows=(TimeWindow(at(9), at(9.5)),))
    plan = solve(router, RoutingProblem((late, early, *ring(3)), (vehicle(),)))
    visits = {v.stop_id: v for v in plan.routes[0].visits}
    assert at(15) <= visits["late"].start <= at(15.5)
    assert at(9) <= visits["early"].start <= at(9.5)
    assert plan.routes[0].stop_ids.index("early") < plan.routes[0].stop_ids.index("late")


def test_window_outside_every_shift_is_explained(router, solve) -> None:
    night = stop("night", 1, time_windows=(TimeWindow(at(22), at(23)),))
    plan = solve(router, RoutingProblem((night, *ring(2)), (vehicle(),)))
    assert reasons(plan) == {"night": "window_unreachable"}


def test_stop_too_far_to_reach_in_its_window_is_explained(router, solve) -> None:
    far = stop("far", 200, time_windows=(TimeWindow(at(8), at(9)),))  # 200 km at 30 km/h
    plan = solve(router, RoutingProblem((far, *ring(2)), (vehicle(),)))
    assert reasons(plan) == {"far": "window_unreachable"}


def test_stop_with_two_windows_is_served_in_one_of_them(router, solve) -> None:
    windows = (TimeWindow(at(9), at(9.25)), TimeWindow(at(16), at(16.25)))
    # the other stops are only open at noon, so the morning window is the cheap one
    noon = tuple(
        Stop(s.id, s.location, time_windows=(TimeWindow(at(12), at(13)),)) for s in ring(3)
    )
    two = stop("two", 1, time_windows=windows)
    plan = solve(router, RoutingProblem((two, *noon), (vehicle(),)))
    start = next(v.start for v in plan.routes[0].visits if v.stop_id == "two")
    assert any(w.start <= start <= w.end for w in windows)


def test_service_time_is_spent_at_the_stop(router, solve) -> None:
    stops = tuple(ring(2, service_time=timedelta(minutes=20)))
    plan = solve(router, RoutingProblem(stops, (vehicle(),)))
    for visit in plan.routes[0].visits:
        assert visit.departure - visit.start == timedelta(minutes=20)


def test_shift_end_leaves_out_what_does_not_fit_and_says_so(router, solve) -> None:
    stops = tuple(ring(6, service_time=timedelta(minutes=30)))
    plan = solve(router, RoutingProblem(stops, (vehicle(shifts=(shift(start=8, end=10),)),)))
    assert plan.routes[0].arrival <= at(10)
    assert 1 <= len(plan.unassigned) <= 4
    assert {u.code for u in plan.unassigned} == {"no_room"}


def test_priority_decides_who_gets_the_last_room(router, solve) -> None:
    stops = (stop("vip", 2, weight=8, priority=3), stop("normal", -2, weight=8))
    plan = solve(router, RoutingProblem(stops, (vehicle(max_weight=10),)))
    assert plan.routes[0].stop_ids == ("vip",)
    assert reasons(plan) == {"normal": "no_room"}


def test_route_may_end_at_another_depot(router, solve) -> None:
    home = Location(0.0, 10 / 111.2, "home")
    van = Vehicle("van", DEPOT, (shift(),), end=home)
    plan = solve(router, RoutingProblem(tuple(ring(2, radius_km=1)), (van,)))
    route = plan.routes[0]
    assert route.distance > 10_000 * 1.3 * 0.8  # includes driving on to the far end depot


def test_costs_per_km_hour_and_route(router, solve) -> None:
    van = vehicle(cost_per_km=0.5, cost_per_hour=20, fixed_cost=30)
    plan = solve(router, RoutingProblem(tuple(ring(3)), (van,)))
    route = plan.routes[0]
    hours = route.duration.total_seconds() / 3600
    assert route.cost == pytest_approx(route.distance / 1000 * 0.5 + hours * 20 + 30)


def pytest_approx(value: float):  # noqa: ANN201
    import pytest

    return pytest.approx(value, rel=1e-6)


def test_hourly_cost_makes_the_driver_leave_late_rather_than_wait(router, solve) -> None:
    van = vehicle(cost_per_hour=30)
    late = stop("late", 2, time_windows=(TimeWindow(at(14), at(14.5)),))
    plan = solve(router, RoutingProblem((late,), (van,)))
    assert plan.routes[0].departure > at(13)


def test_driver_break_is_taken_in_its_window_with_ortools(solve) -> None:
    from hub_plugins.routing.ortools_router import OrToolsRouter

    lunch = Break(at(12), at(13), timedelta(minutes=30))
    van = vehicle(shifts=(shift(breaks=(lunch,)),))
    stops = tuple(ring(6, service_time=timedelta(minutes=40)))
    plan = solve(OrToolsRouter(), RoutingProblem(stops, (van,)))
    (taken,) = plan.routes[0].breaks
    assert at(12) <= taken.start <= at(13)
    assert taken.end - taken.start == timedelta(minutes=30)
    for visit in plan.routes[0].visits:  # no service during the break
        assert visit.departure <= taken.start or visit.start >= taken.end


def test_travel_times_come_from_the_matrix_provider(router, solve) -> None:
    class Slow:
        """Every leg takes an hour and is 1 km long."""

        def __init__(self) -> None:
            self.calls = 0

        def matrix(self, locations, vehicle):  # noqa: ANN001, ANN201
            self.calls += 1
            n = len(locations)
            off = 1 - np.eye(n)
            return off * 1000, off * 3600

    slow = Slow()
    plan = solve(router, RoutingProblem(tuple(ring(3)), (vehicle(),), matrix=slow))
    route = plan.routes[0]
    assert slow.calls >= 1
    assert route.distance == 4000
    assert route.visits[1].arrival - route.visits[0].departure == timedelta(hours=1)


def test_haversine_uses_road_factor_and_each_vehicles_speed() -> None:
    one_degree = [Location(0, 0), Location(1, 0)]
    metres, seconds = HaversineMatrix(road_factor=1.2).matrix(one_degree, vehicle(speed_kmh=60))
    assert metres[0][1] == pytest_approx(111_195 * 1.2) or abs(metres[0][1] - 133_434) < 50
    assert seconds[0][1] == pytest_approx(metres[0][1] / (60 / 3.6))
