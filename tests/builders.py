"""Small builders for the data classes tests feed the hub."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

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


def run_hub(
    *args: str,
    config: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str = "",
) -> subprocess.CompletedProcess:
    """``hub args`` run in this process through the script's entry point, ``hub.cli.main``
    (a process of its own pays ~1.8 s of start-up): ``--config config`` added when given,
    in folder ``cwd``, with ``env`` (and ``COLUMNS=200``, for whole table rows) in the
    environment and ``stdin`` as standard input. The exit code and what the command wrote
    come back as from :func:`subprocess.run`; the working folder, the environment, the
    standard streams and the root logger are as they were afterwards."""
    from hub.cli import main

    argv = [*args, *(["--config", str(config)] if config is not None else [])]
    environ = {"COLUMNS": "200", **(env or {})}
    saved_env = {key: os.environ.get(key) for key in environ}
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved_cwd, saved_stdin = os.getcwd(), sys.stdin
    out, err = io.StringIO(), io.StringIO()
    os.environ.update(environ)
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(argv)
                code = 0
            except SystemExit as stop:
                if isinstance(stop.code, str):  # as Python does: the text, exit code 1
                    print(stop.code, file=sys.stderr)
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return subprocess.CompletedProcess(["hub", *argv], code, out.getvalue(), err.getvalue())


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
