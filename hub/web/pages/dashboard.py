"""The home page: the merchant's day at a glance.

Today's orders by channel and status (today in the merchant's zone), holds waiting for a
person with their reasons, low stock, and each channel's health in words. The sync
internals (the old status page) are at ``/sync``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.core.holds import parse_holds
from hub.core.models import order_t
from hub.core.runtime import Hub
from hub.core.secrets import secret_values
from hub.core.status import ChannelStatus, channel_status, hide_secrets
from hub.orders import OrderStatus
from hub.web.pages.common import ago, hub_of, page, render, span, zone_of

HOLDS_SHOWN = 25
LOW_SHOWN = 25


@dataclass
class Health:
    channel: str
    words: str
    state: str  # "ok", "busy", "failing", "idle"


@dataclass
class Dashboard:
    statuses: list[str]
    today: dict[str, dict[str, int]]  # channel -> status -> orders placed today
    totals: dict[str, int]
    holds: list[dict[str, Any]]
    holds_total: int
    low: list[tuple[str, int]]
    health: list[Health] = field(default_factory=list)


def _when(o: Any) -> Any:
    return sa.func.coalesce(o.placed_at, o.created_at)


def channel_words(
    status: ChannelStatus, kind: str, last_order: datetime | None, hub: Hub, at: datetime
) -> Health:
    """``"in step, last order 2 minutes ago"`` / ``"failing for 10 minutes: <reason>"``."""
    zone = zone_of(hub)
    last = f"last order {ago(last_order, zone, at)}" if last_order else "no orders yet"
    if status.failing:
        reason = "; ".join(status.errors.values()) or "no reason recorded"
        if len(reason) > 200:
            reason = reason[:199] + "…"
        # since the last success of a job that now fails (not of one still working)
        successes = {"pull": status.last_pull, "push": status.last_push}
        since = min(
            (t for job, n in status.failures.items() if n and (t := successes.get(job))),
            default=None,
        )
        how_long = f" for {span((at - since).total_seconds())}" if since else ""
        return Health(status.channel, f"failing{how_long}: {reason}", "failing")
    if kind == "manual":
        return Health(status.channel, f"entered at the desk, {last}", "ok")
    if status.last_pull is None and status.last_push is None:
        return Health(status.channel, f"not synced yet, {last}", "idle")
    busy = []
    if status.outbox:
        busy.append(f"{status.outbox} stock change{'s' * (status.outbox != 1)} to send")
    if status.inbox:
        busy.append(f"{status.inbox} webhook{'s' * (status.inbox != 1)} to read")
    if status.dead_letters:
        busy.append(
            f"{status.dead_letters} dead letter{'s' * (status.dead_letters != 1)} to look at"
        )
    if busy:
        return Health(status.channel, f"catching up ({', '.join(busy)}), {last}", "busy")
    return Health(status.channel, f"in step, {last}", "ok")


def dashboard(hub: Hub, at: datetime | None = None) -> Dashboard:
    """Everything the home page shows, read in one transaction (run it in a thread)."""
    at = at or datetime.now(UTC)
    zone = zone_of(hub)
    local_day = at.astimezone(zone).date()
    start = datetime.combine(local_day, time(0), zone).astimezone(UTC)
    end = datetime.combine(local_day + timedelta(days=1), time(0), zone).astimezone(UTC)
    names = sorted(hub.channel_configs)
    locations = list(hub.settings.locations)  # the ledger never counts quarantine stock
    threshold = hub.settings.web.low_stock

    def read(conn: Connection) -> tuple[Dashboard, list[ChannelStatus], dict[str, datetime]]:
        o = order_t.c
        today: dict[str, dict[str, int]] = defaultdict(dict)
        for channel, status, count in conn.execute(
            sa.select(o.channel, o.status, sa.func.count())
            .where(_when(o) >= start, _when(o) < end)
            .group_by(o.channel, o.status)
        ):
            today[channel][status] = int(count)
        totals: dict[str, int] = defaultdict(int)
        for per in today.values():
            for status, count in per.items():
                totals[status] += count
        held = conn.execute(
            sa.select(o.id, o.channel, o.external_id, o.customer_name, o.hold_reason, _when(o))
            .where(o.status == OrderStatus.ON_HOLD.value)
            .order_by(o.id.desc())
            .limit(HOLDS_SHOWN)
        ).all()
        holds_total = int(
            conn.scalar(
                sa.select(sa.func.count())
                .select_from(order_t)
                .where(o.status == OrderStatus.ON_HOLD.value)
            )
            or 0
        )
        holds = [
            {
                "id": r[0],
                "ref": f"{r[1]}:{r[2]}",
                "customer": r[3],
                "holds": parse_holds(r[4]),
                "at": r[5],
            }
            for r in held
        ]
        free = ledger.available_to_promise(conn, locations=locations) if locations else {}
        low = sorted(((s, n) for s, n in free.items() if n < threshold), key=lambda x: (x[1], x[0]))
        last: dict[str, datetime] = dict(
            conn.execute(sa.select(o.channel, sa.func.max(_when(o))).group_by(o.channel)).all()
        )
        statuses = channel_status(conn, names)
        shown = [s.value for s in OrderStatus if any(s.value in per for per in today.values())]
        return (
            Dashboard(shown, dict(today), dict(totals), holds, holds_total, low[:LOW_SHOWN]),
            statuses,
            last,
        )

    board, statuses, last = hub.read(read)
    hide_secrets(statuses, secret_values(hub.channel_configs.values()))
    for status in statuses:
        if status.channel not in hub.settings.channels:
            continue  # sync history of a channel no longer configured
        kind = str(hub.settings.channels[status.channel].get("type", status.channel))
        stamp = last.get(status.channel)
        if stamp is not None and stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        board.health.append(channel_words(status, kind, stamp, hub, at))
    return board


@page("viewer")
async def home(request: web.Request) -> web.Response:
    hub = hub_of(request)
    board = await asyncio.to_thread(dashboard, hub)
    return render(
        request,
        "dashboard.html",
        {
            "board": board,
            "threshold": hub.settings.web.low_stock,
            "today": datetime.now(zone_of(hub)).date(),
            "channels": sorted(hub.settings.channels),
        },
    )


def routes(app: web.Application) -> None:
    app.router.add_get("/", home)
