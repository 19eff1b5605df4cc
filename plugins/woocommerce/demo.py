"""The WooCommerce sandbox as a :class:`hub.sandbox.DemoStore` for ``hub demo`` and benchmarks."""

from __future__ import annotations

from typing import Any

from hub.sandbox import DemoItem, DemoOrder, Faults, SoldOut

from .sandbox import PLUGIN_TOPICS, WooSandbox
from .sandbox_store import StoreError


class WooDemoStore:
    """A sandbox WooCommerce store driven by the demo: seed, sell, cancel, count calls."""

    def __init__(self) -> None:
        self.sandbox = WooSandbox()
        self.sandbox.faults.retry_after = 0.2

    def serve(self) -> Any:
        return self.sandbox.serve()

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        return self.sandbox.config_for(url, **extra)

    def seed(self, items: list[DemoItem]) -> None:
        for item in items:
            self.sandbox.add_product(
                item.sku, name=item.name, price=item.price, stock=item.quantity
            )

    def subscribe(self, url: str) -> None:
        self.sandbox.add_webhook(PLUGIN_TOPICS, url, self.sandbox.webhook_secret)

    def deliver(self) -> int:
        return len(self.sandbox.deliver_webhooks())

    def sell(self, sku: str, quantity: int) -> str:
        try:
            return str(self.sandbox.sell(sku, quantity)["id"])
        except StoreError as error:
            raise SoldOut(str(error)) from None

    def cancel(self, order_id: str) -> None:
        self.sandbox.cancel_order(int(order_id))

    def stock(self, sku: str) -> int | None:
        return self.sandbox.stock(sku)

    def stock_calls(self) -> int:
        return sum(
            1
            for call in self.sandbox.calls
            if call.method in ("POST", "PUT") and "products" in call.path
        )

    def fulfil(self, order_id: str) -> None:
        self.sandbox.update_order(int(order_id), status="completed")

    def annotate(self, order_id: str, note: str) -> None:
        self.sandbox.update_order(int(order_id), customer_note=note)

    def orders(self) -> list[DemoOrder]:
        with self.sandbox.store.lock:
            return [
                DemoOrder(
                    str(o["id"]),
                    str(STATUSES.get(o["status"], o["status"])),
                    {ln["sku"]: ln["quantity"] for ln in o["line_items"]},
                )
                for o in self.sandbox.store.orders.values()
            ]

    @property
    def faults(self) -> Faults:
        return self.sandbox.faults

    def reactivate_webhooks(self) -> int:
        return self.sandbox.hooks.reactivate()

    # -- what the channel contract suite (hub.testing.contract) also asks ----------------

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """The section's keys that make the plugin read ``orders_per_page`` orders a page."""
        return {"page_size": orders_per_page}

    def hold_clock(self, held: bool) -> None:
        """While ``held``, every change is stamped with the same second."""
        self.sandbox.store.hold_clock(held)

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """A custom line added in wp-admin (product_id 0, no SKU); returns the order id."""
        order = self.sandbox.create_order([{"name": title, "quantity": quantity, "price": "5.00"}])
        return str(order["id"])

    def deliver_unreadable(self) -> int:
        """Post a signed delivery whose JSON is cut off halfway to every subscribed address."""
        return self.sandbox.hooks.post_unreadable()


#: Woo's order statuses as the demo's three: open, fulfilled, cancelled.
STATUSES = {"processing": "open", "completed": "fulfilled", "cancelled": "cancelled"}
