"""Fixtures for the Amazon plugin: the sandbox seller account served over HTTP, channels
pointing at it through the real ``python-amazon-sp-api`` clients, moto's server as a real
SQS endpoint on 127.0.0.1, and hubs (SQLite and PostgreSQL) with the channel connected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
import sqlalchemy as sa
from builders import make_hub
from moto.server import ThreadedMotoServer

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.models import order_t
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub_plugins.amazon import AmazonChannel, AmazonConfig, AmazonSandbox

AWS_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def fast_sandbox() -> AmazonSandbox:
    """A sandbox whose usage plans run a thousand times faster; faults answer quickly."""
    amazon = AmazonSandbox()
    amazon.store.speed_up(1000.0)
    amazon.faults.retry_after = 0.05
    amazon.faults.timeout_seconds = 0.5
    return amazon


@pytest.fixture
def amazon() -> AmazonSandbox:
    return fast_sandbox()


@pytest.fixture
def server(amazon: AmazonSandbox) -> Iterator[SandboxServer]:
    with amazon.serve() as running:
        yield running


def settings(amazon: AmazonSandbox, url: str, **overrides: object) -> dict:  # type: ignore[type-arg]
    """The channel section for ``amazon`` at ``url``: short time-outs and feed polls."""
    return amazon.config_for(url, **{"timeout": 2.0, "feed_poll_interval": 0.01, **overrides})


@pytest.fixture
def channel_for(amazon: AmazonSandbox, server: SandboxServer) -> Callable[..., AmazonChannel]:
    """Make channels for the served sandbox: ``channel_for(page_size=10)``."""
    return lambda **overrides: AmazonChannel(
        "amazon", AmazonConfig(**settings(amazon, server.url, **overrides))
    )


@pytest.fixture
def channel(channel_for: Callable[..., AmazonChannel]) -> Iterator[AmazonChannel]:
    adapter = channel_for()
    yield adapter
    adapter.close()


@dataclass
class Sqs:
    """moto's server on 127.0.0.1 and one queue on it."""

    endpoint: str
    queue_url: str
    client: object

    def depth(self) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self.client.get_queue_attributes(  # type: ignore[attr-defined]
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def send(self, body: str) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode: a real SQS endpoint over HTTP on a free port of 127.0.0.1."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def sqs(moto_endpoint: str, request: pytest.FixtureRequest) -> Sqs:
    """A fresh queue (short visibility timeout) for one test."""
    client = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1", **AWS_KEYS)
    name = "orders-" + request.node.name.replace("[", "-").replace("]", "")[-60:]
    queue_url = client.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})[
        "QueueUrl"
    ]
    return Sqs(moto_endpoint, queue_url, client)


def queue_settings(sqs: Sqs) -> dict[str, object]:
    """The channel keys that read ``sqs``'s queue, with one-second long polls."""
    return {
        "sqs_queue_url": sqs.queue_url,
        "sqs_endpoint": sqs.endpoint,
        "sqs_wait_seconds": 1,
        **AWS_KEYS,
    }


@dataclass
class World:
    """A hub selling through one Amazon sandbox account (channel ``amazon``)."""

    hub: Hub
    sync: Sync
    amazon: AmazonSandbox
    server: SandboxServer

    @property
    def channel(self) -> AmazonChannel:
        adapter = self.hub.channel("amazon")
        assert isinstance(adapter, AmazonChannel)
        return adapter

    def import_listings(self) -> None:
        items = self.sync.fetch_listings("amazon")
        self.hub.write(lambda c: import_listings(c, "amazon", items))

    def receive(self, sku: str, units: int) -> None:
        self.hub.write(lambda c: ledger.receive(c, sku, "main", units))

    def levels(self, sku: str) -> tuple[int, int]:
        """(on hand, reserved) of ``sku`` at ``main``."""
        found = [x for x in self.hub.read(lambda c: ledger.levels(c, sku)) if x.location == "main"]
        return (found[0].on_hand, found[0].reserved) if found else (0, 0)

    def orders(self) -> dict[str, str]:
        """Every order of the channel in the hub: external id -> hub status."""
        rows = self.hub.read(
            lambda c: c.execute(
                sa.select(order_t.c.external_id, order_t.c.status).where(
                    order_t.c.channel == "amazon"
                )
            ).all()
        )
        return {str(e): str(s) for e, s in rows}

    def notifications(self) -> int:
        """Poll the queue once and work the inbox, as the service does; returns messages."""
        received = self.channel.receive_notifications(
            lambda headers, body: self.sync.accept_webhook("amazon", headers, body),
            wait_seconds=1,
        )
        self.sync.process_inbox()
        return received or 0


@pytest.fixture
def world_for(db_url: str) -> Iterator[Callable[..., World]]:
    """Build a world: ``world_for(sqs=sqs_fixture, stale_pages=2)``."""
    opened: list[tuple[Hub, SandboxServer]] = []

    def build(sqs: Sqs | None = None, **overrides: object) -> World:
        amazon = fast_sandbox()
        server = amazon.serve().start()
        extra = dict(overrides)
        if sqs is not None:
            amazon.publisher.to_queue(sqs.queue_url, endpoint_url=sqs.endpoint, **AWS_KEYS)
            extra.update(queue_settings(sqs))
        section = settings(amazon, server.url, locations=["main"], **extra)
        hub = make_hub(db_url, channels={"amazon": section})
        opened.append((hub, server))
        return World(hub, Sync(hub, backoff=0.01, attempts=4), amazon, server)

    yield build
    for hub, server in opened:
        hub.close()
        server.stop()
