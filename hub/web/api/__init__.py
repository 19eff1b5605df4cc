"""The REST API under ``/api/v1``: orders, stock, customers and products.

:func:`api_app` builds it as an aiohttp sub-application; :func:`hub.web.app.make_app`
mounts it. Its OpenAPI 3.1 document (``/api/v1/openapi.json``) and reference page
(``/api/v1/docs``) are generated from :data:`hub.web.api.routes.ROUTES` and the pydantic
models in :mod:`hub.web.api.schemas`.
"""

from __future__ import annotations

import json

from aiohttp import web

from hub.core.runtime import Hub
from hub.web.api.machinery import API_KEY, ApiConfig, endpoint, errors_middleware
from hub.web.api.openapi import PREFIX, build_document, render_docs
from hub.web.api.routes import ROUTES
from hub.web.livefeed import close_feed

DOCUMENT_KEY = web.AppKey("openapi", dict)


def api_app(hub: Hub, *, token_cache_seconds: float = 2.0) -> web.Application:
    """The API as a sub-application to mount at :data:`PREFIX`."""
    app = web.Application(middlewares=[errors_middleware])
    app[API_KEY] = ApiConfig(hub, token_cache_seconds=token_cache_seconds)
    document = build_document(ROUTES, title=hub.settings.hub.name)
    app[DOCUMENT_KEY] = document
    text = json.dumps(document, indent=1)
    page = render_docs(document)

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def stop_workers(app: web.Application) -> None:
        app[API_KEY].executor.shutdown(wait=False, cancel_futures=True)

    async def stop_live_feed(app: web.Application) -> None:
        await close_feed(app[API_KEY])

    app.on_shutdown.append(stop_live_feed)  # before the workers stop: ETAs being computed
    app.on_cleanup.append(stop_workers)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, (route.custom or endpoint)(route))
    return app


def mount(app: web.Application, hub: Hub) -> None:
    """Add the API to ``app`` under :data:`PREFIX`."""
    api = api_app(hub)
    app.add_subapp(PREFIX, api)
    app[API_KEY] = api[API_KEY]  # its settings, reachable from the main app


__all__ = ["PREFIX", "ROUTES", "api_app", "mount"]
