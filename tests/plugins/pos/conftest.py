"""Fixtures for the Square plugin: a sandbox seller with two shops served over HTTP, the
channel pointing at it through the real ``squareup`` SDK, a webhook receiver that verifies
deliveries with the channel, and a whole hub (SQLite and PostgreSQL) with the sandbox as
its ``square`` channel and its webhook endpoint served."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from builders import Receiver, make_hub

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app
from hub_plugins.pos import SquareChannel, SquareConfig, SquareSandbox

#: Square location ids of the sandbox's two shops and the hub locations they map to.
SHOP_A, SHOP_B = "LSHOPA", "LSHOPB"
LOCATION_MAP = {SHOP_A: "main", SHOP_B: "store"}
PUBLIC_URL = "https://hub.example.com/webhooks/square"


def new_sandbox() -> SquareSandbox:
    """Two shops, quick fault knobs, signatures over the hub's public URL."""
    square = SquareSandbox(notification_url=PUBLIC_URL)
    square.faults.retry_after = 0.05
    square.faults.timeout_seconds = 0.5
    square.add_location("High Street", SHOP_A)
    square.add_location("Station Road", SHOP_B)
    return square


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint on its own port; ``receiver.channel`` verifies deliveries."""
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/square", hooks.handle)
    with SandboxServer(app) as server:
        hooks.url = server.url + "/hooks/square"
        yield hooks


@pytest.fixture
def sandbox(receiver: Receiver) -> SquareSandbox:
    """The seller; its webhooks go to ``receiver``, signed over :data:`PUBLIC_URL`."""
    square = new_sandbox()
    square.subscribe(receiver.url, PUBLIC_URL)
    return square


@pytest.fixture
def server(sandbox: SquareSandbox) -> Iterator[SandboxServer]:
    """The sandbox served on 127.0.0.1."""
    with sandbox.serve() as running:
        yield running


def make_channel(square: SquareSandbox, url: str, **overrides: object) -> SquareChannel:
    """A channel for ``square`` served at ``url``; ``overrides`` change config keys."""
    settings = {
        **square.config_for(url, location_map=LOCATION_MAP, timeout=2.0),
        **overrides,
    }
    return SquareChannel("square", SquareConfig(**settings))


@pytest.fixture
def channel(sandbox: SquareSandbox, server: SandboxServer, receiver: Receiver) -> SquareChannel:
    """The channel under test, also used by ``receiver`` to verify webhooks."""
    adapter = make_channel(sandbox, server.url)
    receiver.channel = adapter
    return adapter


@dataclass
class World:
    """A hub whose ``square`` channel is the sandbox, and a ``web`` channel (manual) that
    may sell from the shop at hub location ``store`` too."""

    hub: Hub
    sync: Sync
    square: SquareSandbox
    hooks_url: str  # the hub's webhook endpoint for the square channel, as served

    def import_listings(self) -> None:
        items = self.sync.fetch_listings("square")
        self.hub.write(lambda c: import_listings(c, "square", items))

    def level(self, sku: str) -> dict[str, tuple[int, int]]:
        return {
            x.location: (x.on_hand, x.reserved)
            for x in self.hub.read(lambda c: ledger.levels(c, sku))
        }


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """The hub on SQLite and on PostgreSQL, MUG stocked 3 at main and 1 at store (the
    shop), the sandbox's counts in step after the first push."""
    square = new_sandbox()
    square.add_variation("MUG", name="Mug", price="12.50", stock={SHOP_A: 3, SHOP_B: 1})
    square.add_variation("TEE", name="Tee", price="20.00", stock={SHOP_A: 0, SHOP_B: 0})
    api = square.serve().start()
    config = square.config_for(api.url, location_map=LOCATION_MAP, timeout=2.0)
    channels = {"square": config, "web": {"type": "manual", "locations": ["store"]}}
    hub = make_hub(db_url, channels=channels)
    sync = Sync(hub, backoff=0.01, attempts=3)
    hooks = SandboxServer(make_app(sync)).start()
    square.subscribe(f"{hooks.url}/webhooks/square", PUBLIC_URL)
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 3))
    hub.write(lambda c: ledger.receive(c, "MUG", "store", 1))
    hub.write(lambda c: ledger.ensure_product(c, "TEE"))
    try:
        yield World(hub, sync, square, f"{hooks.url}/webhooks/square")
    finally:
        hooks.stop()
        hub.close()
        api.stop()


@pytest.fixture
def channel_for(sandbox: SquareSandbox, server: SandboxServer):  # type: ignore[no-untyped-def]
    """Make more channels for the served sandbox: ``channel_for(page_size=10)``."""
    return lambda **overrides: make_channel(sandbox, server.url, **overrides)
