"""The customer's public pages: order tracking, delivery notes and ratings, opting out;
and the status callbacks of notifier services (Twilio).

No sign-in: the unguessable token in the link (:mod:`hub.core.notify.tracking`) is the
only key, and the page shows only the order's stage, the ETA window and how many stops
the driver has before this one, in the customer's language and zone. A token no order
has is answered 404 and nothing is recorded. Nothing changes on a GET (mail scanners
follow links): opting out takes the button on the opt-out page.

``POST /notifications/<notifier>/status`` takes a service's status callback, verified by
the notifier (``X-Twilio-Signature`` over the configured public URL): 403 and nothing
recorded when the signature is wrong.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from babel.dates import format_skeleton, format_time

from hub.core import notify
from hub.core.models import order_t
from hub.core.notify import tracking
from hub.core.notify.render import TIME_PATTERNS
from hub.errors import HubError, InvalidInput, NotFound
from hub.web.pages.common import hub_of, render

TEXT = {
    "en": {
        "title": "Your delivery",
        "confirmed": "Order confirmed: we are preparing it.",
        "dispatched": "On its way.",
        "next_stop": "You're next: the driver is on the way to you.",
        "delivered": "Delivered.",
        "failed": "We could not deliver it. We will be in touch to rebook.",
        "cancelled": "This order was cancelled.",
        "window": "Expected",
        "stops": "Stops before yours",
        "notes": "Delivery notes for the driver",
        "rating": "Rate your delivery",
        "send": "Send",
        "thanks": "Thank you, we have your message.",
        "opt_out": "No more messages",
        "opt_out_ask": "Stop all messages about your orders to this e-mail address and "
        "phone number?",
        "opt_out_done": "Done: you will get no more messages from us.",
        "no_rating": "no rating",
    },
    "de": {
        "title": "Ihre Lieferung",
        "confirmed": "Bestellung bestätigt: Wir bereiten sie vor.",
        "dispatched": "Unterwegs.",
        "next_stop": "Sie sind als Nächstes dran: Der Fahrer ist auf dem Weg zu Ihnen.",
        "delivered": "Zugestellt.",
        "failed": "Wir konnten nicht zustellen und melden uns für einen neuen Termin.",
        "cancelled": "Diese Bestellung wurde storniert.",
        "window": "Erwartet",
        "stops": "Stopps vor Ihrem",
        "notes": "Hinweise für den Fahrer",
        "rating": "Lieferung bewerten",
        "send": "Senden",
        "thanks": "Danke, Ihre Nachricht ist angekommen.",
        "opt_out": "Keine Nachrichten mehr",
        "opt_out_ask": "Alle Nachrichten zu Ihren Bestellungen an diese E-Mail-Adresse und "
        "Telefonnummer abbestellen?",
        "opt_out_done": "Erledigt: Sie erhalten keine Nachrichten mehr von uns.",
        "no_rating": "keine Bewertung",
    },
}
EXTRA_HEADERS = {"X-Robots-Tag": "noindex, nofollow"}


def _read_page(hub: Any, token: str) -> dict[str, Any] | None:
    """The page's figures for ``token`` (runs in a worker thread), or None."""

    def read(conn: Any) -> dict[str, Any] | None:
        found = tracking.view(conn, token)
        if found is None:
            return None
        country = conn.scalar(
            order_t.select()
            .with_only_columns(order_t.c.ship_country)
            .where(order_t.c.id == found.order_id)
        )
        return {"view": found, "country": country or ""}

    result: dict[str, Any] | None = hub.read(read)
    return result


def _language(hub: Any, country: str) -> str:
    lang = notify.language_for(hub.settings.notifications, country)
    return lang if lang in TEXT else "en"


def _context(hub: Any, token: str, found: dict[str, Any]) -> dict[str, Any]:
    view: tracking.TrackingView = found["view"]
    lang = _language(hub, found["country"])
    zone = notify.customer_zone(hub.settings)
    pattern = TIME_PATTERNS.get(lang, "HH:mm z")
    locale = lang.replace("-", "_")

    def clock(value: Any) -> str:
        local = value.astimezone(zone)
        return str(format_time(local, pattern, tzinfo=zone, locale=locale))

    window = ""
    if view.eta_start is not None and view.eta_end is not None:
        local = view.eta_start.astimezone(zone)
        day = format_skeleton("MMMMEEEEd", local, locale=locale)
        window = f"{day}, {clock(view.eta_start)} – {clock(view.eta_end)}"
    text = TEXT[lang]
    return {
        "title": text["title"],
        "text": text,
        "lang": lang,
        "token": token,
        "stage": view.stage,
        "stage_text": text.get(view.stage, view.stage),
        "window": window if view.stage not in ("delivered", "cancelled", "failed") else "",
        "stops_before": view.stops_before if view.stage in ("dispatched", "next_stop") else None,
        "may_rate": view.stage in ("delivered", "failed"),
        "open": view.stage not in ("delivered", "cancelled"),
    }


