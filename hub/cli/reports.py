"""``hub report``: order figures for a range of the merchant's local days, and the audit
export of every order touched in a range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub
from hub.core.audit import audit_csv, audit_orders, audit_pdf
from hub.core.reports import OrdersReport, check_range, orders_report, parse_day
from hub.core.reports.deliveries import DeliveriesReport, deliveries_report
from hub.core.reports.files import check_folder, delivery_files, report_files, write_files

app = typer.Typer(help="Order figures and the audit export.", no_args_is_help=True)
console = Console()

FromOption = Annotated[
    str | None,
    typer.Option("--from", help="First local day, YYYY-MM-DD (default: 6 days before --to)."),
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Last local day, YYYY-MM-DD (default: today).")
]


def day_range(first: str | None, last: str | None, zone: ZoneInfo) -> tuple[date, date]:
    """The local days ``--from`` and ``--to`` name: the last 7 days up to today by
    default. InvalidInput for a date that is not YYYY-MM-DD or a reversed range."""
    end = parse_day(last, "--to") if last else datetime.now(zone).date()
    start = parse_day(first, "--from") if first else end - timedelta(days=6)
    check_range(start, end)
    return start, end


def _one_decimal(value: float | None) -> str:
    """Hours or minutes with one decimal; a dash when there is no figure."""
    return "–" if value is None else f"{value:.1f}"


def print_report(report: OrdersReport) -> None:
    """The report as three rich tables."""
    console.print(f"orders {report.first} to {report.last} (local days, {report.zone})")
    days = Table("day", "channel", "orders", "cancelled", "revenue", title="Orders per day")
    for d in report.days:
        money = ", ".join(f"{amount:,.2f} {cur}" for cur, amount in sorted(d.revenue.items()))
        days.add_row(d.day.isoformat(), d.channel, str(d.orders), str(d.cancelled), money or "–")
    console.print(days if report.days else "no orders placed in this range")
    ship = Table("channel", "shipped", "median hours", "90th pct hours", title="Time to ship")
    for s in report.ship_times:
        ship.add_row(
            s.channel, str(s.shipped), _one_decimal(s.median_hours), _one_decimal(s.p90_hours)
        )
    console.print(ship if report.ship_times else "no order placed in this range has shipped")
    holds = Table(
        "reason", "orders", "ended", "still open", "median hours", "max hours", title="Holds"
    )
    for h in report.holds:
        holds.add_row(
            h.code,
            str(h.orders),
            str(h.ended),
            str(h.still_open),
            _one_decimal(h.median_hours),
            _one_decimal(h.max_hours),
        )
    console.print(holds if report.holds else "no hold began in this range")


@app.command("orders")
def orders(
    first: FromOption = None,
    last: ToOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Existing folder for the CSV files and PNG charts."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Orders and revenue per local day and channel, time to ship, hold reasons and how
    long holds lasted; with --out also orders_by_day.csv, holds.csv, time_to_ship.csv and
    three PNG charts."""
    if out is not None:
        check_folder(out)
    with open_hub(config) as hub:
        zone = ZoneInfo(hub.settings.hub.timezone)
        start, end = day_range(first, last, zone)
        report = hub.read(lambda conn: orders_report(conn, start, end, zone))
    print_report(report)
    if out is not None:
        for path in write_files(out, report_files(report)):
            typer.echo(f"wrote {path}")


def print_deliveries(report: DeliveriesReport) -> None:
    """The delivery figures as two rich tables."""
    console.print(f"deliveries {report.first} to {report.last} (local days, {report.zone})")
    table = Table(
        "day",
        "driver",
        "delivered",
        "failed",
        "orders delivered",
        "in window",
        "median min vs plan",
        "stops per hour",
        title="Drops per day and driver",
    )
    for d in report.days:
        window = f"{d.in_window} of {d.with_window}" if d.with_window else "–"
        table.add_row(
            d.day.isoformat(),
            d.driver,
            str(d.delivered),
            str(d.failed),
            str(d.orders_delivered),
            window,
            _one_decimal(d.median_minutes_vs_plan),
            _one_decimal(d.stops_per_hour),
        )
    console.print(table if report.days else "no drops in this range")
    if report.failures:
        reasons = Table("reason", "drops", title="Failed drops")
        for reason, drops in report.failures.items():
            reasons.add_row(reason, str(drops))
        console.print(reasons)


@app.command("deliveries")
def deliveries(
    first: FromOption = None,
    last: ToOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Existing folder for the CSV files and the PNG chart."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Drops delivered and failed per local day and driver (from the driver app), orders
    delivered, deliveries inside the customer's window, minutes against the plan, and
    why drops failed; with --out also deliveries_by_day.csv, failures.csv and
    drops_per_day.png."""
    if out is not None:
        check_folder(out)
    with open_hub(config) as hub:
        zone = ZoneInfo(hub.settings.hub.timezone)
        start, end = day_range(first, last, zone)
        report = hub.read(lambda conn: deliveries_report(conn, start, end, zone))
    print_deliveries(report)
    if out is not None:
        for path in write_files(out, delivery_files(report)):
            typer.echo(f"wrote {path}")


@app.command("audit")
def audit(
    out: Annotated[Path, typer.Option(help="Existing folder for audit.csv and audit.pdf.")],
    first: FromOption = None,
    last: ToOption = None,
    config: ConfigOption = None,
) -> None:
    """Every order touched in the range with its whole history (intake, allocation, holds,
    releases, edits, cancellations, returns, shipments, labels, driver actions,
    notifications) as audit.csv (one row per event) and audit.pdf (a table per order)."""
    check_folder(out)
    with open_hub(config) as hub:
        zone = ZoneInfo(hub.settings.hub.timezone)
        start, end = day_range(first, last, zone)
        found = hub.read(lambda conn: audit_orders(conn, start, end, zone))
        name = hub.settings.hub.name
    made = datetime.now(UTC)
    files = {
        "audit.csv": audit_csv(found, zone),
        "audit.pdf": audit_pdf(found, start, end, zone, made, name),
    }
    events = sum(len(o.events) for o in found)
    console.print(f"{len(found)} orders, {events} events, {start} to {end} ({zone.key})")
    for path in write_files(out, files):
        typer.echo(f"wrote {path}")
