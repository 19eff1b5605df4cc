"""What every page shares: the signed-in user, roles, CSRF tokens, rendering, times in
the merchant's zone, and hub errors shown as one line instead of a traceback."""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import Session, get_session

from hub.core import users
from hub.core.runtime import Hub
from hub.errors import Conflict, HubError, NotFound

log = logging.getLogger("hub.web.pages")

HUB_KEY = web.AppKey("desk_hub", Hub)
USER = web.RequestKey("desk_user", users.UserInfo)  # the signed-in user
FLASH = web.RequestKey("desk_flash", str)  # the message to show once
CSRF_FIELD = "_csrf"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: every page: no framing by other sites, scripts and styles from the hub only, never
#: cached (they show orders and customers)
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB_KEY]


def zone_of(hub: Hub) -> ZoneInfo:
    return ZoneInfo(hub.settings.hub.timezone)


# -- times, as people read them ------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def span(seconds: float) -> str:
    """``"10 minutes"``, ``"3 hours"``, ``"2 days"``: a duration in the largest whole unit."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return _plural(seconds, "second")
    if seconds < 3600:
        return _plural(seconds // 60, "minute")
    if seconds < 86400:
        return _plural(seconds // 3600, "hour")
    return _plural(seconds // 86400, "day")


def local(value: datetime | None, zone: ZoneInfo) -> str:
    """``"30 Nov 2026, 14:05"`` in ``zone`` ("" for None)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime("%-d %b %Y, %H:%M")


def ago(value: datetime | None, zone: ZoneInfo, at: datetime | None = None) -> str:
    """``"just now"``, ``"2 minutes ago"``, ``"5 hours ago"`` within a day, else the local
    date and time (``"yesterday, 14:05"``, ``"3 Nov 2026, 09:30"``)."""
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    at = at or datetime.now(UTC)
    seconds = (at - value).total_seconds()
    if -60 < seconds < 45:
        return "just now"
    if 0 < seconds < 86400:
        return f"{span(seconds)} ago"
    here, today = value.astimezone(zone), at.astimezone(zone).date()
    if (today - here.date()).days == 1:
        return f"yesterday, {here:%H:%M}"
    return local(value, zone)


def day(value: date | None) -> str:
    return "" if value is None else value.strftime("%a %-d %b %Y")


# -- sessions, users, roles, CSRF --------------------------------------------------------


def csrf_token(session: Session) -> str:
    """The session's synchronizer token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


async def current_user(request: web.Request) -> users.UserInfo | None:
    """The signed-in user, when the session names one who may still sign in."""
    session = await get_session(request)
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    hub = hub_of(request)
    user = await asyncio.to_thread(hub.read, lambda c: users.active_user(c, uid))
    if user is None:
        session.invalidate()
    return user


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """``template`` with what every page needs: user, CSRF token, flash, hub name, zone."""
    hub = hub_of(request)
    session = request.get("aiohttp_session")
    base: dict[str, Any] = {
        "user": request.get(USER),
        "csrf": csrf_token(session) if session is not None else "",
        "hub_name": hub.settings.hub.name,
        "zone": hub.settings.hub.timezone,
        "path": request.path,
        "flash": request.get(FLASH, ""),
        "may_sell": request.get(USER) is not None and users.may(request[USER].role, "sales"),
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    response.headers.update(PAGE_HEADERS)
    return response


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    """The error page: one line saying what went wrong."""
    titles = {400: "Not accepted", 403: "Not allowed", 404: "Not found", 409: "Not possible"}
    return render(
        request,
        "error.html",
        {"title": titles.get(status, "Something went wrong"), "message": message},
        status=status,
    )


def status_for(error: HubError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 400


def field_message(error: HubError) -> str:
    """The error's text without the field name it starts with ("lines[0].sku: ...")."""
    text = str(error)
    field = getattr(error, "field", "") or ""
    for prefix in (f"{field}: ", f"{field.rsplit('.', 1)[-1]}: "):
        if field and text.startswith(prefix):
            return text[len(prefix) :]
    return text


async def csrf_ok(request: web.Request) -> bool:
    """Whether the posted form carries the session's CSRF token."""
    session = await get_session(request)
    expected = session.get("csrf")
    form = await request.post()
    sent = form.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())
    )


def page(needed: str = "viewer") -> Callable[[Handler], Handler]:
    """A page for signed-in users whose role is at least ``needed``. GETs without a
    session go to the sign-in page; every POST must carry the session's CSRF token (403
    otherwise); a role that may not is refused with 403, whatever the page showed.
    Hub errors become a one-line error page."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def inner(request: web.Request) -> web.StreamResponse:
            user = await current_user(request)
            if user is None:
                if request.method == "GET":
                    raise web.HTTPSeeOther(f"/sign-in?next={quote(request.path_qs, safe='')}")
                return refuse(request, 403, "Your session has ended: sign in again.")
            request[USER] = user
            session = await get_session(request)
            request[FLASH] = session.pop("flash", "")
            if request.method == "POST" and not await csrf_ok(request):
                return refuse(
                    request,
                    403,
                    "This form has expired or did not come from the desk."
                    " Reload the page and try again.",
                )
            if not users.may(user.role, needed):
                return refuse(
                    request, 403, f"Your role ({user.role}) may not do this; ask an admin."
                )
            try:
                return await handler(request)
            except HubError as error:
                return refuse(request, status_for(error), str(error))

        return inner

    return wrap


async def flash(request: web.Request, message: str) -> None:
    """Show ``message`` on the next page."""
    (await get_session(request))["flash"] = message


def form_text(form: Any, name: str, most: int = 4000) -> str:
    value = form.get(name, "")
    return value.strip()[:most] if isinstance(value, str) else ""
