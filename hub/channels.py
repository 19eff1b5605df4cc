"""The channel adapter: what a channel plugin implements.

A channel plugin registers a subclass of :class:`Channel` from the
``register_channel_types`` hook. The hub creates one instance per channel section
of the configuration (a merchant may connect two Shopify stores) and calls its
methods from worker threads, so methods may block on network I/O; they must not
share mutable state between instances.

Each method raises :class:`hub.errors.ChannelError` (``retryable=True`` for 429,
5xx and time-outs) when the service fails; the core backs off, retries, and marks
the channel failing until it recovers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from hub.checks import ChecksConfig
from hub.orders import Order
from hub.stock import Listing, ListingProblem, StockResult, StockUpdate


def _each_once(codes: list[str]) -> list[str]:
    for i, code in enumerate(codes):
        if code in codes[:i]:
            raise ValueError(f"location {code!r} is listed twice")
    return codes


class ChannelConfig(BaseModel):
    """Base of every channel type's configuration section; unknown keys are errors.

    Credentials are typed :class:`pydantic.SecretStr` (``webhook_secret`` here), so
    their values never appear in a message, a log line or a page; read one with
    ``get_secret_value()`` where it is used. A subclass adding a field named like a
    secret, token, password or key types it ``SecretStr`` too.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str
    enabled: bool = True
    # hub locations this channel sells from, in priority order; empty means all
    locations: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]],
        AfterValidator(_each_once),
    ] = []
    # How an order's reservation picks among those locations (hub.core.allocation):
    # "priority" (in the order listed), "nearest" (per product, the nearest location to
    # the delivery address with stock), "fewest_splits" (one location for the whole order
    # when any can serve it, the nearest among those; else as few as possible).
    allocation: Literal["priority", "nearest", "fewest_splits"] = "priority"
    safety_buffer: int = Field(default=0, ge=0)  # units held back from what it is offered
    max_quantity: int | None = Field(default=None, ge=0)  # cap on what it is offered per SKU
    webhook_secret: SecretStr | None = Field(default=None, min_length=1)
    poll_interval: float = Field(default=60.0, gt=0)  # seconds between order pulls
    push_interval: float = Field(default=1.0, gt=0)  # seconds between stock pushes
    reconcile_interval: float = Field(default=3600.0, gt=0)  # seconds between drift checks
    # Override the channel type's request pacing (requests per second, burst size); a
    # burst below one request would never let a call through.
    rate_per_second: float | None = Field(default=None, gt=0)
    rate_burst: float | None = Field(default=None, ge=1)
    # Order checks ([channels.NAME.checks], see hub.checks) and whether a channel
    # customer's e-mail is matched to a B2B account's (or contact's) e-mail at intake.
    checks: ChecksConfig = ChecksConfig()
    match_customers_by_email: bool = False

    def webhook_key(self) -> str | None:
        """The secret webhooks are signed with, in clear, for the signature check."""
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None


