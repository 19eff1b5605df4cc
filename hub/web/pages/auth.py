"""Signing in and out. A failed sign-in gets one message whatever was wrong, and costs
more time the more often it fails for that name or address (brute force slowed down)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from aiohttp import web
from aiohttp_session import get_session, new_session

from hub.core import users
from hub.web.pages.common import csrf_ok, current_user, hub_of, page, render

FAILED = "That username and password do not match an active account."
_WINDOW = 15 * 60  # seconds a failure counts against its name and address
_MOST_KEYS = 10_000  # names and addresses remembered at once
#: per app: recent failed sign-ins per name ("user:...") and address ("ip:...")
FAILURES: web.AppKey[dict[str, deque[float]]] = web.AppKey("desk_failures")


def _safe_next(target: str) -> str:
    """Only a path on this site (never ``//host`` or a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _recent(failures: dict[str, deque[float]], key: str, at: float) -> int:
    seen = failures.get(key)
    if not seen:
        return 0
    while seen and seen[0] < at - _WINDOW:
        seen.popleft()
    return len(seen)


def _delay(failures: dict[str, deque[float]], user_key: str, address_key: str) -> float:
    """Seconds to wait before answering: none for a name's first two recent failures,
    then doubling (0.5, 1, 2, ...) up to 8; an address (a whole office may share one)
    counts one for every five of its failures."""
    at = time.monotonic()
    n = max(_recent(failures, user_key, at), _recent(failures, address_key, at) // 5)
    return 0.0 if n < 2 else min(8.0, 0.5 * 2 ** (n - 2))


def _failed(failures: dict[str, deque[float]], keys: list[str]) -> None:
    at = time.monotonic()
    if len(failures) > _MOST_KEYS:  # never grows without bound: forget the stale first
        for key in [k for k, seen in failures.items() if not seen or seen[-1] < at - _WINDOW]:
            del failures[key]
        if len(failures) > _MOST_KEYS:
            failures.clear()
    for key in keys:
        failures.setdefault(key, deque(maxlen=64)).append(at)


async def sign_in_form(request: web.Request) -> web.Response:
    await get_session(request)
    if await current_user(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next", "/")))
    return render(request, "sign_in.html", {"next": _safe_next(request.query.get("next", "/"))})


async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    if not await csrf_ok(request):
        return render(
            request,
            "sign_in.html",
            {"next": target, "username": username, "error": "The form had expired: try again."},
            status=403,
        )
    keys = [f"user:{username.lower()}", f"ip:{request.remote}"]
    failures = request.app[FAILURES]
    wait = _delay(failures, *keys)
    if wait:
        await asyncio.sleep(wait)
    hub = hub_of(request)
    user = await asyncio.to_thread(hub.write, lambda c: users.authenticate(c, username, password))
    if user is None:
        _failed(failures, keys)
        return render(
            request,
            "sign_in.html",
            {"next": target, "username": username, "error": FAILED},
            status=401,
        )
    failures.pop(keys[0], None)  # the name's slate is clean; the address's is not
    fresh = await new_session(request)  # a new session: nothing of the old one carries over
    fresh["uid"] = user.id
    raise web.HTTPSeeOther(target)


@page("viewer")
async def sign_out(request: web.Request) -> web.Response:
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/sign-in")


def routes(app: web.Application) -> None:
    app[FAILURES] = {}
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_post("/sign-out", sign_out)
