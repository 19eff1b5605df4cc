"""Request and response bodies of the REST API (pydantic v2).

These models are the API's contract: requests are validated against them and the
OpenAPI document (``/api/v1/openapi.json``) is generated from them. Request models
refuse unknown fields. Money is a decimal string ("12.30") in answers and a string or
number in requests; dates are ``YYYY-MM-DD``, times of day ``HH:MM[:SS]``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from hub.core.ledger import MAX_QUANTITY
from hub.core.models import PRICE_SCALE

Text = Annotated[str, Field(max_length=500)]
Short = Annotated[str, Field(max_length=128)]
Sku = Annotated[str, Field(min_length=1, max_length=128, examples=["MUG-01"])]
Quantity = Annotated[StrictInt, Field(gt=0, le=MAX_QUANTITY, examples=[3])]
Price = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("99999999999999"), decimal_places=4, examples=["12.50"]),
]
UnitPrice = Annotated[Price, Field(decimal_places=PRICE_SCALE)]  # what an order line keeps


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors --------------------------------------------------------------------------------


class ErrorDetail(Answer):
    code: str = Field(examples=["invalid"])
    message: str = Field(examples=["quantity must be greater than 0"])
    field: str | None = Field(
        default=None,
        description="What was wrong: a JSON pointer into the body (/lines/0/quantity), "
        "or the name of a parameter or header.",
        examples=["/lines/0/quantity"],
    )


class Error(Answer):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


# -- orders --------------------------------------------------------------------------------


class LineIn(Request):
    sku: Sku
    quantity: Quantity
    unit_price: UnitPrice | None = Field(
        default=None,
        description="Per unit, in the order's currency; 0 when left out "
        "(the catalogue keeps no prices).",
    )
    title: Text = ""


class AddressIn(Request):
    name: Text = ""
    company: Text = ""
    line1: Text = ""
    line2: Text = ""
    city: Text = ""
    region: Text = ""
    postcode: Short = ""
    country: Short = ""
    phone: Short = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


def _window_order(end: time | None, info: ValidationInfo) -> time | None:
    start = info.data.get("window_start")
    if end is not None and start is not None and end <= start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    return end


class OrderCreate(Request):
    """A B2B order: the customer account, its lines and when and where it goes."""

    account: Short = Field(
        min_length=1, description="The customer's account number.", examples=["C-1001"]
    )
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    channel: Short = Field(default="", description="The channel it belongs to (default b2b).")
    reference: Short = Field(
        default="", description="Your own reference, its external id; one is made if empty."
    )
    po_number: Short = Field(default="", examples=["PO-7731"])
    requested_date: date | None = Field(default=None, examples=["2026-12-03"])
    window_start: time | None = Field(default=None, examples=["09:00"])
    window_end: time | None = Field(default=None, examples=["12:00"])
    address_id: StrictInt | None = Field(
        default=None, ge=1, le=2**31 - 1, description="One of the account's addresses."
    )
    address: AddressIn | None = None
    notes: Annotated[str, Field(max_length=4000)] = ""
    paid: StrictBool = False

    _window = field_validator("window_end")(_window_order)


class OrderEdit(Request):
    """Changes to an order that has not shipped; fields left out stay as they are.
    ``lines`` replaces every line (reservations follow)."""

    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=500)
    po_number: Short | None = None
    requested_date: date | None = None
    window_start: time | None = None
    window_end: time | None = None
    notes: Annotated[str, Field(max_length=4000)] | None = None
    address_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)

    _window = field_validator("window_end")(_window_order)


class HoldIn(Request):
    reason: Text = Field(min_length=1, examples=["customer asked to wait"])


class ReleaseIn(Request):
    note: Text = Field(default="", examples=["credit approved by finance"])


class ResolveIn(Request):
    note: Text = Field(min_length=1, examples=["two mugs found behind the counter"])


class CancelIn(Request):
    reason: Text = Field(min_length=1, examples=["customer cancelled by phone"])


class ReturnLineIn(Request):
    sku: Sku
    quantity: Quantity


class ReturnIn(Request):
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    to_location: Short = Field(min_length=1, examples=["main"])
    damaged: StrictBool = Field(
        default=False, description="Damaged units go to quarantine, which no channel sells."
    )


class HoldOut(Answer):
    code: str
    reason: str
    overridable: bool


class LineOut(Answer):
    line_no: int
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    fulfilled_quantity: int
    returned_quantity: int


class AllocationOut(Answer):
    sku: str
    location: str
    quantity: int


class EventOut(Answer):
    at: datetime
    status: str
    note: str
    actor: str
    origin: str


class OrderHead(Answer):
    # What an order's listing and its full answer both show.
    id: int
    channel: str
    external_id: str
    number: str
    status: str
    hold_reason: str
    account_number: str | None
    customer_name: str
    po_number: str
    total: Decimal
    currency: str


class OrderOut(OrderHead):
    holds: list[HoldOut]
    requested_date: date | None
    window_start: str | None = Field(description="Start of the delivery window (ISO 8601).")
    window_end: str | None = Field(description="End of the delivery window (ISO 8601).")
    payment_status: str
    lines: list[LineOut]
    allocation: list[AllocationOut]
    history: list[EventOut]


class OrderCreated(OrderOut):
    warnings: list[str] = Field(
        default_factory=list,
        description="Things worth a look, such as a probable duplicate PO number.",
    )


class OrderSummaryOut(OrderHead):
    placed_at: datetime | None


class OrderPage(Answer):
    orders: list[OrderSummaryOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end."
    )


# -- stock, products, customers ---------------------------------------------------------


class StockLevelOut(Answer):
    sku: str
    location: str
    on_hand: int
    reserved: int
    free: int


class StockLevels(Answer):
    levels: list[StockLevelOut]
    next_cursor: str | None


class AvailabilityOut(Answer):
    sku: str
    available: int


class Availability(Answer):
    channel: str
    availability: list[AvailabilityOut]
    next_cursor: str | None


class ComponentOut(Answer):
    sku: str
    quantity: int


class ProductOut(Answer):
    sku: str
    name: str
    barcode: str
    weight_grams: float
    volume_cm3: float
    components: list[ComponentOut] = Field(description="What a bundle is made of.")


class ProductPage(Answer):
    products: list[ProductOut]
    next_cursor: str | None


class OversellOut(Answer):
    """Units a final sale (a shop's till) handed over beyond the hub's stock."""

    id: int
    channel: str
    order_reference: str
    sku: str
    location: str
    quantity: int
    created_at: datetime
    resolved_at: datetime | None


class OversellList(Answer):
    oversells: list[OversellOut]


class OversellQuery(Request):
    include_resolved: bool = Field(default=False, description="Resolved ones too.")


class ContactOut(Answer):
    id: int
    name: str
    email: str
    phone: str
    role: str


class AddressOut(Answer):
    id: int
    label: str
    is_default: bool
    name: str
    company: str
    line1: str
    line2: str
    city: str
    region: str
    postcode: str
    country: str
    phone: str
    latitude: float | None
    longitude: float | None


class CustomerOut(Answer):
    account_number: str
    name: str
    vat_id: str
    email: str
    phone: str
    payment_terms_days: int | None
    credit_limit: Decimal | None
    notes: str
    active: bool
    contacts: list[ContactOut]
    addresses: list[AddressOut]


class CustomerPage(Answer):
    customers: list[CustomerOut]
    next_cursor: str | None


class CustomerCreate(Request):
    account_number: Short = Field(min_length=1, examples=["C-1001"])
    name: Text = Field(min_length=1, examples=["Corner Café Ltd"])
    vat_id: Short = ""
    email: Short = ""
    phone: Short = ""
    payment_terms_days: StrictInt | None = Field(default=None, ge=0, le=365)
    credit_limit: Price | None = None
    notes: Annotated[str, Field(max_length=4000)] = ""


# -- query strings -----------------------------------------------------------------------


class Page(Request):
    limit: int = Field(default=50, ge=1, le=200, description="At most 200.")
    cursor: str | None = Field(default=None, max_length=200, description="From next_cursor.")


class OrderQuery(Page):
    status: (
        Literal["pending", "open", "on_hold", "fulfilled", "delivered", "cancelled", "refunded"]
        | None
    ) = None
    channel: Short | None = None
    hold: Short | None = Field(default=None, description="Held orders whose reason contains it.")
    account: Short | None = Field(default=None, description="A customer account number.")


class StockQuery(Page):
    sku: Short | None = None
    location: Short | None = None


class AvailabilityQuery(Page):
    sku: Short | None = None


class SearchQuery(Page):
    search: Short | None = Field(default=None, description="Part of a number, name or e-mail.")