@dataclass(frozen=True)
class OrderPage:
    """One page of orders from an incremental pull.

    ``cursor`` resumes the pull after this page (None when it was the last page);
    the core commits it with the page, so a crash resumes from the last committed page.
    """

    orders: tuple[Order, ...]
    cursor: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook delivery, turned into hub terms by the channel plugin.

    ``topic`` is the channel's own name for the event ("orders/updated",
    "order.created"); ``order`` is set for order events; ``skus`` for stock or
    product events; ``delivery_id`` lets the core drop exact redeliveries.
    ``quantities`` is what the channel now holds per SKU, when a stock event says it
    (a sale, a cancellation's restock, an edit in the store's admin): the core takes it
    as the channel's confirmed figure, so its next push corrects exactly what moved.

    ``occurred_at`` is the channel's own time of the change (aware UTC; Shopify's
    ``updated_at``, WooCommerce's ``date_modified_gmt``), or None when the delivery does
    not say. With it, the core takes ``quantities`` only when they are newer than what it
    already knows of the listing (an earlier event, or a push the channel confirmed), so
    a replayed or late delivery never moves the confirmed figure backwards; its SKUs are
    compared again all the same. Without it, every delivery's quantities are taken.
    """

    topic: str
    delivery_id: str = ""
    order: Order | None = None
    cancelled_order_id: str = ""  # an order deleted on the channel
    skus: tuple[str, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)
    quantities: Mapping[str, int] = field(default_factory=dict)
    occurred_at: datetime | None = None


class Channel:
    """Base class of channel adapters. Subclasses set the class attributes and override.

    Class attributes:
      ``type_name``: the ``type`` value of config sections this class serves.
      ``Config``: a :class:`ChannelConfig` subclass validating the section.
      ``stock_batch_size``: the most stock updates one API call may carry.
      ``rate_per_second``, ``rate_burst``: the request budget the service documents; the
      hub's limiter starts from it and follows what the service reports (429s,
      Retry-After, cost headers exposed as ``rate_status``).
      ``sandbox``: a zero-argument factory of a :class:`hub.sandbox.DemoStore` emulating
      the service (``hub demo`` and the benchmarks drive it), or None.
      ``final_sales``: True for a channel whose shipped (completed) orders are final, the
      goods having already left a shop (a point-of-sale till). A late sale the hub's free
      stock no longer covers is then booked all the same at the order's ``location``
      (else the channel's first location), whose stock goes below zero by the missing
      units, and kept as an oversell to investigate (``hub status``, the sync page),
      instead of holding the order; units other orders only reserved there are taken
      first (those orders go on hold and are decided again). Other channels are never
      offered less than zero.
      ``compare_and_set``: True for a channel whose stock API refuses an update whose
      ``expected`` quantity is no longer current (reported ``stale``); the contract suite
      (:mod:`hub.testing.contract`) holds the plugin to what it declares.
      ``skuless_lines``: False for a service whose every order line has a SKU (Amazon's
      order items are offers with a seller SKU); the suite then sells no such line.
    """

    type_name: ClassVar[str] = ""
    Config: ClassVar[type[ChannelConfig]] = ChannelConfig
    stock_batch_size: ClassVar[int] = 100
    sandbox: ClassVar[Any] = None
    final_sales: ClassVar[bool] = False  # completed orders are goods already handed over
    compare_and_set: ClassVar[bool] = False  # push_stock refuses a stale ``expected``
    skuless_lines: ClassVar[bool] = True  # orders may have lines without a SKU
    rate_per_second: ClassVar[float] = 2.0  # sustained requests per second the API allows
    rate_burst: ClassVar[float] = 40.0  # requests it allows at once after a quiet spell

    def __init__(self, name: str, config: ChannelConfig) -> None:
        self.name = name
        self.config = config
        self.listing_problems: list[ListingProblem] = []

    def receive_notifications(self, accept: Callable[[Any, bytes], Any]) -> int | None:
        """One blocking read of the channel's own notification queue (e.g. Amazon's SQS),
        handing each message to ``accept(headers, body)`` (the hub verifies and stores it
        once, as a webhook) and returning how many arrived; None (the default) when the
        channel has no queue of its own, whose events come by webhook or polling. ``hub
        run`` calls it over and over from a worker thread until it answers None."""
        return None

    def stock_location(self, location_id: str) -> str | None:
        """The hub location code whose stock a listing at the channel's own
        ``location_id`` (:attr:`hub.Listing.location_id`) is offered, or None to offer the
        availability over all the channel's locations (the default). A point-of-sale
        channel maps each shop to its hub location, so each shop shows its own shelf."""
        return None

    def check_connection(self) -> list[str]:
        """Try the credentials once; return problems a person can act on (empty if fine)."""
        return []

    def fetch_listings(self) -> Iterator[Listing]:
        """Yield every listing of the store with its SKU and current quantity.

        Record what does not match (missing or duplicate SKUs, items whose stock the
        channel does not manage) in ``self.listing_problems``.
        """
        raise NotImplementedError

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """Yield pages of orders updated at or after ``updated_since``, resuming at ``cursor``."""
        raise NotImplementedError

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        """Set quantities of at most ``stock_batch_size`` items, with the fewest API calls.

        Return one :class:`StockResult` per update, in any order. A channel whose API
        supports compare-and-set refuses an update whose ``expected`` value is no longer
        current and reports it ``stale`` with the quantity it holds now.
        """
        raise NotImplementedError

    def fulfill(
        self, order_external_id: str, carrier: str, tracking_number: str, tracking_url: str = ""
    ) -> None:
        """Record on the channel that the order has shipped."""
        raise NotImplementedError

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when the delivery's signature is valid; compare in constant time."""
        return False

    def webhook_calls(self, headers: Mapping[str, str], body: bytes) -> int:
        """How many API calls :meth:`parse_webhook` will make for this delivery (0: the
        body says it all); the core takes that many tokens from the channel's limiter
        before parsing. The default, 1, is right for a delivery that names an object
        to read back; a channel whose bursts of deliveries need no lookup says 0 for
        them, so they never wait behind the budget its real calls need."""
        return 1

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Turn a verified webhook delivery into a :class:`WebhookEvent`.

        The core calls it through the channel's rate limiter and retry policy, so API
        calls made here (a lookup the body lacks) are paced, and a retryable
        :class:`hub.errors.ChannelError` (429, 5xx, time-out) makes the core call it
        again rather than spend one of the delivery's tries. Raise
        :class:`hub.errors.UnreadableWebhook` for a body that cannot be read (bad JSON,
        missing fields): the delivery is given up at once with that reason.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when the hub stops."""
