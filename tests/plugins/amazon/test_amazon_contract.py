"""The plugin kit's contract, run against the Amazon sandbox over real HTTP."""

from __future__ import annotations

from hub.testing import check_channel
from hub_plugins.amazon import AmazonChannel


def test_amazon_keeps_the_hub_contract() -> None:
    passed = check_channel(AmazonChannel)

    assert passed == [
        "check_connection accepts good credentials",
        "fetch_listings maps every SKU with its quantity",
        "fetch_orders returns the store's orders in hub terms",
        "push_stock sets the store's quantity",
        "webhooks verify, tampering is refused, deliveries parse",
    ]
