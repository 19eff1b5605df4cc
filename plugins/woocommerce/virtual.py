"""Which products and variations that order lines sell are virtual.

Woo's order line items do not say whether what they sell needs shipping; the product
(or variation) does, in its ``virtual`` field (products.md, product-variations.md: "If
the product is virtual"). A virtual product takes no stock in the hub. Each id is looked
up once per channel, with ``include`` filters: one call for up to 100 products, one per
variable product for its variations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .client import WooClient

PAGE = 100  # the most ``per_page`` allows


class VirtualItems:
    """A cache of the ``virtual`` flag of the catalogue items orders sell."""

    def __init__(self, client: WooClient) -> None:
        self.client = client
        self.known: dict[str, bool] = {}  # product or variation id -> virtual

    def remember(self, item: Mapping[str, Any]) -> None:
        """Keep the flag of a product or variation read anyway (the listing import)."""
        self.known[str(item["id"])] = bool(item.get("virtual"))

    def of(self, orders: Iterable[Mapping[str, Any]]) -> frozenset[str]:
        """The ids of the virtual items among those the orders' lines sell."""
        wanted: dict[str, str] = {}  # item id -> parent product id ("0": a simple product)
        for order in orders:
            for line in order.get("line_items") or ():
                product = str(line.get("product_id") or 0)
                variation = str(line.get("variation_id") or 0)
                if variation != "0":
                    wanted[variation] = product
                elif product != "0":
                    wanted[product] = "0"
        self._look_up({i: p for i, p in wanted.items() if i not in self.known})
        return frozenset(i for i in wanted if self.known.get(i))

    def _look_up(self, missing: Mapping[str, str]) -> None:
        by_endpoint: dict[str, list[str]] = {}
        for item, parent in missing.items():
            endpoint = "products" if parent == "0" else f"products/{parent}/variations"
            by_endpoint.setdefault(endpoint, []).append(item)
        for endpoint, ids in by_endpoint.items():
            for start in range(0, len(ids), PAGE):
                chunk = ids[start : start + PAGE]
                reply = self.client.get(endpoint, {"include": ",".join(chunk), "per_page": PAGE})
                found = {str(item["id"]): bool(item.get("virtual")) for item in reply.data or ()}
                self.known.update({i: found.get(i, False) for i in chunk})  # gone: not virtual
