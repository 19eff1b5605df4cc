"""The WooCommerce channel adapter: what the hub calls to talk to one store."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from hub import (
    Channel,
    ChannelConfig,
    ChannelError,
    Listing,
    ListingProblem,
    OrderPage,
    StockResult,
    StockUpdate,
    WebhookEvent,
)

from . import mapping, webhook
from .client import WooClient, is_last_page
from .fulfilment import fulfill_order
from .listings import listing_collector
from .pull import OrderCursor
from .stockpush import stock_requests
from .virtual import VirtualItems

log = logging.getLogger(__name__)


def _demo_store() -> Any:
    """A new :class:`~hub_plugins.woocommerce.demo.WooDemoStore` (the emulator is imported
    here, for demos and tests, not with the plugin: every ``hub`` command loads it)."""
    from .demo import WooDemoStore

    return WooDemoStore()


class WooCommerceConfig(ChannelConfig):
    """A ``[channels.<name>]`` section with ``type = "woocommerce"``."""

    url: str  # the WordPress site address, e.g. https://shop.example.com
    consumer_key: SecretStr = Field(min_length=1)
    consumer_secret: SecretStr = Field(min_length=1)
    api_version: str = Field(default="wc/v3", pattern=r"^wc/v[1-3]$")
    timeout: float = Field(default=10.0, gt=0)  # seconds per API call
    verify_ssl: bool = True
    query_string_auth: bool = False  # HTTPS servers that drop the Authorization header
    page_size: int = Field(default=100, ge=1, le=100)  # items per page when pulling
    # Set to "_wc_shipment_tracking_items" when the store runs WooCommerce Shipment Tracking.
    tracking_meta_key: str | None = Field(default=None, min_length=1)  # a meta field's name
    tracking_note_to_customer: bool = True  # the tracking note is e-mailed to the customer

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with https:// (or http:// for a local store)")
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            raise ValueError("url has a port that is not a number from 0 to 65535") from None
        if not parts.hostname:
            raise ValueError("url names no host (e.g. https://shop.example.com)")
        return value.rstrip("/")


class WooCommerceChannel(Channel):
    """A WooCommerce store, spoken to through ``wc/v3`` with the ``woocommerce`` library.

    After :meth:`fetch_listings` has been iterated to the end, ``listing_problems``
    holds the SKUs missing or duplicated and the items whose stock Woo does not manage.
    """

    type_name: ClassVar[str] = "woocommerce"
    Config: ClassVar[type[ChannelConfig]] = WooCommerceConfig
    stock_batch_size: ClassVar[int] = 100
    # Woo itself sets no limit; hosts do. A pace most shared hosts accept.
    rate_per_second: ClassVar[float] = 10.0
    rate_burst: ClassVar[float] = 20.0
    sandbox: ClassVar[Any] = staticmethod(_demo_store)

    config: WooCommerceConfig

    def __init__(self, name: str, config: ChannelConfig) -> None:
        super().__init__(name, config)
        cfg = self.config
        self.client = WooClient(
            cfg.url,
            cfg.consumer_key.get_secret_value(),
            cfg.consumer_secret.get_secret_value(),
            version=cfg.api_version,
            timeout=cfg.timeout,
            verify_ssl=cfg.verify_ssl,
            query_string_auth=cfg.query_string_auth,
            channel=name,
        )
        self.listing_problems: list[ListingProblem] = []
        self.virtual_items = VirtualItems(self.client)

    def check_connection(self) -> list[str]:
        """Read one product with the credentials; return what a person must fix."""
        try:
            reply = self.client.get("products", {"per_page": 1})
        except ChannelError as error:
            return [str(error)]
        if reply.total is None or not isinstance(reply.data, list):
            return [
                f"WooCommerce channel {self.name!r}: {self.config.url} answered without "
                f"Woo's X-WP-Total header; is it the WordPress address of the store?"
            ]
        return []

    def fetch_listings(self) -> Iterator[Listing]:
        """Yield simple products and variations that have a SKU; record problems as found."""
        collector = listing_collector(self.name)
        size = self.config.page_size
        order = {"orderby": "id", "order": "asc", "context": "edit"}  # own SKUs, not inherited
        for product in self.client.iter_collection("products", order, size):
            if product.get("type") == "variable":
                path = f"products/{product['id']}/variations"
                for variation in self.client.iter_collection(path, order, size):
                    self.virtual_items.remember(variation)
                    yield from collector.accept(mapping.listing(variation, product))
            elif product.get("type", "simple") == "simple":
                self.virtual_items.remember(product)
                yield from collector.accept(mapping.listing(product))
        self.listing_problems = collector.problems()
        for problem in self.listing_problems:
            log.warning("%s", problem.message)

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """Yield pages of orders modified since ``updated_since``; the cursor resumes a pull."""
        state = OrderCursor.decode(cursor) if cursor else OrderCursor.start(updated_since)
        size = self.config.page_size
        while True:
            reply = self.client.get("orders", state.params(size))
            virtual = self.virtual_items.of(reply.data)
            orders = tuple(mapping.order(self.name, item, virtual) for item in reply.data)
            if is_last_page(reply, state.page, size):
                yield OrderPage(orders, None)
                return
            state = state.next_page()
            yield OrderPage(orders, state.encode())

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        """Set quantities with the fewest batch calls: one per parent per 100 updates."""
        results = mapping.unaddressable(updates)
        positions = [i for i in range(len(updates)) if i not in results]
        sendable = [updates[i] for i in positions]
        for endpoint, chunk in stock_requests(sendable, self.stock_batch_size):
            reply = self.client.post(endpoint, mapping.stock_payload([u for _, u in chunk]))
            answered = mapping.batch_answers(reply.data)
            for index, update in chunk:
                item = answered.get(update.external_id)
                results[positions[index]] = mapping.stock_result(update, item)
        return [results[index] for index in range(len(updates))]

    def fulfill(
        self, order_external_id: str, carrier: str, tracking_number: str, tracking_url: str = ""
    ) -> None:
        """Complete the order in the store and leave a tracking note (and meta if configured)."""
        fulfill_order(
            self.client,
            order_external_id,
            carrier,
            tracking_number,
            tracking_url,
            meta_key=self.config.tracking_meta_key,
            to_customer=self.config.tracking_note_to_customer,
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check ``X-WC-Webhook-Signature`` against the configured webhook_secret."""
        return webhook.verify(self.config.webhook_key(), headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Turn a verified order.* or product.* delivery into a WebhookEvent."""
        event = webhook.parse(self.name, headers, body)
        if event.order is not None and event.payload:  # virtual products take no stock
            virtual = self.virtual_items.of([event.payload])
            if virtual:
                event = replace(event, order=mapping.order(self.name, event.payload, virtual))
        return event
