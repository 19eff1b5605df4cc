"""After a crash the stores are checked at once, not after a lease runs out: claims and
leases of dead workers of this host go back to the queue, pushes in doubt are sent again;
and ``hub run`` reconciles on its interval."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa
from builders import make_hub
from sync_stores import Stores

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.models import inbox_t, outbox_t, shipment_t
from hub.core.recovery import dead_here
from hub.core.service import RECOVER_INTERVAL, Service
from hub.core.shipments import push_shipments
from hub.core.sync import Sync
from hub.core.syncstate import get_state
from hub_plugins.woocommerce import WooSandbox

DOOMED = Path(__file__).with_name("doomed_worker.py")


def doomed_worker(stores: Stores, db_url: str, mode: str) -> subprocess.Popen:
    """Start a worker in its own process (see doomed_worker.py)."""
    return subprocess.Popen(
        [sys.executable, str(DOOMED), db_url, json.dumps(stores.channels), "woo", mode],
        stdout=subprocess.PIPE,
        text=True,
    )


def holders(stores: Stores, table: sa.Table) -> set[str]:
    query = sa.select(table.c.claimed_by).where(table.c.claimed_by != "").distinct()
    return set(stores.hub.read(lambda c: c.execute(query).scalars().all()))


def until(condition, event: threading.Event):
    """An ``on_pushed`` callback that sets ``event`` once ``condition()`` holds."""

    def check(channel: str, skus: list[str], at: float) -> None:
        if condition():
            event.set()

    return check


def test_a_worker_is_dead_when_its_process_on_this_host_is_gone():
    host = socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()

    assert dead_here(f"{host}:{gone.pid}:7f00")
    assert not dead_here(f"{host}:{os.getpid()}:7f00")  # this very process
    assert not dead_here(f"another-host:{gone.pid}:7f00")  # cannot tell: its lease decides
    assert not dead_here("not a worker name")


def test_a_live_worker_frees_at_once_what_a_killed_worker_of_its_host_had_claimed(
    stores: Stores, db_url: str
):
    stores.woo.sell("MUG", 1)  # Woo holds 9; order.created and product.updated stored
    stores.woo.deliver_webhooks()
    stores.adjust(-2)  # with the sale, 7 to promise
    other = Sync(stores.hub)  # a live worker of this process, busy with the shop
    stores.hub.write(lambda c: other._claim_outbox(c, "shop", 100))
    worker = doomed_worker(stores, db_url, "claim")
    name = worker.stdout.readline().strip() if worker.stdout else ""
    assert worker.wait(60) == -signal.SIGKILL
    assert holders(stores, outbox_t) == {name, other.worker}
    assert holders(stores, inbox_t) == {name}

    report = stores.sync.recover()

    assert report.dead_workers == [name]
    assert (report.outbox_rows, report.inbox_rows) == (1, 2)
    assert holders(stores, outbox_t) == {other.worker}  # the live worker keeps its claim
    assert stores.sync.process_inbox() == 2
    stores.sync.push_stock("woo")
    assert stores.woo.stock("MUG") == 7


def test_a_shipment_leased_by_a_killed_worker_is_freed_at_once_and_reaches_the_store(
    stores: Stores, db_url: str
):
    order = stores.woo.sell("MUG", 1)
    stores.woo.deliver_webhooks()
    stores.sync.process_inbox()
    stores.hub.ship(f"woo:{order['id']}", "DHL", "JD0001")
    worker = doomed_worker(stores, db_url, "claim")
    name = worker.stdout.readline().strip() if worker.stdout else ""
    assert worker.wait(60) == -signal.SIGKILL
    assert holders(stores, shipment_t) == {name}

    report = stores.sync.recover()

    assert report.shipments_leased == 1
    assert push_shipments(stores.sync, "woo").confirmed
    assert stores.woo.order(order["id"])["status"] == "completed"


async def test_a_restart_after_a_worker_is_killed_mid_push_puts_the_store_in_step_at_once(
    stores: Stores, db_url: str
):
    stores.woo.sell("MUG", 3)  # Woo holds 7; its webhooks wait in the hub's inbox
    await asyncio.to_thread(stores.woo.deliver_webhooks)
    stores.adjust(-2)  # 8 on hand: 5 to promise once the sale lands
    worker: list[subprocess.Popen] = []

    def kill_mid_push(method: str, path: str, body: bytes) -> None:
        if path.endswith("/batch") and worker:
            os.kill(worker[0].pid, signal.SIGKILL)

    stores.woo.faults.observers.append(kill_mid_push)
    worker.append(doomed_worker(stores, db_url, "push"))
    assert await asyncio.to_thread(worker[0].wait, 60) == -signal.SIGKILL
    stores.woo.faults.observers.remove(kill_mid_push)
    assert stores.listing("woo")["unconfirmed"] is True  # the push's answer was never recorded
    assert holders(stores, inbox_t) and holders(stores, outbox_t)  # leased for a minute

    service = Service(stores.hub, host="127.0.0.1", port=0, inbox_interval=30.0)
    in_step = threading.Event()

    def store_in_step_and_answer_kept() -> bool:
        # read as the push that did it ends: a later push the stop cuts short may leave
        # the listing in doubt again, as it should
        return stores.woo.stock("MUG") == 5 and stores.listing("woo")["unconfirmed"] is False

    service.sync.on_pushed.append(until(store_in_step_and_answer_kept, in_step))
    await service.start()
    try:
        # Before the 60 s leases run out, and before the first periodic look (10 s).
        assert await asyncio.to_thread(in_step.wait, RECOVER_INTERVAL - 1)
    finally:
        await service.stop()
    assert holders(stores, inbox_t) == set()


async def run_woo_service(db_url: str, reconcile_interval: float, drifts: list[int]) -> list[int]:
    """Serve a Woo store holding the hub's 6 MUG and run ``hub run`` against it, without
    webhooks. Before the start and after each correction the merchant sets the store to
    the next figure of ``drifts``; returns the reconciliations' drift counts."""
    store = WooSandbox()
    store.add_product("MUG", price="9.00", stock=6)
    server = store.serve().start()
    section = store.config_for(
        server.url,
        timeout=2.0,
        poll_interval=30.0,
        push_interval=30.0,
        reconcile_interval=reconcile_interval,
    )
    hub = make_hub(db_url, channels={"woo": section})
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 6))
    items = list(hub.channel("woo").fetch_listings())
    hub.write(lambda c: import_listings(c, "woo", items))
    pending = list(drifts)
    store.set_stock("MUG", pending.pop(0))  # while the hub is down; no webhook comes
    service = Service(hub, host="127.0.0.1", port=0, inbox_interval=30.0)
    done = threading.Event()
    seen: list[int] = []
    lock = threading.Lock()  # pushes of the push job and of reconciliations call back

    def corrected(channel: str, skus: list[str], at: float) -> None:
        with lock:
            if done.is_set() or len(seen) == len(drifts) - len(pending) or store.stock("MUG") != 6:
                return  # not waiting for a correction, or not corrected yet
            state = hub.read(lambda c: get_state(c, "woo", "reconcile"))
            seen.append(state.detail["drift"] if state.detail else 0)
            if pending:
                store.set_stock("MUG", pending.pop(0))
            else:
                done.set()

    service.sync.on_pushed.append(corrected)
    await service.start()
    try:
        assert await asyncio.to_thread(done.wait, 15)
    finally:
        await service.stop()
        hub.close()
        server.stop()
    return seen


async def test_a_store_changed_while_the_hub_was_down_is_corrected_at_start(db_url: str):
    assert await run_woo_service(db_url, reconcile_interval=3600.0, drifts=[2]) == [1]


async def test_the_service_reconciles_on_its_interval_without_any_webhook(db_url: str):
    assert await run_woo_service(db_url, reconcile_interval=1.0, drifts=[2, 3, 1]) == [1, 1, 1]
