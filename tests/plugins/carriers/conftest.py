"""A hub with carriers: the EasyPost sandbox over real HTTP and the own fleet, on SQLite
and PostgreSQL; orders to Denver (America/Denver) entered on a manual desk channel."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from builders import order

from hub import Address
from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.labels import Carriers
from hub.core.orderbook import find_order
from hub.core.runtime import Hub
from hub.sandbox import SandboxServer
from hub_plugins.carriers.easypost import EasyPostSandbox

DENVER = Address(
    name="Grace Hopper",
    line1="1437 Bannock St",
    city="Denver",
    region="CO",
    postcode="80202",
    country="US",
    latitude=39.7392,
    longitude=-104.9903,
)
BOULDER = Address(
    name="Katherine Johnson",
    line1="1777 Broadway",
    city="Boulder",
    region="CO",
    postcode="80302",
    country="US",
    latitude=40.0150,
    longitude=-105.2705,
)
FLEET = {"type": "fleet", "postcodes": ["802"], "tracking_url": "https://shop.example/t/{tracking}"}


@dataclass
class World:
    """A hub with carriers, the EasyPost sandbox behind one of them, and the label folder."""

    hub: Hub
    carriers: Carriers
    easypost: EasyPostSandbox
    server: SandboxServer
    label_dir: Path

    def sell(
        self, external_id: str, address: Address = DENVER, channel: str = "desk", **kw: Any
    ) -> str:
        """An order of 2 MUG to ``address`` on ``channel``; its reference."""
        self.hub.ingest(
            channel,
            [order(external_id, ("MUG", 2), channel=channel, shipping_address=address, **kw)],
        )
        return f"{channel}:{external_id}"

    def order(self, ref: str) -> dict[str, Any]:
        return self.hub.read(lambda c: find_order(c, ref)).order


def make_world(db_url: str, tmp_path: Path, *, fleet: bool = False, **easypost: Any) -> World:
    """A hub with the ``easypost`` carrier on a fresh sandbox (its config extended by
    ``easypost``) and, with ``fleet``, the own vans ``vans`` serving postcodes 802*."""
    sandbox = EasyPostSandbox()
    sandbox.faults.timeout_seconds = 2.0
    server = sandbox.serve().start()
    configured: dict[str, Any] = {
        "easypost": sandbox.config_for(server.url, timeout=0.5, **easypost)
    }
    if fleet:
        configured["vans"] = FLEET
    settings = parse_settings(
        {
            "hub": {"timezone": "America/Denver"},
            "database": {"url": db_url},
            "locations": {
                "main": {"name": "Main warehouse", "latitude": 39.75, "longitude": -104.99}
            },
            "channels": {
                "desk": {"type": "manual", "locations": ["main"]},
                "web": {"type": "manual", "locations": ["main"]},
            },
            "carriers": configured,
        },
        tmp_path / "hub.toml",
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 50))
    label_dir = tmp_path / "labels"
    return World(hub, Carriers(hub, label_dir), sandbox, server, label_dir)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    built = make_world(db_url, tmp_path)
    try:
        yield built
    finally:
        built.carriers.close()
        built.hub.close()
        built.server.stop()


@pytest.fixture
def fleet_world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """As ``world``, with the own vans (``vans``, postcodes 802*) configured too."""
    built = make_world(db_url, tmp_path, fleet=True)
    try:
        yield built
    finally:
        built.carriers.close()
        built.hub.close()
        built.server.stop()
