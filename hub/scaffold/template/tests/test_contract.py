"""The Acme plugin keeps the hub's contract, checked over real HTTP against its sandbox."""

from __future__ import annotations

from hub_acme import AcmeChannel, AcmeConfig, AcmeSandbox

from hub.sandbox import DemoItem
from hub.testing import channel_contract

# The hub's whole channel contract, one test per rule (listings, paged and resumed pulls,
# repeated and late versions, cancellations, batches, 429s, 5xx, forged webhooks,
# shipments...), against the sandbox and a real hub on SQLite.
TestAcmeContract = channel_contract(AcmeChannel)


def test_a_pull_takes_only_orders_updated_since():
    store = AcmeSandbox()
    server = store.serve().start()
    try:
        store.seed([DemoItem("MUG", "Mug", "12.50", 50)])
        old, new = store.sell("MUG", 1), store.sell("MUG", 2)
        channel = AcmeChannel("acme", AcmeConfig(**store.config_for(server.url)))
        (page,) = channel.fetch_orders(None, None)
        since = next(o.updated_at for o in page.orders if o.external_id == new)
        store.annotate(old, "gift wrap")
        (later,) = channel.fetch_orders(since, None)
        assert sorted(o.external_id for o in later.orders) == sorted([old, new])
        assert next(o for o in later.orders if o.external_id == old).notes == "gift wrap"
    finally:
        server.stop()
