"""The order desk: server-rendered pages for the merchant's people (aiohttp-jinja2).

:func:`mount` adds them to the web app: sign in and out, the dashboard at ``/``, orders
(list, page, release, cancel, new B2B order), stock, the spreadsheet import, reports, the
live view of the day's routes (``/live``), a small
stylesheet and script under ``/static/``. Sessions live in an encrypted, signed cookie
(aiohttp-session); every form carries the session's CSRF token.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from hub.core.runtime import Hub
from hub.core.users import web_secret_key
from hub.web.pages import (
    auth,
    dashboard,
    driver,
    entry,
    live,
    orders,
    reports,
    stock,
    tracking,
    uploads,
)
from hub.web.pages.common import HUB_KEY, ago, day, local, zone_of

HERE = Path(__file__).resolve().parent.parent
SESSION_HOURS = 12


def _money(value: object, currency: str = "") -> str:
    try:
        text = f"{value:,.2f}"
    except (TypeError, ValueError):
        text = str(value)
    return f"{text} {currency}".strip()


def mount(app: web.Application, hub: Hub) -> None:
    """Add the order desk's pages to ``app`` for ``hub``."""
    app[HUB_KEY] = hub
    zone = zone_of(hub)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.ChainableUndefined,
    )
    env.filters["ago"] = lambda value: ago(value, zone)
    env.filters["local"] = lambda value: local(value, zone)
    env.filters["day"] = day
    env.filters["clock"] = lambda value: "" if value is None else f"{value.astimezone(zone):%H:%M}"
    env.filters["money"] = _money
    env.filters["words"] = lambda value: str(value or "").replace("_", " ")
    setup_sessions(
        app,
        EncryptedCookieStorage(
            web_secret_key(hub.settings),
            cookie_name="hub_desk",
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="Lax",
        ),
    )
    app.router.add_static("/static/", HERE / "static", name="static", append_version=True)
    for module in (auth, dashboard, driver, orders, entry, stock, uploads, tracking, reports, live):
        module.routes(app)
