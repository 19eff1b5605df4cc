"""``hub run``'s log: quiet while idle, one INFO line for each thing a job changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sync_stores import listed_hub

from hub.core.runtime import Hub
from hub.core.service import Service, changed
from hub.core.shipments import ShipmentPushResult
from hub.core.sync import PullResult, PushResult
from hub_plugins.woocommerce import WooSandbox

#: Every job several times a second: a few seconds are hundreds of scheduled runs.
FAST = {"poll_interval": 0.3, "push_interval": 0.3, "reconcile_interval": 0.5}


@dataclass
class Running:
    hub: Hub
    service: Service
    stores: dict[str, WooSandbox]

    def polls(self, name: str) -> int:
        return sum(1 for c in self.stores[name].calls if c.path == "orders")

    def reads(self, name: str) -> int:
        return sum(1 for c in self.stores[name].calls if c.path == "products")


async def wait_for(condition, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not await asyncio.to_thread(condition):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def running(db_url: str) -> AsyncIterator[Running]:
    """Stores ``woo-a`` and ``woo-b`` in step with the hub's 6 MUGs, the service running
    every job several times a second."""
    stores = {n: WooSandbox() for n in ("woo-a", "woo-b")}
    for store in stores.values():
        store.add_product("MUG", price="9.00", stock=6)
    servers = {n: s.serve().start() for n, s in stores.items()}
    channels = {n: s.config_for(servers[n].url, timeout=2.0, **FAST) for n, s in stores.items()}
    # woo-a reconciles at start only: a sale not yet pulled would be read as drift there
    channels["woo-a"]["reconcile_interval"] = 3600.0
    hub = listed_hub(db_url, channels, mugs=6)
    service = Service(hub, host="127.0.0.1", port=0, inbox_interval=0.1)
    await service.start()
    try:
        yield Running(hub, service, stores)
    finally:
        await service.stop()
        hub.close()
        for server in servers.values():
            server.stop()


def info_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged at INFO and above, but for the start-up line and APScheduler's
    warning that a run was skipped because the last one still ran (these tests run every
    job every few tenths of a second)."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.INFO
        and "hub serving on" not in r.getMessage()
        and "maximum number of running instances reached" not in r.getMessage()
    ]


async def idle(running: Running) -> None:
    """Until every job of both stores has run a few times more."""
    polls = {name: running.polls(name) for name in running.stores}
    reads = running.reads("woo-b")  # woo-a reconciles at start only
    for name, before in polls.items():
        await wait_for(lambda n=name, p=before: running.polls(n) >= p + 5)
    await wait_for(lambda: running.reads("woo-b") >= reads + 3)


async def test_an_idle_service_logs_nothing(running: Running, caplog):
    caplog.set_level(logging.INFO)
    await idle(running)  # the start-up runs are over
    caplog.clear()

    await idle(running)
    await idle(running)

    assert info_lines(caplog) == []


async def test_each_job_logs_once_what_it_changed(running: Running, caplog):
    caplog.set_level(logging.INFO)
    await idle(running)
    caplog.clear()
    a, b = running.stores["woo-a"], running.stores["woo-b"]

    sold = a.sell("MUG", 4)  # the pull takes it in; woo-b is told 2
    await wait_for(lambda: b.stock("MUG") == 2)
    await idle(running)
    taken = info_lines(caplog)
    caplog.clear()
    b.set_stock("MUG", 9)  # an admin edit without a webhook: reconciliation corrects it
    await wait_for(lambda: b.stock("MUG") == 2)
    await idle(running)
    corrected = info_lines(caplog)
    caplog.clear()
    running.hub.ship(f"woo-a:{sold['id']}", "DHL", "JD1")
    await wait_for(lambda: a.order(sold["id"])["status"] == "completed")
    await idle(running)
    shipped = info_lines(caplog)

    assert taken.count("hub.service: pull:woo-a: orders: 1 new, 0 updated") == 1
    told_b = [line for line in taken if "woo-b" in line]
    # By its push, or by a reconciliation that read woo-b before the push landed (the
    # start-up one may overlap it): each job says so once.
    assert 1 <= len(told_b) == len(set(told_b))
    assert set(told_b) <= {
        "hub.service: push:woo-b: 1 SKU pushed (MUG)",
        "hub.service: reconcile:woo-b: drift corrected on 1 SKU (MUG 6 -> 2)",
    }
    assert corrected == ["hub.service: reconcile:woo-b: drift corrected on 1 SKU (MUG 9 -> 2)"]
    assert sorted(shipped) == [
        "hub.service: pull:woo-a: orders: 0 new, 1 updated",  # completed there by the shipment
        "hub.service: ship:woo-a: 1 shipment sent",
    ]


@pytest.mark.parametrize(
    ("job", "result", "said"),
    [
        ("pull:web", PullResult("web", pages=3, orders=40), ""),
        ("pull:web", PullResult("web", orders=3, created=2, updated=1), "orders: 2 new, 1 updated"),
        ("push:web", PushResult("web", considered=4), ""),
        (
            "push:web",
            PushResult("web", sent=12, skus=[f"S{n}" for n in range(12)]),
            "12 SKUs pushed (S0, S1, S2, S3, S4, S5, S6, S7, S8, S9 and 2 more)",
        ),
        (  # queued again while its push ran: pushed twice in the job, named once
            "push:web",
            PushResult("web", sent=2, skus=["MUG", "MUG"]),
            "1 SKU pushed (MUG)",
        ),
        (
            "push:web",
            PushResult("web", sent=1, stale=1, failed=1, skus=["A"]),
            "1 SKU pushed (A), 1 stale, 1 refused",
        ),
        ("ship:web", ShipmentPushResult("web", not_needed=[1]), ""),
        (
            "ship:web",
            ShipmentPushResult("web", confirmed=[1, 2], failed=[3]),
            "2 shipments sent, 1 refused",
        ),
        ("reconcile:web", [], ""),
        ("recheck-holds", {"on_hold": 5}, ""),
        (
            "recheck-holds",
            {"on_hold": 4, "open": 2, "failed": 1},
            "held orders decided again: 2 open",
        ),
    ],
)
def test_a_job_says_what_it_changed_and_nothing_when_it_changed_nothing(job, result, said):
    assert changed(job, result) == said
