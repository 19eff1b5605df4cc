"""Webhook subscriptions and deliveries of the sandbox, as WooCommerce makes them.

Each change of the store becomes a delivery for every active subscription to its
topic; the body is the resource as the API returns it, signed with the
subscription's secret. Deliveries wait in ``pending`` until :meth:`deliver` posts
them (tests decide when), or a background thread posts them as they come
(``start_auto``). Like Woo, a subscription is disabled after 5 failed deliveries in a
row. The ``duplicate_webhooks`` and ``reorder_webhooks`` faults post the next
delivery twice, or the next pending batch newest first.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from .webhook import signature

JSON = dict[str, Any]
MAX_FAILURES = 5


class FaultSource(Protocol):
    """What the dispatcher needs of the sandbox's fault knobs."""

    def take(self, name: str) -> bool: ...


@dataclass
class Subscription:
    """A webhook as ``POST webhooks`` creates it."""

    id: int
    topic: str
    delivery_url: str
    secret: str
    name: str = ""
    status: str = "active"
    failures: int = 0


@dataclass
class Delivery:
    """One POST to a delivery URL and what came back (``status`` None: no answer)."""

    delivery_id: int
    webhook_id: int
    topic: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    error: str = ""


class WebhookDispatcher:
    """Queue and post the store's webhook deliveries."""

    def __init__(self, faults: FaultSource, site_url: Callable[[], str]) -> None:
        self.faults = faults
        self.site_url = site_url
        self.subscriptions: list[Subscription] = []
        self.pending: list[tuple[Subscription, str, bytes]] = []
        self.delivered: list[Delivery] = []
        self._ids = itertools.count(1)
        self._delivery_ids = itertools.count(9001)
        self._cond = threading.Condition()
        self._auto: threading.Thread | None = None
        self._stopped = False

    def subscribe(self, topic: str, delivery_url: str, secret: str, name: str = "") -> Subscription:
        """Add an active subscription to ``topic`` (e.g. ``order.updated``)."""
        with self._cond:
            sub = Subscription(next(self._ids), topic, delivery_url, secret, name or topic)
            self.subscriptions.append(sub)
            return sub

    def enqueue(self, topic: str, payload: JSON) -> None:
        """Queue ``payload`` for every active subscription to ``topic`` (a store listener)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._cond:
            for sub in self.subscriptions:
                if sub.topic == topic and sub.status == "active":
                    self.pending.append((sub, topic, body))
            self._cond.notify_all()

    def deliver(self) -> list[Delivery]:
        """Post every pending delivery now, in order (unless a fault says otherwise)."""
        with self._cond:
            batch, self.pending = self.pending, []
        if batch and self.faults.take("reorder_webhooks"):
            batch.reverse()
        done = []
        for sub, topic, body in batch:
            delivery = self._post(sub, topic, body, next(self._delivery_ids))
            done.append(delivery)
            if self.faults.take("duplicate_webhooks"):
                done.append(self._post(sub, topic, body, delivery.delivery_id))
        return done

    def headers(self, sub: Subscription, topic: str, body: bytes, delivery_id: int) -> dict:
        """The headers Woo sends with a delivery."""
        resource, _, event = topic.partition(".")
        return {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/8.0.0 Hookshot (WordPress/6.4.0)",
            "X-WC-Webhook-Source": self.site_url(),
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(sub.secret, body),
            "X-WC-Webhook-ID": str(sub.id),
            "X-WC-Webhook-Delivery-ID": str(delivery_id),
        }

    def _post(self, sub: Subscription, topic: str, body: bytes, delivery_id: int) -> Delivery:
        headers = self.headers(sub, topic, body, delivery_id)
        delivery = Delivery(delivery_id, sub.id, topic, sub.delivery_url, body, headers)
        try:
            answer = requests.post(sub.delivery_url, data=body, headers=headers, timeout=5)
            delivery.status = answer.status_code
        except requests.RequestException as error:
            delivery.error = f"{type(error).__name__}: {error}"
        ok = delivery.status is not None and 200 <= delivery.status < 300
        sub.failures = 0 if ok else sub.failures + 1
        if sub.failures >= MAX_FAILURES:
            sub.status = "disabled"
        self.delivered.append(delivery)
        return delivery

    def start_auto(self) -> None:
        """Post deliveries from a background thread as soon as they are queued."""
        if self._auto is None:
            self._auto = threading.Thread(target=self._run, name="woo-webhooks", daemon=True)
            self._auto.start()

    def stop(self) -> None:
        """Stop the background thread, if any."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self.pending or self._stopped)
                if self._stopped:
                    return
            self.deliver()
