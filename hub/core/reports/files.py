"""An orders report written to a folder: three CSV files and the PNG charts.

Everything is made in memory first and each file is written to a temporary name in the
folder and renamed, so a failure leaves no half-written file behind.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from hub.core.reports import OrdersReport, money_text
from hub.core.reports.deliveries import DeliveriesReport
from hub.errors import InvalidInput


def check_folder(folder: Path) -> None:
    """InvalidInput (field ``out``) unless ``folder`` is an existing folder we may write."""
    if not folder.exists():
        raise InvalidInput(f"--out {folder} does not exist; create the folder first", field="out")
    if not folder.is_dir():
        raise InvalidInput(f"--out {folder} is a file, not a folder", field="out")
    if not os.access(folder, os.W_OK):
        raise InvalidInput(f"--out {folder}: cannot write in this folder", field="out")


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def orders_csv(report: OrdersReport) -> bytes:
    """orders_by_day.csv: day, channel, orders, cancelled, currency, revenue; one row per
    day, channel and currency (a day whose orders were all cancelled has currency "")."""
    rows: list[list[object]] = [["day", "channel", "orders", "cancelled", "currency", "revenue"]]
    for d in report.days:
        amounts = [(c, money_text(a)) for c, a in sorted(d.revenue.items())] or [("", "")]
        for currency, shown in amounts:
            rows.append([d.day.isoformat(), d.channel, d.orders, d.cancelled, currency, shown])
    return _csv(rows)


def holds_csv(report: OrdersReport) -> bytes:
    """holds.csv: reason, orders, ended, still_open, median_hours, max_hours."""
    rows: list[list[object]] = [
        ["reason", "orders", "ended", "still_open", "median_hours", "max_hours"]
    ]
    for h in report.holds:
        rows.append(
            [h.code, h.orders, h.ended, h.still_open, _hours(h.median_hours), _hours(h.max_hours)]
        )
    return _csv(rows)


def ship_csv(report: OrdersReport) -> bytes:
    """time_to_ship.csv: channel, shipped, median_hours, p90_hours."""
    rows: list[list[object]] = [["channel", "shipped", "median_hours", "p90_hours"]]
    for s in report.ship_times:
        rows.append([s.channel, s.shipped, _hours(s.median_hours), _hours(s.p90_hours)])
    return _csv(rows)


def report_files(report: OrdersReport) -> dict[str, bytes]:
    """File name -> contents: the three CSV files, then the charts (PNG)."""
    files = {
        "orders_by_day.csv": orders_csv(report),
        "holds.csv": holds_csv(report),
        "time_to_ship.csv": ship_csv(report),
    }
    from hub.core.reports.charts import CHARTS  # matplotlib: loaded when a chart is drawn

    files.update({name: draw(report) for name, draw in CHARTS.items()})
    return files


def delivery_files(report: DeliveriesReport) -> dict[str, bytes]:
    """File name -> contents: deliveries_by_day.csv (day, driver, delivered, failed,
    orders_delivered, with_window, in_window, median_minutes_vs_plan, stops_per_hour),
    failures.csv
    (reason, drops) and drops_per_day.png."""
    rows: list[list[object]] = [
        [
            "day",
            "driver",
            "delivered",
            "failed",
            "orders_delivered",
            "with_window",
            "in_window",
            "median_minutes_vs_plan",
            "stops_per_hour",
        ]
    ]
    for d in report.days:
        minutes = d.median_minutes_vs_plan
        rows.append(
            [
                d.day.isoformat(),
                d.driver,
                d.delivered,
                d.failed,
                d.orders_delivered,
                d.with_window,
                d.in_window,
                "" if minutes is None else f"{minutes:.1f}",
                "" if d.stops_per_hour is None else f"{d.stops_per_hour:.1f}",
            ]
        )
    failures: list[list[object]] = [["reason", "drops"], *map(list, report.failures.items())]
    from hub.core.reports.charts import drops_per_day  # matplotlib, as above

    return {
        "deliveries_by_day.csv": _csv(rows),
        "failures.csv": _csv(failures),
        "drops_per_day.png": drops_per_day(report),
    }


def write_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``folder``, each whole or not at all; the
    paths written, in order. InvalidInput for a folder that is missing or not writable."""
    check_folder(folder)
    written = []
    for name, data in files.items():
        target = folder / name
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
