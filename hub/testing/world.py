"""A hub around one channel plugin and its sandbox store, for the contract suite.

:class:`ContractWorld` serves the plugin's sandbox (a :class:`hub.sandbox.DemoStore`) over
real HTTP, opens a real hub on a real database with that store as its one channel, runs
the real sync engine, and serves the hub's webhook endpoint the store posts to. Nothing of
the hub is replaced: the suite sees what a merchant's hub would do with the plugin.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from hub.channels import Channel
from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.listings import import_listings
from hub.core.models import dead_letter_t, inbox_t, order_t
from hub.core.orderbook import find_order
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.errors import NotFound
from hub.hookspecs import hookimpl
from hub.sandbox import DemoItem, SandboxServer
from hub.web.app import make_app

#: The channel's name in the contract's hub.
CHANNEL = "contract"
#: The opening catalogue: the store and the hub's location ``main`` hold the same units.
ITEMS = [DemoItem("MUG", "Contract mug", "12.50", 10), DemoItem("TEE", "Contract tee", "20.00", 4)]


class _Registration:
    """Registers the channel class under test with the contract's hub."""

    def __init__(self, channel_class: type[Channel]) -> None:
        self.channel_class = channel_class

    @hookimpl
    def register_channel_types(self, register: Callable[[type], None]) -> None:
        register(self.channel_class)


class Capture:
    """A webhook endpoint keeping what the store posts (to look at, or to forge from)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.json_response({"ok": True})


@dataclass
class ContractWorld:
    """The plugin's store and a hub selling its catalogue through it (channel ``contract``).

    ``store`` is the sandbox (:class:`hub.sandbox.DemoStore`), ``hub`` and ``sync`` the
    real hub and sync engine on ``database_url``, ``hooks_url`` the hub's webhook
    endpoint for this channel (the store is subscribed to it by :meth:`subscribe_hub`).
    """

    channel_class: type[Channel]
    database_url: str
    config: Mapping[str, Any]
    store: Any = None
    server: Any = None
    hub: Hub = field(init=False)
    sync: Sync = field(init=False)
    section: dict[str, Any] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    _hooks: SandboxServer | None = None
    _capture: SandboxServer | None = None

    def start(self, items: list[DemoItem] | None = None) -> ContractWorld:
        """Seed and serve the store, open the hub, import the listings, push once."""
        items = ITEMS if items is None else items
        self.store = self.channel_class.sandbox()
        self.store.faults.retry_after = 0.05
        self.store.faults.timeout_seconds = 1.0
        self.store.seed(items)
        self.server = self.store.serve()
        self.server.start()
        extra = dict(self.config)
        fields = self.channel_class.Config.model_fields
        if "timeout" in fields:
            extra.setdefault("timeout", 0.5)
        extra.setdefault("locations", ["main"])
        # The hub's own pacing is not what the suite checks: let its limiter stand aside.
        extra.setdefault("rate_per_second", 1000.0)
        extra.setdefault("rate_burst", 1000.0)
        self.section = self.store.config_for(self.server.url, **extra)
        self.open_hub()
        received = [(i.sku, i.quantity) for i in items if i.quantity]
        self.received = dict(received)
        self.hub.write(lambda c: [ledger.receive(c, s, "main", q) for s, q in received])
        listings = self.sync.fetch_listings(CHANNEL)
        self.hub.write(lambda c: import_listings(c, CHANNEL, listings))
        self.sync.push_stock(CHANNEL)
        return self

    def open_hub(self) -> None:
        """Open a hub (a new process, as it were) on the database, with a sync engine."""
        settings = parse_settings(
            {
                "database": {"url": self.database_url},
                "locations": {"main": {"name": "Main warehouse"}},
                "channels": {CHANNEL: self.section},
            }
        )
        plugins = (_Registration(self.channel_class),)
        self.hub = Hub.open(settings=settings, plugins=plugins, entry_points=False)
        self.hub.upgrade()
        self.sync = Sync(self.hub, backoff=0.01, attempts=3)

    def restart(self) -> None:
        """Close the hub and open a new one on the same database (a restart after a crash)."""
        self.stop_hooks()
        self.hub.close()
        self.open_hub()

    def subscribe_hub(self) -> str:
        """Serve the hub's webhook endpoint and subscribe the store to it; returns its URL."""
        if self._hooks is None:
            self._hooks = SandboxServer(make_app(self.sync)).start()
            self.store.subscribe(f"{self._hooks.url}/webhooks/{CHANNEL}")
        return f"{self._hooks.url}/webhooks/{CHANNEL}"

    def capture(self) -> Capture:
        """Subscribe the store to an endpoint that only keeps deliveries; returns it."""
        capture = Capture()
        app = web.Application()
        app.router.add_post("/hooks", capture.handle)
        self._capture = SandboxServer(app).start()
        self.store.subscribe(f"{self._capture.url}/hooks")
        return capture

    def stop_hooks(self) -> None:
        for server in (self._hooks, self._capture):
            if server is not None:
                server.stop()
        self._hooks = self._capture = None

    def close(self) -> None:
        """Stop everything this world started."""
        self.stop_hooks()
        if hasattr(self, "hub"):
            self.hub.close()
        if self.server is not None:
            self.server.stop()

    # -- what the hub holds ----------------------------------------------------------------

    def adapter(self) -> Channel:
        """The hub's instance of the channel."""
        return self.hub.channel(CHANNEL)

    def order(self, external_id: str) -> dict[str, Any] | None:
        """The hub's order row for the store's order ``external_id`` (None: not there)."""
        ref = f"{CHANNEL}:{external_id}"
        try:
            return dict(self.hub.read(lambda c: find_order(c, ref)).order)
        except NotFound:
            return None

    def order_count(self) -> int:
        """How many orders of the channel the hub holds."""
        query = sa.select(sa.func.count()).where(order_t.c.channel == CHANNEL)
        return int(self.hub.read(lambda c: c.scalar(query)))

    def reserved(self, sku: str = "MUG") -> int:
        """Units of ``sku`` reserved in the hub over every location."""
        return sum(lv.reserved for lv in self.hub.read(lambda c: ledger.levels(c, sku)))

    def on_hand(self, sku: str = "MUG") -> int:
        """Units of ``sku`` on hand in the hub over every location."""
        return sum(lv.on_hand for lv in self.hub.read(lambda c: ledger.levels(c, sku)))

    def taken(self, sku: str = "MUG") -> int:
        """Units of ``sku`` orders hold in the hub: reserved, or sold and not returned
        (a till's sales arrive sold), counted against what the hub received."""
        return self.reserved(sku) + self.received.get(sku, 0) - self.on_hand(sku)

    def dead_letters(self) -> list[dict[str, Any]]:
        """The hub's dead letters, as rows."""
        query = sa.select(dead_letter_t)
        return [dict(r) for r in self.hub.read(lambda c: c.execute(query).mappings().all())]

    def inbox(self) -> list[dict[str, Any]]:
        """The hub's webhook inbox rows of the channel (status pending, done or dead)."""
        query = sa.select(inbox_t).where(inbox_t.c.channel == CHANNEL)
        return [dict(r) for r in self.hub.read(lambda c: c.execute(query).mappings().all())]

    def journal_problems(self) -> list[Any]:
        """Balances the journal does not add up to (none, when all is well)."""
        return list(self.hub.read(ledger.verify))
