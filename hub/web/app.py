"""The hub's web app: webhook endpoints, a status API and the sync page (``/sync``),
Prometheus metrics, the map of the latest delivery plan (on the sync page and at
``/plans/latest.svg``), the REST API under ``/api/v1`` and the order desk's pages for
people (dashboard at ``/``; :mod:`hub.web.pages`).

Handlers never block the event loop: verification, storage, database reads and drawing
run in worker threads.
A webhook is acknowledged as soon as it is stored in the inbox; the inbox worker does the
rest, so a channel never times out waiting for us.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from sqlalchemy.engine import Connection

from hub.core.planning import latest_plan_id, stored_plan
from hub.core.secrets import secret_values
from hub.core.status import channel_status, hide_secrets
from hub.core.sync import Sync
from hub.errors import HubError, NotFound, WebhookRejected
from hub.routing import Plan, RoutingProblem
from hub.web.api import mount as mount_api
from hub.web.carriers import mount as mount_carriers
from hub.web.pages import mount as mount_pages
from hub.web.pages.common import USER, current_user, render

log = logging.getLogger("hub.web")

SYNC_KEY = web.AppKey("sync", Sync)
WAKE_KEY: web.AppKey[Callable[[str], None]] = web.AppKey("wake")
METRICS_KEY: web.AppKey[dict] = web.AppKey("metrics")


def make_app(sync: Sync, wake: Callable[[str], None] | None = None) -> web.Application:
    """The aiohttp application for ``sync``'s hub; ``wake(channel)`` nudges the inbox worker."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[SYNC_KEY] = sync
    app[WAKE_KEY] = wake or (lambda channel: None)
    app[METRICS_KEY] = _metrics()
    app.router.add_post("/webhooks/{channel}", webhook)
    app.router.add_get("/api/status", status_json)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/plans/latest.svg", latest_plan_svg)
    app.router.add_get("/sync", status_page)
    mount_api(app, sync.hub)  # the REST API under /api/v1
    mount_pages(app, sync.hub)  # the order desk: dashboard at /, orders, stock, import
    mount_carriers(app, sync.hub)  # carriers' tracking webhooks
    return app


def _metrics() -> dict:
    registry = CollectorRegistry()
    return {
        "registry": registry,
        "webhooks": Counter(
            "hub_webhooks_total", "Webhook deliveries", ["channel", "result"], registry=registry
        ),
        "outbox": Gauge(
            "hub_outbox_depth", "SKUs waiting to be pushed", ["channel"], registry=registry
        ),
        "inbox": Gauge("hub_inbox_depth", "Webhooks waiting", ["channel"], registry=registry),
        "dead": Gauge(
            "hub_dead_letters", "Dead letters not retried", ["channel"], registry=registry
        ),
        "failing": Gauge(
            "hub_channel_failing",
            "1 when a job of the channel is failing",
            ["channel"],
            registry=registry,
        ),
        "lag": Gauge(
            "hub_pull_lag_seconds",
            "Seconds since the last successful pull",
            ["channel"],
            registry=registry,
        ),
    }


async def webhook(request: web.Request) -> web.Response:
    """Verify and store a delivery; 401 for a bad signature (nothing stored), 404 unknown."""
    channel = request.match_info["channel"]
    sync = request.app[SYNC_KEY]
    counter = request.app[METRICS_KEY]["webhooks"]
    body = await request.read()
    headers = dict(request.headers)
    try:
        new = await asyncio.to_thread(sync.accept_webhook, channel, headers, body)
    except WebhookRejected as error:
        counter.labels(channel, "rejected").inc()
        return web.json_response({"error": str(error), "field": "signature"}, status=401)
    except NotFound as error:
        return web.json_response({"error": str(error), "field": "channel"}, status=404)
    except HubError as error:
        return web.json_response({"error": str(error), "field": error.field}, status=400)
    counter.labels(channel, "accepted" if new else "duplicate").inc()
    request.app[WAKE_KEY](channel)
    return web.json_response({"accepted": True, "duplicate": not new})


