"""Database tables (SQLModel). Only the core reads and writes them.

The stock journal (:class:`Movement`) is append-only; :class:`Balance` rows are
derived from it in the same transaction and checked by the database itself
(``reserved`` between 0 and ``on_hand``), so no code path can reserve a unit twice.
Schema changes go through Alembic migrations in ``hub/core/migrations``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts(nullable: bool = False, index: bool = False):  # type: ignore[no-untyped-def]
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _text(kind: type = sa.String):  # type: ignore[no-untyped-def]
    """A text column added to a table with rows: not null, empty for the rows it finds."""
    return sa.Column(kind(), nullable=False, server_default="")


# Decimal places kept of a line's unit price: 0.0000030335 is stored as it is. Amounts
# (order totals, credit limits) keep 4: a total is what is charged, and no currency
# charges less than a ten-thousandth of its unit; a line keeps its exact price, so the
# exact sum can always be made from the lines.
PRICE_SCALE = 10


def _money(scale: int = 4):  # type: ignore[no-untyped-def]
    return sa.Column(sa.Numeric(14 + scale, scale), nullable=False, server_default="0")


class Product(SQLModel, table=True):
    __tablename__ = "product"

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(sa_column=sa.Column(sa.String(128), nullable=False, unique=True))
    name: str = ""
    barcode: str = Field(default="", index=True)
    weight_grams: float = 0.0
    volume_cm3: float = 0.0
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


class BundleComponent(SQLModel, table=True):
    __tablename__ = "bundle_component"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    bundle_id: int = Field(foreign_key="product.id", primary_key=True)
    component_id: int = Field(foreign_key="product.id", primary_key=True)
    quantity: int = Field(default=1, sa_type=sa.BigInteger)


class Location(SQLModel, table=True):
    __tablename__ = "location"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    name: str = ""
    kind: str = "warehouse"
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None


class Movement(SQLModel, table=True):
    """One line of the stock journal. Never updated, never deleted."""

    __tablename__ = "movement"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    product_id: int = Field(foreign_key="product.id", index=True)
    location_id: int = Field(foreign_key="location.id")
    on_hand_delta: int = Field(default=0, sa_type=sa.BigInteger)
    reserved_delta: int = Field(default=0, sa_type=sa.BigInteger)
    reason: str = ""
    channel: str = ""
    reference: str = ""
    actor: str = ""
    order_id: int | None = Field(default=None, foreign_key="sales_order.id", index=True)
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


class Balance(SQLModel, table=True):
    """On hand and reserved per SKU and location: the sum of the journal, kept in step."""

    __tablename__ = "balance"
    __table_args__ = (
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        # On hand goes below zero only by units a final sale handed over beyond the stock
        # (``oversold``, see :class:`Oversell`); every other write keeps it at zero or more.
        sa.CheckConstraint("on_hand + oversold >= 0", name="on_hand_not_negative"),
        sa.CheckConstraint("reserved <= on_hand OR reserved = 0", name="reserved_within_on_hand"),
        sa.CheckConstraint("oversold >= 0", name="oversold_not_negative"),
    )

    product_id: int = Field(foreign_key="product.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    on_hand: int = Field(default=0, sa_type=sa.BigInteger)
    reserved: int = Field(default=0, sa_type=sa.BigInteger)
    # Units final sales (a shop's till: the goods already left) took here beyond the stock
    # there, ever: on hand may be this far below zero, and only intake's final-sale path
    # raises it. Zero for every location no such sale reached.
    oversold: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )


class Oversell(SQLModel, table=True):
    """A final sale (the shop handed the goods over) that the hub's stock could not cover.

    Recorded by intake for a channel whose completed sales are final (``final_sales``):
    the sale movement is booked all the same at the order's location, whose on hand goes
    below zero by ``quantity``; the record stays for a person to investigate (shown by
    ``hub status`` and the sync page) until ``resolved_at`` is set.
    """

    __tablename__ = "oversell"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    location_id: int = Field(foreign_key="location.id")
    quantity: int = Field(default=0, sa_type=sa.BigInteger)  # units beyond the free stock
    reference: str = ""  # the order's number or external id
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Listing(SQLModel, table=True):
    """A channel's own id for one of our SKUs, and the quantity it last confirmed."""

    __tablename__ = "listing"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id", name="uq_listing_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    external_id: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    parent_id: str = ""
    location_id: str = ""
    product_id: int = Field(foreign_key="product.id", index=True)
    title: str = ""
    managed: bool = True
    confirmed_quantity: int | None = Field(default=None, sa_type=sa.BigInteger)
    confirmed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # A push was sent whose answer the hub has not recorded (time-out, crash): the channel
    # may hold the new figure or the old one, so the listing is pushed or read back again.
    unconfirmed: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    # The channel's own time of the newest stock event taken as confirmed: an older or
    # replayed event never moves the confirmed figure backwards.
    event_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class SalesOrder(SQLModel, table=True):
    """An order from any channel; (channel, external_id) is unique: intake is idempotent."""

    __tablename__ = "sales_order"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_sales_order_channel"),
        # the API's probable-duplicate-PO check: an account's orders by PO number
        sa.Index("ix_sales_order_account_po", "account_id", "po_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    external_id: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    number: str = ""
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    channel_status: str = ""
    payment_status: str = ""
    hold_reason: str = ""
    currency: str = "USD"
    total: Decimal = Field(default=Decimal("0"), sa_column=_money())
    customer_id: str = ""
    customer_name: str = ""
    customer_email: str = Field(default="", index=True)
    customer_phone: str = ""
    company: str = ""
    ship_name: str = ""
    ship_line1: str = ""
    ship_line2: str = ""
    ship_city: str = ""
    ship_region: str = ""
    ship_postcode: str = Field(default="", index=True)
    ship_country: str = ""
    ship_phone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    window_start: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    window_end: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    notes: str = ""
    risk_level: str = ""
    placed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    version: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # Orders versions that share ``version`` (channels give seconds): see hub.core.orderstate.
    version_key: str = Field(
        default="", sa_column=sa.Column(sa.String(96), nullable=False, server_default="")
    )
    # The order desk (migration 0007): the B2B account it is charged to, the buyer's
    # purchase-order number, the calendar day delivery was asked for, the billing address,
    # and the codes of plugin holds a person released (intake no longer applies them).
    account_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("customer_account.id"), index=True),
    )
    po_number: str = Field(
        default="", sa_column=sa.Column(sa.String(128), nullable=False, server_default="")
    )
    requested_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    bill_name: str = Field(default="", sa_column=_text())
    bill_line1: str = Field(default="", sa_column=_text())
    bill_line2: str = Field(default="", sa_column=_text())
    bill_city: str = Field(default="", sa_column=_text())
    bill_region: str = Field(default="", sa_column=_text())
    bill_postcode: str = Field(default="", sa_column=_text())
    bill_country: str = Field(default="", sa_column=_text())
    released_holds: str = Field(default="", sa_column=_text(sa.Text))
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    updated_at: datetime = Field(default_factory=now, sa_column=_ts())


