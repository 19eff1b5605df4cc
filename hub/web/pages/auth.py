"""Signing in and out. A failed sign-in gets one message whatever was wrong, and costs
more time the more often it fails for that name or address (brute force slowed down)."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import deque

from aiohttp import web
from aiohttp_session import get_session, new_session

from hub.core import users
from hub.web.pages.common import CSRF_FIELD, current_user, hub_of, page, render

FAILED = "That username and password do not match an active account."
_WINDOW = 15 * 60  # seconds a failure counts against its name and address
_failures: dict[str, deque[float]] = {}


def _safe_next(target: str) -> str:
    """Only a path on this site (never ``//host`` or a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _recent(key: str, at: float) -> int:
    seen = _failures.get(key)
    if not seen:
        return 0
    while seen and seen[0] < at - _WINDOW:
        seen.popleft()
    return len(seen)


def _delay(keys: list[str]) -> float:
    """Seconds to wait before answering: 0 for the first two failures, then doubling
    (0.5, 1, 2, ...) up to 8."""
    at = time.monotonic()
    n = max(_recent(k, at) for k in keys)
    return 0.0 if n < 2 else min(8.0, 0.5 * 2 ** (n - 2))


def _failed(keys: list[str]) -> None:
    at = time.monotonic()
    if len(_failures) > 10_000:  # never grows without bound
        _failures.clear()
    for key in keys:
        _failures.setdefault(key, deque(maxlen=64)).append(at)


async def sign_in_form(request: web.Request) -> web.Response:
    await get_session(request)
    if await current_user(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next", "/")))
    return render(request, "sign_in.html", {"next": _safe_next(request.query.get("next", "/"))})


async def sign_in(request: web.Request) -> web.Response:
    session = await get_session(request)
    form = await request.post()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    expected, sent = session.get("csrf"), form.get(CSRF_FIELD)
    if not (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())
    ):
        return render(
            request,
            "sign_in.html",
            {"next": target, "username": username, "error": "The form had expired: try again."},
            status=403,
        )
    keys = [f"user:{username.lower()}", f"ip:{request.remote}"]
    wait = _delay(keys)
    if wait:
        await asyncio.sleep(wait)
    hub = hub_of(request)
    user = await asyncio.to_thread(hub.write, lambda c: users.authenticate(c, username, password))
    if user is None:
        _failed(keys)
        return render(
            request,
            "sign_in.html",
            {"next": target, "username": username, "error": FAILED},
            status=401,
        )
    for key in keys:
        _failures.pop(key, None)
    fresh = await new_session(request)  # a new session: nothing of the old one carries over
    fresh["uid"] = user.id
    raise web.HTTPSeeOther(target)


@page("viewer")
async def sign_out(request: web.Request) -> web.Response:
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/sign-in")


def routes(app: web.Application) -> None:
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_post("/sign-out", sign_out)
