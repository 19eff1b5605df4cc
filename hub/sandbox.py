"""Helpers for sandboxes: local aiohttp emulators of the services channel plugins talk to.

A plugin's ``sandbox.py`` builds an :class:`aiohttp.web.Application` that answers
the API the plugin uses. :class:`SandboxServer` runs such an app on a free port of
127.0.0.1 in a thread of its own, so that blocking client libraries (and tests,
and ``make demo``) can talk to it over real HTTP. :class:`Faults` are the knobs
every sandbox honours through :func:`fault_middleware`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from aiohttp import web


@dataclass
class Faults:
    """Failures the sandbox injects into the next requests, counted down as they fire.

    ``chance`` makes a fault fire at random as well: ``{"server_errors": 0.05}`` answers
    one request in twenty with 503, for as long as the entry stays. ``observers`` are told
    of every API request (method, path, body) before any fault applies; benchmarks use
    them to time a crash of the client to the request it is making.
    """

    rate_limited: int = 0  # answer 429 with Retry-After
    retry_after: float = 1.0
    server_errors: int = 0  # answer 503
    timeouts: int = 0  # hold the request for ``timeout_seconds`` before answering
    timeout_seconds: float = 10.0
    lost_answers: int = 0  # carry the request out, then hold the answer ``timeout_seconds``
    malformed: int = 0  # answer 200 with a truncated JSON body
    duplicate_webhooks: int = 0  # post the next webhook delivery twice (same delivery id)
    reorder_webhooks: int = 0  # post the next pending batch of deliveries newest first
    replay_webhooks: int = 0  # post an earlier delivery's body again under a new delivery id
    chance: dict[str, float] = field(default_factory=dict)
    observers: list[Callable[[str, str, bytes], None]] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def take(self, name: str) -> bool:
        """Consume one fault of ``name`` if any is pending, else fire it by its chance."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        odds = self.chance.get(name, 0.0)
        return odds > 0 and self.rng.random() < odds

    def knobs(self) -> dict[str, Any]:
        """The knobs' values, as JSON (without observers and the random generator)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("observers", "rng")
        }


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
        if faults.observers:
            body = await request.read()  # aiohttp keeps it for the handler
            for observer in list(faults.observers):
                observer(request.method, request.path, body)
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
        if faults.take("lost_answers"):  # done, but the client never hears of it in time
            await asyncio.sleep(faults.timeout_seconds)
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


@dataclass(frozen=True)
class DemoOrder:
    """An order as a demo store holds it: ``status`` is open, fulfilled or cancelled."""

    id: str
    status: str
    lines: dict[str, int]  # SKU -> units


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

    def fulfil(self, order_id: str) -> None:
        """The merchant ships the whole order from the store's admin."""

    def annotate(self, order_id: str, note: str) -> None:
        """The merchant adds a note to the order: a newer version, nothing else changed."""

    def orders(self) -> list[DemoOrder]:
        """Every order the store holds, as it stands now."""

    @property
    def faults(self) -> Faults:
        """The store's fault knobs (its API and its webhooks)."""

    def reactivate_webhooks(self) -> int:
        """Turn subscriptions the store disabled after failed deliveries back on."""

    # The channel contract suite (hub.testing.contract) also needs these four.

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """Extra keys of the channel's section that make the plugin read orders
        ``orders_per_page`` at a time (e.g. ``{"page_size": 2}``), so a few orders span
        several pages."""

    def hold_clock(self, held: bool) -> None:
        """While ``held``, stamp every change with the time the clock was held at (a service
        that gives milliseconds still moves on by one millisecond a change), so two versions
        of an order fall in the same second; ``False`` lets the clock run again."""

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """A customer buys a custom item without a SKU (one the merchant typed in, not in
        the catalogue); returns the order id. A service whose every order line has a SKU
        (the channel declares ``skuless_lines = False``) raises NotImplementedError."""

    def deliver_unreadable(self) -> int:
        """Post a correctly signed delivery whose body is not the service's JSON (cut off
        halfway) to every subscribed address; returns how many were posted."""


# -- webhooks ------------------------------------------------------------------------------


@dataclass
class Subscription:
    """A webhook subscription of a sandbox store: a topic, where to post it, how to sign it."""

    id: int
    topic: str
    delivery_url: str
    secret: str
    name: str = ""
    status: str = "active"
    failures: int = 0


@dataclass
class Delivery:
    """One POST to a delivery URL and what came back (``status`` None: no answer)."""

    delivery_id: int
    webhook_id: int
    topic: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    error: str = ""


#: Builds the headers of one delivery: (subscription, topic, body, delivery id) -> headers.
HeaderMaker = Callable[[Subscription, str, bytes, int], dict[str, str]]