class SalesOrderLine(SQLModel, table=True):
    __tablename__ = "sales_order_line"
    __table_args__ = (sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    order_id: int = Field(foreign_key="sales_order.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    sku: str = ""
    product_id: int | None = Field(default=None, foreign_key="product.id")
    quantity: int = Field(default=0, sa_type=sa.BigInteger)
    unit_price: Decimal = Field(default=Decimal("0"), sa_column=_money(PRICE_SCALE))
    title: str = ""
    external_id: str = ""
    # What the channel reports: units shipped, and shipped units taken back into stock.
    fulfilled_quantity: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    returned_quantity: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    # False for a line that takes no stock (gift wrap, a service, a custom item).
    stocked: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )


class OrderEvent(SQLModel, table=True):
    """The order's history: every status change and note, with who and when (the audit trail)."""

    __tablename__ = "order_event"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    status: str = ""
    note: str = ""
    actor: str = ""
    # where the actor acted from: "cli", "api", "web", "import", or "" for intake and jobs
    origin: str = Field(
        default="", sa_column=sa.Column(sa.String(16), nullable=False, server_default="")
    )
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


# Plain Core handles for the hot paths (intake, reservations), which avoid the ORM's overhead.
product_t = Product.__table__  # type: ignore[attr-defined]
bundle_t = BundleComponent.__table__  # type: ignore[attr-defined]
location_t = Location.__table__  # type: ignore[attr-defined]
movement_t = Movement.__table__  # type: ignore[attr-defined]
balance_t = Balance.__table__  # type: ignore[attr-defined]
oversell_t = Oversell.__table__  # type: ignore[attr-defined]
listing_t = Listing.__table__  # type: ignore[attr-defined]
order_t = SalesOrder.__table__  # type: ignore[attr-defined]
order_line_t = SalesOrderLine.__table__  # type: ignore[attr-defined]
order_event_t = OrderEvent.__table__  # type: ignore[attr-defined]


class StockOutbox(SQLModel, table=True):
    """A SKU whose availability changed, to be pushed to one channel (written with the move).

    The pusher leases rows (``claimed_by``/``claimed_until``) so several workers share the
    work and a worker that dies mid-push only delays its rows until the lease runs out.
    """

    __tablename__ = "stock_outbox"

    channel: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    dirty_at: datetime = Field(default_factory=now, sa_column=_ts())
    claimed_by: str = ""
    claimed_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    attempts: int = 0
    last_error: str = ""


class Inbox(SQLModel, table=True):
    """A verified webhook delivery, stored before it is acknowledged and processed later."""

    __tablename__ = "inbox"
    __table_args__ = (
        sa.UniqueConstraint("channel", "delivery_id", name="uq_inbox_delivery"),
        sa.Index("ix_inbox_pending", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    delivery_id: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    topic: str = ""
    headers: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    body: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = 0
    last_error: str = ""
    claimed_by: str = ""
    claimed_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    received_at: datetime = Field(default_factory=now, sa_column=_ts())
    processed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class SyncState(SQLModel, table=True):
    """Where each channel's sync jobs stand: cursors, last successes, failures."""

    __tablename__ = "sync_state"

    channel: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    job: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    cursor: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    high_water: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    failures: int = 0
    last_error: str = ""
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))


class DeadLetter(SQLModel, table=True):
    """A job or record that kept failing, kept with its error until ``hub retry``."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = ""  # pull, push, inbox, fulfil
    reference: str = ""
    payload: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    error: str = ""
    attempts: int = 0
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    retried_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Shipment(SQLModel, table=True):
    """A shipment of (part of) an order, and whether the selling channel has been told.

    ``source`` is "hub" for shipments recorded in the hub (CLI, carriers, drivers), which
    must reach the channel, and "channel" for those the channel reported itself.
    ``channel_state``: pending (to be sent), confirmed, failed (dead-lettered with the
    reason), not_needed (the channel reported it, or has no way to be told).
    """

    __tablename__ = "shipment"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    channel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    source: str = Field(default="hub", sa_column=sa.Column(sa.String(16), nullable=False))
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    actor: str = ""
    shipped_at: datetime = Field(default_factory=now, sa_column=_ts())
    channel_state: str = Field(
        default="pending", sa_column=sa.Column(sa.String(16), nullable=False, index=True)
    )
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    claimed_by: str = ""
    claimed_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ShipmentLine(SQLModel, table=True):
    """Units of one product that a shipment took from one location."""

    __tablename__ = "shipment_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    shipment_id: int = Field(foreign_key="shipment.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    quantity: int = Field(default=0, sa_type=sa.BigInteger)


shipment_t = Shipment.__table__  # type: ignore[attr-defined]
shipment_line_t = ShipmentLine.__table__  # type: ignore[attr-defined]
outbox_t = StockOutbox.__table__  # type: ignore[attr-defined]
inbox_t = Inbox.__table__  # type: ignore[attr-defined]
sync_state_t = SyncState.__table__  # type: ignore[attr-defined]
dead_letter_t = DeadLetter.__table__  # type: ignore[attr-defined]


class RoutePlan(SQLModel, table=True):
    """One run of the planner: the days it covers and the router that solved it."""

    __tablename__ = "route_plan"

    id: int | None = Field(default=None, primary_key=True)
    first_day: date
    days: int = 1
    router: str = ""
    note: str = ""
    stats: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


class PlannedRoute(SQLModel, table=True):
    """One vehicle's route on one day; ``dispatched`` routes stay as they are on re-planning."""

    __tablename__ = "planned_route"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="route_plan.id", index=True)
    vehicle: str = ""
    day: date
    departure: datetime = Field(sa_column=_ts())
    arrival: datetime = Field(sa_column=_ts())
    distance_m: float = 0.0
    weight_kg: float = 0.0
    volume_m3: float = 0.0
    cost: float = 0.0
    dispatched: bool = False
    # the depots the route leaves from and returns to, for maps (None: stored before 0004)
    start_latitude: float | None = None
    start_longitude: float | None = None
    end_latitude: float | None = None
    end_longitude: float | None = None


