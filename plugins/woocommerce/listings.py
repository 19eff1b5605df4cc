"""Checks on a store's listings while they are imported: SKUs missing or duplicated,
items whose stock WooCommerce does not manage."""

from __future__ import annotations

from collections.abc import Iterator

from hub import Listing

from .mapping import ListingProblem


def _describe(listing: Listing) -> str:
    kind = (
        f"variation {listing.external_id} of product {listing.parent_id}"
        if (listing.parent_id)
        else f"product {listing.external_id}"
    )
    return f"{kind} ({listing.title!r})" if listing.title else kind


class ListingCollector:
    """Pass listings through, remembering what a person should look at."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._by_sku: dict[str, list[Listing]] = {}
        self._problems: list[ListingProblem] = []

    def accept(self, listing: Listing) -> Iterator[Listing]:
        """Yield ``listing`` if it can be mapped to a SKU; record it as a problem otherwise."""
        where = f"WooCommerce channel {self.channel!r}"
        if not listing.sku:
            self._problems.append(
                ListingProblem(
                    "missing_sku",
                    f"{where}: {_describe(listing)} has no SKU; give it the hub's "
                    f"SKU in WooCommerce so its stock can be synchronised",
                    external_ids=(listing.external_id,),
                )
            )
            return
        if not listing.managed:
            self._problems.append(
                ListingProblem(
                    "unmanaged",
                    f"{where}: SKU {listing.sku!r} ({_describe(listing)}) does not "
                    f"manage stock in WooCommerce; the hub leaves its quantity alone",
                    sku=listing.sku,
                    external_ids=(listing.external_id,),
                )
            )
        self._by_sku.setdefault(listing.sku, []).append(listing)
        yield listing

    def problems(self) -> list[ListingProblem]:
        """Every problem seen, duplicates last (known only once all listings were seen)."""
        duplicates = [
            ListingProblem(
                "duplicate_sku",
                f"WooCommerce channel {self.channel!r}: SKU {sku!r} is used by "
                f"{len(items)} items ({', '.join(_describe(i) for i in items)}); give each its "
                f"own SKU",
                sku=sku,
                external_ids=tuple(i.external_id for i in items),
            )
            for sku, items in self._by_sku.items()
            if len(items) > 1
        ]
        return [*self._problems, *duplicates]
