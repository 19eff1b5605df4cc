"""Order analytics for a range of the merchant's local days: orders and revenue per day and
channel, time from order to shipment, hold reasons and how long holds lasted.

Every per-day figure belongs to the merchant's local date (``hub.timezone``): an order
placed at 23:30 in Chicago on 31 March counts in March, whatever UTC says. An order's time
is when it was placed (``placed_at``), else when the hub first stored it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.holds import parse_holds
from hub.core.intake import PERSON_HOLD
from hub.core.models import order_event_t, order_t, shipment_t
from hub.errors import InvalidInput
from hub.orders import OrderStatus

ON_HOLD = OrderStatus.ON_HOLD.value
CANCELLED = OrderStatus.CANCELLED.value
#: the longest range a report covers: ten years of days
MOST_DAYS = 3660


@dataclass(frozen=True)
class DayFigures:
    """One channel's orders on one local day: ``orders`` placed, of which ``cancelled``
    are cancelled now; ``revenue`` is the sum of the totals of the orders not cancelled,
    per currency (``{"USD": Decimal("19.98")}``; currencies are never added together)."""

    day: date
    channel: str
    orders: int
    cancelled: int
    revenue: dict[str, Decimal]


@dataclass(frozen=True)
class ShipTimes:
    """Hours from placing to the first shipment of a channel's orders placed in the range
    and shipped: how many, the median and the 90th percentile (linear interpolation)."""

    channel: str
    shipped: int
    median_hours: float
    p90_hours: float


@dataclass(frozen=True)
class HoldSpell:
    """One time an order was on hold: from ``start`` until ``end`` (UTC; None while it is
    still held), for ``codes`` (``manual``, ``unpaid``, ``short_stock``, ...), ended by
    ``ended_by`` ("released", "cancelled", "opened" or "" while open)."""

    order_id: int
    channel: str
    codes: tuple[str, ...]
    start: datetime
    end: datetime | None
    ended_by: str

    @property
    def hours(self) -> float | None:
        """How long it lasted in hours (None while still held)."""
        return None if self.end is None else (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class HoldFigures:
    """One hold reason (code): ``orders`` held for it (holds that began in the range),
    ``ended`` of those holds released or cancelled with their median and longest duration
    in hours (None when none ended), and ``still_open`` holds not yet lifted."""

    code: str
    orders: int
    ended: int
    still_open: int
    median_hours: float | None
    max_hours: float | None


@dataclass(frozen=True)
class OrdersReport:
    """:func:`orders_report`'s answer for local days ``first`` to ``last`` (both
    included) in ``zone``: rows by day then channel, ship times and holds by channel and
    code, and every hold spell (for the durations chart)."""

    first: date
    last: date
    zone: str
    days: list[DayFigures] = field(default_factory=list)
    ship_times: list[ShipTimes] = field(default_factory=list)
    holds: list[HoldFigures] = field(default_factory=list)
    spells: list[HoldSpell] = field(default_factory=list)

    @property
    def channels(self) -> list[str]:
        """Every channel with orders in the range, sorted."""
        return sorted({d.channel for d in self.days})

    @property
    def currencies(self) -> list[str]:
        """Every currency with revenue in the range, sorted."""
        return sorted({c for d in self.days for c in d.revenue})

    def revenue_by_channel(self) -> dict[str, dict[str, Decimal]]:
        """channel -> currency -> revenue over the whole range."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in self.days:
            for currency, amount in row.revenue.items():
                out[row.channel][currency] += amount
        return {c: dict(v) for c, v in out.items()}


def check_range(first: date, last: date) -> None:
    """Raise InvalidInput (field ``from``) when ``first`` is after ``last`` or the range
    is longer than :data:`MOST_DAYS`."""
    if first > last:
        raise InvalidInput(f"--from {first} is after --to {last}", field="from")
    if (last - first).days >= MOST_DAYS:
        raise InvalidInput(f"--from {first} to --to {last} is more than ten years", field="from")


def parse_day(text: str, name: str) -> date:
    """``YYYY-MM-DD`` as a date; InvalidInput naming ``name`` (e.g. ``--from``) otherwise."""
    try:
        if len(text.strip()) != 10:
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{name} {text!r} is not a date; give YYYY-MM-DD", field=name.lstrip("-")
        ) from None


