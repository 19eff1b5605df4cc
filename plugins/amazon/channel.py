"""The Amazon channel adapter: what the hub calls to talk to one seller account."""

from __future__ import annotations

import io
import json
import logging
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jsonschema_rs
from pydantic import Field, SecretStr, field_validator

from hub import (
    Channel,
    ChannelConfig,
    ChannelError,
    Listing,
    ListingProblem,
    OrderPage,
    RateLimited,
    StockResult,
    StockUpdate,
    UnreadableWebhook,
    WebhookEvent,
)
from hub.listingcheck import ListingCollector

from . import fulfilment, mapping, notifications, stockpush
from .client import SpApi, marketplace
from .pull import INCLUDED_DATA, OrderCursor

log = logging.getLogger(__name__)

PAGE_RETRIES = 3  # a throttled page of listings is read again this many times
PAGE_RETRY_WAIT = 2.0  # seconds: a 429 whose next token is nearer is waited out here


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL with a host, e.g. https://host/path")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError(f"{name} has a port that is not a number from 0 to 65535") from None
    return value.rstrip("/")


def _demo_store() -> Any:
    """A new :class:`~hub_plugins.amazon.demo.AmazonDemoStore` (the emulator is imported
    here, for demos and tests, not with the plugin: every ``hub`` command loads it)."""
    from .demo import AmazonDemoStore

    return AmazonDemoStore()


