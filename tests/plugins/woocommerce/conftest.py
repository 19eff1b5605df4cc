"""Fixtures for the WooCommerce plugin: a sandbox store served over HTTP, a channel
pointing at it through the real ``woocommerce`` client, and a webhook receiver that
verifies deliveries with the channel, as the hub's webhook endpoint does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from builders import Receiver

from hub.sandbox import SandboxServer
from hub_plugins.woocommerce import WooCommerceChannel, WooCommerceConfig, WooSandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint on its own port; ``receiver.channel`` verifies deliveries."""
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/woo", hooks.handle)
    with SandboxServer(app) as server:
        hooks.url = server.url + "/hooks/woo"
        yield hooks


@pytest.fixture
def sandbox(receiver: Receiver) -> WooSandbox:
    """An empty store whose webhooks (the plugin's four topics) go to ``receiver``."""
    store = WooSandbox(webhook_url=receiver.url)
    store.faults.retry_after = 0.05
    store.faults.timeout_seconds = 0.5
    return store


@pytest.fixture
def server(sandbox: WooSandbox) -> Iterator[SandboxServer]:
    """The sandbox served on 127.0.0.1 (plain HTTP, so the client signs with OAuth 1.0a)."""
    with sandbox.serve() as running:
        yield running


def make_channel(sandbox: WooSandbox, served_at: str, **overrides: object) -> WooCommerceChannel:
    """A channel for ``sandbox`` served at ``served_at``; ``overrides`` change config keys."""
    settings = {**sandbox.config_for(served_at, timeout=2.0), **overrides}
    return WooCommerceChannel("woo", WooCommerceConfig(**settings))


@pytest.fixture
def channel_for(sandbox: WooSandbox, server: SandboxServer):  # type: ignore[no-untyped-def]
    """Make more channels for the served sandbox: ``channel_for(page_size=10)``."""
    return lambda **overrides: make_channel(sandbox, server.url, **overrides)


@pytest.fixture
def channel(sandbox: WooSandbox, server: SandboxServer, receiver: Receiver) -> WooCommerceChannel:
    """The channel under test, also used by ``receiver`` to verify webhooks."""
    adapter = make_channel(sandbox, server.url)
    receiver.channel = adapter
    return adapter