def utc_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where local day ``first`` begins and local day ``last`` ends."""
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def money_text(amount: Decimal) -> str:
    """``Decimal("19.9800")`` as ``"19.98"``: two places, more only where the amount has
    them (``"0.0035"``); no thousands separators."""
    cents = amount.quantize(Decimal("0.01"))
    return str(cents) if cents == amount else format(amount.normalize(), "f")


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0 to 1) percentile of ``values`` by linear interpolation (as
    numpy's default); ValueError for no values."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    at = (len(ordered) - 1) * share
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def orders_report(conn: Connection, first: date, last: date, zone: ZoneInfo) -> OrdersReport:
    """The order figures for local days ``first`` to ``last`` (both included) in ``zone``.

    Orders count on the local day they were placed; ship times cover orders placed in the
    range that have shipped; holds are the spells that began in the range, with their
    whole duration even when it ends after ``last``. InvalidInput for a reversed range.
    """
    check_range(first, last)
    start, end = utc_bounds(first, last, zone)
    o = order_t.c
    placed = sa.func.coalesce(o.placed_at, o.created_at)
    rows = conn.execute(
        sa.select(o.id, o.channel, o.status, o.currency, o.total, o.placed_at, o.created_at)
        .where(placed >= start, placed < end)
        .order_by(o.id)
    ).all()
    report = OrdersReport(first, last, zone.key)
    report.days.extend(_day_figures(rows, zone))
    report.ship_times.extend(_ship_times(conn, rows))
    spells = hold_spells(conn, start, end)
    report.spells.extend(spells)
    report.holds.extend(_hold_figures(spells))
    return report


def _when(row: sa.Row) -> datetime:
    stamp: datetime = row.placed_at or row.created_at
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _day_figures(rows: Iterable[sa.Row], zone: ZoneInfo) -> list[DayFigures]:
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    revenue: dict[tuple[date, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        key = (_when(row).astimezone(zone).date(), row.channel)
        counts[key][0] += 1
        if row.status == CANCELLED:
            counts[key][1] += 1
        else:
            revenue[key][row.currency or ""] += Decimal(row.total or 0)
    return [
        DayFigures(day, channel, n, cancelled, dict(revenue.get((day, channel), {})))
        for (day, channel), (n, cancelled) in sorted(counts.items())
    ]


def _ship_times(conn: Connection, rows: Sequence[sa.Row]) -> list[ShipTimes]:
    by_id = {row.id: row for row in rows}
    s = shipment_t.c
    first_shipped: dict[int, datetime] = {}
    ids = list(by_id)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        query = (
            sa.select(s.order_id, sa.func.min(s.shipped_at).label("at"))
            .where(s.order_id.in_(chunk))
            .group_by(s.order_id)
        )
        for oid, at in conn.execute(query):
            first_shipped[oid] = at if at.tzinfo else at.replace(tzinfo=UTC)
    hours: dict[str, list[float]] = defaultdict(list)
    for oid, at in first_shipped.items():
        row = by_id[oid]
        hours[row.channel].append(max(0.0, (at - _when(row)).total_seconds() / 3600))
    return [
        ShipTimes(channel, len(v), statistics.median(v), percentile(v, 0.9))
        for channel, v in sorted(hours.items())
    ]


def _codes(note: str) -> list[str]:
    """The hold codes an ``on_hold`` history note names."""
    if note.startswith("held: "):
        return [PERSON_HOLD]
    first = note.split("; created from", 1)[0].split("; updated from", 1)[0]
    return sorted({h.code for h in parse_holds(first)}) or ["other"]


def hold_spells(conn: Connection, start: datetime, end: datetime) -> list[HoldSpell]:
    """Every hold spell that began in [``start``, ``end``) (UTC), read from the orders'
    history: it begins with an ``on_hold`` event of an order not held, a person's hold
    (note ``held: ...``) joins it, and a release (note ``released ...``) or any event
    leaving ``on_hold`` (cancelled, open) ends it. Still-open spells take their codes from
    the order's current ``hold_reason``."""
    e, o = order_event_t.c, order_t.c
    began = (
        sa.select(e.order_id)
        .where(e.status == ON_HOLD, e.created_at >= start, e.created_at < end)
        .distinct()
    )
    events = conn.execute(
        sa.select(e.order_id, e.status, e.note, e.created_at, o.channel, o.hold_reason, o.status)
        .join(order_t, o.id == e.order_id)
        .where(e.order_id.in_(began))
        .order_by(e.order_id, e.created_at, e.id)
    ).all()
    spells: list[HoldSpell] = []
    by_order: dict[int, list[sa.Row]] = defaultdict(list)
    for row in events:
        by_order[row[0]].append(row)
    for oid, history in by_order.items():
        spells.extend(_spells_of(oid, history))
    return [s for s in spells if start <= s.start < end]


def _spells_of(oid: int, history: list[sa.Row]) -> list[HoldSpell]:
    out: list[HoldSpell] = []
    began: datetime | None = None
    codes: set[str] = set()
    channel = history[0][4]

    def close(at: datetime | None, how: str) -> None:
        nonlocal began
        assert began is not None
        out.append(HoldSpell(oid, channel, tuple(sorted(codes)), began, at, how))
        began = None
        codes.clear()

    for _oid, status, note, at, _channel, _reason, _now in history:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        note = note or ""
        if status == ON_HOLD and note.startswith("released "):
            if began is not None:
                close(at, "released")
        elif status == ON_HOLD and began is None:
            began = at
            codes.update(_codes(note))
        elif status == ON_HOLD and note.startswith("held: "):  # a person's hold joins
            codes.add(PERSON_HOLD)
        elif status and began is not None:
            close(at, "cancelled" if status == CANCELLED else "opened")
    if began is not None:
        reason, current = history[-1][5], history[-1][6]
        if current == ON_HOLD and reason:
            codes.clear()
            codes.update(h.code for h in parse_holds(reason))
        close(None, "")
    return out


def _hold_figures(spells: Sequence[HoldSpell]) -> list[HoldFigures]:
    by_code: dict[str, list[HoldSpell]] = defaultdict(list)
    for spell in spells:
        for code in spell.codes:
            by_code[code].append(spell)
    out = []
    for code, found in sorted(by_code.items()):
        hours = [h for s in found if (h := s.hours) is not None]
        out.append(
            HoldFigures(
                code,
                orders=len({s.order_id for s in found}),
                ended=len(hours),
                still_open=sum(1 for s in found if s.end is None),
                median_hours=statistics.median(hours) if hours else None,
                max_hours=max(hours) if hours else None,
            )
        )
    return out