class AmazonConfig(ChannelConfig):
    """A ``[channels.<name>]`` section with ``type = "amazon"``."""

    refresh_token: SecretStr = Field(min_length=1)  # the seller's LWA refresh token (Atzr|...)
    lwa_client_id: str = Field(min_length=1)  # the app's LWA client id
    lwa_client_secret: SecretStr = Field(min_length=1)
    seller_id: str = Field(min_length=1)  # the merchant token, e.g. A2EXAMPLE1
    marketplace_ids: list[str] = Field(min_length=1)  # the first one picks the region
    # SP-API base URL; default: the regional endpoint of the first marketplace
    endpoint: str | None = None
    lwa_endpoint: str = "https://api.amazon.com/auth/o2/token"
    timeout: float = Field(default=20.0, gt=0)  # seconds per call
    page_size: int = Field(default=100, ge=1, le=100)  # searchOrders maxResultsPerPage
    first_pull_days: int = Field(default=30, ge=1, le=730)  # how far back a first pull reads
    stale_pages: int = Field(default=3, ge=1)  # pages in a row without a new order: give up
    max_pacing_wait: float = Field(default=300.0, ge=0)  # longer waits go to the hub's limiter
    feed_poll_interval: float = Field(default=30.0, ge=0)  # seconds between getFeed polls
    feed_timeout: float = Field(default=1800.0, gt=0)  # seconds a feed may take
    # ORDER_CHANGE notifications through SQS; without a queue, orders come by polling
    sqs_queue_url: str | None = None
    sqs_endpoint: str | None = None  # e.g. a VPC endpoint, or a local SQS in tests
    sqs_region: str = "us-east-1"
    aws_access_key_id: SecretStr | None = None  # else boto3's own chain (role, env, file)
    aws_secret_access_key: SecretStr | None = None
    sqs_wait_seconds: int = Field(default=20, ge=0, le=20)  # long-poll wait

    @field_validator("endpoint", "sqs_endpoint", "sqs_queue_url")
    @classmethod
    def _optional_url(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else _url(info.field_name, value)

    @field_validator("lwa_endpoint")
    @classmethod
    def _lwa_url(cls, value: str) -> str:
        return _url("lwa_endpoint", value)

    @field_validator("marketplace_ids")
    @classmethod
    def _marketplaces(cls, value: list[str]) -> list[str]:
        for marketplace_id in value:
            marketplace(marketplace_id)  # ValueError naming an unknown id
        return value


class AmazonChannel(Channel):
    """An Amazon seller account, spoken to through ``python-amazon-sp-api``.

    Orders come from searchOrders (Orders API 2026-01-01) and, when ``sqs_queue_url`` is
    set, from ORDER_CHANGE notifications read by :meth:`receive_notifications`; stock goes
    by patchListingsItem or one JSON_LISTINGS_FEED, whichever takes fewer calls;
    shipments by v0 confirmShipment.
    """

    type_name: ClassVar[str] = "amazon"
    Config: ClassVar[type[ChannelConfig]] = AmazonConfig
    stock_batch_size: ClassVar[int] = stockpush.FEED_LIMIT
    skuless_lines: ClassVar[bool] = False  # every order item is an offer with a seller SKU
    # Each operation is paced by its own usage plan (usage.py); the hub's limiter for
    # the channel as a whole only needs to stay out of their way.
    rate_per_second: ClassVar[float] = 10.0
    rate_burst: ClassVar[float] = 30.0
    sandbox: ClassVar[Any] = staticmethod(_demo_store)

    config: AmazonConfig

    def __init__(self, name: str, config: ChannelConfig) -> None:
        super().__init__(name, config)
        cfg = self.config
        self.api = SpApi(
            channel=name,
            refresh_token=cfg.refresh_token.get_secret_value(),
            client_id=cfg.lwa_client_id,
            client_secret=cfg.lwa_client_secret.get_secret_value(),
            marketplace_id=cfg.marketplace_ids[0],
            endpoint=cfg.endpoint,
            lwa_endpoint=cfg.lwa_endpoint,
            timeout=cfg.timeout,
            max_wait=cfg.max_pacing_wait,
        )
        self.listing_problems: list[ListingProblem] = []
        # Deliveries read from SQS are signed with this before they enter the hub's inbox.
        self._secret = cfg.webhook_key() or secrets.token_hex(24)
        self._poller: notifications.SqsPoller | None = None

    def close(self) -> None:
        """Close the HTTP clients."""
        self.api.close()

    # -- connection and listings ---------------------------------------------------------------

    def _search_listings(self, **params: Any) -> Any:
        return self.api.call(
            "searchListingsItems",
            self.api.listings.search_listings_items,
            self.config.seller_id,
            marketplaceIds=",".join(self.config.marketplace_ids),
            includedData="summaries,fulfillmentAvailability",
            **params,
        )

    def _listings_page(self, params: dict[str, Any]) -> Any:
        """One page of searchListingsItems. A 429 whose next token is near (the plan allows
        5 calls a second; Amazon's clock and ours differ by the time a request travels) is
        waited out here, up to ``PAGE_RETRIES`` times, so a read of thousands of SKUs does
        not start again from its first page; a longer wait goes to the hub's limiter."""
        for attempt in range(PAGE_RETRIES + 1):
            try:
                return self._search_listings(**params)
            except RateLimited as error:
                if attempt == PAGE_RETRIES or (error.retry_after or 0.0) > PAGE_RETRY_WAIT:
                    raise
                log.info("%s: searchListingsItems throttled; reading the page again", self.name)
        raise AssertionError("unreachable")

    def check_connection(self) -> list[str]:
        """Take an access token and read one listing; return what a person must fix."""
        try:
            self._search_listings(pageSize=1)
        except ChannelError as error:
            return [str(error)]
        return []

    def fetch_listings(self) -> Iterator[Listing]:
        """Yield every SKU of the seller (searchListingsItems, 20 a page).

        SKUs only offered through Amazon's fulfilment network have no merchant quantity:
        they are yielded with ``managed=False`` and recorded in ``listing_problems``.
        """
        collector = ListingCollector(
            "Amazon", self.name, untracked="is only fulfilled by Amazon (FBA)"
        )
        token: str | None = None
        while True:
            params: dict[str, Any] = {"pageSize": 20}
            if token:
                params["pageToken"] = token
            reply = self._listings_page(params)
            for item in reply.payload["items"]:
                yield from collector.accept(mapping.listing(item))
            token = reply.next_token  # the library lifts "pagination" out of the payload
            if not token:
                break
        self.listing_problems = collector.problems()

    # -- orders ------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """Yield pages of orders updated at or after ``updated_since`` (searchOrders).

        Raises a non-retryable ChannelError naming the window when ``stale_pages`` pages
        in a row bring no order id not seen earlier in this pull (the page before the
        error carries a cursor that restarts the window, so its watermark is kept).
        """
        cfg = self.config
        state = (
            OrderCursor.decode(cursor)
            if cursor
            else OrderCursor.start(updated_since, cfg.first_pull_days)
        )
        seen: set[str] = set()
        stale = 0
        while True:
            reply = self.api.call(
                "searchOrders",
                self.api.orders.search_orders,
                **state.params(cfg.marketplace_ids, cfg.page_size),
            )
            found = list(reply.payload["orders"])
            fresh = [o for o in found if str(o.get("orderId")) not in seen]
            seen.update(str(o.get("orderId")) for o in found)
            stale = stale + 1 if found and not fresh else 0
            orders = tuple(mapping.order(self.name, o) for o in fresh)
            token = reply.next_token  # the library lifts "pagination" out of the payload
            if stale >= cfg.stale_pages:
                log.error(
                    "Amazon channel %s: searchOrders window lastUpdatedAfter=%s made no "
                    "progress (%d pages in a row without a new order id); its watermark "
                    "is kept, the next pull reads the window again",
                    self.name,
                    state.after,
                    stale,
                )
                yield OrderPage((), OrderCursor(state.after).encode())
                raise ChannelError(
                    f"Amazon channel {self.name!r}: searchOrders window "
                    f"lastUpdatedAfter={state.after} gave {stale} pages in a row without a "
                    f"new order id ({len(seen)} orders read); paging stopped, the window "
                    "will be read again from its start",
                    retryable=False,
                )
            if not token:
                yield OrderPage(orders, None)
                return
            state = OrderCursor(state.after, str(token))
            yield OrderPage(orders, state.encode())

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        """One order as getOrder returns it (``includedData`` as the pull asks)."""
        reply = self.api.call(
            "getOrder",
            self.api.orders.get_order,
            order_id,
            includedData=",".join([*INCLUDED_DATA, "PACKAGES"]),
        )
        return dict(reply.payload["order"])

    # -- stock -------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        """Set the merchant's (DEFAULT) quantities: patches for up to four updates, one
        feed above (patches all the same when createFeed's plan would make the feed wait
        longer than the patches take). SKUs the report (or a patch) refuses are tried
        once more; those still refused come back ``ok=False`` with Amazon's issues.

        Amazon has no compare-and-set: ``expected`` is not used, ``stale`` never set.
        """
        results = self._push(list(updates))
        failed = [u for u in updates if not results[u.external_id].ok]
        if failed:
            log.warning(
                "Amazon channel %s: %d SKU(s) refused, trying them once more: %s",
                self.name,
                len(failed),
                ", ".join(u.sku for u in failed[:10]),
            )
            try:
                results.update(self._push(failed))
            except ChannelError as error:  # keep what the first round settled
                log.warning("Amazon channel %s: the second try failed: %s", self.name, error)
        return [results[u.external_id] for u in updates]

    def _push(self, updates: list[StockUpdate]) -> dict[str, StockResult]:
        plans = self.api.plans
        feed_wait = plans.wait("createFeed")
        patch_wait = plans.wait("patchListingsItem", len(updates))
        if stockpush.use_feed(len(updates), feed_wait, patch_wait):
            return self._push_feed(updates)
        return {u.external_id: self._patch(u) for u in updates}

    def _patch(self, update: StockUpdate) -> StockResult:
        reply = self.api.call(
            "patchListingsItem",
            self.api.listings.patch_listings_item,
            self.config.seller_id,
            update.external_id or update.sku,
            marketplaceIds=",".join(self.config.marketplace_ids),
            body=stockpush.patch_body(update.quantity),
        )
        status = str(reply.payload.get("status"))
        if status in ("ACCEPTED", "VALID"):
            return StockResult(update.sku, update.external_id, ok=True, confirmed=update.quantity)
        issues = "; ".join(
            f"{i.get('code', '')}: {i.get('message', '')}"
            for i in reply.payload.get("issues") or ()
        )
        return StockResult(update.sku, update.external_id, ok=False, error=f"{status}: {issues}")

    def _push_feed(self, updates: list[StockUpdate]) -> dict[str, StockResult]:
        cfg = self.config
        try:
            payload = stockpush.feed_payload(cfg.seller_id, updates)
        except jsonschema_rs.ValidationError as error:  # nothing sent: say why for each SKU
            why = f"the listings feed would break listings-feed-schema-v2.json: {error.message}"
            return {
                u.external_id: StockResult(u.sku, u.external_id, ok=False, error=why)
                for u in updates
            }
        content = json.dumps(payload, separators=(",", ":")).encode()
        document = self.api.call(
            "createFeedDocument",
            self.api.feeds.create_feed_document,
            io.BytesIO(content),
            "application/json; charset=UTF-8",
        )
        created = self.api.call(
            "createFeed",
            self.api.feeds.create_feed,
            "JSON_LISTINGS_FEED",
            document.payload["feedDocumentId"],
            marketplaceIds=list(cfg.marketplace_ids),
        )
        feed = self._await_feed(str(created.payload["feedId"]))
        if feed.get("processingStatus") != "DONE" or not feed.get("resultFeedDocumentId"):
            report = self._report(feed) if feed.get("resultFeedDocumentId") else {}
            why = (
                f"feed {feed.get('feedId')} ended {feed.get('processingStatus')}: "
                f"{report.get('errorDetails', 'no processing report')}"
            )
            return {
                u.external_id: StockResult(u.sku, u.external_id, ok=False, error=why)
                for u in updates
            }
        errors = stockpush.report_errors(self._report(feed))
        return {
            u.external_id: (
                StockResult(u.sku, u.external_id, ok=False, error=errors[n])
                if n in errors
                else StockResult(u.sku, u.external_id, ok=True, confirmed=u.quantity)
            )
            for n, u in enumerate(updates, start=1)
        }

    def _await_feed(self, feed_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.config.feed_timeout
        while True:
            feed = self.api.call("getFeed", self.api.feeds.get_feed, feed_id).payload
            if feed.get("processingStatus") in ("DONE", "FATAL", "CANCELLED"):
                return dict(feed)
            if time.monotonic() > deadline:
                raise ChannelError(
                    f"Amazon channel {self.name!r}: feed {feed_id} still "
                    f"{feed.get('processingStatus')} after {self.config.feed_timeout:g} s",
                    retryable=True,
                )
            time.sleep(self.config.feed_poll_interval)

    def _report(self, feed: Mapping[str, Any]) -> dict[str, Any]:
        text = self.api.call(
            "getFeedDocument",
            self.api.feeds.get_feed_result_document,
            str(feed["resultFeedDocumentId"]),
        )
        try:
            return dict(json.loads(str(text)))
        except ValueError:
            raise ChannelError(
                f"Amazon channel {self.name!r}: the processing report of feed "
                f"{feed.get('feedId')} is not JSON",
                retryable=True,
            ) from None

    # -- shipments ---------------------------------------------------------------------------

    def fulfill(
        self, order_external_id: str, carrier: str, tracking_number: str, tracking_url: str = ""
    ) -> None:
        """Confirm the shipment of a merchant-fulfilled order (v0 confirmShipment).

        Idempotent: an order already holding a package with this tracking number is left
        as it is. Raises a non-retryable ChannelError for an order Amazon fulfils, a
        cancelled or pending one, or one with no unit left to ship.
        """
        order = self.fetch_order(order_external_id)
        if fulfilment.already_confirmed(order, tracking_number):
            log.info(
                "Amazon order %s holds tracking %s already", order_external_id, tracking_number
            )
            return
        refused = fulfilment.refusal(order_external_id, order)
        if refused:
            raise ChannelError(refused, retryable=False, status=409)
        body = fulfilment.confirmation(
            order, self.config.marketplace_ids[0], carrier, tracking_number
        )
        reply = self.api.call(
            "confirmShipment", self.api.orders_v0.confirm_shipment, order_external_id, **body
        )
        if reply.payload.get("status_code") not in (200, 204):
            raise ChannelError(
                f"Amazon channel {self.name!r}: confirmShipment of {order_external_id} "
                "got an answer that is not 204",
                retryable=True,
            )

    # -- notifications -----------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check ``X-Amz-Hub-Signature`` (signed by the SQS poller or the HTTP relay)."""
        return notifications.verify(self._secret, headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Read an ORDER_CHANGE notification and fetch the order it names (getOrder).

        An order the hub has never seen comes back whole, so it is created, not dropped.
        Raises UnreadableWebhook for a body that is not such a notification or is for
        another seller.
        """
        note = notifications.parse(body)
        if note.seller_id and note.seller_id != self.config.seller_id:
            raise UnreadableWebhook(
                f"Amazon notification {note.notification_id} is for seller {note.seller_id}, "
                f"not {self.config.seller_id}"
            )
        order = mapping.order(self.name, self.fetch_order(note.order_id))
        return WebhookEvent(
            notifications.TOPIC,
            note.notification_id,
            order=order,
            payload=json.loads(body),
            occurred_at=note.changed_at,
        )

    def sqs_poller(self) -> notifications.SqsPoller | None:
        """The poller of the configured SQS queue (None without ``sqs_queue_url``)."""
        cfg = self.config
        if not cfg.sqs_queue_url:
            return None
        if self._poller is None:
            import boto3

            keys: dict[str, str] = {}
            if cfg.aws_access_key_id and cfg.aws_secret_access_key:
                keys = {
                    "aws_access_key_id": cfg.aws_access_key_id.get_secret_value(),
                    "aws_secret_access_key": cfg.aws_secret_access_key.get_secret_value(),
                }
            client = boto3.client(
                "sqs", endpoint_url=cfg.sqs_endpoint, region_name=cfg.sqs_region, **keys
            )
            self._poller = notifications.SqsPoller(
                client, cfg.sqs_queue_url, self._secret, wait_seconds=cfg.sqs_wait_seconds
            )
        return self._poller

    def receive_notifications(
        self, accept: notifications.Accept, wait_seconds: int | None = None
    ) -> int | None:
        """One long poll of the SQS queue; each message goes to ``accept(headers, body)``
        (the hub's ``Sync.accept_webhook``) and is deleted once stored. Blocking (boto3):
        the service calls it from a worker thread. Returns how many messages arrived, or
        None without ``sqs_queue_url`` (orders then come by polling searchOrders alone).
        """
        poller = self.sqs_poller()
        return poller.poll(accept, wait_seconds) if poller else None