async def _statuses(request: web.Request) -> list:
    sync = request.app[SYNC_KEY]
    names = sorted(sync.hub.channel_configs)
    statuses = await asyncio.to_thread(sync.hub.read, lambda c: channel_status(c, names))
    hide_secrets(statuses, secret_values(sync.hub.channel_configs.values()))
    for status in statuses:
        if status.channel in sync.hub.channel_configs:
            room = sync.caller(status.channel).limiter.headroom()
            status.headroom = {
                "available": round(room.available, 2),
                "capacity": room.capacity,
                "restore_rate": room.restore_rate,
            }
    return statuses


async def status_json(request: web.Request) -> web.Response:
    """Every channel's sync health as JSON."""
    statuses = await _statuses(request)
    return web.json_response(
        {"channels": [s.as_dict() for s in statuses]},
        dumps=lambda v: __import__("json").dumps(v, default=str),
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics."""
    m = request.app[METRICS_KEY]
    for status in await _statuses(request):
        m["outbox"].labels(status.channel).set(status.outbox)
        m["inbox"].labels(status.channel).set(status.inbox)
        m["dead"].labels(status.channel).set(status.dead_letters)
        m["failing"].labels(status.channel).set(1 if status.failing else 0)
        if status.pull_lag_seconds is not None:
            m["lag"].labels(status.channel).set(status.pull_lag_seconds)
    body = generate_latest(m["registry"])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _latest_map(sync: Sync) -> tuple[int, str] | None:
    """The newest stored plan's number and its SVG map; None when there is no plan to draw.

    Runs in a worker thread: it reads the database and draws.
    """
    try:
        from hub_plugins.routing.export import plan_to_svg
    except ImportError:  # the routing plugin is not installed: no maps
        return None
    hub = sync.hub

    def read(conn: Connection) -> tuple[int, Plan, RoutingProblem] | None:  # one transaction
        plan_id = latest_plan_id(conn)
        return None if plan_id is None else (plan_id, *stored_plan(conn, plan_id, hub.settings))

    try:
        found = hub.read(read)
    except HubError as error:  # e.g. an old plan whose depots are no longer configured
        log.warning("cannot draw the latest route plan: %s", error)
        return None
    if found is None:
        return None
    plan_id, plan, problem = found
    return plan_id, plan_to_svg(plan, problem)


async def latest_plan_svg(request: web.Request) -> web.Response:
    """The latest stored delivery plan as an SVG map; 404 when nothing was planned."""
    found = await asyncio.to_thread(_latest_map, request.app[SYNC_KEY])
    if found is None:
        return web.json_response({"error": "no route plan to draw", "field": "plan"}, status=404)
    return web.Response(text=found[1], content_type="image/svg+xml")


async def status_page(request: web.Request) -> web.Response:
    """The sync internals for people (``/sync``), with the latest delivery plan's map when
    there is one; the order desk's dashboard at ``/`` links here."""
    rows = []
    for s in await _statuses(request):
        rows.append(
            {
                "channel": s.channel,
                "state": "failing" if s.failing else "ok",
                "last_pull": s.last_pull,
                "last_push": s.last_push,
                "outbox": s.outbox,
                "inbox": s.inbox,
                "dead_letters": s.dead_letters,
                "drift": s.drift,
                "oversold": s.oversold_text,
                "errors": "; ".join(f"{job}: {text}" for job, text in s.errors.items()),
            }
        )
    found = await asyncio.to_thread(_latest_map, request.app[SYNC_KEY])
    plan_id, plan_svg = found if found else (None, "")
    user = await current_user(request)  # open to scripts; signed-in people get the desk's menu
    if user is not None:
        request[USER] = user
    return render(request, "sync.html", {"rows": rows, "plan_id": plan_id, "plan_svg": plan_svg})
