"""Helpers for sandboxes: local aiohttp emulators of the services channel plugins talk to.

A plugin's ``sandbox.py`` builds an :class:`aiohttp.web.Application` that answers
the API the plugin uses. :class:`SandboxServer` runs such an app on a free port of
127.0.0.1 in a thread of its own, so that blocking client libraries (and tests,
and ``make demo``) can talk to it over real HTTP. :class:`Faults` are the knobs
every sandbox honours through :func:`fault_middleware`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web


@dataclass
class Faults:
    """Failures the sandbox injects into the next requests, counted down as they fire."""

    rate_limited: int = 0  # answer 429 with Retry-After
    retry_after: float = 1.0
    server_errors: int = 0  # answer 503
    timeouts: int = 0  # hold the request for ``timeout_seconds`` before answering
    timeout_seconds: float = 10.0
    malformed: int = 0  # answer 200 with a truncated JSON body

    def take(self, name: str) -> bool:
        """Consume one fault of ``name`` if any is pending."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_middleware(
    faults: Faults, rate_limited_response: Callable[[Faults], web.Response] | None = None
) -> Callable:
    """Build a middleware that injects ``faults`` before the real handler runs.

    ``rate_limited_response`` lets a sandbox shape its 429 the way its service does.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox"):
            return await handler(request)
        if faults.take("rate_limited"):
            if rate_limited_response is not None:
                return rate_limited_response(faults)
            return web.json_response(
                {"errors": "Too many requests"},
                status=429,
                headers={"Retry-After": f"{faults.retry_after:g}"},
            )
        if faults.take("server_errors"):
            return web.json_response({"errors": "Service unavailable"}, status=503)
        if faults.take("timeouts"):
            await asyncio.sleep(faults.timeout_seconds)
        response = await handler(request)
        if faults.take("malformed") and isinstance(response, web.Response) and response.body:
            body = bytes(response.body)  # type: ignore[arg-type]
            return web.Response(
                body=body[: max(1, len(body) // 2)],
                status=response.status,
                content_type="application/json",
            )
        return response

    return middleware


class SandboxServer:
    """Run an aiohttp application on 127.0.0.1 in a background thread.

    >>> with SandboxServer(app) as server:
    ...     requests.get(server.url + "/ping")
    """

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        """Start serving; returns once the port is bound."""
        self._thread = threading.Thread(target=self._serve, name="sandbox", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._startup())
        except BaseException as error:  # reported to start()'s caller
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
        self.loop.close()

    async def _startup(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server: Any = site._server
        if self.port == 0 and server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]

    def call(self, coro: Awaitable) -> object:
        """Run a coroutine on the server's loop from another thread and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self.loop is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class DemoItem:
    """One product of a demo catalogue: ``quantity`` None means the store does not track it."""

    sku: str
    name: str
    price: str
    quantity: int | None


class SoldOut(Exception):
    """The store refused a sale: it has too few units in its own stock."""


class DemoStore(Protocol):
    """What a channel plugin's sandbox offers ``hub demo`` and the benchmarks.

    A channel class points its ``sandbox`` attribute at a zero-argument factory of such a
    store. The store emulates the service in-process and is served over real HTTP.
    """

    def serve(self) -> Any:
        """A server for the store, not started: ``.start()``, ``.url``, ``.stop()``."""

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The ``[channels.<name>]`` section that connects the hub to the store at ``url``."""

    def seed(self, items: list[DemoItem]) -> None:
        """Create the catalogue with these quantities."""

    def subscribe(self, url: str) -> None:
        """Send the plugin's webhook topics to ``url``."""

    def deliver(self) -> int:
        """Deliver pending webhooks now; returns how many were posted."""

    def sell(self, sku: str, quantity: int) -> str:
        """A customer checks out; returns the order id. Raises :class:`SoldOut`."""

    def cancel(self, order_id: str) -> None:
        """The merchant cancels the order in the store's admin."""

    def stock(self, sku: str) -> int | None:
        """The quantity the store shows now."""

    def stock_calls(self) -> int:
        """How many API calls changed stock so far."""
