"""The driver app: a page for the driver's phone at ``/driver`` (any phone browser, no app
store). Drivers sign in with their token or a one-time link (``hub drivers link``);
either opens a session of its own (the desk's cookie, naming the driver, never a desk
user). The page itself is a shell: ``/static/driver.js`` reads the route from
``/api/v1/driver/route``, queues actions and positions on the phone while it is offline
and sends them when it is back (:mod:`hub.web.api.driver`).

A one-time link is used only by the button on its page (a POST), so a messenger app
that opens links to preview them does not spend it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from aiohttp_session import get_session, new_session

from hub.core import drivers, driving
from hub.web.api.driver import SESSION_KEY, SESSION_TOKEN_KEY
from hub.web.pages.common import csrf_ok, csrf_token, hub_of, page, render

SERVICE_WORKER = Path(__file__).resolve().parent.parent / "static" / "driver-sw.js"
USED_LINK = (
    "This sign-in link was used already, has expired or is not one the hub made: "
    "ask the office for a new one."
)


async def _signed_in(request: web.Request) -> drivers.DriverInfo | None:
    session = await get_session(request)
    driver_id = session.get(SESSION_KEY)
    if not isinstance(driver_id, int):
        return None
    hub = hub_of(request)
    key = str(session.get(SESSION_TOKEN_KEY, ""))
    driver = await asyncio.to_thread(hub.read, lambda c: drivers.session_driver(c, driver_id, key))
    if driver is None:
        session.invalidate()
    return driver  # type: ignore[no-any-return]


async def _open_session(request: web.Request, driver: drivers.DriverInfo) -> None:
    fresh = await new_session(request)  # nothing of an earlier session carries over
    fresh[SESSION_KEY] = driver.id
    fresh[SESSION_TOKEN_KEY] = driver.prefix  # a new token ends this session
    csrf_token(fresh)


async def app_page(request: web.Request) -> web.Response:
    """The driver's route (signed in) or the sign-in form."""
    driver = await _signed_in(request)
    if driver is None:
        return render(request, "driver_sign_in.html", {})
    return render(request, "driver.html", {"driver": driver})


async def sign_in(request: web.Request) -> web.Response:
    """Sign in with the driver token from ``hub drivers add``."""
    form = await request.post()
    token = str(form.get("token", "")).strip()
    if not await csrf_ok(request):
        error = "The form had expired: try again."
        return render(request, "driver_sign_in.html", {"error": error}, status=403)
    hub = hub_of(request)
    driver = await asyncio.to_thread(hub.read, lambda c: drivers.authenticate(c, token))
    if driver is None:
        error = "That token does not belong to an active driver."
        return render(request, "driver_sign_in.html", {"error": error}, status=401)
    await _open_session(request, driver)
    raise web.HTTPSeeOther("/driver")


async def link_page(request: web.Request) -> web.Response:
    """A one-time link's page: whose it is and a button to sign in (not used yet)."""
    token = request.match_info["token"]
    hub = hub_of(request)
    await get_session(request)  # the form's CSRF token needs a session
    driver = await asyncio.to_thread(hub.read, lambda c: drivers.peek_link(c, token))
    if driver is None:
        return render(request, "driver_sign_in.html", {"error": USED_LINK}, status=404)
    return render(request, "driver_link.html", {"driver": driver, "token": token})


async def use_link(request: web.Request) -> web.Response:
    """Spend the one-time link and open the driver's session."""
    token = request.match_info["token"]
    if not await csrf_ok(request):
        error = "The page had expired: open the link again."
        return render(request, "driver_sign_in.html", {"error": error}, status=403)
    hub = hub_of(request)
    driver = await asyncio.to_thread(hub.write, lambda c: drivers.use_link(c, token))
    if driver is None:
        return render(request, "driver_sign_in.html", {"error": USED_LINK}, status=404)
    await _open_session(request, driver)
    raise web.HTTPSeeOther("/driver")


async def sign_out(request: web.Request) -> web.Response:
    if await csrf_ok(request):
        (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/driver")


async def service_worker(request: web.Request) -> web.FileResponse:
    """The service worker that keeps the page on the phone (its scope is /driver)."""
    return web.FileResponse(
        SERVICE_WORKER,
        headers={
            "Content-Type": "text/javascript",
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": "/driver",
        },
    )


@page("viewer")
async def proof(request: web.Request) -> web.StreamResponse:
    """A delivery's signature or photo, for the office (desk users, any role)."""
    hub = hub_of(request)
    try:
        action_id = int(request.match_info["action"])
    except ValueError:
        raise web.HTTPNotFound() from None
    kind = request.match_info["kind"]
    path = await asyncio.to_thread(
        hub.read, lambda c: driving.proof_file(c, hub.settings, action_id, kind)
    )
    kinds = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
    return web.FileResponse(
        path,
        headers={
            "Content-Type": kinds[path.suffix],
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )


def routes(app: web.Application) -> None:
    app.router.add_get("/driver", app_page)
    app.router.add_get("/driver/sw.js", service_worker)
    app.router.add_post("/driver/sign-in", sign_in)
    app.router.add_get("/driver/link/{token}", link_page)
    app.router.add_post("/driver/link/{token}", use_link)
    app.router.add_post("/driver/sign-out", sign_out)
    app.router.add_get("/driver/proof/{action}/{kind}", proof)
