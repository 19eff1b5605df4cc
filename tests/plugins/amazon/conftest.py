"""Fixtures for the Amazon plugin: the sandbox seller account served over HTTP, channels
pointing at it through the real ``python-amazon-sp-api`` clients, moto's server as a real
SQS endpoint on 127.0.0.1, and hubs (SQLite and PostgreSQL) with the channel connected."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from amazon_kit import AWS_KEYS, Sqs, World, fast_sandbox, queue_settings, settings
from builders import make_hub
from moto.server import ThreadedMotoServer

from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub_plugins.amazon import AmazonChannel, AmazonConfig, AmazonSandbox


@pytest.fixture
def amazon() -> AmazonSandbox:
    return fast_sandbox()


@pytest.fixture
def server(amazon: AmazonSandbox) -> Iterator[SandboxServer]:
    with amazon.serve() as running:
        yield running


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
