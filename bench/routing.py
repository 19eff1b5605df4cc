"""Routing benchmark: solution quality on Solomon and Gehring & Homberger, and a 5-week plan.

Every solution is checked here, independently of the router: each customer once, vehicle
capacity, time windows and depot closing time, distance recomputed under the DIMACS
convention (Euclidean truncated to one decimal). Gap = distance / best-known - 1.

    python bench/routing.py                                  # all three sets
    python bench/routing.py --set solomon --router ortools   # one set, another router
    python bench/routing.py --set gh --instances C1_10_1,R1_10_1 --time-limit 60
    python bench/routing.py --set horizon                    # 5 weeks, 200 stops/day, 10 drivers

Defaults: Solomon 10 s per instance, G&H (1,000 customers) 60 s, horizon 240 s in total.
The last line printed is the one-line summary.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from hub.core.plugins import PluginHost
from hub.routing import Location, RoutingProblem, Shift, Stop, TimeWindow, Vehicle
from hub_plugins.routing import solomon
from hub_plugins.routing.checks import plan_violations

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
DEFAULT_LIMITS = {"solomon": 10.0, "gh": 60.0, "horizon": 240.0}


@dataclass
class Row:
    """One instance's result."""

    name: str
    vehicles: int
    distance: float
    best: float
    feasible: bool
    seconds: float

    @property
    def gap(self) -> float:
        return 100 * (self.distance / self.best - 1)


def load_router(name: str) -> Any:
    """The registered router ``name`` (so third-party routers can be benchmarked too)."""
    routers = PluginHost.load().routers
    if name not in routers:
        raise SystemExit(f"no router {name!r}; registered: {', '.join(sorted(routers))}")
    return routers[name]


def best_known(folder: Path) -> dict[str, float]:
    with (folder / "bks.csv").open() as f:
        return {r["instance"]: float(r["distance"]) for r in csv.DictReader(f)}


def instance_names(folder: Path, wanted: str | None, pattern: str) -> list[str]:
    if wanted:
        return [n.strip() for n in wanted.split(",") if n.strip()]
    return sorted(p.stem for p in folder.glob(pattern))


def run_vrptw(folder: Path, names: list[str], router: Any, limit: float) -> list[Row]:
    """Solve, check and print each instance; return the rows."""
    bks = best_known(folder)
    rows = []
    print(f"{'instance':<10} {'veh':>4} {'distance':>10} {'best':>10} {'gap %':>7}  ok  seconds")
    for name in names:
        instance = solomon.parse(folder / f"{name}.txt")
        began = time.monotonic()
        plan = router.solve(solomon.to_problem(instance), limit)
        seconds = time.monotonic() - began
        routes = solomon.routes_of(plan)
        distance, problems = solomon.check(instance, routes)
        row = Row(name, len(routes), distance, bks[name], not problems, seconds)
        rows.append(row)
        flag = "yes" if row.feasible else "NO: " + "; ".join(problems[:3])
        print(
            f"{name:<10} {row.vehicles:>4} {distance:>10.1f} {row.best:>10.1f} {row.gap:>7.2f}"
            f"  {flag}  {seconds:.1f}",
            flush=True,
        )
    return rows


def summarise(label: str, rows: list[Row]) -> str:
    """Print the averages of a set and return its part of the summary line."""
    if not rows:
        return f"{label}: no instances"
    feasible = sum(r.feasible for r in rows)
    gap = statistics.fmean(r.gap for r in rows)
    vehicles = statistics.fmean(r.vehicles for r in rows)
    distance = statistics.fmean(r.distance for r in rows)
    print(
        f"{label} average over {len(rows)}: vehicles {vehicles:.2f}, distance {distance:.1f}, "
        f"gap {gap:.2f}%, feasible {feasible}/{len(rows)}",
        flush=True,
    )
    return f"{label}: {feasible}/{len(rows)} feasible, mean gap {gap:.2f}%"