class PlannedStop(SQLModel, table=True):
    """An order's place on a route (orders consolidated into one stop share ``seq``)."""

    __tablename__ = "planned_stop"

    id: int | None = Field(default=None, primary_key=True)
    route_id: int = Field(foreign_key="planned_route.id", index=True)
    seq: int = 0
    stop_key: str = ""
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    arrival: datetime = Field(sa_column=_ts())
    service_start: datetime = Field(sa_column=_ts())
    departure: datetime = Field(sa_column=_ts())


class UnplannedOrder(SQLModel, table=True):
    """An order a plan left out, with the router's reason."""

    __tablename__ = "unplanned_order"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="route_plan.id", index=True)
    order_id: int = Field(foreign_key="sales_order.id")
    code: str = ""
    reason: str = ""


route_plan_t = RoutePlan.__table__  # type: ignore[attr-defined]
planned_route_t = PlannedRoute.__table__  # type: ignore[attr-defined]
planned_stop_t = PlannedStop.__table__  # type: ignore[attr-defined]
unplanned_order_t = UnplannedOrder.__table__  # type: ignore[attr-defined]


class CustomerAccount(SQLModel, table=True):
    """A B2B customer: terms, credit limit, contacts and delivery addresses.

    ``payment_terms_days`` None means the customer pays before delivery (no account);
    ``credit_limit`` None means no limit. Both in the hub's currency.
    """

    __tablename__ = "customer_account"

    id: int | None = Field(default=None, primary_key=True)
    account_number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    name: str = ""
    vat_id: str = ""
    email: str = Field(default="", index=True)
    phone: str = ""
    payment_terms_days: int | None = None
    credit_limit: Decimal | None = Field(
        default=None, sa_column=sa.Column(sa.Numeric(18, 4), nullable=True)
    )
    notes: str = ""
    active: bool = True
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    updated_at: datetime = Field(default_factory=now, sa_column=_ts())


