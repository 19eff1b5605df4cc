"""Fixtures of the eBay plugin's tests: a sandbox seller account served on a local port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hub_ebay import EbayChannel, EbayConfig, EbaySandbox

from hub.sandbox import DemoItem, SandboxServer


@pytest.fixture
def store() -> EbaySandbox:
    account = EbaySandbox()
    account.seed([DemoItem("MUG", "Mug", "12.50", 50), DemoItem("TEE", "T-shirt", "20.00", 9)])
    return account


@pytest.fixture
def served(store: EbaySandbox) -> Iterator[SandboxServer]:
    server = store.serve().start()
    yield server
    server.stop()


@pytest.fixture
def connect(store: EbaySandbox, served: SandboxServer) -> Iterator[Any]:
    """``connect(**settings)``: an EbayChannel on the sandbox, closed after the test."""
    made: list[EbayChannel] = []

    def make(**extra: Any) -> EbayChannel:
        channel = EbayChannel("ebay", EbayConfig(**store.config_for(served.url, **extra)))
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()
