"""Carriers' tracking webhooks: ``POST /carriers/<carrier name>/tracking``.

The signature is checked first (in a worker thread, constant time, by the carrier
plugin); a forged or unsigned delivery is refused with 401 and nothing is recorded. A
verified delivery's tracking events are recorded once per label
(:func:`hub.core.labels.accept_tracking`); a delivery that cannot be read is refused
with 400; an unknown carrier is 404.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from hub.core.labels import Carriers, accept_tracking
from hub.core.runtime import Hub
from hub.errors import NotFound, UnreadableWebhook, WebhookRejected

CARRIERS_KEY = web.AppKey("carriers", Carriers)
HUB_KEY = web.AppKey("carriers_hub", Hub)


def mount(app: web.Application, hub: Hub) -> None:
    """Add the carriers' tracking webhook endpoint to ``app``."""
    app[HUB_KEY] = hub
    app[CARRIERS_KEY] = Carriers(hub)
    app.router.add_post("/carriers/{carrier}/tracking", tracking)
    app.on_cleanup.append(_close)


async def _close(app: web.Application) -> None:
    app[CARRIERS_KEY].close()


async def tracking(request: web.Request) -> web.Response:
    """Verify, then record a carrier's tracking events; the counts as JSON."""
    name = request.match_info["carrier"]
    body = await request.read()
    headers = dict(request.headers)
    hub, carriers = request.app[HUB_KEY], request.app[CARRIERS_KEY]
    try:
        counts = await asyncio.to_thread(accept_tracking, hub, carriers, name, headers, body)
    except UnreadableWebhook as error:
        return web.json_response({"error": str(error), "field": "body"}, status=400)
    except WebhookRejected as error:
        return web.json_response({"error": str(error), "field": "signature"}, status=401)
    except NotFound as error:
        return web.json_response({"error": str(error), "field": "carrier"}, status=404)
    return web.json_response(counts)