class CustomerContact(SQLModel, table=True):
    """A person at a B2B customer; channel orders match accounts by these e-mails."""

    __tablename__ = "customer_contact"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="customer_account.id", index=True)
    name: str = ""
    email: str = Field(default="", index=True)
    phone: str = ""
    role: str = ""


class CustomerAddress(SQLModel, table=True):
    """A delivery address of a B2B customer, with coordinates when known."""

    __tablename__ = "customer_address"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="customer_account.id", index=True)
    label: str = ""
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
    is_default: bool = False


class ApiToken(SQLModel, table=True):
    """A REST API token: only its SHA-256 is kept; the token is shown once at creation."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    role: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    prefix: str = Field(default="", sa_column=sa.Column(sa.String(16), nullable=False))
    created_by: str = ""
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class WebUser(SQLModel, table=True):
    """A person who signs in to the web pages; the password is kept as an argon2 hash."""

    __tablename__ = "web_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    full_name: str = ""
    password_hash: str = ""
    role: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    disabled: bool = False
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    last_login_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class IdempotencyKey(SQLModel, table=True):
    """One ``Idempotency-Key`` of one caller: the request it came with and the first answer.

    ``state`` is "in_progress" while the first request runs and "done" once its answer
    is stored; a failure before commit deletes the row, so the key can be used again.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("scope", "key", name="uq_idempotency_key_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    method: str = Field(default="", sa_column=sa.Column(sa.String(8), nullable=False))
    path: str = ""
    request_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    response_status: int | None = None
    response_body: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class OrderImport(SQLModel, table=True):
    """A spreadsheet of orders imported: which file (by its SHA-256), by whom, what it made."""

    __tablename__ = "order_import"

    id: int | None = Field(default=None, primary_key=True)
    file_sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    filename: str = ""
    channel: str = ""
    rows: int = 0
    orders_created: int = 0
    orders_unchanged: int = 0
    actor: str = ""
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


customer_account_t = CustomerAccount.__table__  # type: ignore[attr-defined]
customer_contact_t = CustomerContact.__table__  # type: ignore[attr-defined]
customer_address_t = CustomerAddress.__table__  # type: ignore[attr-defined]
api_token_t = ApiToken.__table__  # type: ignore[attr-defined]
web_user_t = WebUser.__table__  # type: ignore[attr-defined]
idempotency_key_t = IdempotencyKey.__table__  # type: ignore[attr-defined]
order_import_t = OrderImport.__table__  # type: ignore[attr-defined]


class CarrierLabel(SQLModel, table=True):
    """A carrier label bought (or being bought) for an order: postage, tracking, the file.

    ``generation`` counts the order's labels: the first is 1, and only an explicit
    void-and-re-buy starts the next, so (order_id, generation) being unique makes a
    second label for the same generation impossible, whoever clicks "ship" twice.
    ``reference`` is sent to the carrier as the shipment's own reference, so a buy whose
    answer was lost is found again by reading the carrier's shipment back. ``state``:
    buying (asked, outcome not yet known), bought, refund_asked (voided, the carrier asked
    to refund the postage), voided (refund confirmed or no postage to refund), failed.
    """

    __tablename__ = "carrier_label"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "generation", name="uq_carrier_label_order_generation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    generation: int = 1
    reference: str = Field(sa_column=sa.Column(sa.String(128), nullable=False, unique=True))
    carrier: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    carrier_type: str = Field(default="", sa_column=sa.Column(sa.String(32), nullable=False))
    service: str = ""
    rate_id: str = ""
    postage: Decimal = Field(default=Decimal("0"), sa_column=_money())
    currency: str = Field(default="", sa_column=sa.Column(sa.String(3), nullable=False))
    carrier_shipment_id: str = Field(default="", index=True)
    tracking_number: str = Field(default="", index=True)
    tracking_url: str = ""
    label_path: str = ""
    state: str = Field(default="buying", sa_column=sa.Column(sa.String(16), nullable=False))
    refund_status: str = ""
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id")
    tracking_status: str = ""
    estimated_delivery: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    delivered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str = ""
    actor: str = ""
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    bought_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    voided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class TrackingEvent(SQLModel, table=True):
    """One tracking event of a label as the carrier (or the driver app) reported it, once."""

    __tablename__ = "tracking_event"
    __table_args__ = (
        sa.UniqueConstraint("label_id", "status", "occurred_at", name="uq_tracking_event_label_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    label_id: int = Field(foreign_key="carrier_label.id", index=True)
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    message: str = ""
    location: str = ""
    occurred_at: datetime = Field(sa_column=_ts())
    received_at: datetime = Field(default_factory=now, sa_column=_ts())


carrier_label_t = CarrierLabel.__table__  # type: ignore[attr-defined]
tracking_event_t = TrackingEvent.__table__  # type: ignore[attr-defined]


# -- customer notifications (migration 0012, hub.core.notify) ---------------------------------


class NotificationMessage(SQLModel, table=True):
    """A message to a customer about an order, written before it is sent.

    ``idempotency_key`` (order, event, kind and an optional discriminator) is unique, so
    an event reported twice records and sends one message. ``status``: queued (waiting,
    ``next_attempt_at`` after quiet hours or a failure), sending (handed to the provider;
    the row is committed so before the call), sent, delivered, undelivered, failed,
    suppressed (opted out, no contact, or a next-stop message in quiet hours).
    ``status_detail`` says why, in words.
    """

    __tablename__ = "notification_message"
    __table_args__ = (sa.Index("ix_notification_message_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    event: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # email, sms
    notifier: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    provider: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    recipient: str = Field(sa_column=sa.Column(sa.String(320), nullable=False))
    template: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    language: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    subject: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    body: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    idempotency_key: str = Field(sa_column=sa.Column(sa.String(160), nullable=False, unique=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status_detail: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    provider_id: str = Field(
        default="", sa_column=sa.Column(sa.String(255), nullable=False, index=True)
    )
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    claimed_by: str = Field(default="", sa_column=sa.Column(sa.String, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    status_at: datetime = Field(default_factory=now, sa_column=_ts())


class NotificationOptOut(SQLModel, table=True):
    """A recipient (e-mail address in lower case, or phone number) who wants no messages."""

    __tablename__ = "notification_opt_out"

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(sa_column=sa.Column(sa.String(320), nullable=False, unique=True))
    source: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # link, cli, sms
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


class TrackingToken(SQLModel, table=True):
    """The unguessable token of an order's public tracking page, and what the page shows
    beside the order's status: the ETA window and how many stops the driver has before."""

    __tablename__ = "tracking_token"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("sales_order.id"), nullable=False, unique=True
        )
    )
    token: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    eta_start: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    eta_end: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    stops_before: int | None = None
    created_at: datetime = Field(default_factory=now, sa_column=_ts())
    updated_at: datetime = Field(default_factory=now, sa_column=_ts())


class TrackingFeedback(SQLModel, table=True):
    """A delivery note or a rating (1 to 5) a customer left on the tracking page."""

    __tablename__ = "tracking_feedback"
    __table_args__ = (
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_one_to_five"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    rating: int | None = None
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


notification_message_t = NotificationMessage.__table__  # type: ignore[attr-defined]
notification_opt_out_t = NotificationOptOut.__table__  # type: ignore[attr-defined]
tracking_token_t = TrackingToken.__table__  # type: ignore[attr-defined]
tracking_feedback_t = TrackingFeedback.__table__  # type: ignore[attr-defined]


class Driver(SQLModel, table=True):
    """A driver of the own fleet: signs in to the driver app with a token kept only as
    its SHA-256 (shown once), and drives the routes of ``vehicle`` (a ``[fleet.*]`` name)."""

    __tablename__ = "driver"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    phone: str = ""
    vehicle: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    token_prefix: str = Field(default="", sa_column=sa.Column(sa.String(16), nullable=False))
    disabled: bool = False
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


class DriverLink(SQLModel, table=True):
    """A one-time sign-in link: its token's SHA-256, until when it works, when it was used."""

    __tablename__ = "driver_link"

    id: int | None = Field(default=None, primary_key=True)
    driver_id: int = Field(foreign_key="driver.id", index=True)
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=now, sa_column=_ts())


class RouteAction(SQLModel, table=True):
    """What a driver did at a stop (arrive, deliver, fail), as the phone recorded it.

    ``client_id`` is the phone's own id of the action: unique per driver, so an action
    sent twice (an offline queue replayed) is recorded once. ``phone_at`` is when it
    happened on the phone, ``received_at`` when the hub got it; a stop's outcome is read
    in ``phone_at`` order. Signature and photo are paths below the driver media folder.
    """

    __tablename__ = "route_action"
    __table_args__ = (
        sa.UniqueConstraint("driver_id", "client_id", name="uq_route_action_client"),
        sa.Index("ix_route_action_stop", "route_id", "stop_seq", "phone_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    driver_id: int = Field(foreign_key="driver.id")
    client_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    route_id: int = Field(foreign_key="planned_route.id")
    stop_seq: int = 0
    kind: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))  # arrive, deliver, fail
    reason: str = Field(default="", sa_column=sa.Column(sa.String(32), nullable=False))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    recipient_name: str = ""
    signature_path: str = ""
    photo_path: str = ""
    phone_at: datetime = Field(sa_column=_ts())
    received_at: datetime = Field(default_factory=now, sa_column=_ts())
    device_id: str = Field(default="", sa_column=sa.Column(sa.String(64), nullable=False))
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None


class PositionPing(SQLModel, table=True):
    """Where a driver's phone was at ``phone_at`` (degrees, accuracy in metres); one per
    driver and phone time, so a replayed ping is kept once."""

    __tablename__ = "position_ping"
    __table_args__ = (
        sa.UniqueConstraint("driver_id", "phone_at", name="uq_position_ping_driver_time"),
        sa.Index("ix_position_ping_route", "route_id", "phone_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    driver_id: int = Field(foreign_key="driver.id")
    route_id: int | None = Field(default=None, foreign_key="planned_route.id")
    latitude: float
    longitude: float
    accuracy_m: float | None = None
    phone_at: datetime = Field(sa_column=_ts())
    received_at: datetime = Field(default_factory=now, sa_column=_ts())


driver_t = Driver.__table__  # type: ignore[attr-defined]
driver_link_t = DriverLink.__table__  # type: ignore[attr-defined]
route_action_t = RouteAction.__table__  # type: ignore[attr-defined]
position_ping_t = PositionPing.__table__  # type: ignore[attr-defined]


class OrderEta(SQLModel, table=True):
    """The current ETA of an order still to be delivered on a dispatched route, as
    :mod:`hub.core.eta` recomputes it from the driver's progress (pings, actions).

    ``eta`` is the expected arrival at the order's stop (aware UTC, whole seconds; the
    real arrival once the driver is there), ``planned`` the plan's arrival; ``late``
    when ``eta`` is after the order's promised window's end. ``basis`` says what the
    ETA starts from: ``plan`` (no progress yet), ``ping`` (the phone's last position),
    ``stop`` (the driver's last arrival or completed stop). A delivered or failed order
    has no row."""

    __tablename__ = "order_eta"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("sales_order.id"), nullable=False, unique=True
        )
    )
    route_id: int = Field(foreign_key="planned_route.id", index=True)
    stop_seq: int = 0
    eta: datetime = Field(sa_column=_ts())
    planned: datetime = Field(sa_column=_ts())
    window_end: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    late: bool = False
    stops_before: int = 0
    basis: str = Field(default="plan", sa_column=sa.Column(sa.String(8), nullable=False))
    updated_at: datetime = Field(default_factory=now, sa_column=_ts())


order_eta_t = OrderEta.__table__  # type: ignore[attr-defined]
