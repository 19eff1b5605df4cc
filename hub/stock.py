"""Data classes for listings and stock, exchanged between channel plugins and the core."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Listing:
    """One sellable item on a channel, mapped to our SKU.

    ``external_id`` is what the channel's stock API addresses (Shopify: the inventory
    item; WooCommerce: the product or variation id); ``parent_id`` is the product a
    variant belongs to, when the API needs it. ``quantity`` is what the channel holds
    now, when it told us; ``managed`` is False when the channel does not track stock
    for the item (the hub then reports it instead of forcing a quantity).
    """

    sku: str
    external_id: str
    parent_id: str = ""
    title: str = ""
    quantity: int | None = None
    managed: bool = True
    location_id: str = ""


@dataclass(frozen=True)
class StockUpdate:
    """Set the channel's quantity of one listing.

    ``expected`` is the quantity the channel last confirmed: a channel that supports
    compare-and-set (Shopify's ``changeFromQuantity``) refuses the update when its
    current value differs, and the result says so with ``stale=True``.
    """

    sku: str
    external_id: str
    quantity: int
    parent_id: str = ""
    expected: int | None = None
    location_id: str = ""


@dataclass(frozen=True)
class StockResult:
    """What the channel answered for one :class:`StockUpdate`."""

    sku: str
    external_id: str
    ok: bool
    confirmed: int | None = None  # the quantity the channel now holds, when known
    stale: bool = False  # compare-and-set refused: the channel's value had changed
    error: str = ""


@dataclass(frozen=True)
class StockLevel:
    """On hand and reserved units of a SKU at a location."""

    sku: str
    location: str
    on_hand: int
    reserved: int

    @property
    def free(self) -> int:
        """Units neither reserved nor missing."""
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class StockChange:
    """A change of a SKU's stock, passed to the ``stock_changed`` hook."""

    sku: str
    location: str
    kind: str  # receipt, sale, reservation, release, adjustment, transfer, return
    quantity: int
    on_hand: int
    reserved: int
    channel: str = ""
    reference: str = ""


@dataclass(frozen=True)
class ListingProblem:
    """Something a channel's listings do not match, reported instead of guessed.

    ``kind``: "missing_sku", "duplicate_sku", "unmanaged", ... ; a channel adapter
    collects them in its ``listing_problems`` list while :meth:`Channel.fetch_listings` runs.
    The core's listing import adds "sku_respelled" (the channel spells a SKU otherwise
    than :func:`hub.skus.normalise_sku`; mapped all the same) and "invalid_sku" (not mapped).
    """

    kind: str
    message: str
    sku: str = ""
    external_ids: tuple[str, ...] = ()
