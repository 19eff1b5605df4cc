"""Builders of the order-desk tests: a hub with a manual channel ``b2b``, stock and an
account."""

from __future__ import annotations

from hub.core import customers, ledger
from hub.core.config import parse_settings
from hub.core.runtime import Hub
from hub.orders import Address

CHANNELS = {"b2b": {"type": "manual", "locations": ["main", "store"]}}


def desk_hub(url: str, channels: dict | None = None, timezone: str = "UTC") -> Hub:
    """A migrated hub with channel ``b2b`` (manual), products MUG and CUP (10 at main),
    and account ACME (30 days' terms, no limit) with one default address."""
    settings = parse_settings(
        {
            "hub": {"timezone": timezone, "currency": "EUR"},
            "database": {"url": url},
            "locations": {
                "main": {"name": "Main warehouse", "latitude": 52.5, "longitude": 13.4},
                "store": {"name": "City store", "kind": "store"},
            },
            "channels": channels or CHANNELS,
        }
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()

    def seed(conn):  # type: ignore[no-untyped-def]
        ledger.receive(conn, "MUG", "main", 10)
        ledger.receive(conn, "CUP", "main", 10)
        customers.create_account(
            conn, "ACME", "Acme Ltd", email="buyer@acme.example", payment_terms_days=30
        )
        customers.add_address(
            conn,
            "ACME",
            Address(
                name="Acme goods in",
                line1="1 Dock Road",
                city="Hull",
                postcode="HU1 1AA",
                country="GB",
            ),
            label="dock",
        )

    hub.write(seed)
    return hub
