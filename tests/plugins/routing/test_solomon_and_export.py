"""Solomon files, the DIMACS checker, ``hub route solve`` and the plan exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from routing_kit import REFERENCE, ring, stop, vehicle
from typer.testing import CliRunner

from hub.cli import route as route_cli
from hub.errors import InvalidInput
from hub.routing import RoutingProblem
from hub_plugins.routing import solomon
from hub_plugins.routing.export import plan_to_csv, plan_to_dict, plan_to_json, plan_to_svg
from hub_plugins.routing.pyvrp_router import PyVRPRouter

C101 = REFERENCE / "solomon" / "C101.txt"
TINY = """TINY

VEHICLE
NUMBER     CAPACITY
   2         10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0   0   0    0    0   100    0
    1   3   4    6    0    50    1
    2  -3   4    6    0    50    1
    3   1   1    3    0    50    1
"""


@pytest.fixture
def tiny(tmp_path: Path) -> solomon.Instance:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    return solomon.parse(path)


def test_parse_reads_fleet_depot_and_customers(tiny: solomon.Instance) -> None:
    assert (tiny.name, tiny.vehicles, tiny.capacity) == ("TINY", 2, 10)
    assert tiny.depot.due == 100
    assert [c.number for c in tiny.customers] == [1, 2, 3]


def test_a_file_that_is_not_solomon_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    with pytest.raises(InvalidInput, match="bad.txt"):
        solomon.parse(bad)


def test_dimacs_distance_truncates_to_one_decimal(tiny: solomon.Instance) -> None:
    one, three = tiny.customers[0], tiny.customers[2]
    assert solomon.dimacs_distance(tiny.depot, one) == 5.0
    assert solomon.dimacs_distance(tiny.depot, three) == 1.4  # sqrt(2) = 1.414...


def test_checker_recomputes_distance_and_finds_every_broken_rule(tiny) -> None:  # noqa: ANN001
    assert solomon.check(tiny, [[1, 3], [2]]) == (pytest.approx(5 + 3.6 + 1.4 + 5 + 5), [])
    _, problems = solomon.check(tiny, [[1, 2], [1]])
    assert any("capacity" in p for p in problems)
    assert any("never visited" in p for p in problems)
    assert any("more than once" in p for p in problems)


def test_pyvrp_reaches_the_best_known_distance_on_c101() -> None:
    instance = solomon.parse(C101)
    plan = PyVRPRouter().solve(solomon.to_problem(instance), 2.0)
    distance, problems = solomon.check(instance, solomon.routes_of(plan))
    assert problems == []
    assert distance <= 827.3 * 1.01


def test_ortools_solves_c101_feasibly() -> None:
    from hub_plugins.routing.ortools_router import OrToolsRouter

    instance = solomon.parse(C101)
    plan = OrToolsRouter().solve(solomon.to_problem(instance), 2.0)
    distance, problems = solomon.check(instance, solomon.routes_of(plan))
    assert problems == [] and distance < 827.3 * 1.1


def test_cli_prints_routes_as_json(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    svg = tmp_path / "map.svg"
    args = ["solve", "--solomon", str(path), "--time-limit", "0.3", "--json", "--router", "pyvrp"]
    result = CliRunner().invoke(route_cli.app, [*args, "--svg", str(svg)])
    assert result.exit_code == 0, result.output
    routes = json.loads(result.output)["routes"]
    assert sorted(n for r in routes for n in r) == [1, 2, 3]
    assert solomon.check(solomon.parse(path), routes)[1] == []
    assert svg.read_text().count("<polyline") == len(routes)


def test_cli_names_the_known_routers_for_an_unknown_one(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    result = CliRunner().invoke(route_cli.app, ["solve", "--solomon", str(path), "--router", "x"])
    assert result.exit_code == 1
    assert "auto" in result.output and "pyvrp" in result.output


@pytest.fixture(scope="module")
def small_plan():  # noqa: ANN201
    stops = (*ring(5, weight=2), stop("piano", 2, 2, weight=500))
    problem = RoutingProblem(stops, (vehicle("a", max_weight=6), vehicle("b", max_weight=20)))
    return problem, PyVRPRouter().solve(problem, 0.3)


def test_csv_has_one_row_per_visit(small_plan) -> None:  # noqa: ANN001
    _, plan = small_plan
    rows = list(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert len(rows) == 5
    assert {r["stop_id"] for r in rows} == {f"s{n}" for n in range(5)}
    assert rows[0]["sequence"] == "1"


def test_json_round_trips_routes_and_reasons(small_plan) -> None:  # noqa: ANN001
    _, plan = small_plan
    data = json.loads(plan_to_json(plan))
    assert data == plan_to_dict(plan)
    assert sum(len(r["visits"]) for r in data["routes"]) == 5
    assert data["router"] == "pyvrp"
    assert data["unassigned"][0]["stop_id"] == "piano"
    assert data["unassigned"][0]["code"] == "too_heavy"


def test_svg_draws_a_polyline_per_route(small_plan) -> None:  # noqa: ANN001
    problem, plan = small_plan
    svg = plan_to_svg(plan, problem)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == len(plan.routes)
    assert svg.count("<circle") == 5
    assert "piano: " in svg  # the unassigned stop is marked with its reason
