"""The ``fleet`` carrier: the merchant's own vans.

Its labels are PDFs the hub makes (order number, address, route and stop, a Code 128
barcode of the order id); its run sheets are PDFs per route; its tracking comes from
the driver app, not from a carrier's webhook. Nothing is bought: a label costs the
configured ``price`` (0 by default). It serves only its delivery area::

    [carriers.vans]
    type = "fleet"
    postcodes = ["802", "803"]         # postcode prefixes it delivers to
    depot = [39.7392, -104.9903]       # and/or a radius around the depot
    radius_km = 25
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from pydantic import Field

from hub import (
    Carrier,
    CarrierConfig,
    Label,
    LabelRequest,
    Quote,
    Rate,
    RunSheet,
    hookimpl,
)

HUB_PLUGIN_API = ">=1,<2"
EARTH_RADIUS_KM = 6371.0088
SERVICE = "own-fleet"


class FleetConfig(CarrierConfig):
    """``[carriers.NAME]`` with ``type = "fleet"``: the delivery area and the price."""

    postcodes: list[str] = []  # prefixes of the postcodes it delivers to
    depot: tuple[float, float] | None = None  # latitude, longitude
    radius_km: float | None = Field(default=None, gt=0)
    price: Decimal = Field(default=Decimal("0"), ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    delivery_days: int = Field(default=1, ge=0)  # days from dispatch to the door
    tracking_url: str = ""  # e.g. "https://shop.example/track/{tracking}"


class FleetCarrier(Carrier):
    """The own fleet as a carrier: free labels inside its delivery area."""

    type_name = "fleet"
    Config = FleetConfig
    config: FleetConfig
    own_fleet = True
    hands_over = False  # the driver takes the parcel: the driver app ships the order

    def serves(self, request: LabelRequest) -> bool:
        """Inside the area: a postcode with a configured prefix, or within ``radius_km``
        of the depot (the recipient's coordinates needed). No area configured: nowhere."""
        postcode = request.to_address.postcode.replace(" ", "").upper()
        prefixes = [p.replace(" ", "").upper() for p in self.config.postcodes]
        if postcode and any(postcode.startswith(p) for p in prefixes):
            return True
        to = request.to_address
        if self.config.depot and self.config.radius_km and to.latitude is not None:
            assert to.longitude is not None
            return _km(self.config.depot, (to.latitude, to.longitude)) <= self.config.radius_km
        return False

    def quote(self, request: LabelRequest) -> Quote:
        """One rate, the fleet's; the shipment id is the hub's reference."""
        rate = Rate(
            SERVICE,
            self.config.price,
            self.config.currency,
            rate_id=SERVICE,
            delivery_days=self.config.delivery_days,
        )
        return Quote(request.reference, (rate,))

    def buy(self, carrier_shipment_id: str, rate: Rate) -> Label:
        """A label numbered after the hub's reference: the same one every time."""
        tracking = carrier_shipment_id.upper()
        url = self.config.tracking_url.format(tracking=tracking) if self.config.tracking_url else ""
        return Label(
            carrier_shipment_id,
            tracking,
            SERVICE,
            rate.amount,
            rate.currency,
            tracking_url=url,
            rate_id=rate.rate_id,
        )

    def read_back(self, carrier_shipment_id: str) -> Label | None:
        """Nothing is kept elsewhere: a fleet label is made again, identical, by ``buy``."""
        return None

    def void(self, label: Label) -> str:
        """No postage to refund."""
        return "not_applicable"

    def label_file(self, label: Label, request: LabelRequest) -> bytes:
        """The parcel's label PDF."""
        from hub_plugins.carriers.fleet.pdfs import label_pdf  # reportlab, when a PDF is made

        return label_pdf(request, label.tracking_number)

    def run_sheet(self, sheet: RunSheet) -> bytes:
        """The route's run sheet PDF."""
        from hub_plugins.carriers.fleet.pdfs import run_sheet_pdf

        return run_sheet_pdf(sheet)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@hookimpl
def register_carrier_types(register: Callable[[type], None]) -> None:
    """Register the own fleet."""
    register(FleetCarrier)
