"""The reports page: order and delivery figures for a range of local days (default the
last 7), their charts as PNG images, and the audit export of the range as CSV or PDF to download.

The figures are read and the charts drawn in worker threads, never on the event loop.
Charts are separate images (``/reports/charts/<name>.png``), since the desk's content
policy allows no inline images.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from hub.core.audit import audit_csv, audit_orders, audit_pdf
from hub.core.reports import OrdersReport, check_range, money_text, orders_report, parse_day
from hub.core.reports.charts import CHARTS, SIZE, drops_per_day
from hub.core.reports.deliveries import DeliveriesReport, deliveries_report
from hub.core.runtime import Hub
from hub.errors import InvalidInput
from hub.web.pages.common import PAGE_HEADERS, hub_of, page, render, zone_of

CHART_TITLES = {
    "orders_per_day.png": "Orders per day and channel",
    "revenue_per_channel.png": "Revenue per channel",
    "hold_durations.png": "How long holds lasted",
    "drops_per_day.png": "Drops per day, delivered and failed",
}


def requested_range(request: web.Request) -> tuple[date, date]:
    """The ``from`` and ``to`` local days asked for (default: the 7 days up to today in
    the merchant's zone). InvalidInput for a date that is not YYYY-MM-DD or ``from``
    after ``to``."""
    zone = zone_of(hub_of(request))
    to_text = request.query.get("to", "").strip()[:40]
    from_text = request.query.get("from", "").strip()[:40]
    last = parse_day(to_text, "to") if to_text else datetime.now(zone).date()
    first = parse_day(from_text, "from") if from_text else last - timedelta(days=6)
    check_range(first, last)
    return first, last


def _report(hub: Hub, first: date, last: date) -> OrdersReport:
    zone = zone_of(hub)
    result: OrdersReport = hub.read(lambda conn: orders_report(conn, first, last, zone))
    return result


def _deliveries(hub: Hub, first: date, last: date) -> DeliveriesReport:
    zone = zone_of(hub)
    result: DeliveriesReport = hub.read(lambda conn: deliveries_report(conn, first, last, zone))
    return result


def _draw(hub: Hub, name: str, first: date, last: date) -> bytes:
    if name == "drops_per_day.png":
        return drops_per_day(_deliveries(hub, first, last))
    return CHARTS[name](_report(hub, first, last))


@page("viewer")
async def reports_page(request: web.Request) -> web.Response:
    hub = hub_of(request)
    today = datetime.now(zone_of(hub)).date()
    try:
        first, last = requested_range(request)
    except InvalidInput as error:
        context = {
            "error": str(error).replace("--", ""),
            "first": request.query.get("from", "")[:40],
            "last": request.query.get("to", "")[:40],
            "report": None,
        }
        return render(request, "reports.html", context, status=400)
    report, drops = await asyncio.gather(  # two reads at once, each in a worker thread
        asyncio.to_thread(_report, hub, first, last),
        asyncio.to_thread(_deliveries, hub, first, last),
    )
    query = f"from={first.isoformat()}&to={last.isoformat()}"
    return render(
        request,
        "reports.html",
        {
            "first": first.isoformat(),
            "last": last.isoformat(),
            "today": today.isoformat(),
            "report": report,
            "drops": drops,
            "revenue": report.revenue_by_channel(),
            "money": money_text,
            "query": query,
            "size": SIZE,
            "charts": [(f"/reports/charts/{name}?{query}", t) for name, t in CHART_TITLES.items()],
        },
    )


@page("viewer")
async def chart(request: web.Request) -> web.Response:
    """One chart of the range as a PNG image."""
    name = request.match_info["name"]
    if name not in CHART_TITLES:
        raise web.HTTPNotFound()
    hub = hub_of(request)
    first, last = requested_range(request)
    png = await asyncio.to_thread(_draw, hub, name, first, last)
    return web.Response(body=png, content_type="image/png", headers=PAGE_HEADERS)


@page("viewer")
async def audit_file(request: web.Request) -> web.Response:
    """The audit export of the range: ``audit.csv`` or ``audit.pdf``, as a download."""
    kind = request.match_info["kind"]
    hub = hub_of(request)
    zone = zone_of(hub)
    first, last = requested_range(request)

    def make() -> bytes:
        found = hub.read(lambda conn: audit_orders(conn, first, last, zone))
        if kind == "csv":
            return audit_csv(found, zone)
        return audit_pdf(found, first, last, zone, datetime.now(UTC), hub.settings.hub.name)

    body = await asyncio.to_thread(make)
    name = f"audit-{first.isoformat()}-to-{last.isoformat()}.{kind}"
    headers = {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    content_type = "text/csv" if kind == "csv" else "application/pdf"
    return web.Response(body=body, content_type=content_type, headers=headers)


def routes(app: web.Application) -> None:
    app.router.add_get("/reports", reports_page)
    app.router.add_get("/reports/charts/{name}", chart)
    app.router.add_get(r"/reports/audit.{kind:csv|pdf}", audit_file)