def _not_found(request: web.Request) -> web.Response:
    return _page(
        request,
        "tracking_missing.html",
        {"title": "Not found", "message": "No order has this tracking link."},
        404,
    )


def _page(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    response = render(request, template, context, status)
    response.headers.update(EXTRA_HEADERS)
    return response


async def tracking_page(request: web.Request) -> web.Response:
    """``GET /track/{token}``: stage, ETA window, the driver's approach; notes, rating."""
    hub = hub_of(request)
    token = request.match_info["token"]
    found = await asyncio.to_thread(_read_page, hub, token)
    if found is None:
        return _not_found(request)
    context = _context(hub, token, found)
    if request.query.get("thanks"):
        context["flash_text"] = context["text"]["thanks"]
    return _page(request, "tracking.html", context)


async def leave_feedback(request: web.Request) -> web.Response:
    """``POST /track/{token}/feedback``: a note and/or a rating (1-5); 404 for an unknown
    token and 400 naming the field for bad input, nothing stored either way."""
    hub = hub_of(request)
    token = request.match_info["token"]
    form = await request.post()
    note, rating = str(form.get("note", "")), str(form.get("rating", ""))
    try:
        await asyncio.to_thread(
            hub.write, lambda c: tracking.leave_feedback(c, token, note, rating)
        )
    except NotFound:
        return _not_found(request)
    except InvalidInput as error:
        found = await asyncio.to_thread(_read_page, hub, token)
        context = _context(hub, token, found) if found else {"title": "Not accepted"}
        context["error"] = str(error)
        return _page(request, "tracking.html", context, 400)
    raise web.HTTPSeeOther(f"/track/{token}?thanks=1")


async def opt_out_page(request: web.Request) -> web.Response:
    """``GET /track/{token}/opt-out``: asks; ``POST``: records the opt-out."""
    hub = hub_of(request)
    token = request.match_info["token"]
    found = await asyncio.to_thread(_read_page, hub, token)
    if found is None:
        return _not_found(request)
    context = _context(hub, token, found)
    if request.method == "POST":
        await asyncio.to_thread(hub.write, lambda c: notify.opt_out_order(c, token))
        context["done"] = True
    return _page(request, "tracking_opt_out.html", context)


async def status_callback(request: web.Request) -> web.Response:
    """``POST /notifications/{notifier}/status``: a signed delivery-status report."""
    hub = hub_of(request)
    name = request.match_info["notifier"]
    try:
        notifier = hub.notifier(name)
    except NotFound as error:
        return web.json_response({"error": str(error), "field": "notifier"}, status=404)
    form = {k: str(v) for k, v in (await request.post()).items()}
    url = f"{notify.public_url(hub.settings)}/notifications/{name}/status"
    if not await asyncio.to_thread(notifier.verify_callback, url, dict(request.headers), form):
        return web.json_response(
            {"error": "the status report's signature is not valid", "field": "signature"},
            status=403,
        )
    try:
        report = notifier.parse_callback(form)
    except (KeyError, ValueError) as error:
        return web.json_response(
            {"error": f"unreadable status report: {error}", "field": "body"}, status=400
        )
    try:
        known = await asyncio.to_thread(hub.write, lambda c: notify.record_report(c, name, report))
    except HubError as error:
        return web.json_response({"error": str(error), "field": error.field}, status=400)
    if not known:
        return web.json_response(
            {"error": f"no message {report.provider_id}", "field": "provider_id"}, status=404
        )
    return web.json_response({"recorded": True, "status": report.status})


def routes(app: web.Application) -> None:
    app.router.add_get("/track/{token}", tracking_page)
    app.router.add_post("/track/{token}/feedback", leave_feedback)
    app.router.add_get("/track/{token}/opt-out", opt_out_page)
    app.router.add_post("/track/{token}/opt-out", opt_out_page)
    app.router.add_post("/notifications/{notifier}/status", status_callback)
