"""Small builders for the data classes tests feed the hub."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aiohttp import web

from hub import (
    Address,
    Channel,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    WebhookEvent,
)
from hub.core.config import parse_settings
from hub.core.runtime import Hub

#: The test PostgreSQL server's database (``HUB_TEST_DATABASE_URL``, default the local one).
PG_URL = os.environ.get(
    "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ADDRESS = Address(
    name="Ada Lovelace", line1="1 Analytical Row", city="London", postcode="N1 1AA", country="GB"
)


def order(
    external_id: str,
    *lines: tuple[str, int],
    channel: str = "web",
    minutes: int = 0,
    status: OrderStatus = OrderStatus.OPEN,
    payment: PaymentStatus = PaymentStatus.PAID,
    **fields: object,
) -> Order:
    """An order of ``lines`` (sku, quantity), version ``T0 + minutes``."""
    fields.setdefault("shipping_address", ADDRESS)
    return Order(
        channel=channel,
        external_id=external_id,
        lines=tuple(OrderLine(sku, qty, unit_price=Decimal("9.99")) for sku, qty in lines),
        total=Decimal("9.99") * sum(q for _, q in lines),
        currency="EUR",
        status=status,
        payment_status=payment,
        customer=Customer(name="Ada", email="ada@example.com"),
        placed_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def make_hub(
    url: str,
    *,
    plugins: tuple = (),
    entry_points: bool = True,
    channels: dict | None = None,
    locations: dict | None = None,
) -> Hub:
    """A migrated hub on ``url`` with locations ``main`` and ``store`` unless told otherwise."""
    settings = parse_settings(
        {
            "database": {"url": url},
            "locations": locations
            if locations is not None
            else {
                "main": {"name": "Main warehouse", "latitude": 52.5, "longitude": 13.4},
                "store": {"name": "City store", "kind": "store"},
            },
            "channels": channels or {},
        }
    )
    hub = Hub.open(settings=settings, plugins=plugins, entry_points=entry_points)
    hub.upgrade()
    return hub


@dataclass
class Receiver:
    """The hub's side of webhooks for plugin tests: deliveries accepted (as events) and
    refused, verified and parsed by ``channel`` as the hub's webhook endpoint does."""

    channel: Channel | None = None
    events: list[WebhookEvent] = field(default_factory=list)
    refused: int = 0
    url: str = ""
    arrived: threading.Event = field(default_factory=threading.Event)  # set on each event

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        assert self.channel is not None
        if not self.channel.verify_webhook(request.headers, body):
            self.refused += 1
            return web.json_response({"error": "bad signature"}, status=401)
        self.events.append(self.channel.parse_webhook(request.headers, body))
        self.arrived.set()
        return web.json_response({"ok": True})
