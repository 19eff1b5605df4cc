"""The order list (filters, pages) and the order page (lines, allocation, holds with
Release and Cancel, full history)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.core import desk
from hub.core.desk import Actor, OrderView
from hub.errors import HubError, InvalidInput
from hub.orders import OrderStatus
from hub.web.pages.common import (
    USER,
    field_message,
    flash,
    form_text,
    hub_of,
    page,
    refuse,
    render,
    status_for,
)

PAGE_SIZE = 25
#: hold codes people filter by (any other code can be typed)
HOLD_CODES = (
    "unpaid",
    "credit_limit",
    "fraud_screen",
    "fraud_risk",
    "address_incomplete",
    "short_stock",
    "unknown_sku",
)
_OPEN_TO_CANCEL = (OrderStatus.PENDING.value, OrderStatus.OPEN.value, OrderStatus.ON_HOLD.value)


def actor(request: web.Request) -> Actor:
    return Actor(request[USER].username, "web")


@page("viewer")
async def order_list(request: web.Request) -> web.Response:
    hub = hub_of(request)
    q = request.query
    filters = {
        "status": q.get("status", "").strip(),
        "channel": q.get("channel", "").strip(),
        "hold": q.get("hold", "").strip(),
        "search": q.get("search", "").strip()[:200],
    }
    cursor = q.get("before", "").strip() or None
    context: dict[str, Any] = {
        "filters": filters,
        "statuses": [s.value for s in OrderStatus],
        "channels": sorted(hub.settings.channels),
        "hold_codes": HOLD_CODES,
        "orders": [],
        "next_url": "",
        "first_url": "",
    }
    try:
        found = await asyncio.to_thread(
            desk.list_orders,
            hub,
            status=filters["status"] or None,
            channel=filters["channel"] or None,
            hold_code=filters["hold"] or None,
            search=filters["search"],
            limit=PAGE_SIZE,
            cursor=cursor,
        )
    except InvalidInput as error:
        return render(request, "orders.html", {**context, "error": str(error)}, status=400)
    kept = {k: v for k, v in filters.items() if v}
    context["orders"] = found.orders
    if found.next_cursor:
        context["next_url"] = f"/orders?{urlencode({**kept, 'before': found.next_cursor})}"
    if cursor:
        context["first_url"] = f"/orders?{urlencode(kept)}"
    return render(request, "orders.html", context)


def _order_id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 12:
        raise web.HTTPNotFound()
    return int(text)


def _order_page(
    request: web.Request,
    view: OrderView,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    problem: str = "",
) -> web.Response:
    hub = hub_of(request)
    names = dict((code, section.name or code) for code, section in hub.settings.locations.items())
    context: dict[str, Any] = {
        "order": view,
        "errors": errors or {},
        "values": values or {},
        "problem": problem,
        "location_names": names,
        "releasable": view.status == OrderStatus.ON_HOLD.value
        and any(h.overridable for h in view.holds),
        "hard_holds": [h for h in view.holds if not h.overridable],
        "cancellable": view.status in _OPEN_TO_CANCEL,
    }
    return render(request, "order.html", context, status=status)


@page("viewer")
async def order_page(request: web.Request) -> web.Response:
    view = await asyncio.to_thread(desk.order_view, hub_of(request), _order_id(request))
    return _order_page(request, view)


async def _decide(request: web.Request, field: str, act: Any, done: str) -> web.Response:
    hub = hub_of(request)
    oid = _order_id(request)
    form = await request.post()
    text = form_text(form, field)
    try:
        view = await asyncio.to_thread(act, hub, oid, text, actor(request))
    except HubError as error:
        try:
            current = await asyncio.to_thread(desk.order_view, hub, oid)
        except HubError:
            return refuse(request, status_for(error), str(error))
        if error.field == field:
            return _order_page(
                request,
                current,
                status_for(error),
                errors={field: field_message(error)},
                values={field: text},
            )
        return _order_page(
            request, current, status_for(error), values={field: text}, problem=str(error)
        )
    now_is = view.status.replace("_", " ")
    await flash(request, f"Order {view.external_id} {done}; it is now {now_is}.")
    raise web.HTTPSeeOther(f"/orders/{view.id}")


@page("sales")
async def release(request: web.Request) -> web.Response:
    return await _decide(request, "note", desk.release_order, "released")


@page("sales")
async def cancel(request: web.Request) -> web.Response:
    return await _decide(request, "reason", desk.cancel_order, "cancelled")


def routes(app: web.Application) -> None:
    app.router.add_get("/orders", order_list)
    app.router.add_get(r"/orders/{id:\d+}", order_page)
    app.router.add_post(r"/orders/{id:\d+}/release", release)
    app.router.add_post(r"/orders/{id:\d+}/cancel", cancel)
