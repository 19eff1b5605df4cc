"""The sync engine: pull orders, push stock, work the webhook inbox, reconcile drift.

Each job is a plain blocking function run in a worker thread by the scheduler (or
directly by tests and the CLI). Jobs of one channel share that channel's rate limiter.
Everything a job commits is idempotent, so a job killed anywhere is simply run again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.channels import Channel, OrderPage, WebhookEvent
from hub.core import confirmed as belief
from hub.core import inbox as inbox_store
from hub.core.calls import ChannelCaller, is_retryable
from hub.core.db import in_list, is_sqlite
from hub.core.intake import IntakeReport
from hub.core.locks import job_lock
from hub.core.models import listing_t, now, outbox_t, product_t
from hub.core.outbox import mark_channel
from hub.core.ratelimit import Priority, RateLimiter
from hub.core.recovery import Recovery, recover
from hub.core.runtime import Hub
from hub.core.syncstate import add_dead_letter, get_state, record_failure, record_success
from hub.errors import (
    ChannelError,
    HubError,
    InvalidInput,
    UnreadableWebhook,
    WebhookRejected,
)
from hub.skus import normalise_sku, respelled
from hub.stock import Listing, StockResult, StockUpdate

log = logging.getLogger("hub.sync")

PULL_OVERLAP = timedelta(minutes=5)  # re-read the end of the last window: clocks drift
LEASE = timedelta(seconds=60)
PUSH_ROUNDS = 3  # a push goes on with what was queued again while it ran, this many times
MAX_FAILURES = 5  # a job or record failing this often in a row goes to the dead letters


@dataclass
class PullResult:
    channel: str
    pages: int = 0
    orders: int = 0
    created: int = 0
    updated: int = 0
    complete: bool = False


@dataclass
class PushResult:
    channel: str
    considered: int = 0  # listings whose SKU was queued
    sent: int = 0  # updates sent (availability differed from what the channel confirmed)
    batches: int = 0  # push_stock calls
    stale: int = 0
    failed: int = 0
    skus: list[str] = field(default_factory=list)


def worker_name() -> str:
    """This worker's name in leases: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Sync:
    """All sync jobs of one hub process."""

    def __init__(self, hub: Hub, *, backoff: float = 0.5, attempts: int = 5) -> None:
        self.hub = hub
        self.worker = f"{worker_name()}:{id(self):x}"
        self._backoff = backoff
        self._attempts = attempts
        self._callers: dict[str, ChannelCaller] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        # Called with (channel, SKUs, time) when the channel holds the hub's figures for
        # those SKUs: confirmed by a push, or found already in step when their turn came.
        self.on_pushed: list[Callable[[str, list[str], float], None]] = []

    # -- shared per channel ---------------------------------------------------------------

    def caller(self, channel: str) -> ChannelCaller:
        """The rate-limited caller of ``channel``, created on first use."""
        with self._lock:
            if channel not in self._callers:
                adapter = self.hub.channel(channel)
                config = adapter.config
                limiter = RateLimiter(
                    capacity=config.rate_burst or adapter.rate_burst,
                    restore_rate=config.rate_per_second or adapter.rate_per_second,
                )
                self._callers[channel] = ChannelCaller(
                    limiter, attempts=self._attempts, backoff=self._backoff
                )
            return self._callers[channel]

    def _headroom(self, channel: str) -> dict[str, float]:
        """The channel's rate-limit headroom now, for ``hub status``."""
        room = self.caller(channel).limiter.headroom()
        return {
            "available": round(room.available, 2),
            "capacity": room.capacity,
            "restore_rate": room.restore_rate,
        }

    def _observe(self, channel: str, adapter: Channel) -> None:
        status = getattr(adapter, "rate_status", None)
        if isinstance(status, Mapping):
            self.caller(channel).limiter.observe(
                available=status.get("available"),
                capacity=status.get("capacity"),
                restore_rate=status.get("restore_rate"),
            )

    # -- order pull -------------------------------------------------------------------------

    def pull_orders(self, channel: str) -> PullResult:
        """Pull every order updated since the last pull, page by page, resumable."""
        result = PullResult(channel)
        try:
            self._pull(channel, result)
        except Exception as error:
            self._failed(channel, "pull", error, {"pages_done": result.pages})
            raise
        return result

    def _pull(self, channel: str, result: PullResult) -> None:
        adapter = self.hub.channel(channel)
        state = self.hub.read(lambda c: get_state(c, channel, "pull"))
        detail = dict(state.detail or {})
        if state.cursor:  # resume the pull a crash interrupted, with its own window
            since = _parse_time(detail.get("since"))
        else:
            since = state.high_water - PULL_OVERLAP if state.high_water else None
            detail["since"] = since.isoformat() if since else None
        newest = _parse_time(detail.get("newest")) or state.high_water
        pages = self._pages(channel, adapter, since, state.cursor or None)
        for page in pages:
            report = self.hub.ingest(channel, page.orders, actor=f"pull:{channel}")
            result.pages += 1
            result.orders += len(page.orders)
            result.created += report.count("created")
            result.updated += report.count("updated")
            stamps = [o.updated_at for o in page.orders if o.updated_at]
            if stamps:
                newest = max(stamps + ([newest] if newest else []))
            detail["newest"] = newest.isoformat() if newest else None
            self.hub.write(lambda c, cur=page.cursor: _save_pull(c, channel, cur or "", detail))
            if self.stopping.is_set() and page.cursor:
                return  # a safe point: the cursor is committed, the next run resumes
        self.hub.write(
            lambda c: record_success(
                c, channel, "pull", cursor="", high_water=newest, detail=self._headroom(channel)
            )
        )
        result.complete = True

    def _pages(
        self, channel: str, adapter: Channel, since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """The channel's pages, paced by its limiter; a failed page is fetched again by
        restarting from the cursor of the last page handed out (a generator that raised
        cannot be resumed)."""
        caller = self.caller(channel)
        attempt = 0
        while True:
            pages = iter(adapter.fetch_orders(since, cursor))
            try:
                while True:
                    page: OrderPage | None = caller.once(
                        partial(next, pages, None), Priority.ORDERS
                    )
                    self._observe(channel, adapter)
                    if page is None:
                        return
                    attempt = 0
                    yield page
                    cursor = page.cursor
                    if cursor is None:
                        return
            except Exception as error:
                attempt += 1
                if not is_retryable(error) or attempt >= caller.attempts:
                    raise
                time.sleep(caller.backoff(attempt, error))

    # -- stock push ---------------------------------------------------------------------------

    def push_stock(self, channel: str, limit: int = 50_000) -> PushResult:
        """Send ``channel`` the availability of queued SKUs that differs from what it holds.

        SKUs queued again while the push ran (a webhook, a reconciliation finding drift)
        are pushed again at once, up to :data:`PUSH_ROUNDS` rounds, rather than waiting
        for the next scheduled push. Raises ChannelError when the channel keeps failing.
        """
        result = PushResult(channel)
        for _ in range(PUSH_ROUNDS):
            if not self._push_round(channel, limit, result) or self.stopping.is_set():
                break
        return result

    def _push_round(self, channel: str, limit: int, result: PushResult) -> bool:
        """One claim of the outbox, pushed; True when rows wait to be pushed (queued meanwhile)."""
        adapter = self.hub.channel(channel)
        claimed = self.hub.write(lambda c: self._claim_outbox(c, channel, limit))
        if not claimed:
            return False
        updates, in_step, doubtful = self._updates(channel, list(claimed))
        result.considered += len(claimed)
        if in_step:  # the channel already holds these figures (it said so itself)
            for callback in self.on_pushed:
                callback(channel, in_step, time.time())
        size = max(1, adapter.stock_batch_size)
        try:
            for start in range(0, len(updates), size):
                self._send(channel, adapter, updates[start : start + size], result, doubtful)
        except Exception as error:
            message = str(error)
            self.hub.write(lambda c: self._release_claim(c, channel, claimed, message))
            self._failed(channel, "push", error, {"products": len(claimed)})
            raise
        queued_again = self.hub.write(lambda c: self._finish_claim(c, channel, claimed))
        self.hub.write(
            lambda c: record_success(
                c,
                channel,
                "push",
                detail={"sent": result.sent, "batches": result.batches, **self._headroom(channel)},
            )
        )
        return bool(queued_again)

    def _send(
        self,
        channel: str,
        adapter: Channel,
        batch: list[StockUpdate],
        result: PushResult,
        doubtful: set[str],
    ) -> None:
        """One ``push_stock`` call, in doubt from before it is sent until its answer is kept."""
        sent_at = now()
        # Committed before sending: if the answer is lost, the listings stay in doubt.
        self.hub.write(
            lambda c: belief.mark_unconfirmed(c, channel, [u.external_id for u in batch])
        )
        answers = self.caller(channel).call(partial(adapter.push_stock, batch), Priority.STOCK)
        self._observe(channel, adapter)
        result.batches += 1
        result.sent += len(batch)
        self.hub.write(
            lambda c: self._record(c, channel, batch, answers, result, sent_at, doubtful)
        )
        confirmed = [a.sku for a in answers if a.ok]
        for callback in self.on_pushed:
            callback(channel, confirmed, time.time())

    def _claim_outbox(self, conn: Connection, channel: str, limit: int) -> dict[int, datetime]:
        o = outbox_t.c
        stamp = now()
        free = sa.or_(o.claimed_until.is_(None), o.claimed_until < stamp)
        query = (
            sa.select(o.product_id, o.dirty_at)
            .where(o.channel == channel, free)
            .order_by(o.dirty_at)
            .limit(limit)
        )
        if not is_sqlite(conn):
            query = query.with_for_update(skip_locked=True)
        rows = {r.product_id: r.dirty_at for r in conn.execute(query)}
        if rows:
            conn.execute(
                outbox_t.update()
                .where(o.channel == channel, in_list(conn, o.product_id, list(rows)))
                .values(claimed_by=self.worker, claimed_until=stamp + LEASE)
            )
        return rows

    def _updates(
        self, channel: str, products: list[int]
    ) -> tuple[list[StockUpdate], list[str], set[str]]:
        """What to send for these products, the SKUs the channel already has right, and the
        external ids already in doubt (an earlier push's answer was never recorded)."""

        def read(conn: Connection) -> list[Any]:
            query = (
                sa.select(listing_t, product_t.c.sku)
                .join(product_t, product_t.c.id == listing_t.c.product_id)
                .where(
                    listing_t.c.channel == channel, in_list(conn, listing_t.c.product_id, products)
                )
                .order_by(listing_t.c.parent_id, listing_t.c.external_id)
            )
            return list(conn.execute(query).mappings())

        listings = [r for r in self.hub.read(read) if r["managed"]]
        offered = self._offered(channel, [(r["sku"], r["location_id"]) for r in listings])
        # An unconfirmed listing is never trusted: it is sent again whatever the figures,
        # against the last confirmed value, so a compare-and-set channel reads back the truth.
        updates = [
            StockUpdate(
                sku=r["sku"],
                external_id=r["external_id"],
                parent_id=r["parent_id"],
                location_id=r["location_id"],
                quantity=offered[(r["sku"], r["location_id"])],
                expected=r["confirmed_quantity"],
            )
            for r in listings
            if r["unconfirmed"] or offered[(r["sku"], r["location_id"])] != r["confirmed_quantity"]
        ]
        sent = {u.sku for u in updates}
        in_step = sorted({r["sku"] for r in listings} - sent)
        doubtful = {r["external_id"] for r in listings if r["unconfirmed"]}
        return updates, in_step, doubtful

    def _offered(self, channel: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Availability per (SKU, channel location id) of ``channel``'s listings: over the
        channel's locations, or over the one hub location the adapter's
        :meth:`hub.Channel.stock_location` names for a listing's location (a shop)."""
        adapter = self.hub.channel(channel)
        where = {loc: adapter.stock_location(loc) if loc else None for _, loc in pairs}
        wanted: dict[str | None, set[str]] = {}
        for sku, loc in pairs:
            wanted.setdefault(where[loc], set()).add(sku)
        figures = {
            code: self.hub.available(channel, sorted(skus), at=code)
            for code, skus in wanted.items()
        }
        return {(sku, loc): figures[where[loc]].get(sku, 0) for sku, loc in pairs}

    def _record(
        self,
        conn: Connection,
        channel: str,
        batch: list[StockUpdate],
        answers: list[StockResult],
        result: PushResult,
        sent_at: datetime,
        doubtful: set[str],
    ) -> None:
        by_id = {a.external_id: a for a in answers}
        again = []  # pushed again: against the value the channel holds now, or to learn it
        confirmed: dict[str, int] = {}
        refused = []
        for update in batch:
            answer = by_id.get(update.external_id)
            if answer is None or (not answer.ok and not answer.stale):
                result.failed += 1
                add_dead_letter(
                    conn,
                    channel,
                    "push",
                    update.sku,
                    answer.error if answer else "the channel did not answer",
                    {"external_id": update.external_id, "quantity": update.quantity},
                )
                if answer is not None and update.external_id not in doubtful:
                    refused.append(update.external_id)  # refused: nothing changed there
                continue  # no answer at all: the outcome stays unknown
            if answer.stale:
                result.stale += 1
                again.append(update.sku)
                if answer.confirmed is None:
                    continue  # refused, value unknown: stays unconfirmed, read back next time
                confirmed[update.external_id] = answer.confirmed
            else:
                confirmed[update.external_id] = (
                    answer.confirmed if answer.confirmed is not None else update.quantity
                )
                result.skus.append(update.sku)
        in_doubt = belief.record_pushed(conn, channel, confirmed, sent_at)
        again += [u.sku for u in batch if u.external_id in in_doubt]
        belief.clear_unconfirmed(conn, channel, refused)
        if again:
            _mark_skus(conn, channel, again)

    def _finish_claim(self, conn: Connection, channel: str, claimed: dict[int, datetime]) -> int:
        """Drop the pushed rows, free the rest; returns how many rows wait to be pushed now."""
        o = outbox_t.c
        # Rows dirtied again since the claim stay queued (their dirty_at moved on).
        conn.execute(
            outbox_t.delete().where(
                o.channel == channel,
                o.product_id == sa.bindparam("p"),
                o.dirty_at <= sa.bindparam("d"),
                o.claimed_by == self.worker,
            ),
            [{"p": product, "d": dirty_at} for product, dirty_at in claimed.items()],
        )
        conn.execute(
            outbox_t.update()
            .where(
                o.channel == channel,
                o.claimed_by == self.worker,
                in_list(conn, o.product_id, list(claimed)),
            )
            .values(claimed_by="", claimed_until=None)
        )
        # Queued meanwhile: these products again, or others whose wake-up found this push
        # holding the job lock. Rows another worker holds are its own business.
        free = sa.or_(o.claimed_until.is_(None), o.claimed_until < now())
        left = sa.select(sa.func.count()).where(o.channel == channel, free)
        return int(conn.execute(left).scalar_one())

    def _release_claim(
        self, conn: Connection, channel: str, claimed: dict[int, datetime], error: str
    ) -> None:
        o = outbox_t.c
        conn.execute(
            outbox_t.update()
            .where(
                o.channel == channel,
                o.claimed_by == self.worker,
                in_list(conn, o.product_id, list(claimed)),
            )
            .values(
                claimed_by="", claimed_until=None, attempts=o.attempts + 1, last_error=error[:500]
            )
        )

    def full_push(self, channel: str) -> PushResult:
        """Queue every listing of ``channel`` and push what differs."""
        self.hub.write(lambda c: mark_channel(c, channel))
        return self.push_stock(channel)

    # -- webhooks -------------------------------------------------------------------------

    def accept_webhook(self, channel: str, headers: Mapping[str, str], body: bytes) -> bool:
        """Verify and store a webhook delivery; True when new, False for a redelivery."""
        adapter = self.hub.channel(channel)
        if not adapter.verify_webhook(headers, body):
            raise WebhookRejected(f"webhook for channel {channel!r}: signature does not verify")
        delivery = _delivery_id(headers, body)
        topic = next((v for k, v in headers.items() if k.lower().endswith("topic")), "")
        return bool(
            self.hub.write(
                lambda c: inbox_store.store(c, channel, delivery, topic, dict(headers), body)
            )
        )

    def process_inbox(self, limit: int = 200) -> int:
        """Turn stored webhook deliveries into intake; returns how many were handled."""
        rows = self.hub.write(lambda c: inbox_store.claim(c, self.worker, limit))
        for row in rows:
            try:
                self._handle(row)
            except Exception as error:
                unreadable = isinstance(error, UnreadableWebhook)
                if unreadable:  # retrying the same bytes cannot help
                    log.error(
                        "inbox row %s of %s is unreadable: %s", row["id"], row["channel"], error
                    )
                else:
                    log.exception("inbox row %s of %s failed", row["id"], row["channel"])
                self.hub.write(
                    lambda c, r=row, e=error, u=unreadable: inbox_store.fail(
                        c, r, f"{type(e).__name__}: {e}", MAX_FAILURES, final=u
                    )
                )
            else:
                self.hub.write(lambda c, r=row: inbox_store.done(c, r["id"]))
        return len(rows)

    def _handle(self, row: dict[str, Any]) -> None:
        channel = row["channel"]
        event = self.parse_webhook(channel, json.loads(row["headers"]), bytes(row["body"]))
        if event.order is not None:
            self.hub.ingest(channel, [event.order], actor=f"webhook:{channel}")
        if event.cancelled_order_id:
            self.hub.cancel(channel, event.cancelled_order_id, actor=f"webhook:{channel}")
        if event.skus or event.quantities:  # the channel's own quantity moved: correct it
            self.hub.write(
                lambda c: _channel_moved(
                    c, channel, event.skus, event.quantities, event.occurred_at
                )
            )

    def parse_webhook(self, channel: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """The channel's ``parse_webhook``, through its limiter and retry policy.

        Lookups the adapter makes while parsing (Shopify's fraud risk, an item's SKU) are
        paced with the channel's other calls, and a 429, 5xx or time-out is retried here
        with backoff instead of costing the delivery one of its tries. Raises
        :class:`UnreadableWebhook` (one line naming the channel and the reason) when the
        body cannot be read: bad JSON, a missing field, a value of the wrong kind.
        """
        adapter = self.hub.channel(channel)
        try:
            calls = adapter.webhook_calls(headers, body)
            return self.caller(channel).call(
                partial(adapter.parse_webhook, headers, body), Priority.ORDERS, cost=calls
            )
        except UnreadableWebhook:
            raise
        except (WebhookRejected, InvalidInput, KeyError, TypeError, ValueError) as error:
            # ValueError covers bad JSON; the same bytes fail the same way every time.
            raise UnreadableWebhook(
                f"webhook for channel {channel!r}: the body cannot be read: "
                f"{type(error).__name__}: {error}"
            ) from error

    # -- reconciliation -----------------------------------------------------------------------

    def fetch_listings(self, channel: str) -> list[Listing]:
        """Every listing of ``channel`` (its ``fetch_listings``), read through its limiter
        and retry policy: a 429, 5xx or time-out on any page reads the catalogue again.
        Raises ChannelError when the channel keeps failing."""
        adapter = self.hub.channel(channel)
        return self.caller(channel).call(lambda: list(adapter.fetch_listings()), Priority.CATALOGUE)

    def reconcile(self, channel: str) -> list[tuple[str, int, int]]:
        """Read the channel's quantities, report drift from the ledger, and correct it.

        Returns (SKU, channel quantity, hub availability) for every listing that drifted.
        """
        read_at = now()
        listings = self.fetch_listings(channel)
        # A store's figure is lower by every sale it made before the read; the hub must
        # have taken those orders before it compares, or it would push the sold units
        # back onto the store. Orders exist before their stock moves, so a pull after
        # the read catches up with every sale the read reflects.
        self._pull_for_reconcile(channel)
        skus = {item.sku: normalise_sku(item.sku) for item in listings}
        offered = self._offered(channel, [(skus[i.sku], i.location_id) for i in listings])
        drift = [
            (skus[item.sku], item.quantity, offered[(skus[item.sku], item.location_id)])
            for item in listings
            if item.managed
            and item.quantity is not None
            and item.quantity != offered[(skus[item.sku], item.location_id)]
        ]

        held = {i.external_id: i.quantity for i in listings if i.quantity is not None}

        def store(conn: Connection) -> int:
            belief.record_read(conn, channel, held, read_at)
            _mark_skus(conn, channel, [sku for sku, _, _ in drift])
            doubtful = belief.unconfirmed_products(conn, channel).get(channel, [])
            if doubtful:  # pushes whose answers were lost: send them again now
                mark_channel(conn, channel, doubtful)
            record_success(
                conn,
                channel,
                "reconcile",
                detail={"drift": len(drift), "skus": [sku for sku, _, _ in drift[:50]]},
            )
            return len(doubtful)

        doubtful = self.hub.write(store)
        if drift or doubtful:
            self.push_stock(channel)
        return drift

    def _pull_for_reconcile(self, channel: str, wait: float = 60.0) -> None:
        """Pull ``channel``'s orders under its pull job lock (waiting for a pull that runs
        now to finish, at most ``wait`` seconds). A pull that fails raises: correcting
        drift without the orders behind it could offer units the store has sold."""
        deadline = time.monotonic() + wait
        while True:
            with job_lock(self.hub.engine, f"pull:{channel}") as taken:
                if taken:
                    self.pull_orders(channel)
                    return
            if time.monotonic() > deadline or self.stopping.is_set():
                raise ChannelError(
                    f"channel {channel!r}: reconciliation waited {wait:.0f} s for the order "
                    "pull to finish; drift left for the next run"
                )
            time.sleep(0.2)

    # -- recovery ---------------------------------------------------------------------------

    def recover(self, *, at_start: bool = False) -> Recovery:
        """Put back what dead workers of this host held (outbox claims, inbox leases) at
        once instead of after their leases; ``at_start``, also queue every listing whose
        push has no recorded answer, so the stores are checked right away."""
        report = self.hub.write(lambda c: recover(c, requeue_unconfirmed=at_start))
        if report.found:
            log.warning(
                "recovered after %s: %d outbox rows, %d webhook rows, %d shipments, "
                "%d listings in doubt",
                ", ".join(report.dead_workers) or "a restart",
                report.outbox_rows,
                report.inbox_rows,
                report.shipments_leased,
                report.unconfirmed,
            )
        return report

    # -- failures ---------------------------------------------------------------------------

    def _failed(self, channel: str, job: str, error: Exception, payload: dict) -> None:
        text = f"{type(error).__name__}: {error}"
        failures = self.hub.write(lambda c: record_failure(c, channel, job, text))
        log.error("channel %s: %s failed (%d in a row): %s", channel, job, failures, text)
        if failures == MAX_FAILURES:
            self.hub.write(lambda c: add_dead_letter(c, channel, job, job, text, payload, failures))


def _save_pull(conn: Connection, channel: str, cursor: str, detail: dict) -> None:
    from hub.core.syncstate import save_state

    save_state(conn, channel, "pull", cursor=cursor, detail=detail, last_attempt_at=now())


def _product_ids(conn: Connection, skus: Any) -> dict[str, int]:
    """Product ids by SKU (as normalised), for the SKUs the hub knows."""
    skus = sorted({normalise_sku(sku) for sku in skus})
    if not skus:
        return {}
    query = sa.select(product_t.c.sku, product_t.c.id).where(in_list(conn, product_t.c.sku, skus))
    return {sku: product for sku, product in conn.execute(query)}


def _mark_skus(conn: Connection, channel: str, skus: Any) -> None:
    ids = _product_ids(conn, skus)
    if ids:
        mark_channel(conn, channel, list(ids.values()))


def _channel_moved(
    conn: Connection,
    channel: str,
    skus: Any,
    quantities: Mapping[str, int],
    occurred_at: datetime | None = None,
) -> None:
    """A channel's own quantities moved: keep what it says it holds as the figure it
    confirmed, unless the hub knows a newer one (see :mod:`hub.core.confirmed`), and
    queue the SKUs so the next push corrects what differs. SKUs are read as
    :func:`hub.skus.normalise_sku` reads them; a respelling is logged."""
    for note in filter(None, map(respelled, {*skus, *quantities})):
        log.warning("channel %s: stock event: %s", channel, note)
    ids = _product_ids(conn, [*skus, *quantities])
    held = {
        ids[normalise_sku(sku)]: int(quantity)
        for sku, quantity in quantities.items()
        if normalise_sku(sku) in ids
    }
    belief.record_event(conn, channel, held, occurred_at)
    if ids:
        mark_channel(conn, channel, list(ids.values()))


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    """The channel's delivery id when it sends one, else a digest of the body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in (
        "x-shopify-webhook-id",  # the same on Shopify's retries of one delivery
        "x-wc-webhook-delivery-id",
        "x-delivery-id",
    ):
        if lowered.get(name):
            return f"{name}:{lowered[name]}"[:128]
    return "sha256:" + hashlib.sha256(body).hexdigest()


__all__ = ["ChannelError", "HubError", "IntakeReport", "PullResult", "PushResult", "Sync"]
