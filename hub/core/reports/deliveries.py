"""Delivery figures from the driver app: per local day and driver, the drops delivered
and failed, orders delivered, punctuality against the plan and the customer's window,
stops per hour, and why drops failed.

A drop is a planned stop; its outcome is the last ``deliver`` or ``fail`` action the
phone recorded there (in the phone's time order, as the driver app reads it). It counts
on the merchant's local date of that action (``hub.timezone``): a drop at 23:30 in
Chicago on 31 March counts in March.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.models import driver_t, order_t, planned_stop_t, route_action_t
from hub.core.reports import check_range, utc_bounds


@dataclass(frozen=True)
class DriverDay:
    """One driver's drops on one local day: ``delivered`` and ``failed`` drops,
    ``orders_delivered`` (a drop may carry several orders), ``in_window`` of the delivered
    drops whose orders had a delivery window (``with_window``), the median minutes
    between the planned arrival and the outcome (negative: early; None without drops),
    and ``stops_per_hour``: drops per hour from the driver's first action of the day (an
    arrival, usually) to the last outcome, by the phone's times (None when that span is
    empty)."""

    day: date
    driver: str
    delivered: int
    failed: int
    orders_delivered: int
    with_window: int
    in_window: int
    median_minutes_vs_plan: float | None
    stops_per_hour: float | None = None


@dataclass(frozen=True)
class DeliveriesReport:
    """:func:`deliveries_report`'s answer for local days ``first`` to ``last`` in
    ``zone``: rows by day then driver, and failed drops per reason."""

    first: date
    last: date
    zone: str
    days: list[DriverDay] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class _Drop:
    route: int
    driver: str
    kind: str
    reason: str
    at: datetime
    planned: datetime
    orders: int = 0
    window: tuple[datetime | None, datetime | None] = (None, None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _drops(conn: Connection, start: datetime, end: datetime) -> list[_Drop]:
    a, p, d, o = route_action_t.c, planned_stop_t.c, driver_t.c, order_t.c
    actions = conn.execute(
        sa.select(a.route_id, a.stop_seq, a.kind, a.reason, a.phone_at, d.name)
        .join(driver_t, d.id == a.driver_id)
        .where(a.kind.in_(("deliver", "fail")), a.phone_at >= start, a.phone_at < end)
        .order_by(a.phone_at, a.id)
    ).all()
    last: dict[tuple[int, int], sa.Row] = {}
    for row in actions:  # the last outcome at a stop is its outcome
        last[(row.route_id, row.stop_seq)] = row
    if not last:
        return []
    routes = sorted({route for route, _ in last})
    stops = conn.execute(
        sa.select(p.route_id, p.seq, p.arrival, o.window_start, o.window_end)
        .join(order_t, o.id == p.order_id)
        .where(p.route_id.in_(routes))
    ).all()
    drops: dict[tuple[int, int], _Drop] = {}
    for stop in stops:
        key = (stop.route_id, stop.seq)
        if key not in last:
            continue
        row = last[key]
        drop = drops.get(key)
        if drop is None:
            drop = _Drop(
                stop.route_id,
                row.name,
                row.kind,
                row.reason,
                _aware(row.phone_at),
                _aware(stop.arrival),
            )
            drops[key] = drop
        drop.orders += 1
        drop.planned = min(drop.planned, _aware(stop.arrival))
        if stop.window_end is not None and drop.window == (None, None):
            begin = _aware(stop.window_start) if stop.window_start else None
            drop.window = (begin, _aware(stop.window_end))
    return list(drops.values())


def _action_times(conn: Connection, routes: set[int]) -> dict[int, list[datetime]]:
    """Route id -> the phone times of its actions of any kind (arrivals too), sorted."""
    a = route_action_t.c
    found: dict[int, list[datetime]] = defaultdict(list)
    if not routes:
        return {}
    rows = conn.execute(
        sa.select(a.route_id, a.phone_at).where(a.route_id.in_(sorted(routes))).order_by(a.phone_at)
    )
    for route_id, at in rows:
        found[route_id].append(_aware(at))
    return found


def _per_hour(
    drops: list[_Drop], times: dict[int, list[datetime]], day: date, zone: ZoneInfo
) -> float | None:
    """Drops per hour from the first action on their routes that local ``day`` to the
    last outcome; None for an empty span."""
    last = max(d.at for d in drops)
    starts = [
        at
        for route in {d.route for d in drops}
        for at in times.get(route, [])
        if at.astimezone(zone).date() == day and at <= last
    ]
    hours = (last - min(starts, default=last)).total_seconds() / 3600
    return round(len(drops) / hours, 2) if hours > 0 else None


def deliveries_report(
    conn: Connection, first: date, last: date, zone: ZoneInfo
) -> DeliveriesReport:
    """Delivery figures for local days ``first`` to ``last`` (both included) in ``zone``.
    InvalidInput for a reversed range."""
    check_range(first, last)
    start, end = utc_bounds(first, last, zone)
    groups: dict[tuple[date, str], list[_Drop]] = defaultdict(list)
    failures: Counter[str] = Counter()
    for drop in _drops(conn, start, end):
        groups[(drop.at.astimezone(zone).date(), drop.driver)].append(drop)
        if drop.kind == "fail":
            failures[drop.reason or "no reason given"] += 1
    report = DeliveriesReport(first, last, zone.key, failures=dict(sorted(failures.items())))
    times = _action_times(conn, {d.route for drops in groups.values() for d in drops})
    for (day, driver), drops in sorted(groups.items()):
        delivered = [d for d in drops if d.kind == "deliver"]
        windowed = [d for d in delivered if d.window[1] is not None]
        in_window = [
            d
            for d in windowed
            if (d.window[0] is None or d.window[0] <= d.at) and d.at <= (d.window[1] or d.at)
        ]
        minutes = [(d.at - d.planned).total_seconds() / 60 for d in drops]
        report.days.append(
            DriverDay(
                day,
                driver,
                delivered=len(delivered),
                failed=len(drops) - len(delivered),
                orders_delivered=sum(d.orders for d in delivered),
                with_window=len(windowed),
                in_window=len(in_window),
                median_minutes_vs_plan=statistics.median(minutes) if minutes else None,
                stops_per_hour=_per_hour(drops, times, day, zone),
            )
        )
    return report
