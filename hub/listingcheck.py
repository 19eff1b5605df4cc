"""Checks on a channel's listings while they are imported, for channel plugins.

A store's catalogue rarely matches the hub's SKUs one to one: items without a SKU,
one SKU on two items, items whose stock the store does not track. The hub reports
these instead of guessing. A plugin passes each listing through a
:class:`ListingCollector` in ``fetch_listings`` and stores ``collector.problems()`` in
``self.listing_problems`` at the end::

    collector = ListingCollector("Shopify", self.name)
    for variant in pages:
        yield from collector.accept(mapping.listing(variant))
    self.listing_problems = collector.problems()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hub.skus import normalise_sku
from hub.stock import Listing, ListingProblem


def describe(listing: Listing) -> str:
    """``item 12 of product 3 ('Mug - Blue')``: how a problem names a listing."""
    kind = (
        f"item {listing.external_id} of product {listing.parent_id}"
        if listing.parent_id
        else f"item {listing.external_id}"
    )
    return f"{kind} ({listing.title!r})" if listing.title else kind


class ListingCollector:
    """Pass listings through, remembering what a person should look at.

    ``service`` names the store's software in messages ("WooCommerce"); ``untracked``
    says how it words an item whose stock it does not keep ("does not manage stock").
    """

    def __init__(
        self,
        service: str,
        channel: str,
        *,
        untracked: str = "does not track stock",
        name: Callable[[Listing], str] = describe,
    ) -> None:
        self.service = service
        self.channel = channel
        self.untracked = untracked
        self.name = name
        self._by_sku: dict[str, list[Listing]] = {}
        self._problems: list[ListingProblem] = []

    @property
    def where(self) -> str:
        return f"{self.service} channel {self.channel!r}"

    def accept(self, listing: Listing) -> Iterator[Listing]:
        """Yield ``listing`` if it can be mapped to a SKU; record it as a problem otherwise.

        SKUs are compared as :func:`hub.skus.normalise_sku` reads them: ``" "`` is no
        SKU, and ``"MUG"`` and ``"MUG "`` are one SKU used twice.
        """
        if not normalise_sku(listing.sku):
            self._problems.append(
                ListingProblem(
                    "missing_sku",
                    f"{self.where}: {self.name(listing)} has no SKU; give it the hub's "
                    f"SKU in {self.service} so its stock can be synchronised",
                    external_ids=(listing.external_id,),
                )
            )
            return
        if not listing.managed:
            self._problems.append(
                ListingProblem(
                    "unmanaged",
                    f"{self.where}: SKU {listing.sku!r} ({self.name(listing)}) "
                    f"{self.untracked} in {self.service}; the hub leaves its quantity alone",
                    sku=listing.sku,
                    external_ids=(listing.external_id,),
                )
            )
        self._by_sku.setdefault(normalise_sku(listing.sku), []).append(listing)
        yield listing

    def add(self, problem: ListingProblem) -> None:
        """Record a problem of the plugin's own kind (e.g. not stocked at the location)."""
        self._problems.append(problem)

    def problems(self) -> list[ListingProblem]:
        """Every problem seen, duplicates last (known only once all listings were seen)."""
        duplicates = [
            ListingProblem(
                "duplicate_sku",
                f"{self.where}: SKU {sku!r} is used by {len(items)} items "
                f"({', '.join(self.name(i) for i in items)}); give each its own SKU",
                sku=sku,
                external_ids=tuple(i.external_id for i in items),
            )
            for sku, items in self._by_sku.items()
            if len(items) > 1
        ]
        return [*self._problems, *duplicates]
