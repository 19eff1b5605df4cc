"""Shipments recorded in the hub reach the channel that sold the order: through the
shipment outbox, over real HTTP to a Shopify sandbox shop and a WooCommerce sandbox
store, retried with backoff, dead-lettered with the reason, and never recorded twice."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from builders import make_hub, order
from typer.testing import CliRunner, Result

from hub.cli import app as cli
from hub.core import ledger
from hub.core.models import dead_letter_t, movement_t, now, shipment_t
from hub.core.orderbook import find_order
from hub.core.service import Service
from hub.core.shipments import (
    BACKOFF,
    LEASE,
    MAX_BACKOFF,
    MAX_FAILURES,
    order_shipments,
    push_shipments,
)
from hub.core.status import channel_status
from hub.core.sync import Sync
from hub.errors import InvalidInput
from hub.sandbox import SandboxServer
from hub_plugins.shopify import ShopifySandbox
from hub_plugins.woocommerce import WooSandbox


@dataclass
class Stores:
    """A hub selling MUG through a Shopify shop, a WooCommerce store and a manual desk."""

    db_url: str
    channels: dict[str, dict[str, Any]]
    hub: Any
    sync: Sync
    shop: ShopifySandbox
    woo: WooSandbox
    servers: dict[str, SandboxServer]
    config: Path

    def sell(self, channel: str, quantity: int) -> str:
        """A customer buys ``quantity`` MUG in the store; the hub pulls the order."""
        if channel == "shop":
            external_id = str(self.shop.sell("MUG", quantity).id)
        else:
            external_id = str(self.woo.sell("MUG", quantity)["id"])
        self.sync.pull_orders(channel)
        assert self.order(channel, external_id)["status"] == "open"
        return external_id

    def order(self, channel: str, external_id: str) -> dict[str, Any]:
        return self.hub.read(lambda c: find_order(c, f"{channel}:{external_id}")).order

    def shipments(self, channel: str, external_id: str) -> list[dict[str, Any]]:
        order_id = self.order(channel, external_id)["id"]
        return self.hub.read(lambda c: order_shipments(c, order_id))

    def tracking_on_channel(self, channel: str, external_id: str) -> list[str]:
        """Every tracking number the store holds for the order, once per record of it."""
        if channel == "shop":
            return [f["tracking"]["number"] for f in self.shop.order(int(external_id)).fulfillments]
        notes = self.woo.notes(int(external_id))
        return [n["note"].split("tracking number ")[1].split(":")[0] for n in notes]

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(
            cli, [*args, "--config", str(self.config)], env={"COLUMNS": "250"}
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.hub.read(
            lambda c: [dict(r) for r in c.execute(sa.select(dead_letter_t)).mappings()]
        )


def write_config(path: Path, db_url: str, channels: dict[str, dict[str, Any]]) -> Path:
    """The hub.toml a merchant would write for this hub (JSON values are valid TOML)."""
    lines = [
        "[database]",
        f"url = {json.dumps(db_url)}",
        "[locations.main]",
        'name = "Main warehouse"',
        "[locations.store]",
        'name = "City store"',
        'kind = "store"',
    ]
    for name, section in channels.items():
        lines.append(f"[channels.{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in section.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def build(db_url: str, config: Path, **intervals: float) -> Stores:
    shop = ShopifySandbox(restore_rate=20_000.0)
    shop.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 10}])
    woo = WooSandbox()
    woo.add_product("MUG", price="12.50", stock=10)
    for sandbox in (shop, woo):
        sandbox.faults.retry_after = 0.05
        sandbox.faults.timeout_seconds = 0.5
    servers = {"shop": shop.serve().start(), "woo": woo.serve().start()}
    channels = {
        "shop": shop.config_for(servers["shop"].url, timeout=2.0, locations=["main"], **intervals),
        "woo": woo.config_for(servers["woo"].url, timeout=2.0, locations=["main"], **intervals),
        "desk": {"type": "manual", "locations": ["main", "store"]},
    }
    hub = make_hub(db_url, channels=channels)
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
    write_config(config, db_url, channels)
    return Stores(
        db_url, channels, hub, Sync(hub, backoff=0.01, attempts=3), shop, woo, servers, config
    )


@pytest.fixture
def stores(db_url: str, tmp_path: Path) -> Iterator[Stores]:
    built = build(db_url, tmp_path / "hub.toml")
    try:
        yield built
    finally:
        built.hub.close()
        for server in built.servers.values():
            server.stop()


# -- recorded with the sale, sent once ---------------------------------------------------------


def test_a_shipment_recorded_in_the_hub_reaches_shopify_once_with_its_tracking(stores: Stores):
    external_id = stores.sell("shop", 2)

    stores.hub.ship(f"shop:{external_id}", "UPS", "1Z999", "https://ups.example/1Z999")
    [queued] = stores.shipments("shop", external_id)
    sent = push_shipments(stores.sync, "shop")
    again = push_shipments(stores.sync, "shop")

    assert queued["channel_state"] == "pending" and queued["source"] == "hub"
    assert queued["lines"] == [{"sku": "MUG", "location": "main", "quantity": 2}]
    assert sent.confirmed == [queued["id"]] and again.confirmed == []
    kept = stores.shop.order(int(external_id))
    assert kept.fulfillment_status() == "FULFILLED"
    assert [f["tracking"] for f in kept.fulfillments] == [
        {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}
    ]
    [confirmed] = stores.shipments("shop", external_id)
    assert confirmed["channel_state"] == "confirmed" and confirmed["attempts"] == 1
    assert confirmed["confirmed_at"] is not None and confirmed["last_error"] == ""


def test_a_shipment_by_the_cli_reaches_woocommerce_with_one_tracking_note(stores: Stores):
    external_id = stores.sell("woo", 1)

    shipped = stores.cli(
        "orders", "ship", f"woo:{external_id}", "--carrier", "DHL", "--tracking", "JD0001"
    )
    sent = stores.cli("sync", "shipments", "woo")
    shown = stores.cli("orders", "show", f"woo:{external_id}")

    assert shipped.exit_code == 0, shipped.output
    assert "the channel will be told" in shipped.output
    assert "woo: 1 shipments confirmed, 0 to retry, 0 failed" in sent.output
    assert stores.woo.order(int(external_id))["status"] == "completed"
    assert stores.tracking_on_channel("woo", external_id) == ["JD0001"]
    assert "DHL JD0001 (1 × MUG @ main): channel confirmed" in shown.output


def test_shipment_lines_are_exactly_what_the_sale_movements_took(stores: Stores):
    stores.hub.write(lambda c: ledger.receive(c, "MUG", "store", 5))
    stores.hub.ingest("desk", [order("D1", ("MUG", 12), channel="desk")])

    stores.hub.ship("desk:D1", "own-fleet")
    [shipment] = stores.shipments("desk", "D1")
    order_id = stores.order("desk", "D1")["id"]
    m = movement_t.c
    sold = stores.hub.read(
        lambda c: c.execute(
            sa.select(m.product_id, m.location_id, -m.on_hand_delta).where(
                m.order_id == order_id, m.kind == "sale"
            )
        ).all()
    )
    lines = stores.hub.read(
        lambda c: c.execute(
            sa.text(
                "SELECT product_id, location_id, quantity FROM shipment_line WHERE shipment_id = :s"
            ),
            {"s": shipment["id"]},
        ).all()
    )

    assert sorted(map(tuple, lines)) == sorted(map(tuple, sold))
    assert sum(x["quantity"] for x in shipment["lines"]) == 12
    assert {x["location"] for x in shipment["lines"]} == {"main", "store"}


def test_a_manual_channel_shipment_needs_no_telling(stores: Stores):
    stores.hub.ingest("desk", [order("D2", ("MUG", 1), channel="desk")])

    stores.hub.ship("desk:D2", "own-fleet")
    sent = push_shipments(stores.sync, "desk")

    [shipment] = stores.shipments("desk", "D2")
    assert shipment["channel_state"] == "not_needed"
    assert sent.confirmed == [] and sent.failed == []
    [desk] = stores.hub.read(lambda c: channel_status(c, ["desk"]))
    assert desk.shipments_pending == 0 and desk.shipments_failed == 0


def test_an_order_ships_once_the_second_ship_is_refused_and_records_nothing(stores: Stores):
    external_id = stores.sell("shop", 1)
    stores.hub.ship(f"shop:{external_id}", "UPS", "1Z1")

    with pytest.raises(InvalidInput, match=f"order shop:{external_id} is fulfilled; only open"):
        stores.hub.ship(f"shop:{external_id}", "UPS", "1Z2")

    assert [s["tracking_number"] for s in stores.shipments("shop", external_id)] == ["1Z1"]


@pytest.mark.parametrize("channel", ["shop", "woo"])
def test_the_channels_fulfilled_version_after_a_hub_shipment_sells_nothing_again(
    stores: Stores, channel: str
):
    external_id = stores.sell(channel, 2)
    stores.hub.ship(f"{channel}:{external_id}", "UPS", "1ZNEXT")
    push_shipments(stores.sync, channel)

    stores.sync.pull_orders(channel)  # the channel's next version says it shipped

    [main] = [x for x in stores.hub.read(lambda c: ledger.levels(c, "MUG")) if x.location == "main"]
    assert (main.on_hand, main.reserved) == (8, 0)
    assert stores.hub.read(ledger.verify) == []
    assert stores.order(channel, external_id)["status"] == "fulfilled"
    assert len(stores.shipments(channel, external_id)) == 1


def test_two_people_shipping_one_order_at_once_make_one_shipment(stores: Stores):
    external_id = stores.sell("shop", 2)
    both_ready = threading.Barrier(2)
    outcomes: list[str] = []

    def ship(tracking: str) -> None:
        both_ready.wait()
        try:
            stores.hub.ship(f"shop:{external_id}", "UPS", tracking)
            outcomes.append("shipped")
        except InvalidInput as error:
            outcomes.append(str(error))

    people = [threading.Thread(target=ship, args=(t,)) for t in ("1ZA", "1ZB")]
    for person in people:
        person.start()
    for person in people:
        person.join()

    assert sorted(outcomes) == [
        f"order shop:{external_id} is fulfilled; only open orders can ship",
        "shipped",
    ]
    assert len(stores.shipments("shop", external_id)) == 1
    [main] = [x for x in stores.hub.read(lambda c: ledger.levels(c, "MUG")) if x.location == "main"]
    assert (main.on_hand, main.reserved) == (8, 0)


# -- faults: retried, backed off, dead-lettered -----------------------------------------------


@pytest.mark.parametrize("channel", ["shop", "woo"])
@pytest.mark.parametrize("fault", ["server_errors", "rate_limited"])
def test_a_passing_fault_is_retried_and_the_channel_records_the_shipment_once(
    stores: Stores, channel: str, fault: str
):
    external_id = stores.sell(channel, 1)
    stores.hub.ship(f"{channel}:{external_id}", "UPS", "1Z503")
    sandbox = stores.shop if channel == "shop" else stores.woo
    setattr(sandbox.faults, fault, 1)

    sent = push_shipments(stores.sync, channel)

    assert getattr(sandbox.faults, fault) == 0  # the fault fired
    assert len(sent.confirmed) == 1
    assert stores.tracking_on_channel(channel, external_id) == ["1Z503"]
    [shipment] = stores.shipments(channel, external_id)
    assert shipment["channel_state"] == "confirmed"


def test_a_channel_down_past_the_callers_retries_is_tried_again_after_a_backoff(
    stores: Stores,
):
    external_id = stores.sell("shop", 1)
    stores.hub.ship(f"shop:{external_id}", "UPS", "1ZDOWN")
    stores.shop.faults.server_errors = 1000
    t0 = now()

    down = push_shipments(stores.sync, "shop", at=t0)
    left = stores.shop.faults.server_errors
    early = push_shipments(stores.sync, "shop", at=t0 + BACKOFF - timedelta(seconds=1))
    left_after_early = stores.shop.faults.server_errors
    [waiting] = stores.shipments("shop", external_id)
    [status] = stores.hub.read(lambda c: channel_status(c, ["shop"]))
    stores.shop.faults.server_errors = 0
    later = push_shipments(stores.sync, "shop", at=t0 + BACKOFF)

    assert len(down.retrying) == 1 and early.retrying == [] and early.confirmed == []
    assert left < 1000 and left_after_early == left  # the early run sent nothing
    assert waiting["channel_state"] == "pending" and waiting["attempts"] == 1
    assert "HTTP 503" in waiting["last_error"]
    assert waiting["next_attempt_at"] == t0 + BACKOFF
    assert status.shipments_pending == 1 and "HTTP 503" in status.errors["ship"]
    assert later.confirmed == [waiting["id"]]
    assert stores.tracking_on_channel("shop", external_id) == ["1ZDOWN"]
    [status] = stores.hub.read(lambda c: channel_status(c, ["shop"]))
    assert status.shipments_pending == 0 and "ship" not in status.errors


def test_a_channel_that_is_down_costs_one_shipment_per_run_the_rest_waits(stores: Stores):
    first, second = stores.sell("woo", 1), stores.sell("woo", 1)
    stores.hub.ship(f"woo:{first}", "DHL", "JD-A")
    stores.hub.ship(f"woo:{second}", "DHL", "JD-B")
    stores.woo.faults.server_errors = 1000

    down = push_shipments(stores.sync, "woo")

    [tried] = stores.shipments("woo", first)
    [waiting] = stores.shipments("woo", second)
    assert (down.retrying, down.confirmed) == ([tried["id"]], [])
    assert tried["attempts"] == 1 and tried["next_attempt_at"] is not None
    assert (waiting["attempts"], waiting["claimed_by"], waiting["next_attempt_at"]) == (0, "", None)


def test_a_shipment_failing_every_attempt_is_dead_lettered_after_max_failures(stores: Stores):
    external_id = stores.sell("woo", 1)
    stores.hub.ship(f"woo:{external_id}", "DHL", "JD-DOWN")
    stores.woo.faults.server_errors = 10_000
    stamp = now()

    outcomes = []
    for _ in range(MAX_FAILURES):
        outcomes.append(push_shipments(stores.sync, "woo", at=stamp))
        stamp += MAX_BACKOFF

    assert [len(o.retrying) for o in outcomes] == [1] * (MAX_FAILURES - 1) + [0]
    assert len(outcomes[-1].failed) == 1
    [shipment] = stores.shipments("woo", external_id)
    assert shipment["channel_state"] == "failed" and shipment["attempts"] == MAX_FAILURES
    [letter] = stores.dead_letters()
    assert (letter["kind"], letter["reference"]) == ("fulfil", str(shipment["id"]))
    assert "503" in letter["error"] and letter["attempts"] == MAX_FAILURES


def test_a_refusal_fails_at_once_and_shows_on_the_order_and_in_status(stores: Stores):
    external_id = stores.sell("shop", 1)
    stores.shop.cancel_order(int(external_id))  # the hub has not heard of it yet
    stores.hub.ship(f"shop:{external_id}", "UPS", "1ZLATE")

    sent = push_shipments(stores.sync, "shop")
    shown = stores.cli("orders", "show", f"shop:{external_id}")
    as_json = json.loads(stores.cli("orders", "show", f"shop:{external_id}", "--json").output)
    status = stores.cli("status", "--json")
    table = stores.cli("status")
    retried = stores.cli("retry")

    assert len(sent.failed) == 1
    [shipment] = stores.shipments("shop", external_id)
    reason = shipment["last_error"]
    assert shipment["channel_state"] == "failed" and shipment["attempts"] == 1
    assert "nothing left to fulfil" in reason and f"order {external_id}" in reason
    [letter] = stores.dead_letters()
    assert (letter["kind"], letter["error"]) == ("fulfil", reason)
    assert "UPS 1ZLATE (1 × MUG @ main): channel failed: Shopify channel" in shown.output
    assert as_json["shipments"][0]["channel_state"] == "failed"
    shop = next(c for c in json.loads(status.output) if c["channel"] == "shop")
    assert (shop["shipments_failed"], shop["shipments_pending"], shop["dead_letters"]) == (1, 0, 1)
    assert "1 failed" in table.output
    assert "still failing" in retried.output and "nothing left to fulfil" in retried.output
    [still] = stores.dead_letters()  # the same letter, still open, no second one
    assert still["id"] == letter["id"] and still["retried_at"] is None
    assert stores.shop.order(int(external_id)).fulfillments == []


def test_hub_retry_sends_a_refused_shipment_again_once_the_store_allows_it(stores: Stores):
    external_id = stores.sell("woo", 2)
    stores.woo.cancel_order(int(external_id))
    stores.hub.ship(f"woo:{external_id}", "DHL", "JD0042", "https://dhl.example/JD0042")
    refused = push_shipments(stores.sync, "woo")
    stores.woo.update_order(int(external_id), status="processing")  # the merchant reopens it

    retried = stores.cli("retry")

    assert len(refused.failed) == 1
    assert retried.exit_code == 0, retried.output
    assert "fulfil" in retried.output and "confirmed by the channel" in retried.output
    assert stores.woo.order(int(external_id))["status"] == "completed"
    assert stores.tracking_on_channel("woo", external_id) == ["JD0042"]
    [shipment] = stores.shipments("woo", external_id)
    assert shipment["channel_state"] == "confirmed" and shipment["last_error"] == ""
    [letter] = stores.dead_letters()
    assert letter["retried_at"] is not None
    [woo] = stores.hub.read(lambda c: channel_status(c, ["woo"]))
    assert (woo.shipments_failed, woo.dead_letters) == (0, 0)


@pytest.mark.parametrize("channel", ["shop", "woo"])
def test_a_fulfilment_applied_before_a_crash_is_not_recorded_twice(stores: Stores, channel: str):
    external_id = stores.sell(channel, 1)
    stores.hub.ship(f"{channel}:{external_id}", "UPS", "1ZCRASH", "https://ups.example/1ZCRASH")
    # A worker sent it and died before it could commit "confirmed".
    stores.hub.channel(channel).fulfill(
        external_id, "UPS", "1ZCRASH", "https://ups.example/1ZCRASH"
    )

    sent = push_shipments(stores.sync, channel)

    assert len(sent.confirmed) == 1
    assert stores.tracking_on_channel(channel, external_id) == ["1ZCRASH"]


@pytest.mark.parametrize("channel", ["shop", "woo"])
def test_a_fulfilment_whose_answer_is_lost_is_confirmed_on_the_retry_not_repeated(
    stores: Stores, channel: str
):
    external_id = stores.sell(channel, 1)
    stores.hub.ship(f"{channel}:{external_id}", "UPS", "1ZLOST")
    sandbox = stores.shop if channel == "shop" else stores.woo
    sandbox.faults.timeout_seconds = 2.5  # longer than the client waits (2 s)

    def lose_the_answer_to_the_write(method: str, path: str, body: bytes) -> None:
        if b"fulfillmentCreate" in body or (method == "POST" and path.endswith("/notes")):
            sandbox.faults.lost_answers = 1  # the store applies it; the answer comes too late

    sandbox.faults.observers.append(lose_the_answer_to_the_write)

    sent = push_shipments(stores.sync, channel)

    assert sandbox.faults.lost_answers == 0  # the fault fired
    assert len(sent.confirmed) == 1
    assert stores.tracking_on_channel(channel, external_id) == ["1ZLOST"]


def test_a_leased_shipment_is_not_sent_by_a_second_worker(stores: Stores):
    external_id = stores.sell("shop", 1)
    stores.hub.ship(f"shop:{external_id}", "UPS", "1ZLEASE")
    other = Sync(stores.hub, backoff=0.01, attempts=3)
    stores.shop.faults.server_errors = 1000
    first = push_shipments(stores.sync, "shop")
    stores.shop.faults.server_errors = 0
    stamp = now() + BACKOFF
    # Worker one holds a fresh lease on it (as when it is in the middle of sending).
    stores.hub.write(
        lambda c: c.execute(
            shipment_t.update().values(claimed_by=stores.sync.worker, claimed_until=stamp)
        )
    )

    second = push_shipments(other, "shop", at=stamp - timedelta(seconds=1))
    after_lease = push_shipments(other, "shop", at=stamp + timedelta(seconds=1))

    assert len(first.retrying) == 1 and second.confirmed == []
    assert len(after_lease.confirmed) == 1
    assert stores.tracking_on_channel("shop", external_id) == ["1ZLEASE"]


def test_a_shipment_leased_by_a_worker_that_died_is_sent_at_once_after_recovery(
    stores: Stores,
):
    external_id = stores.sell("shop", 1)
    stores.hub.ship(f"shop:{external_id}", "UPS", "1ZDEAD")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_worker = f"{socket.gethostname()}:{int(gone.stdout)}:1"
    stores.hub.write(  # it had leased the shipment when it was killed
        lambda c: c.execute(
            shipment_t.update().values(claimed_by=dead_worker, claimed_until=now() + LEASE)
        )
    )
    leased = push_shipments(stores.sync, "shop")

    recovered = stores.sync.recover()
    sent = push_shipments(stores.sync, "shop")

    assert leased.confirmed == []
    assert recovered.dead_workers == [dead_worker] and recovered.shipments_leased == 1
    assert len(sent.confirmed) == 1
    assert stores.tracking_on_channel("shop", external_id) == ["1ZDEAD"]


# -- the running service ---------------------------------------------------------------------


async def wait_for(condition: Any, seconds: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_running_service_tells_the_channels_with_no_manual_command(
    db_url: str, tmp_path: Path
):
    # Scheduled runs every 30 s: within the test, only a wake-up or the start sends.
    stores = build(db_url, tmp_path / "hub.toml", poll_interval=30.0, push_interval=30.0)
    service = Service(stores.hub, host="127.0.0.1", port=0, inbox_interval=5.0)
    try:
        before = await asyncio.to_thread(stores.sell, "woo", 1)
        shipped = await asyncio.to_thread(
            stores.cli, "orders", "ship", f"woo:{before}", "--carrier", "DHL", "--tracking", "JD1"
        )
        assert shipped.exit_code == 0, shipped.output
        await service.start()
        # Recorded by another process (the CLI) before the service ran: sent at its start.
        assert await wait_for(lambda: stores.tracking_on_channel("woo", before) == ["JD1"])
        during = await asyncio.to_thread(stores.sell, "shop", 1)
        await asyncio.to_thread(stores.hub.ship, f"shop:{during}", "UPS", "1ZLIVE")
        # Recorded in the service's process: the shipment push is woken at once.
        assert await wait_for(lambda: stores.tracking_on_channel("shop", during) == ["1ZLIVE"])
        status = await asyncio.to_thread(requests.get, f"{service.url}/api/status", timeout=5)
        channels = {c["channel"]: c for c in status.json()["channels"]}
        assert channels["shop"]["shipments_pending"] == 0
        assert channels["woo"]["shipments_failed"] == 0
    finally:
        await service.stop()
        stores.hub.close()
        for server in stores.servers.values():
            server.stop()
