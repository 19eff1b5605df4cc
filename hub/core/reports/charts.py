"""PNG charts of an :class:`~hub.core.reports.OrdersReport` (matplotlib, Agg backend).

Each function returns the PNG's bytes; they draw on a figure of their own (no pyplot
state), so they may run in worker threads at once. Call them off the event loop.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hub.core.reports import OrdersReport
from hub.core.reports.deliveries import DeliveriesReport

#: inches and dots per inch: 640 x 340 pixels, half the desk's width with legible text
WIDTH, HEIGHT, DPI = 6.4, 3.4, 100
SIZE = (round(WIDTH * DPI), round(HEIGHT * DPI))


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _empty(figure: Figure, title: str, words: str) -> bytes:
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.text(0.5, 0.5, words, ha="center", va="center", color="#666")
    axes.set_axis_off()
    return _png(figure)


def orders_per_day(report: OrdersReport) -> bytes:
    """Orders placed per local day, one stacked bar segment per channel (PNG bytes)."""
    figure = Figure(figsize=(WIDTH, HEIGHT))
    title = "Orders per day"
    if not report.days:
        return _empty(figure, title, "No orders in this range")
    count = (report.last - report.first).days + 1
    days = [report.first + timedelta(days=n) for n in range(count)]
    per: dict[str, dict[date, int]] = defaultdict(dict)
    for row in report.days:
        per[row.channel][row.day] = row.orders
    axes = figure.add_subplot()
    bottom = [0] * count
    for channel in report.channels:
        heights = [per[channel].get(d, 0) for d in days]
        axes.bar(range(count), heights, bottom=bottom, label=channel)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    step = max(1, count // 14)
    axes.set_xticks(range(0, count, step), [f"{d:%d %b}" for d in days[::step]])
    axes.set_ylabel("orders")
    axes.set_title(f"{title} ({report.zone})")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_above_bars(axes, max(bottom), len(report.channels))
    return _png(figure)


def _legend_above_bars(axes: Any, tallest: float, entries: int) -> None:
    """Room above the tallest bar for a one-row legend, so it never covers a bar."""
    axes.set_ylim(0, max(1.0, tallest) * 1.3)
    axes.legend(loc="upper left", ncols=min(entries, 6), frameon=False)


def revenue_per_channel(report: OrdersReport) -> bytes:
    """Revenue per channel over the range, one panel per currency (PNG bytes)."""
    figure = Figure(figsize=(WIDTH, HEIGHT))
    title = "Revenue per channel"
    totals = report.revenue_by_channel()
    currencies = report.currencies
    if not currencies:
        return _empty(figure, title, "No revenue in this range")
    for n, currency in enumerate(currencies, 1):
        axes = figure.add_subplot(1, len(currencies), n)
        channels = [c for c in report.channels if currency in totals.get(c, {})]
        amounts = [float(totals[c][currency]) for c in channels]
        axes.barh(channels, amounts, color="#2f6f9f")
        axes.set_xlabel(currency)
        axes.set_title(f"{title} ({currency})" if n == 1 else currency)
        for y, amount in enumerate(amounts):
            axes.text(amount, y, f" {amount:,.2f}", va="center", fontsize="small")
        axes.margins(x=0.25)
    return _png(figure)


def hold_durations(report: OrdersReport) -> bytes:
    """How long ended holds lasted, in hours, one box per hold reason (PNG bytes)."""
    figure = Figure(figsize=(WIDTH, HEIGHT))
    title = "How long holds lasted"
    hours: dict[str, list[float]] = defaultdict(list)
    for spell in report.spells:
        if spell.hours is not None:
            for code in spell.codes:
                hours[code].append(spell.hours)
    if not hours:
        return _empty(figure, title, "No hold ended in this range")
    codes = sorted(hours)
    axes = figure.add_subplot()
    axes.boxplot([hours[c] for c in codes], orientation="horizontal", tick_labels=codes)
    axes.set_xlabel("hours on hold")
    axes.set_title(title)
    return _png(figure)


#: file name -> chart function, in the order pages and the CLI show them
CHARTS = {
    "orders_per_day.png": orders_per_day,
    "revenue_per_channel.png": revenue_per_channel,
    "hold_durations.png": hold_durations,
}


def drops_per_day(report: DeliveriesReport) -> bytes:
    """Drops per local day, delivered and failed stacked (PNG bytes)."""
    figure = Figure(figsize=(WIDTH, HEIGHT))
    title = "Drops per day"
    if not report.days:
        return _empty(figure, title, "No drops in this range")
    count = (report.last - report.first).days + 1
    days = [report.first + timedelta(days=n) for n in range(count)]
    delivered: dict[date, int] = defaultdict(int)
    failed: dict[date, int] = defaultdict(int)
    for row in report.days:
        delivered[row.day] += row.delivered
        failed[row.day] += row.failed
    axes = figure.add_subplot()
    done = [delivered[d] for d in days]
    axes.bar(range(count), done, label="delivered", color="#2e8b57")
    axes.bar(range(count), [failed[d] for d in days], bottom=done, label="failed", color="#c0392b")
    step = max(1, count // 14)
    axes.set_xticks(range(0, count, step), [f"{d:%d %b}" for d in days[::step]])
    axes.set_ylabel("drops")
    axes.set_title(f"{title} ({report.zone})")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    tallest = max(delivered[d] + failed[d] for d in days)
    _legend_above_bars(axes, tallest, 2)
    return _png(figure)
