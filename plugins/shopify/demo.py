"""The Shopify sandbox as a :class:`hub.sandbox.DemoStore` for ``hub demo`` and benchmarks."""

from __future__ import annotations

from typing import Any

from hub.sandbox import DemoItem, SoldOut

from .sandbox import ShopifySandbox
from .sandbox_store import StoreError
from .webhook import TOPICS


class ShopifyDemoStore:
    """A sandbox shop driven by the demo: seed, sell, cancel, count stock calls.

    It has a Shopify Plus cost bucket (10,000 points, 1,000 restored per second), so a
    catalogue of thousands of variants imports in seconds, as it would on such a shop.
    """

    def __init__(self) -> None:
        self.sandbox = ShopifySandbox(bucket_size=10_000.0, restore_rate=1_000.0)
        self.sandbox.faults.retry_after = 0.2

    def serve(self) -> Any:
        return self.sandbox.serve()

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        return self.sandbox.config_for(url, **extra)

    def seed(self, items: list[DemoItem]) -> None:
        for item in items:
            self.sandbox.add_product(
                item.name, [{"sku": item.sku, "price": item.price, "stock": item.quantity}]
            )

    def subscribe(self, url: str) -> None:
        self.sandbox.add_webhook(TOPICS, url)

    def deliver(self) -> int:
        return len(self.sandbox.deliver_webhooks())

    def sell(self, sku: str, quantity: int) -> str:
        try:
            return str(self.sandbox.sell(sku, quantity).id)
        except StoreError as error:
            raise SoldOut(str(error)) from None

    def cancel(self, order_id: str) -> None:
        self.sandbox.cancel_order(int(order_id))

    def stock(self, sku: str) -> int | None:
        return self.sandbox.stock(sku)

    def stock_calls(self) -> int:
        return self.sandbox.stock_calls()
