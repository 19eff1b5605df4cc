"""Data classes for orders, exchanged between channel plugins and the core.

Money is ``Decimal`` in the order's currency; times are timezone-aware UTC
(use :func:`hub.orders.utc` to normalise what a channel sends).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def utc(value: datetime | str | None) -> datetime | None:
    """Return ``value`` as an aware UTC datetime; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def money(value: Any) -> Decimal:
    """An amount as a channel sends it ("12.30", or a JSON number) → exact Decimal.

    Floats go through their shortest round-tripping text (12.3, not 12.300000000000001);
    empty and None are zero; anything else that is not a number raises ValueError.
    """
    if value is None or value == "":
        return Decimal("0")
    try:
        return Decimal(value if isinstance(value, str) else repr(value))
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error


class OrderStatus(enum.StrEnum):
    """Where an order stands in the hub. Later states never move back to earlier ones."""

    PENDING = "pending"  # seen on the channel, not yet paid or confirmed
    OPEN = "open"  # confirmed; stock reserved
    ON_HOLD = "on_hold"  # kept back with a reason (unpaid, fraud risk, no stock, unknown SKU)
    FULFILLED = "fulfilled"  # shipped or handed to the own fleet
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(enum.StrEnum):
    """Payment state as the channel reports it."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Address:
    """A postal address; coordinates when the channel or a geocoder knows them."""

    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def is_complete(self) -> bool:
        """True when the address has enough to deliver to (street, city or postcode, country)."""
        return bool(self.line1 and (self.city or self.postcode) and self.country)


@dataclass(frozen=True)
class Customer:
    """Who placed the order."""

    external_id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    company: str = ""


@dataclass(frozen=True)
class OrderLine:
    """One line of an order as the channel reports it now.

    ``quantity``: units ordered and not removed or cancelled before shipping (units
    shipped and later returned still count). ``fulfilled_quantity``: units the channel
    says have shipped (at most ``quantity``; an order whose status is FULFILLED counts
    every unit shipped). ``returned_quantity``: shipped units the channel says it took
    back into stock (a refund with restock, a return received). ``stocked`` is False for
    a line that takes no stock (gift wrap, a service, a custom item without inventory):
    it is stored and reserves nothing. A stocked line without a SKU holds the order.
    """

    sku: str
    quantity: int
    unit_price: Decimal = Decimal("0")
    title: str = ""
    external_id: str = ""
    fulfilled_quantity: int = 0
    returned_quantity: int = 0
    stocked: bool = True

    def __post_init__(self) -> None:
        name = self.sku or self.title or self.external_id
        if self.quantity < 0 or self.fulfilled_quantity < 0 or self.returned_quantity < 0:
            raise ValueError(f"order line {name!r}: quantities must not be negative")


@dataclass(frozen=True)
class DeliveryWindow:
    """When the customer wants the delivery: earliest and latest moment, both UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Order:
    """An order as a channel reports it, in the hub's own terms.

    ``updated_at`` orders versions of the same order: the hub ignores a version
    older than the one it has, so events that arrive out of order never move an
    order backwards.
    """

    channel: str
    external_id: str
    lines: tuple[OrderLine, ...]
    currency: str = "USD"
    total: Decimal = Decimal("0")
    status: OrderStatus = OrderStatus.OPEN
    payment_status: PaymentStatus = PaymentStatus.PAID
    customer: Customer = field(default_factory=Customer)
    shipping_address: Address = field(default_factory=Address)
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    delivery_window: DeliveryWindow | None = None
    notes: str = ""
    number: str = ""  # the number the merchant sees on the channel, e.g. "#1001"
    risk_level: str | None = None  # "low" / "medium" / "high" when the channel scores fraud
    tags: tuple[str, ...] = ()
    billing_address: Address = field(default_factory=Address)
    po_number: str = ""  # the buyer's purchase-order number (B2B)
    requested_date: date | None = None  # the calendar day the customer asked delivery for
    # The hub location code the sale took place at (a shop's till): intake takes the
    # order's stock there only, when the channel sells from it; "" lets the channel's
    # locations and allocation policy decide. Not part of the version digest.
    location: str = field(default="", repr=False)


@dataclass(frozen=True)
class Hold:
    """A reason to keep an order back, returned by the ``check_order`` hook."""

    code: str  # short machine-readable reason: "unpaid", "fraud_risk", "address_incomplete"
    reason: str  # what a person reads