class WebhookDispatcher:
    """Queue and post a sandbox store's webhook deliveries.

    Each change of the store becomes a delivery for every active subscription to its
    topic. Deliveries wait in ``pending`` until :meth:`deliver` posts them (tests decide
    when), or a background thread posts them as they come (:meth:`start_auto`). A
    subscription is disabled after ``max_failures`` failed deliveries in a row. The
    ``duplicate_webhooks`` and ``reorder_webhooks`` faults post the next delivery twice
    (same delivery id), or the next pending batch newest first. ``headers`` gives each
    service its own header names and signature. ``replay_webhooks`` posts an earlier
    delivery's body again under a new delivery id, as a captured delivery re-sent would be.
    """

    def __init__(
        self, faults: Faults, headers: HeaderMaker, *, max_failures: int = 5, name: str = "hooks"
    ) -> None:
        self.faults = faults
        self.headers = headers
        self.max_failures = max_failures
        self.name = name
        self.subscriptions: list[Subscription] = []
        self.pending: list[tuple[Subscription, str, bytes]] = []
        self.delivered: list[Delivery] = []
        self._ids = itertools.count(1)
        self._delivery_ids = itertools.count(9001)
        self._cond = threading.Condition()
        self._auto: threading.Thread | None = None
        self._stopped = False

    def subscribe(self, topic: str, delivery_url: str, secret: str, name: str = "") -> Subscription:
        """Add an active subscription to ``topic``."""
        with self._cond:
            sub = Subscription(next(self._ids), topic, delivery_url, secret, name or topic)
            self.subscriptions.append(sub)
            return sub

    def enqueue(self, topic: str, payload: Any) -> None:
        """Queue ``payload`` for every active subscription to ``topic`` (a store listener)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._cond:
            for sub in self.subscriptions:
                if sub.topic == topic and sub.status == "active":
                    self.pending.append((sub, topic, body))
            self._cond.notify_all()

    def deliver(self) -> list[Delivery]:
        """Post every pending delivery now, in order (unless a fault says otherwise)."""
        with self._cond:
            batch, self.pending = self.pending, []
        if batch and self.faults.take("reorder_webhooks"):
            batch.reverse()
        done = []
        for sub, topic, body in batch:
            delivery = self._post(sub, topic, body, next(self._delivery_ids))
            done.append(delivery)
            if self.faults.take("duplicate_webhooks"):
                done.append(self._post(sub, topic, body, delivery.delivery_id))
            if self.faults.take("replay_webhooks"):
                old = self.faults.rng.choice(self.delivered)
                owner = next(s for s in self.subscriptions if s.id == old.webhook_id)
                done.append(self._post(owner, old.topic, old.body, next(self._delivery_ids)))
        return done

    def post_unreadable(self, body: bytes = b'{"id": 1, "status": "open", "line_items": [{') -> int:
        """Post ``body`` (by default JSON cut off halfway), signed as every delivery is, once
        to each address subscribed (under its first subscription's topic); returns how many
        were posted (:meth:`DemoStore.deliver_unreadable`)."""
        with self._cond:
            firsts = {sub.delivery_url: sub for sub in reversed(self.subscriptions)}
            targets = [s for s in reversed(list(firsts.values())) if s.status == "active"]
        for sub in targets:
            self._post(sub, sub.topic, body, next(self._delivery_ids))
        return len(targets)

    def reactivate(self) -> int:
        """Turn disabled subscriptions back on, as a merchant would; returns how many."""
        with self._cond:
            disabled = [s for s in self.subscriptions if s.status != "active"]
            for sub in disabled:
                sub.status, sub.failures = "active", 0
            return len(disabled)

    def _post(self, sub: Subscription, topic: str, body: bytes, delivery_id: int) -> Delivery:
        headers = self.headers(sub, topic, body, delivery_id)
        delivery = Delivery(delivery_id, sub.id, topic, sub.delivery_url, body, headers)
        try:
            answer = requests.post(sub.delivery_url, data=body, headers=headers, timeout=5)
            delivery.status = answer.status_code
        except requests.RequestException as error:
            delivery.error = f"{type(error).__name__}: {error}"
        ok = delivery.status is not None and 200 <= delivery.status < 300
        sub.failures = 0 if ok else sub.failures + 1
        if sub.failures >= self.max_failures:
            sub.status = "disabled"
        self.delivered.append(delivery)
        return delivery

    def start_auto(self) -> None:
        """Post deliveries from a background thread as soon as they are queued."""
        if self._auto is None:
            self._auto = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._auto.start()

    def stop(self) -> None:
        """Stop the background thread, if any."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self.pending or self._stopped)
                if self._stopped:
                    return
            self.deliver()
