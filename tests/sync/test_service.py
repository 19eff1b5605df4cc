"""``hub run`` as a whole: webhooks in, stock out, on its own schedule; job locks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import requests
from builders import make_hub
from sync_stores import listed_hub

from hub.core.locks import job_lock
from hub.core.service import Service
from hub_plugins.woocommerce import WooSandbox

TOPICS = ["order.created", "order.updated", "order.deleted", "product.updated"]


async def wait_for(condition, seconds: float = 15.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.05)
    return False


@asynccontextmanager
async def two_stores(db_url: str) -> AsyncIterator[tuple[dict[str, WooSandbox], Service]]:
    """Two WooCommerce sandboxes with 6 MUG each, webhooks to ``hub run`` serving both
    (pulls and pushes scheduled every 30 s: only webhooks and wake-ups act sooner)."""
    stores = {n: WooSandbox() for n in ("woo-a", "woo-b")}
    for store in stores.values():
        store.add_product("MUG", price="9.00", stock=6)
    servers = {n: s.serve().start() for n, s in stores.items()}
    channels = {
        n: s.config_for(servers[n].url, timeout=2.0, poll_interval=30.0, push_interval=30.0)
        for n, s in stores.items()
    }
    hub = listed_hub(db_url, channels, mugs=6)
    service = Service(hub, host="127.0.0.1", port=0, inbox_interval=5.0)
    await service.start()
    try:
        for name, store in stores.items():
            store.add_webhook(TOPICS, f"{service.url}/webhooks/{name}", store.webhook_secret)
        yield stores, service
    finally:
        await service.stop()
        hub.close()
        for server in servers.values():
            server.stop()


async def test_the_service_carries_a_sale_from_one_store_to_the_other(db_url):
    async with two_stores(db_url) as (stores, service):
        stores["woo-a"].sell("MUG", 4)
        await asyncio.to_thread(stores["woo-a"].deliver_webhooks)
        assert await wait_for(lambda: stores["woo-b"].stock("MUG") == 2)
        status = await asyncio.to_thread(requests.get, f"{service.url}/api/status", timeout=5)
        names = {c["channel"]: c for c in status.json()["channels"]}
        assert set(names) == {"woo-a", "woo-b"} and not names["woo-a"]["failing"]
        metrics = await asyncio.to_thread(requests.get, f"{service.url}/metrics", timeout=5)
        assert 'hub_webhooks_total{channel="woo-a",result="accepted"}' in metrics.text
        page = await asyncio.to_thread(requests.get, f"{service.url}/sync", timeout=5)
        assert "woo-b" in page.text


def test_a_job_lock_is_held_by_one_worker_at_a_time(db_url):
    hub = make_hub(db_url)
    inside, release = threading.Event(), threading.Event()
    seen = []

    def first():
        with job_lock(hub.engine, "pull:shop") as taken:
            seen.append(("first", taken))
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    with job_lock(hub.engine, "pull:shop") as taken:
        seen.append(("second", taken))
    with job_lock(hub.engine, "push:shop") as taken:  # another job of the channel may run
        seen.append(("other job", taken))
    release.set()
    thread.join()
    with job_lock(hub.engine, "pull:shop") as taken:
        seen.append(("after", taken))
    hub.close()
    assert seen == [("first", True), ("second", False), ("other job", True), ("after", True)]


async def test_a_sale_committed_while_its_push_runs_elsewhere_is_pushed_when_that_run_ends(
    db_url,
):
    """The push woken by a sale finds the channel's push job lock held (the scheduled run,
    or another worker's, read its work before the sale committed): it tries again until it
    runs, rather than leaving the sale to the next scheduled run (30 s here)."""
    held, release = threading.Event(), threading.Event()
    async with two_stores(db_url) as (stores, service):
        engine = service.hub.engine

        def elsewhere() -> None:  # holds woo-b's push lock once the start-up push let go
            while not held.is_set():  # (and its reconciliation's, which would push drift)
                with (
                    job_lock(engine, "push:woo-b") as pushing,
                    job_lock(engine, "reconcile:woo-b") as reconciling,
                ):
                    if pushing and reconciling:
                        held.set()
                        release.wait(20)

        holder = threading.Thread(target=elsewhere)
        holder.start()
        try:
            assert await asyncio.to_thread(held.wait, 10)
            stores["woo-a"].sell("MUG", 4)
            await asyncio.to_thread(stores["woo-a"].deliver_webhooks)
            assert not await wait_for(lambda: stores["woo-b"].stock("MUG") == 2, seconds=1.5)
            release.set()  # the run elsewhere ends: the woken push goes now, not in 30 s
            assert await wait_for(lambda: stores["woo-b"].stock("MUG") == 2, seconds=5)
        finally:
            release.set()
            held.set()
            holder.join(10)
