"""Fixtures for the Shopify plugin: a sandbox shop served over HTTP, a channel talking to it
through the real ``ShopifyAPI`` library, and a webhook receiver that verifies deliveries
with the channel, as the hub's webhook endpoint does."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from aiohttp import web
from builders import Receiver

from hub.sandbox import SandboxServer
from hub_plugins.shopify import ShopifyChannel, ShopifyConfig, ShopifySandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint on its own port; ``receiver.channel`` verifies deliveries."""
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/shopify", hooks.handle)
    with SandboxServer(app) as server:
        hooks.url = server.url + "/hooks/shopify"
        yield hooks


@pytest.fixture
def sandbox(receiver: Receiver) -> ShopifySandbox:
    """A shop with a fast cost bucket whose webhooks (five topics) go to ``receiver``."""
    shop = ShopifySandbox(bucket_size=2000.0, restore_rate=20_000.0)
    shop.faults.retry_after = 0.05
    shop.faults.timeout_seconds = 0.5
    shop.add_webhook(address=receiver.url)
    return shop


@pytest.fixture
def server(sandbox: ShopifySandbox) -> Iterator[SandboxServer]:
    """The sandbox served on 127.0.0.1."""
    with sandbox.serve() as running:
        yield running


def make_channel(shop: ShopifySandbox, served_at: str, **overrides: object) -> ShopifyChannel:
    """A channel for ``shop`` served at ``served_at``; ``overrides`` change config keys."""
    # generous: a loaded machine (tests on every core) must not turn a slow answer into a
    # time-out; the time-out tests set their own short one
    settings = {**shop.config_for(served_at, timeout=10.0), **overrides}
    return ShopifyChannel("shop", ShopifyConfig(**settings))


@pytest.fixture
def channel_for(sandbox: ShopifySandbox, server: SandboxServer) -> Callable[..., ShopifyChannel]:
    """Make more channels for the served shop: ``channel_for(order_page_size=2)``."""
    return lambda **overrides: make_channel(sandbox, server.url, **overrides)


@pytest.fixture
def channel(sandbox: ShopifySandbox, server: SandboxServer, receiver: Receiver) -> ShopifyChannel:
    """The channel under test, also used by ``receiver`` to verify webhooks."""
    adapter = make_channel(sandbox, server.url)
    receiver.channel = adapter
    return adapter