def horizon_problem(
    seed: int = 1, weeks: int = 5, per_day: int = 200, drivers: int = 10
) -> RoutingProblem:
    """A synthetic city (Berlin-sized square): 10 drivers working 08-18 every day of five
    weeks (35 shifts each), 200 new stops per day (7,000 in all), each allowed on a random
    run of 1-3 consecutive days, half of them with a 2-hour window on each of those days."""
    rng = random.Random(seed)
    first = date(2025, 3, 3)  # a Monday
    shifts = Shift.daily(first, first + timedelta(weeks=weeks, days=-1), clock(8), clock(18))
    days = [s.start.date() for s in shifts]
    depot = Location(52.52, 13.40, "depot")
    vehicles = tuple(
        Vehicle(
            f"driver{n + 1}",
            depot,
            shifts,
            max_weight=800,
            max_volume=6,
            cost_per_km=0.4,
            cost_per_hour=25,
        )
        for n in range(drivers)
    )
    stops = tuple(
        _random_stop(rng, f"s{n}", days, n // per_day) for n in range(per_day * len(days))
    )
    return RoutingProblem(stops, vehicles)


def _random_stop(rng: random.Random, sid: str, days: list[date], day: int) -> Stop:
    last = min(day + rng.randint(0, 2), len(days) - 1)
    windows: tuple[TimeWindow, ...] = ()
    if rng.random() < 0.5:
        opens = rng.randint(8, 15)
        windows = tuple(
            TimeWindow(
                datetime.combine(d, clock(opens), UTC), datetime.combine(d, clock(opens + 2), UTC)
            )
            for d in days[day : last + 1]
        )
    return Stop(
        sid,
        Location(52.52 + rng.uniform(-0.12, 0.12), 13.40 + rng.uniform(-0.2, 0.2)),
        time_windows=windows,
        service_time=timedelta(minutes=4),
        weight=rng.uniform(2, 30),
        volume=rng.uniform(0.01, 0.2),
        earliest_day=days[day],
        latest_day=days[last],
    )


def run_horizon(router: Any, limit: float) -> str:
    """Plan five weeks at once, check the plan and print what it took."""
    problem = horizon_problem()
    began = time.monotonic()
    plan = router.solve(problem, limit)
    seconds = time.monotonic() - began
    problems = plan_violations(problem, plan)
    routed = sum(len(r.visits) for r in plan.routes)
    print(
        f"horizon: {len(problem.stops)} stops over {len(problem.days())} days, "
        f"{len(problem.vehicles)} drivers: {routed} routed, {len(plan.unassigned)} left out, "
        f"{len(plan.routes)} routes, {plan.distance / 1000:.0f} km, {seconds:.0f} s, "
        f"{len(problems)} violations ({plan.router}; {plan.note})",
        flush=True,
    )
    for p in problems[:10]:
        print("  ", p)
    ok = not problems and seconds <= 300
    return (
        f"horizon: {routed}/{len(problem.stops)} routed in {seconds:.0f} s "
        f"({'ok' if ok else 'FAILED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["solomon", "gh", "horizon", "all"], default="all")
    parser.add_argument("--instances", help="comma-separated instance names (default: all)")
    parser.add_argument("--time-limit", type=float, help="seconds per instance (horizon: total)")
    parser.add_argument("--router", default="auto")
    parser.add_argument(
        "--reference",
        type=Path,
        default=REFERENCE,
        help="folder holding solomon/ and gehring_homberger/ (default: ../shared/reference)",
    )
    args = parser.parse_args()
    router = load_router(args.router)
    sets = ["solomon", "gh", "horizon"] if args.set == "all" else [args.set]
    parts = []
    for name in sets:
        limit = args.time_limit or DEFAULT_LIMITS[name]
        print(f"== {name} ({router.name}, {limit:g} s)", flush=True)
        if name == "horizon":
            parts.append(run_horizon(router, limit))
            continue
        folder = args.reference / ("solomon" if name == "solomon" else "gehring_homberger")
        if not folder.is_dir():  # the full sets are not in the repository (tests/reference)
            parser.exit(1, f"no {name} instances at {folder}: pass --reference DIR\n")
        pattern = "*.txt" if name == "solomon" else "*_10_*.txt"
        rows = run_vrptw(folder, instance_names(folder, args.instances, pattern), router, limit)
        parts.append(summarise(f"{name}[{limit:g}s]", rows))
    print(f"SUMMARY router={router.name}: " + " | ".join(parts))


if __name__ == "__main__":
    main()
