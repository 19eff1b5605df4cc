"""Checks on a store's listings while they are imported: SKUs missing or duplicated,
items whose stock WooCommerce does not manage (see :mod:`hub.listingcheck`)."""

from __future__ import annotations

from hub import Listing
from hub.listingcheck import ListingCollector


def _describe(listing: Listing) -> str:
    kind = (
        f"variation {listing.external_id} of product {listing.parent_id}"
        if (listing.parent_id)
        else f"product {listing.external_id}"
    )
    return f"{kind} ({listing.title!r})" if listing.title else kind


def listing_collector(channel: str) -> ListingCollector:
    """The hub's collector, worded for WooCommerce products and variations."""
    return ListingCollector(
        "WooCommerce", channel, untracked="does not manage stock", name=_describe
    )
