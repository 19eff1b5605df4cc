"""The Amazon sandbox as a :class:`hub.sandbox.DemoStore` for ``hub demo``, the benchmarks
and the plugin kit (``hub.testing.check_channel``).

No SQS queue is running there: orders reach the hub by polling searchOrders, and
``subscribe(url)`` posts each ORDER_CHANGE notification to ``url`` over HTTP, signed as
the channel's SQS poller signs what it reads. The slow usage plans (searchOrders one call
in three minutes) are sped up a hundredfold so a demo moves.
"""

from __future__ import annotations

from typing import Any

from hub.sandbox import DemoItem, DemoOrder, Faults, SoldOut

from .sandbox import AmazonSandbox
from .sandbox_store import SandboxError

#: The 2026-01-01 fulfilment statuses as the demo's three.
STATUSES = {"SHIPPED": "fulfilled", "CANCELLED": "cancelled"}
#: The calls that change stock: a patch, or a feed's document, its upload and the feed.
STOCK_OPERATIONS = ("patchListingsItem", "createFeedDocument", "s3put", "createFeed")
#: The calls that read a feed's outcome once it was created.
REPORT_OPERATIONS = ("getFeed", "getFeedDocument", "s3get")


class AmazonDemoStore:
    """An Amazon seller account driven by the demo: seed, sell, cancel, count calls."""

    def __init__(self, speed: float = 100.0) -> None:
        self.sandbox = AmazonSandbox()
        self.sandbox.faults.retry_after = 0.2
        self.sandbox.store.speed_up(speed)
        self.sandbox.store.feed_polls = 0

    def serve(self) -> Any:
        """A server for the account, not started (a hub.sandbox.SandboxServer)."""
        return self.sandbox.serve()

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The channel section for the account at ``url`` (feeds polled every 50 ms)."""
        return self.sandbox.config_for(url, feed_poll_interval=0.05, **extra)

    def credentials_config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A section that also reads an SQS queue with AWS keys (the sandbox is no SQS
        endpoint: the keys are sent and refused, which is what the secrets checks need)."""
        return self.config_for(
            url,
            sqs_queue_url=f"{url}/sqs/000000000000/sp-api-orders",
            sqs_endpoint=url,
            sqs_wait_seconds=1,
            aws_access_key_id="AKIASANDBOXKEY",
            aws_secret_access_key="sandbox-aws-secret",
            **extra,
        )

    def seed(self, items: list[DemoItem]) -> None:
        """One listing per item: its quantity on the merchant's (DEFAULT) offer."""
        for item in items:
            self.sandbox.add_listing(
                item.sku, title=item.name, price=item.price, quantity=item.quantity
            )

    def subscribe(self, url: str) -> None:
        """POST every ORDER_CHANGE notification to ``url`` (signed; no SQS in a demo)."""
        self.sandbox.publisher.urls.append(url)

    def deliver(self) -> int:
        """Send the pending notifications now; returns how many sends were made."""
        return self.sandbox.publisher.deliver()

    def sell(self, sku: str, quantity: int) -> str:
        """A buyer orders ``quantity`` (merchant-fulfilled); raises SoldOut without stock."""
        try:
            return self.sandbox.sell(sku, quantity)
        except SandboxError as error:
            raise SoldOut(error.message) from None

    def cancel(self, order_id: str) -> None:
        """The order is cancelled on Amazon (units go back to the offer)."""
        self.sandbox.store.set_status(order_id, "CANCELLED")

    def stock(self, sku: str) -> int | None:
        """The merchant offer's quantity of ``sku`` (None: no merchant offer)."""
        return self.sandbox.stock(sku)

    def stock_calls(self) -> int:
        """Calls made to change stock so far: each patchListingsItem, and the three calls
        every feed needs before Amazon has it (createFeedDocument, the document's upload,
        createFeed). Reading a feed's outcome afterwards is :meth:`report_calls`."""
        return sum(self.sandbox.operations(name) for name in STOCK_OPERATIONS)

    def report_calls(self) -> int:
        """Calls made to read feeds' outcomes: getFeed polls, getFeedDocument and the
        processing report's download."""
        return sum(self.sandbox.operations(name) for name in REPORT_OPERATIONS)

    def fulfil(self, order_id: str) -> None:
        """The order ships (every item fulfilled)."""
        self.sandbox.store.set_status(order_id, "SHIPPED")

    def annotate(self, order_id: str, note: str) -> None:
        """A newer version of the order with nothing else changed."""
        self.sandbox.store.touch(order_id, note)

    def orders(self) -> list[DemoOrder]:
        """Every order as open, fulfilled or cancelled with its units per SKU."""
        with self.sandbox.store.lock:
            found = []
            for order in self.sandbox.store.orders.values():
                lines: dict[str, int] = {}
                for item in order["orderItems"]:
                    sku = item["product"]["sellerSku"]
                    lines[sku] = lines.get(sku, 0) + item["quantityOrdered"]
                state = order["fulfillment"]["fulfillmentStatus"]
                found.append(DemoOrder(order["orderId"], STATUSES.get(state, "open"), lines))
            return found

    # -- what the channel contract suite (hub.testing.contract) also asks ----------------

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """The section's keys that make the plugin read ``orders_per_page`` orders a page."""
        return {"page_size": orders_per_page}

    def hold_clock(self, held: bool) -> None:
        """While ``held``, changes stay in one second (one millisecond apart)."""
        self.sandbox.store.hold_clock(held)

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """Every Amazon order item is an offer with a seller SKU: raises NotImplementedError
        (AmazonChannel declares ``skuless_lines = False``)."""
        raise NotImplementedError("every Amazon order item has a seller SKU")

    def deliver_unreadable(self) -> int:
        """Post a signed delivery whose JSON is cut off halfway to every subscribed address."""
        return self.sandbox.publisher.post_unreadable()

    @property
    def faults(self) -> Faults:
        """The fault knobs of the account's API and notifications."""
        return self.sandbox.faults

    def reactivate_webhooks(self) -> int:
        """Nothing to do: the relay never disables a subscriber; returns 0."""
        return 0  # the relay never disables a subscriber
