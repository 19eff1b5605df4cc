"""The stock page (per location: on hand, reserved, free; per channel: available to
promise) and the SKU search the order form asks for live availability."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Connection

from hub.core.models import balance_t, location_t, product_t
from hub.core.runtime import Hub
from hub.web.pages.common import hub_of, page, render

SHOWN = 200


@dataclass
class SkuStock:
    sku: str
    title: str
    on_hand: dict[str, int] = field(default_factory=dict)  # per location
    free: dict[str, int] = field(default_factory=dict)  # on hand less reserved
    channels: dict[str, int] = field(default_factory=dict)  # available to promise


def find_stock(
    hub: Hub, search: str = "", limit: int = SHOWN, channels: Sequence[str] = ()
) -> tuple[list[SkuStock], bool]:
    """SKUs whose SKU or title contains ``search`` (all when blank), by SKU, with stock per
    location and available-to-promise per channel in ``channels``; and whether more
    matched."""
    text = search.strip().lower()

    def read(conn: Connection) -> tuple[list[SkuStock], bool]:
        p = product_t.c
        query = sa.select(p.id, p.sku, p.name).order_by(p.sku).limit(limit + 1)
        if text:
            like = f"%{text}%"
            query = query.where(
                sa.or_(sa.func.lower(p.sku).like(like), sa.func.lower(p.name).like(like))
            )
        products = conn.execute(query).all()
        more = len(products) > limit
        products = products[:limit]
        found = {r.id: SkuStock(r.sku, r.name or "") for r in products}
        if not found:
            return [], False
        b = balance_t.c
        for pid, code, on_hand, reserved in conn.execute(
            sa.select(b.product_id, location_t.c.code, b.on_hand, b.reserved)
            .join(location_t, location_t.c.id == b.location_id)
            .where(b.product_id.in_(list(found)))
        ):
            found[pid].on_hand[code] = int(on_hand)
            found[pid].free[code] = int(on_hand) - int(reserved)
        return list(found.values()), more

    rows, more = hub.read(read)
    if rows and channels:
        skus = [r.sku for r in rows]
        per_channel = {name: hub.available(name, skus) for name in channels}
        for row in rows:
            row.channels = {name: got.get(row.sku, 0) for name, got in per_channel.items()}
    return rows, more


def locations(hub: Hub) -> list[tuple[str, str]]:
    """(code, name) of every configured location."""
    return [(code, s.name or code) for code, s in hub.settings.locations.items()]


@page("viewer")
async def stock_page(request: web.Request) -> web.Response:
    hub = hub_of(request)
    search = request.query.get("search", "").strip()[:100]
    channels = sorted(hub.channel_configs)
    rows, more = await asyncio.to_thread(find_stock, hub, search, SHOWN, channels)
    return render(
        request,
        "stock.html",
        {
            "rows": rows,
            "more": more,
            "search": search,
            "locations": locations(hub),
            "channels": channels,
        },
    )


@page("viewer")
async def sku_search(request: web.Request) -> web.Response:
    """JSON for the order form: SKUs matching ``q`` with free units per location (asked
    as people type: no per-channel figures, which it does not show)."""
    hub = hub_of(request)
    q = request.query.get("q", "").strip()[:100]
    if not q:
        return web.json_response({"skus": []})
    rows, _ = await asyncio.to_thread(find_stock, hub, q, 10)
    names = dict(locations(hub))
    return web.json_response(
        {
            "skus": [
                {
                    "sku": r.sku,
                    "title": r.title,
                    "locations": [
                        {"code": code, "name": names.get(code, code), "free": free}
                        for code, free in sorted(r.free.items())
                    ],
                }
                for r in rows
            ]
        }
    )


def routes(app: web.Application) -> None:
    app.router.add_get("/stock", stock_page)
    app.router.add_get("/desk/skus.json", sku_search)
