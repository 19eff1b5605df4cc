"""The channel contract suite: every behavioural rule of a channel plugin, one test each.

A plugin author writes one line in a test module::

    from hub.testing import channel_contract
    from hub_acme import AcmeChannel

    TestAcmeContract = channel_contract(AcmeChannel)

pytest collects the returned class (its name starts with ``Test``): one test per rule,
named after the rule (``test_orders_resume_from_cursor_after_crash``), each run once per
database the ``hub.testing`` pytest plugin is told of (SQLite by default; see
:mod:`hub.testing.plugin`). Every test serves the plugin's sandbox store (the channel
class's ``sandbox``, a :class:`hub.sandbox.DemoStore`) over real HTTP, opens a real hub on
a real database with that store as its one channel ``contract``, and drives it with the
real sync engine, the real webhook endpoint and the real shipment outbox. A broken rule
fails with a message saying what the rule is and what the plugin did.

Rules a service cannot express adapt to what the channel class declares, and say so in
their test's name: a channel with ``compare_and_set = True`` must refuse a stale update
(``test_compare_and_set_refused_and_reread``), one without is checked to overwrite
(``test_stock_set_without_compare_and_set``); a channel that does not implement
``fulfill`` gets ``test_shipments_not_sent_channel_takes_none`` instead of
``test_shipment_reaches_channel``.

The same suite can be written as a subclass, to add options or tests of one's own::

    class TestAcmeContract(ChannelContract):
        channel = AcmeChannel
        config = {"page_size": 50}      # extra keys of every channel section
        stock_calls_per_batch = 1       # store.stock_calls() per push_stock call
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import requests

from hub.channels import Channel
from hub.core import ledger
from hub.core.shipments import order_shipments, push_shipments, tells_channel
from hub.orders import OrderStatus
from hub.sandbox import DemoItem
from hub.testing.world import CHANNEL, ContractWorld

#: Orders sold for the paging rules, and the page size the store is asked to answer with.
PAGED_ORDERS = 5
PAGE_SIZE = 2
#: The batching rule pushes ``stock_batch_size + 1`` SKUs, so the push splits, for batch
#: sizes up to LARGEST_SPLIT; a channel taking more per call gets MOST_ITEMS in one batch.
LARGEST_SPLIT = 250
MOST_ITEMS = 120


def _rule(text: str) -> str:
    return f"Contract rule: {text}.\nWhat the plugin did: "


class ChannelContract:
    """The contract's rules as pytest tests; subclass it with ``channel`` set (or call
    :func:`channel_contract`).

    Class attributes (the channel class's own declarations are read from ``channel``):
      ``channel``: the :class:`hub.Channel` subclass under test (its ``sandbox`` is used).
      ``config``: extra keys for the channel's section (beyond the sandbox's
      ``config_for``), e.g. a longer ``timeout``.
      ``stock_calls_per_batch``: how many of the store's counted stock calls
      (``DemoStore.stock_calls()``) one ``push_stock`` batch takes at the fewest (1 for most
      services; Amazon's feed takes 3: createFeedDocument, the upload, createFeed).
    """

    channel: ClassVar[type[Channel]]
    config: ClassVar[Mapping[str, Any]] = {}
    stock_calls_per_batch: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        channel = getattr(cls, "channel", None)
        if channel is None:
            return
        # Rules that adapt to what the channel declares: only the applicable one is a test.
        if getattr(channel, "compare_and_set", False):
            cls.test_stock_set_without_compare_and_set = None  # type: ignore[assignment,method-assign]
        else:
            cls.test_compare_and_set_refused_and_reread = None  # type: ignore[assignment,method-assign]
        if getattr(channel, "skuless_lines", True):
            cls.test_lines_without_sku_not_sold_by_channel = None  # type: ignore[assignment,method-assign]
        else:
            cls.test_line_without_sku_held = None  # type: ignore[assignment,method-assign]
        if tells_channel(channel):
            cls.test_shipments_not_sent_channel_takes_none = None  # type: ignore[assignment,method-assign]
        else:
            cls.test_shipment_reaches_channel = None  # type: ignore[assignment,method-assign]

    # -- the world every rule runs in ----------------------------------------------------

    @pytest.fixture
    def world(self, hub_database_url: str) -> Iterator[ContractWorld]:
        """The store holding MUG 10 and TEE 4, a hub on the database selling them, in step."""
        if getattr(self.channel, "sandbox", None) is None:
            pytest.fail(f"{self.channel.__name__}.sandbox is None: set it to a DemoStore factory")
        made = ContractWorld(self.channel, hub_database_url, dict(self.config))
        try:
            try:
                made.start()
            except Exception as error:
                error.add_note(
                    "(while setting up the contract's hub: seeding and serving the sandbox, "
                    "fetch_listings through the hub, the first push)"
                )
                raise
            yield made
        finally:
            made.close()

    def _paged(self, world: ContractWorld) -> ContractWorld:
        """``world``'s hub reopened with the section the store gives for small pages."""
        extra = _needs(world, "page_config")(PAGE_SIZE)
        world.section.update(extra)
        world.restart()
        return world

    def _undone(self, row: Mapping[str, Any]) -> bool:
        """The hub's order is cancelled (a till's sale, undone by a full return, may keep
        its shipped status: what it took is checked apart)."""
        return row["status"] == OrderStatus.CANCELLED.value or self.channel.final_sales

    # -- connection and listings -----------------------------------------------------------

    def test_connection_accepted(self, world: ContractWorld) -> None:
        """check_connection() finds no problem with the sandbox's good credentials."""
        problems = world.adapter().check_connection()
        assert problems == [], (
            _rule("check_connection() answers [] for good credentials")
            + f"it reported {problems!r}"
        )

    def test_listings_mapped(self, world: ContractWorld) -> None:
        """fetch_listings() yields every SKU of the store with its quantity and id."""
        listings = {item.sku: item for item in world.sync.fetch_listings(CHANNEL)}
        for sku, quantity in (("MUG", 10), ("TEE", 4)):
            got = listings.get(sku)
            assert got is not None, (
                _rule("every listing of the store comes back with its SKU")
                + f"no listing with SKU {sku!r} among {sorted(listings)}"
            )
            assert got.quantity == quantity and got.external_id, (
                _rule("a listing carries the store's quantity and the store's id for it")
                + f"{sku!r} came back with quantity {got.quantity!r}, external_id "
                f"{got.external_id!r} (the store holds {quantity})"
            )
        result = world.sync.full_push(CHANNEL)
        assert result.sent == 0, (
            _rule("a store already holding the hub's figures is sent nothing")
            + f"the hub sent {result.sent} updates after importing the listings"
        )

    # -- orders ------------------------------------------------------------------------------

    def test_orders_mapped(self, world: ContractWorld) -> None:
        """A sale in the store arrives by pull as an open order reserving its units."""
        sold = world.store.sell("MUG", 2)
        pages = [page for page in world.adapter().fetch_orders(None, None)]
        orders = [o for page in pages for o in page.orders if o.external_id == sold]
        assert orders, (
            _rule("fetch_orders() returns the store's orders by the store's id")
            + f"order {sold!r} missing from {[o.external_id for p in pages for o in p.orders]}"
        )
        got = orders[0]
        assert got.channel == CHANNEL, (
            _rule("orders carry the channel's configured name")
            + f"channel was {got.channel!r}, not {CHANNEL!r}"
        )
        assert [(ln.sku, ln.quantity) for ln in got.lines] == [("MUG", 2)], (
            _rule("lines carry the SKU and units sold")
            + f"lines came back as {[(ln.sku, ln.quantity) for ln in got.lines]}"
        )
        assert isinstance(got.total, Decimal) and got.total > 0, (
            _rule("money is a Decimal") + f"total was {got.total!r}"
        )
        stamp = got.updated_at
        assert stamp is not None and stamp.utcoffset() == UTC.utcoffset(None), (
            _rule("updated_at is an aware UTC datetime") + f"updated_at was {stamp!r}"
        )
        world.sync.pull_orders(CHANNEL)
        row = world.order(sold)
        # a till's sale (final_sales) is goods handed over: it arrives shipped
        expected = OrderStatus.FULFILLED if self.channel.final_sales else OrderStatus.OPEN
        assert row is not None and row["status"] == expected.value, (
            _rule(f"a paid sale pulled into the hub is {expected.value}")
            + f"the hub holds {row and (row['status'], row.get('hold_reason'))!r}"
        )
        assert world.taken() == 2, (
            _rule("the order takes its units in the hub (reserved, or sold at a till)")
            + f"{world.taken()} MUG taken (reserved or sold) for an order of 2"
        )

    def test_orders_paged(self, world: ContractWorld) -> None:
        """A pull reads every page: five orders at two a page come in three pages."""
        sold = [world.store.sell("MUG", 1) for _ in range(PAGED_ORDERS)]
        self._paged(world)
        result = world.sync.pull_orders(CHANNEL)
        missing = [s for s in sold if world.order(s) is None]
        assert not missing and result.complete, (
            _rule(
                f"a pull follows the cursor to the last page ({PAGED_ORDERS} orders, the store "
                f"answering {PAGE_SIZE} a page)"
            )
            + f"{result.pages} pages, {result.orders} orders read, complete={result.complete}; "
            f"orders never pulled: {missing}"
        )
        assert result.pages >= math.ceil(PAGED_ORDERS / PAGE_SIZE), (
            _rule(f"pages hold at most the {PAGE_SIZE} orders asked for (page_config)")
            + f"all {PAGED_ORDERS} orders came in {result.pages} pages"
        )
        assert world.order_count() == PAGED_ORDERS and world.taken() == PAGED_ORDERS, (
            _rule("each order of a paged pull is stored once")
            + f"{world.order_count()} orders stored, {world.taken()} MUG taken"
        )

    def test_orders_resume_from_cursor_after_crash(self, world: ContractWorld) -> None:
        """A pull stopped after its first committed page resumes from that page's cursor."""
        sold = [world.store.sell("MUG", 1) for _ in range(PAGED_ORDERS)]
        self._paged(world)
        world.sync.stopping.set()  # the hub stops (or dies) once the first page is committed
        first = world.sync.pull_orders(CHANNEL)
        assert first.pages == 1 and not first.complete, (
            _rule("a pull commits a cursor after each page that is not the last")
            + f"the first pull read {first.pages} pages, complete={first.complete} "
            f"(is the cursor of a page followed by more orders None?)"
        )
        world.restart()  # a new process on the same database
        rest = world.sync.pull_orders(CHANNEL)
        missing = [s for s in sold if world.order(s) is None]
        assert not missing and rest.complete, (
            _rule("a pull resumed from a committed cursor reaches the last page")
            + f"after the restart {rest.pages} pages, complete={rest.complete}; "
            f"never pulled: {missing}"
        )
        assert rest.orders == PAGED_ORDERS - first.orders, (
            _rule("a resumed pull starts where the cursor points, not from the beginning")
            + f"the first page held {first.orders} orders, and the resumed pull read "
            f"{rest.orders} more of {PAGED_ORDERS} (the cursor was not followed)"
        )
        assert world.order_count() == PAGED_ORDERS and world.taken() == PAGED_ORDERS, (
            _rule("orders are stored once across a crash")
            + f"{world.order_count()} orders, {world.taken()} MUG taken"
        )

    def test_same_order_twice(self, world: ContractWorld) -> None:
        """The same order by webhook twice (same delivery) and by two pulls: stored once."""
        world.subscribe_hub()
        world.store.faults.duplicate_webhooks = 10
        sold = world.store.sell("MUG", 2)
        posted = world.store.deliver()
        world.sync.process_inbox()
        world.sync.pull_orders(CHANNEL)
        world.restart()  # a pull from scratch reads the same version again
        world.sync.pull_orders(CHANNEL)
        row = world.order(sold)
        assert row is not None and world.order_count() == 1 and world.taken() == 2, (
            _rule("one order, whatever number of times it arrives, reserves its units once")
            + f"after {posted} deliveries and two pulls the hub holds {world.order_count()} "
            f"orders and {world.taken()} MUG taken (reserved or sold) for a sale of 2"
        )

    def test_older_version_after_newer(self, world: ContractWorld) -> None:
        """A cancellation delivered before the sale's own webhook: the order stays cancelled."""
        world.subscribe_hub()
        sold = world.store.sell("MUG", 2)
        world.store.cancel(sold)
        world.store.faults.reorder_webhooks = 1  # newest first
        world.store.deliver()
        world.sync.process_inbox()
        row = world.order(sold)
        assert row is not None and self._undone(row), (
            _rule("the newest version of an order decides, whatever order versions arrive in")
            + f"the hub holds the order as {row and row['status']!r} after the cancellation "
            "was delivered before the sale (is updated_at the store's modification time?)"
        )
        assert world.taken() == 0, (
            _rule("a cancelled order reserves nothing")
            + f"{world.taken()} MUG still taken (reserved or sold)"
        )

    def test_two_versions_in_same_second(self, world: ContractWorld) -> None:
        """A sale and its cancellation stamped in the same second: the cancellation wins."""
        world.subscribe_hub()
        _needs(world, "hold_clock")(True)
        try:
            sold = world.store.sell("MUG", 2)
            world.sync.pull_orders(CHANNEL)  # the open version is in the hub
            world.store.cancel(sold)
        finally:
            _needs(world, "hold_clock")(False)
        world.store.deliver()
        world.sync.process_inbox()
        world.sync.pull_orders(CHANNEL)
        row = world.order(sold)
        assert row is not None and self._undone(row), (
            _rule("a version further along (cancelled) wins over one in the same second")
            + f"the hub holds the order as {row and row['status']!r}"
        )
        assert world.taken() == 0, (
            _rule("its units are released") + f"{world.taken()} MUG still taken (reserved or sold)"
        )

    def test_cancellation_releases(self, world: ContractWorld) -> None:
        """An order cancelled in the store releases the hub's reservation at the next pull."""
        sold = world.store.sell("MUG", 3)
        world.sync.pull_orders(CHANNEL)
        assert world.taken() == 3, (
            _rule("the order takes its units")
            + f"{world.taken()} MUG still taken (reserved or sold)"
        )
        world.store.cancel(sold)
        world.sync.pull_orders(CHANNEL)
        row = world.order(sold)
        assert row is not None and self._undone(row), (
            _rule("an order cancelled in the store is cancelled in the hub")
            + f"the hub holds it as {row and row['status']!r}"
        )
        assert world.taken() == 0 and world.on_hand() == 10, (
            _rule("a cancellation releases the reserved units to the shelf")
            + f"{world.taken()} still taken, {world.on_hand()} on hand of 10"
        )

    def test_line_without_sku_held(self, world: ContractWorld) -> None:
        """A custom line without SKU is kept: the order is stored, the rest goes on."""
        custom = _needs(world, "sell_without_sku")("Engraving", 1)
        sold = world.store.sell("MUG", 2)
        result = world.sync.pull_orders(CHANNEL)
        row = world.order(custom)
        assert row is not None, (
            _rule("an order with a line without SKU is stored, not dropped or failed")
            + f"the pull read {result.orders} orders and the hub has no order {custom!r}"
        )
        lines = world.hub.read(lambda c: _lines(c, row["id"]))
        assert lines and any(not sku for sku, _ in lines), (
            _rule("the line without SKU is kept with an empty SKU")
            + f"the hub's lines of the order are {lines}"
        )
        assert world.order(sold) is not None and world.taken() == 2, (
            _rule("the other orders of the page go in as usual")
            + f"the MUG order is {world.order(sold)}, {world.taken()} MUG taken"
        )

    def test_lines_without_sku_not_sold_by_channel(self, world: ContractWorld) -> None:
        """skuless_lines = False (every line of the service has a SKU): the sandbox agrees."""
        with pytest.raises(NotImplementedError):
            _needs(world, "sell_without_sku")("Engraving", 1)

    # -- stock ---------------------------------------------------------------------------------

    def test_stock_batches_fewest_calls(self, hub_database_url: str) -> None:
        """A push of many SKUs goes in batches of ``stock_batch_size``, in the fewest calls."""
        size = self.channel.stock_batch_size
        count = size + 1 if size <= LARGEST_SPLIT else min(MOST_ITEMS, size)
        items = [DemoItem(f"SKU-{n:03d}", f"Item {n}", "1.00", 1) for n in range(count)]
        world = ContractWorld(self.channel, hub_database_url, dict(self.config))
        try:
            world.start(items)
            before = world.store.stock_calls()
            world.hub.write(
                lambda c: [ledger.receive(c, i.sku, "main", 2) for i in items]  # each 1 -> 3
            )
            try:
                result = world.sync.push_stock(CHANNEL)
            except Exception as error:
                pytest.fail(
                    _rule(
                        f"a push of {count} SKUs goes through in batches of at most {size} "
                        "(stock_batch_size), each as large as the service accepts"
                    )
                    + f"the push failed: {type(error).__name__}: {error}"
                )
            calls = world.store.stock_calls() - before
            wrong = {i.sku: world.store.stock(i.sku) for i in items}
            wrong = {sku: q for sku, q in wrong.items() if q != 3}
            batches = math.ceil(count / size)
            assert not wrong and result.failed == 0, (
                _rule(f"every update of a push of {count} SKUs reaches the store")
                + f"{result.failed} failed; the store holds {dict(list(wrong.items())[:5])} "
                "(3 expected)"
            )
            fewest = batches * self.stock_calls_per_batch
            assert calls == fewest, (
                _rule(
                    f"{count} updates go in {batches} batch(es) of at most {size} "
                    f"(stock_batch_size), {self.stock_calls_per_batch} stock call(s) each"
                )
                + f"the store counted {calls} stock calls (fewest: {fewest})"
            )
        finally:
            world.close()

    def test_compare_and_set_refused_and_reread(self, world: ContractWorld) -> None:
        """compare_and_set: an update whose ``expected`` is stale is refused, then re-sent."""
        world.store.sell("MUG", 2)  # the store holds 8; the hub still believes 10
        world.hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))  # the hub offers 15
        result = world.sync.push_stock(CHANNEL)
        assert result.stale >= 1, (
            _rule(
                "a channel declaring compare_and_set refuses an update whose expected "
                "quantity is no longer the store's, reporting it stale with what it holds"
            )
            + f"the push of 15 expecting 10 to a store holding 8 was answered "
            f"stale={result.stale}, sent={result.sent}; the store holds {world.store.stock('MUG')}"
        )
        assert world.store.stock("MUG") == 15, (
            _rule("the stale update is re-sent against the quantity read back")
            + f"the store holds {world.store.stock('MUG')} MUG, the hub offers 15"
        )

    def test_stock_set_without_compare_and_set(self, world: ContractWorld) -> None:
        """Without compare_and_set (declared so): a push sets the store's quantity outright."""
        world.store.sell("MUG", 2)  # the store holds 8; the hub still believes 10
        world.hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
        result = world.sync.push_stock(CHANNEL)
        assert result.stale == 0 and world.store.stock("MUG") == 15, (
            _rule("a channel without compare_and_set sets the quantity the hub offers")
            + f"stale={result.stale}, the store holds {world.store.stock('MUG')} of 15 "
            "(set compare_and_set = True on a channel that refuses stale updates)"
        )

    # -- failures of the service ------------------------------------------------------------

    def test_rate_limit_retry_after_honoured(self, world: ContractWorld) -> None:
        """A 429 with Retry-After: the call is retried after the wait the service asked."""
        sold = world.store.sell("MUG", 1)
        world.store.faults.retry_after = 0.6
        world.store.faults.rate_limited = 1
        started = time.monotonic()
        try:
            world.sync.pull_orders(CHANNEL)
        except Exception as error:
            pytest.fail(
                _rule("a 429 raises a retryable ChannelError, so the hub retries")
                + f"the pull failed: {type(error).__name__}: {error}"
            )
        waited = time.monotonic() - started
        assert world.order(sold) is not None, (
            _rule("the call refused with 429 succeeds when tried again")
            + "the order never reached the hub"
        )
        assert waited >= 0.55, (
            _rule("ChannelError.retry_after carries the 429's Retry-After (0.6 s), honoured")
            + f"the pull was retried after {waited:.2f} s"
        )

    def test_server_errors_and_timeouts_retried(self, world: ContractWorld) -> None:
        """A 5xx and a time-out are retryable: the pull succeeds when tried again."""
        sold = world.store.sell("MUG", 1)
        world.store.faults.server_errors = 1
        try:
            world.sync.pull_orders(CHANNEL)
        except Exception as error:
            pytest.fail(
                _rule("a 5xx raises a retryable ChannelError (the hub retries it)")
                + f"the pull failed: {type(error).__name__}: {error}"
            )
        world.store.annotate(sold, "retried")
        world.store.faults.timeouts = 1
        try:
            world.sync.pull_orders(CHANNEL)
        except Exception as error:
            pytest.fail(
                _rule("a time-out raises a retryable ChannelError (the hub retries it)")
                + f"the pull failed: {type(error).__name__}: {error}"
            )
        assert world.order(sold) is not None, (
            _rule("the order arrives despite the failures") + "it never reached the hub"
        )
        assert world.store.faults.server_errors == 0 and world.store.faults.timeouts == 0, (
            _rule("the faults fired") + "the store's faults were not consumed"
        )

    def test_malformed_answer_retried(self, world: ContractWorld) -> None:
        """An answer cut off halfway (200 with broken JSON) is retried, not taken for data."""
        sold = world.store.sell("MUG", 1)
        world.store.faults.malformed = 1
        try:
            world.sync.pull_orders(CHANNEL)
        except Exception as error:
            pytest.fail(
                _rule("an answer that is not valid JSON raises a retryable ChannelError")
                + f"the pull failed: {type(error).__name__}: {error}"
            )
        assert world.order(sold) is not None and world.store.faults.malformed == 0, (
            _rule("the order arrives once the answer is read whole")
            + f"the hub holds {world.order(sold)!r} after the truncated answer"
        )

    # -- webhooks --------------------------------------------------------------------------------

    def test_malformed_webhook_quarantined(self, world: ContractWorld) -> None:
        """A signed delivery that cannot be read is given up at once; the next goes through."""
        world.subscribe_hub()
        posted = _needs(world, "deliver_unreadable")()
        sold = world.store.sell("MUG", 2)
        world.store.deliver()
        world.sync.process_inbox()
        rows = world.inbox()
        dead = [r for r in rows if r["status"] == "dead"]
        waiting = [r for r in rows if r["status"] == "pending"]
        assert posted >= 1 and dead and not waiting, (
            _rule(
                "parse_webhook raises UnreadableWebhook for a body it cannot read, so the "
                "delivery goes to the dead letters at once instead of being retried"
            )
            + f"of {posted} unreadable deliveries: {len(dead)} dead, {len(waiting)} waiting to "
            f"be retried; errors: {[r['last_error'] for r in rows if r['last_error']]}"
        )
        assert world.order(sold) is not None and world.taken() == 2, (
            _rule("an unreadable delivery blocks nothing: the next sale's webhook is booked")
            + f"the hub holds {world.order(sold)!r}, {world.taken()} MUG taken"
        )

    def test_forged_webhook_refused(self, world: ContractWorld) -> None:
        """A delivery whose signature does not match its body is refused by the endpoint."""
        capture = world.capture()
        hooks = world.subscribe_hub()
        world.store.sell("MUG", 2)
        world.store.deliver()
        assert capture.arrived.wait(10) and capture.deliveries, (
            _rule("the store's webhooks are delivered") + "no delivery arrived after a sale"
        )
        headers, body = capture.deliveries[0]
        headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        adapter = world.adapter()
        assert adapter.verify_webhook(headers, body), (
            _rule("verify_webhook accepts the store's genuine delivery")
            + "it refused one the store signed"
        )
        tampered = body.replace(b"MUG", b"MUH") if b"MUG" in body else body + b" "
        answer = requests.post(hooks, data=tampered, headers=headers, timeout=10)
        assert answer.status_code == 401 and not adapter.verify_webhook(headers, tampered), (
            _rule("a delivery whose body does not match its signature is refused (401)")
            + f"the hub's endpoint answered {answer.status_code} to a tampered body"
        )
        needed = [k for k in headers if not adapter.verify_webhook(_without(headers, k), body)]
        assert needed, (
            _rule("a delivery without its signature header is refused")
            + f"verify_webhook accepted the delivery without each of its headers {sorted(headers)}"
        )

    # -- shipments -------------------------------------------------------------------------------

    def test_shipment_reaches_channel(self, world: ContractWorld) -> None:
        """A shipment recorded in the hub is sent to the store: the order is fulfilled there."""
        sold = world.store.sell("MUG", 2)
        world.sync.pull_orders(CHANNEL)
        world.hub.ship(f"{CHANNEL}:{sold}", "UPS", "1Z999AA10123456784", actor="contract")
        result = push_shipments(world.sync, CHANNEL)
        held = {o.id: o for o in world.store.orders()}
        row = world.order(sold)
        sent = world.hub.read(lambda c: order_shipments(c, row["id"])) if row else []
        assert held.get(sold) is not None and held[sold].status == "fulfilled", (
            _rule("fulfill() tells the store the order has shipped (carrier, tracking number)")
            + f"after the hub sent the shipment ({len(result.confirmed)} confirmed, "
            f"{len(result.failed)} failed, {len(result.retrying)} retrying) the store shows "
            f"the order as {held.get(sold) and held[sold].status!r}; shipments: {sent}"
        )

    def test_shipments_not_sent_channel_takes_none(self, world: ContractWorld) -> None:
        """A channel without ``fulfill`` (declared by not implementing it) is sent nothing."""
        sold = world.store.sell("MUG", 2)
        world.sync.pull_orders(CHANNEL)
        row = world.order(sold)
        if row is not None and row["status"] == OrderStatus.OPEN.value:
            world.hub.ship(f"{CHANNEL}:{sold}", "UPS", "1Z999AA10123456784", actor="contract")
        result = push_shipments(world.sync, CHANNEL)
        assert not result.confirmed and not result.failed, (
            _rule("a channel that does not implement fulfill() is never asked to") + f"{result}"
        )


