"""The ``manual`` channel: orders keyed in by people (B2B desk, phone, a till without an API).

It has no remote service: orders arrive through the hub's own intake (CLI, API, web
form, CSV import), stock "pushed" to it is simply accepted, and it does not implement
``fulfill``: its shipments are recorded in the hub only (channel state ``not_needed``).
Configure one per sales team or store so each gets its own locations, safety buffer
and cap::

    [channels.b2b]
    type = "manual"
    locations = ["main"]
    safety_buffer = 2
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from hub import Channel, ChannelConfig, Listing, OrderPage, StockResult, StockUpdate, hookimpl


class ManualConfig(ChannelConfig):
    """A manual channel needs nothing beyond the common channel settings."""


class ManualChannel(Channel):
    """A channel whose orders are entered in the hub itself."""

    type_name = "manual"
    Config = ManualConfig
    stock_batch_size = 10_000

    def fetch_listings(self) -> Iterator[Listing]:
        """A manual channel sells every SKU of the catalogue; it lists nothing of its own."""
        return iter(())

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """Nothing to pull: orders come in through the hub's intake directly."""
        return iter(())

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        """Accept every quantity: people read availability from the hub."""
        return [StockResult(u.sku, u.external_id, ok=True, confirmed=u.quantity) for u in updates]


@hookimpl
def register_channel_types(register):  # type: ignore[no-untyped-def]
    """Register the manual channel type."""
    register(ManualChannel)
