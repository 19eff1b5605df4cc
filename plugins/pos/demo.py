"""The Square sandbox as a :class:`hub.sandbox.DemoStore` for ``hub demo``, the benchmarks
and the plugin kit: one shop (Square location ``LDEMO1``) at the hub location the demo
gives first in ``locations`` (``main`` when it gives none)."""

from __future__ import annotations

from typing import Any

from hub.sandbox import DemoItem, DemoOrder, Faults, SoldOut

#: Square order states as the demo's three: open, fulfilled, cancelled.
STATUSES = {"OPEN": "open", "COMPLETED": "fulfilled", "CANCELED": "cancelled"}


class SquareDemoStore:
    """A sandbox Square shop driven by the demo: seed, sell at the till, cancel, count calls."""

    def __init__(self) -> None:
        from .sandbox import SquareSandbox  # the sandbox imports the plugin's webhook module

        self.sandbox = SquareSandbox()
        self.sandbox.faults.retry_after = 0.2
        self.location = self.sandbox.add_location("Demo shop", "LDEMO1")

    def serve(self) -> Any:
        """A SandboxServer for the shop, not started."""
        return self.sandbox.serve()

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The channel section for the shop served at ``url`` (``extra`` keys added)."""
        if "location_map" not in extra:  # the shop is the demo's first (or main) location
            locations = extra.get("locations") or ["main"]
            extra["location_map"] = {self.location: locations[0]}
        return self.sandbox.config_for(url, **extra)

    def seed(self, items: list[DemoItem]) -> None:
        """One variation per item, counted at the shop (quantity None: not tracked)."""
        for item in items:
            stock = None if item.quantity is None else {self.location: item.quantity}
            self.sandbox.add_variation(
                item.sku,
                name=item.name,
                price=item.price,
                stock=stock,
                track_inventory=item.quantity is not None,
            )

    def subscribe(self, url: str) -> None:
        """Post the three topics to ``url``, signed over the configured notification_url."""
        self.sandbox.subscribe(url, self.sandbox.notification_url)

    def deliver(self) -> int:
        """Post pending webhooks now; returns how many were posted."""
        return len(self.sandbox.deliver_webhooks())

    def sell(self, sku: str, quantity: int) -> str:
        """A sale at the till; returns the order id. Raises SoldOut beyond the IN_STOCK count."""
        held = self.sandbox.stock(sku)
        if held is not None and held < quantity:
            raise SoldOut(f"Square shop: {held} of {sku!r} left, {quantity} asked")
        return str(self.sandbox.sell(sku, quantity)["id"])

    def cancel(self, order_id: str) -> None:
        """Cancel an open order; a completed sale is undone by a return (restocked)."""
        order = self.sandbox.store.orders[order_id]
        if order["state"] == "COMPLETED":  # a handed-over sale is undone by a return
            lines = [
                (i["catalog_object_id"], int(i["quantity"]))
                for i in order["line_items"]
                if "catalog_object_id" in i
            ]
            self.sandbox.store.refund(order_id, lines)
        else:
            self.sandbox.store.cancel(order_id)

    def stock(self, sku: str) -> int | None:
        """IN_STOCK units at the shop (None: never counted)."""
        return self.sandbox.stock(sku, self.location)

    def stock_calls(self) -> int:
        """How many BatchChangeInventory requests were made."""
        return sum(1 for call in self.sandbox.calls if call.path.endswith("/changes/batch-create"))

    def fulfil(self, order_id: str) -> None:
        """Hand an open order over (COMPLETED); a completed one stays as it is."""
        if self.sandbox.store.orders[order_id]["state"] == "OPEN":
            self.sandbox.store.complete(order_id)

    def annotate(self, order_id: str, note: str) -> None:
        """A newer version of the order: its reference_id (40 characters at most) set."""
        with self.sandbox.store.lock:
            order = self.sandbox.store.orders[order_id]
            order["reference_id"] = note[:40]
            self.sandbox.store.touch(order)

    def orders(self) -> list[DemoOrder]:
        """Every sale (return orders left out), as open, fulfilled or cancelled (a sale
        whose every unit was returned counts as cancelled)."""
        with self.sandbox.store.lock:
            returned: dict[str, int] = {}
            for o in self.sandbox.store.orders.values():
                for ret in o.get("returns") or []:
                    units = sum(int(line["quantity"]) for line in ret["return_line_items"])
                    returned[ret["source_order_id"]] = (
                        returned.get(ret["source_order_id"], 0) + units
                    )
            return [
                DemoOrder(
                    o["id"],
                    "cancelled"  # a handed-over sale undone: every unit returned and refunded
                    if returned.get(o["id"], 0) >= sum(int(i["quantity"]) for i in o["line_items"])
                    else STATUSES.get(o["state"], o["state"].lower()),
                    {
                        self.sandbox.store.variations[i["catalog_object_id"]][
                            "item_variation_data"
                        ]["sku"]: int(i["quantity"])
                        for i in o.get("line_items") or []
                        if "catalog_object_id" in i  # a CUSTOM_AMOUNT line has no SKU
                    },
                )
                for o in self.sandbox.store.orders.values()
                if o.get("line_items")
            ]

    # -- what the channel contract suite (hub.testing.contract) also asks ----------------

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """The section's keys that make the plugin read ``orders_per_page`` orders a page."""
        return {"page_size": orders_per_page}

    def hold_clock(self, held: bool) -> None:
        """While ``held``, changes stay in one second (one millisecond apart)."""
        self.sandbox.store.hold_clock(held)

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """An ad-hoc amount keyed in at the till (CUSTOM_AMOUNT, no SKU); returns the order id."""
        lid = self.location
        custom = {"name": title, "quantity": quantity, "price": 500}
        return str(self.sandbox.store.create_order(lid, [custom])["id"])

    def deliver_unreadable(self) -> int:
        """Post a signed delivery whose JSON is cut off halfway to every subscribed address."""
        return self.sandbox.hooks.post_unreadable()

    @property
    def faults(self) -> Faults:
        """The sandbox's fault knobs."""
        return self.sandbox.faults

    def reactivate_webhooks(self) -> int:
        """Turn disabled subscriptions back on; returns how many."""
        return self.sandbox.hooks.reactivate()