_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "user-agent", "accept"}


def _needs(world: ContractWorld, method: str) -> Any:
    """The store's ``method``, or a failure naming the DemoStore method the rule needs."""
    found = getattr(world.store, method, None)
    if not callable(found):
        pytest.fail(
            f"{type(world.store).__name__} (the sandbox of {world.channel_class.__name__}) has "
            f"no {method}(): the contract suite needs it, see hub.sandbox.DemoStore.{method}",
            pytrace=False,
        )
    return found


def _without(headers: Mapping[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


def _lines(conn: Any, order_id: int) -> list[tuple[str, int]]:
    from hub.core.models import order_line_t

    query = order_line_t.select().where(order_line_t.c.order_id == order_id)
    return [(r.sku or "", r.quantity) for r in conn.execute(query)]


def channel_contract(
    channel: type[Channel],
    *,
    config: Mapping[str, Any] | None = None,
    stock_calls_per_batch: int = 1,
) -> type[ChannelContract]:
    """The contract suite for ``channel``, as a test class to bind to a ``Test*`` name.

    ``config``: extra keys of the channel's section; ``stock_calls_per_batch``: stock calls
    the store counts per ``push_stock`` batch at the fewest. Raises TypeError for a class
    that is not a :class:`hub.Channel` with a ``sandbox``.
    """
    if not (isinstance(channel, type) and issubclass(channel, Channel)):
        raise TypeError(f"channel_contract() takes a hub.Channel subclass, not {channel!r}")
    if channel.sandbox is None:
        raise TypeError(f"{channel.__name__}.sandbox is None: set it to a DemoStore factory")
    return type(
        f"Test{channel.__name__}Contract",
        (ChannelContract,),
        {
            "channel": channel,
            "config": dict(config or {}),
            "stock_calls_per_batch": stock_calls_per_batch,
            "__module__": ChannelContract.__module__,
            "__doc__": f"The hub's channel contract, rule by rule, for {channel.__name__}.",
        },
    )
