"""Oversells through the API: listed for viewers, resolved by sales with a note."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from builders import make_hub, order
from conftest import Api, serve

from hub import Channel, OrderStatus, hookimpl
from hub.core import ledger


class TillChannel(Channel):
    type_name = "till-api-test"
    final_sales = True


class TillPlugin:
    @hookimpl
    def register_channel_types(self, register):  # type: ignore[no-untyped-def]
        register(TillChannel)


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    channels = {"till": {"type": "till-api-test", "locations": ["store"]}}
    hub = make_hub(db_url, plugins=(TillPlugin(),), channels=channels)
    hub.write(lambda c: ledger.receive(c, "MUG", "store", 1))
    sale = order("T-1", ("MUG", 4), channel="till", status=OrderStatus.FULFILLED, location="store")
    hub.ingest("till", [sale])
    server, client = serve(hub)
    try:
        yield client
    finally:
        server.stop()
        hub.close()


def test_oversells_are_listed_and_resolved_once(api):
    listed = api.call("GET", "/oversells", as_="viewer")
    assert listed.status_code == 200, listed.text
    [one] = listed.json()["oversells"]
    assert {k: one[k] for k in ("channel", "order_reference", "sku", "location", "quantity")} == {
        "channel": "till",
        "order_reference": "T-1",
        "sku": "MUG",
        "location": "store",
        "quantity": 3,
    }
    assert one["resolved_at"] is None
    path = f"/oversells/{one['id']}/resolve"
    refused = api.call("POST", path, {"note": "x"}, as_="viewer")
    assert refused.status_code == 403
    empty = api.call("POST", path, {"note": ""})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "/note"
    unknown = api.call("POST", "/oversells/abc/resolve", {"note": "x"})
    assert unknown.status_code == 404
    done = api.call("POST", path, {"note": "two were on the counter"})
    assert done.status_code == 200, done.text
    assert done.json()["resolved_at"] is not None
    again = api.call("POST", path, {"note": "again"})
    assert again.status_code == 409 and "already resolved" in again.json()["error"]["message"]
    assert api.call("GET", "/oversells").json()["oversells"] == []
    everything = api.call("GET", "/oversells", params={"include_resolved": "true"}).json()
    assert [o["id"] for o in everything["oversells"]] == [one["id"]]
