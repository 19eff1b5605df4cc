"""The sandbox as ``hub demo`` and the benchmarks drive it (DemoStore), without SQS: orders
by polling, notifications posted to the hub's webhook endpoint, signed, stored once."""

from __future__ import annotations

import pytest
from builders import make_hub

from hub.core.sync import Sync
from hub.sandbox import DemoItem, SandboxServer, SoldOut
from hub.web.app import make_app
from hub_plugins.amazon import AmazonChannel


def test_the_demo_store_drives_an_account_end_to_end(db_url):
    store = AmazonChannel.sandbox()
    store.seed([DemoItem("MUG", "Mug", "9.50", 4), DemoItem("TEE", "Tee", "20.00", None)])
    server = store.serve().start()
    hub = make_hub(db_url, channels={"amz": store.config_for(server.url, locations=["main"])})
    sync = Sync(hub, backoff=0.01, attempts=3)
    hooks = SandboxServer(make_app(sync)).start()
    try:
        store.subscribe(f"{hooks.url}/webhooks/amz")
        sold = store.sell("MUG", 3)
        with pytest.raises(SoldOut):
            store.sell("MUG", 2)  # one mug left
        kept = store.sell("MUG", 1)
        store.annotate(kept, "gift wrap")
        store.cancel(sold)
        store.faults.duplicate_webhooks = 1

        posted = store.deliver()

        assert posted == 5  # sale, sale, note, cancellation, and one duplicate
        assert sync.process_inbox() == 4  # the duplicate was stored once
        statuses = {o.id: o.status for o in store.orders()}
        assert statuses == {sold: "cancelled", kept: "open"}
        store.fulfil(kept)
        assert {o.id: o.status for o in store.orders()}[kept] == "fulfilled"
        assert store.stock("MUG") == 3 and store.stock("TEE") is None
        before = store.stock_calls()
        hub.channel("amz").push_stock([])
        assert store.stock_calls() == before
        assert store.reactivate_webhooks() == 0
        assert sync.pull_orders("amz").complete
    finally:
        hooks.stop()
        hub.close()
        server.stop()
