"""The Shopify sandbox as a :class:`hub.sandbox.DemoStore` for ``hub demo`` and benchmarks."""

from __future__ import annotations

from typing import Any

from hub.sandbox import DemoItem, DemoOrder, Faults, SoldOut

from .sandbox import ShopifySandbox
from .sandbox_store import OPEN_FOS, ShopOrder, StoreError
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

    def credentials_config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A section connecting with the app's client id and secret instead of a token."""
        return self.sandbox.credentials_config_for(url, **extra)

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

    def fulfil(self, order_id: str) -> None:
        order = self.sandbox.order(int(order_id))
        open_ = [fo.id for fo in order.fulfillment_orders if fo.status in OPEN_FOS]
        if open_:
            self.sandbox.store.fulfil(open_, {"company": "UPS", "number": f"1Z{order_id}"})

    def annotate(self, order_id: str, note: str) -> None:
        self.sandbox.update_order(int(order_id), note=note)

    def orders(self) -> list[DemoOrder]:
        with self.sandbox.store.lock:
            return [
                DemoOrder(str(o.id), _status(o), {ln.sku: ln.current for ln in o.lines})
                for o in self.sandbox.store.orders.values()
            ]

    # -- what the channel contract suite (hub.testing.contract) also asks ----------------

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """The section's keys that make the plugin read ``orders_per_page`` orders a page."""
        return {"order_page_size": orders_per_page}

    def hold_clock(self, held: bool) -> None:
        """While ``held``, every change is stamped with the same second."""
        self.sandbox.store.hold_clock(held)

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """A custom item (no variant, no SKU) sold with the order; returns the order id."""
        custom = {"title": title, "quantity": quantity, "price": "5.00"}
        return str(self.sandbox.create_order([custom]).id)

    def deliver_unreadable(self) -> int:
        """Post a signed delivery whose JSON is cut off halfway to every subscribed address."""
        return self.sandbox.hooks.post_unreadable()

    @property
    def faults(self) -> Faults:
        return self.sandbox.faults

    def reactivate_webhooks(self) -> int:
        return self.sandbox.hooks.reactivate()


def _status(order: ShopOrder) -> str:
    if order.cancelled_at is not None:
        return "cancelled"
    return "fulfilled" if order.fulfillment_status() == "FULFILLED" else "open"
