"""Helpers of the Amazon plugin tests: a fast sandbox, channel sections, moto's SQS queue
and a hub world selling through the sandbox (used by conftest.py and the test modules)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.models import order_t
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub_plugins.amazon import AmazonChannel, AmazonSandbox

AWS_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def fast_sandbox() -> AmazonSandbox:
    """A sandbox whose usage plans run a thousand times faster; faults answer quickly."""
    amazon = AmazonSandbox()
    amazon.store.speed_up(1000.0)
    amazon.faults.retry_after = 0.05
    amazon.faults.timeout_seconds = 0.5
    return amazon


def settings(amazon: AmazonSandbox, url: str, **overrides: object) -> dict:  # type: ignore[type-arg]
    """The channel section for ``amazon`` at ``url``: short time-outs and feed polls."""
    return amazon.config_for(url, **{"timeout": 2.0, "feed_poll_interval": 0.01, **overrides})


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
