"""Shipments, carriers and notifiers: what carrier and notifier plugins implement.

A carrier plugin registers a subclass of :class:`Carrier` from the
``register_carrier_types`` hook; the hub makes one instance per ``[carriers.NAME]``
section whose ``type`` matches its ``type_name`` and calls it from worker threads. How
the hub uses a carrier to buy a label exactly once is told in :class:`Carrier`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from hub.errors import HubError
from hub.orders import Address


@dataclass(frozen=True)
class Shipment:
    """A parcel or a driver's drop for one order."""

    order_channel: str
    order_external_id: str
    carrier: str
    tracking_number: str = ""
    tracking_url: str = ""
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


class PluginConfig(BaseModel):
    """Base of carrier and notifier configuration sections; unknown keys are errors.

    Type credentials (API keys, tokens, passwords) :class:`pydantic.SecretStr`: their
    values then never appear in a message, a log line or a page.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str


class CarrierConfig(PluginConfig):
    """Base of carrier sections: ``channels`` names the channels whose orders the carrier
    may carry (empty: every channel), for the hub's carrier choice."""

    channels: list[str] = []


class CarrierError(HubError):
    """A carrier's API refused or failed a call.

    ``retryable`` is True for 429, 5xx and time-outs (the outcome of a buy is then
    unknown: the hub reads the carrier's shipment back before it tries again).
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message, field="carrier")
        self.retryable = retryable
        self.status = status


class AlreadyPurchased(CarrierError):
    """The carrier refused a buy because the shipment already has a label: the hub reads
    the shipment back and keeps that label (a buy whose answer was lost did succeed)."""


@dataclass(frozen=True)
class LabelRequest:
    """What a carrier needs to quote and label one parcel of an order.

    Addresses are :class:`hub.Address`. ``reference`` is the hub's idempotency
    reference of the label (unique, e.g. ``hub-42-1``): a carrier that can store a
    reference on its shipment does, so the hub can recognise its shipment again.
    ``weight_grams`` is the parcel's weight in grams.
    ``promised_by`` is the last calendar day delivery was promised for (None: no
    promise). ``route`` and ``stop`` say where an own-fleet parcel travels.
    """

    reference: str
    order_channel: str
    order_external_id: str
    order_number: str
    to_address: Address
    from_address: Address
    weight_grams: int
    promised_by: date | None = None
    route: str = ""
    stop: int | None = None
    to_email: str = ""


@dataclass(frozen=True)
class Rate:
    """One price a carrier offers: ``amount`` in ``currency`` for ``service``.

    ``rate_id`` is the carrier's id to buy this rate; ``delivery_days`` the business
    days it promises (None: not said); ``delivery_date`` the day it promises, when said.
    """

    service: str
    amount: Decimal
    currency: str
    rate_id: str = ""
    delivery_days: int | None = None
    delivery_date: date | None = None
    carrier: str = ""  # the carrier behind an aggregator's rate (USPS, UPS, ...)


@dataclass(frozen=True)
class Quote:
    """A shipment created at the carrier, with the rates it offers for it."""

    carrier_shipment_id: str
    rates: tuple[Rate, ...]


@dataclass(frozen=True)
class Label:
    """A bought label: what the parcel carries and what it cost.

    ``postage`` is in ``currency``; ``label_url`` is where the carrier serves the label
    file ("" when the carrier makes it itself: :meth:`Carrier.label_file`).
    """

    carrier_shipment_id: str
    tracking_number: str
    service: str
    postage: Decimal
    currency: str
    tracking_url: str = ""
    label_url: str = ""
    rate_id: str = ""
    carrier: str = ""  # who carries it (USPS, UPS): told to the channel; "" for the carrier


@dataclass(frozen=True)
class TrackingUpdate:
    """One tracking event as the carrier reports it.

    ``status`` is the carrier's status word (``in_transit``, ``out_for_delivery``,
    ``delivered``, ...), ``occurred_at`` aware UTC, ``estimated_delivery`` the calendar
    day the carrier now expects delivery in the recipient's zone (see
    :func:`delivery_day`), or None.
    """

    tracking_number: str
    status: str
    occurred_at: datetime
    message: str = ""
    location: str = ""
    estimated_delivery: date | None = None
    carrier_shipment_id: str = ""


@dataclass(frozen=True)
class RunSheetStop:
    """One drop of a route's run sheet: where, when, and what to hand over.

    ``window_start``/``window_end`` and ``arrival`` are aware times (shown in the
    sheet's zone); ``items`` are (SKU, title, units) to hand over.
    """

    seq: int
    order_ref: str
    order_number: str
    customer: str
    address: tuple[str, ...]
    phone: str = ""
    arrival: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    items: tuple[tuple[str, str, int], ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class RunSheet:
    """A driver's sheet for one route of a stored plan: its stops in order."""

    plan_id: int
    route_id: int
    vehicle: str
    day: date
    departure: datetime
    zone: str
    stops: tuple[RunSheetStop, ...]


def delivery_day(value: str | None, zone: str | ZoneInfo) -> date | None:
    """The calendar day a carrier's estimated delivery means for a recipient in ``zone``.

    A bare date (``2024-08-09``) is that day, never shifted (read as a UTC midnight and
    shown in America/Denver it would become 8 August). A time with an offset
    (``2024-08-09T00:00:00-06:00``) is converted to ``zone`` and its day taken; one
    without an offset is taken as the recipient's local time. None or "" gives None.
    Raises ValueError naming the value when it is neither.
    """
    if not value:
        return None
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"estimated delivery {value!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        return moment.date()
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return moment.astimezone(tz).date()


def spoken_day(day: date) -> str:
    """A day as told to a customer, e.g. ``Friday 9 August``."""
    return f"{day:%A} {day.day} {day:%B}"


class Carrier:
    """Base class of carriers: quote rates, buy a label, read it back, void it, follow it.

    Class attributes: ``type_name`` (the ``type`` of the config sections it serves),
    ``Config`` (a :class:`PluginConfig` subclass validating them), ``sandbox`` (a
    zero-argument factory of an emulator of the service, or None).

    The hub buys a label exactly once per order (until a person voids it):

    1. it records the label as ``buying`` under its reference before calling the carrier;
    2. :meth:`quote` creates the carrier's shipment (with ``request.reference``) and the
       hub stores its ``carrier_shipment_id`` at once;
    3. before every :meth:`buy`, and after any buy whose answer did not come,
       :meth:`read_back` asks the carrier whether the shipment already has a label, and
       the hub keeps that one;
    4. a buy refused with :class:`AlreadyPurchased` is answered by reading back too.

    Every method may block on the network and raises :class:`CarrierError`
    (``retryable=True`` for 429, 5xx and time-outs).
    """

    type_name: ClassVar[str] = ""
    Config: ClassVar[type[PluginConfig]] = CarrierConfig
    sandbox: ClassVar[object] = None
    own_fleet: ClassVar[bool] = False  # the merchant's vans: chosen first inside its area
    hands_over: ClassVar[bool] = True  # a bought label ships the order (not for own vans)

    def __init__(self, name: str, config: PluginConfig) -> None:
        self.name = name
        self.config = config

    def serves(self, request: LabelRequest) -> bool:
        """Whether this carrier can take the parcel at all (an own fleet: inside its
        delivery area). The default serves everywhere."""
        return True

    def quote(self, request: LabelRequest) -> Quote:
        """Create the carrier's shipment for ``request`` and return it with its rates."""
        raise NotImplementedError

    def buy(self, carrier_shipment_id: str, rate: Rate) -> Label:
        """Buy ``rate`` for the shipment; raise :class:`AlreadyPurchased` when the
        carrier says it already has a label."""
        raise NotImplementedError

    def read_back(self, carrier_shipment_id: str) -> Label | None:
        """The label the carrier's shipment already has, or None when it has none."""
        raise NotImplementedError

    def void(self, label: Label) -> str:
        """Void the label and ask for its postage back; returns the refund's status in
        the carrier's words (``submitted``, ``refunded``, ``rejected``, or
        ``not_applicable`` when there is nothing to refund)."""
        raise NotImplementedError

    def label_file(self, label: Label, request: LabelRequest) -> bytes:
        """The label's file (PDF bytes by default: ``label_suffix``)."""
        raise NotImplementedError

    label_suffix: ClassVar[str] = ".pdf"

    def run_sheet(self, sheet: RunSheet) -> bytes:
        """A route's run sheet as PDF bytes; only an own fleet makes them."""
        raise NotImplementedError

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when a tracking webhook's signature is valid; compare in constant time."""
        return False

    def parse_tracking(
        self, headers: Mapping[str, str], body: bytes, zone: ZoneInfo
    ) -> list[TrackingUpdate]:
        """The tracking updates a verified webhook delivery carries; ``zone`` is the
        recipient's time zone, for :func:`delivery_day`. Raise ValueError naming what is
        missing for a body that cannot be read."""
        return []

    def close(self) -> None:
        """Release connections; called once when the hub stops."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message a notifier is asked to send, as rendered from the merchant's templates.

    ``to`` is an e-mail address (kind ``email``) or a phone number in E.164 form
    (``+15551234567``, kind ``sms``); ``subject`` is empty for SMS. ``reference`` is the
    hub's idempotency key of the message (the same on every attempt): an e-mail notifier
    derives its Message-ID from it, so a receiving system can recognise a repeat.
    ``status_callback`` is the URL the service should report delivery status to (empty
    when the hub has no public URL configured or the kind has no status reports).
    """

    to: str
    subject: str
    body: str
    reference: str = ""
    status_callback: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """What a service reported about a sent message: its id and its new status.

    ``status`` is the hub's word: ``sent``, ``delivered``, ``undelivered`` or ``failed``;
    ``detail`` the service's own status and error code, for people.
    """

    provider_id: str
    status: str
    detail: str = ""


class NotificationRefused(Exception):
    """The service refused the message for good (a bad address, an unknown number, the
    recipient blocked us): sending it again cannot help. Other exceptions from
    :meth:`Notifier.send` are taken as passing failures and retried with backoff."""


class Notifier:
    """Base class of notifiers: send a short message to a customer.

    Class attributes: ``type_name``, the ``type`` of the ``[notifiers.NAME]`` sections it
    serves; ``Config``, the :class:`PluginConfig` subclass validating them; ``kind``,
    ``"email"`` or ``"sms"``: which of the order's contacts it writes to and which
    templates it sends (``<event>.email.txt`` or ``<event>.sms.txt``).

    The hub calls :meth:`send` from a worker thread, at most once per message and attempt;
    a message whose attempt failed is only tried again after the notifier raised.
    Services that report delivery later (Twilio's status callbacks) implement
    :meth:`verify_callback` and :meth:`parse_callback`; the hub serves them at
    ``POST /notifications/<notifier name>/status``.
    """

    type_name: ClassVar[str] = ""
    Config: ClassVar[type[PluginConfig]] = PluginConfig
    kind: ClassVar[str] = "email"

    def __init__(self, name: str, config: PluginConfig) -> None:
        self.name = name
        self.config = config

    def send(self, message: OutgoingMessage) -> str:
        """Send ``message``; return the service's message id (Twilio's ``SM...`` sid, the
        e-mail's Message-ID). Raise :class:`NotificationRefused` when the service refuses
        it for good, any other exception when it may succeed later (5xx, time-out)."""
        raise NotImplementedError

    def verify_callback(
        self, url: str, headers: Mapping[str, str], form: Mapping[str, str]
    ) -> bool:
        """True when a status callback posted to ``url`` (the public URL the service was
        given) with ``form`` (its decoded form fields) carries a valid signature; compare
        in constant time. The default refuses every callback."""
        return False

    def parse_callback(self, form: Mapping[str, str]) -> DeliveryReport:
        """Turn a verified status callback into a :class:`DeliveryReport`; raise
        ``KeyError`` or ``ValueError`` for one that cannot be read."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when the hub stops."""
