"""A till that was offline submits its sales late, sometimes twice: each counts once, and a
late sale the hub can no longer cover is recorded as it happened (the shop handed the item
over), the shop's location goes below zero, the oversell is reported, and the other
channels are offered 0, never less."""

from __future__ import annotations

from datetime import timedelta

import requests
from builders import order
from conftest import SHOP_B
from typer.testing import CliRunner

from hub import OrderStatus
from hub.core.orderbook import list_orders
from hub.core.status import channel_status


def _square_status(world):  # type: ignore[no-untyped-def]
    statuses = world.hub.read(lambda c: channel_status(c, ["square", "web"]))
    return next(s for s in statuses if s.channel == "square")


def test_the_same_late_sale_submitted_twice_counts_once(world):
    world.import_listings()
    sold_at = world.square.store.now() - timedelta(hours=5)  # rung up while offline
    first = world.square.sell(
        "MUG", 1, SHOP_B, idempotency_key="till-7:offline-0031", sold_at=sold_at
    )
    again = world.square.sell(
        "MUG", 1, SHOP_B, idempotency_key="till-7:offline-0031", sold_at=sold_at
    )
    assert again["id"] == first["id"]  # Square honours the till's idempotency key
    world.square.faults.duplicate_webhooks = 5
    world.square.deliver_webhooks()
    world.sync.process_inbox()
    world.sync.pull_orders("square")
    world.sync.pull_orders("square")
    orders = world.hub.read(lambda c: list_orders(c, channel="square"))
    assert [(o.external_id, o.status) for o in orders] == [(first["id"], "fulfilled")]
    assert world.level("MUG") == {"main": (3, 0), "store": (0, 0)}
    assert _square_status(world).oversold == {}
    # Square replays by occurred_at: the opening count (later than the offline sale) still
    # says 1 until the hub pushes the shop's own figure
    assert world.square.stock("MUG", SHOP_B) == 1
    world.sync.push_stock("square")
    assert world.square.stock("MUG", SHOP_B) == 0
    assert world.square.stock("MUG", "LSHOPA") == 3  # each shop its own shelf


def test_a_late_sale_the_hub_no_longer_covers_is_recorded_and_reported(world):
    world.import_listings()
    # Meanwhile the web channel sold the shop's last unit, and it has been picked.
    web = order("W-100", ("MUG", 1), channel="web", status=OrderStatus.FULFILLED)
    assert world.hub.ingest("web", [web]).outcomes[0].status == "fulfilled"
    assert world.level("MUG")["store"] == (0, 0)
    assert world.hub.available("web", ["MUG"]) == {"MUG": 0}
    # The till was offline: it sold the same unit hours ago and submits it now, twice.
    sold_at = world.square.store.now() - timedelta(hours=3)
    for _ in range(2):
        sale = world.square.sell("MUG", 1, SHOP_B, idempotency_key="till-2:0007", sold_at=sold_at)
    world.square.faults.duplicate_webhooks = 2
    world.square.deliver_webhooks()
    world.sync.process_inbox()
    world.sync.pull_orders("square")

    orders = world.hub.read(lambda c: list_orders(c, channel="square"))
    assert [(o.external_id, o.status) for o in orders] == [(sale["id"], "fulfilled")]
    assert world.level("MUG") == {"main": (3, 0), "store": (-1, 0)}  # the shop only
    assert world.hub.available("web", ["MUG"]) == {"MUG": 0}  # 0, not -1
    assert world.hub.available("square", ["MUG"]) == {"MUG": 3}  # main's units, the shop adds 0
    status = _square_status(world)
    assert status.oversold == {"MUG@store": 1} and status.oversells == 1
    assert status.as_dict()["oversells"] == 1

    page = requests.get(world.hooks_url.replace("/webhooks/square", "/sync"), timeout=10).text
    assert "MUG@store 1" in page  # the sync page shows it

    # the pushes never offer a shop below zero: Square is told 0 there
    world.sync.push_stock("square")
    assert world.square.stock("MUG", SHOP_B) == 0


def test_hub_status_shows_the_oversell(world, tmp_path, monkeypatch):
    from hub.cli import app as cli

    world.import_listings()
    web = order("W-200", ("MUG", 1), channel="web", status=OrderStatus.FULFILLED)
    world.hub.ingest("web", [web])
    world.square.sell("MUG", 2, SHOP_B, sold_at=world.square.store.now() - timedelta(hours=1))
    world.sync.pull_orders("square")
    assert world.level("MUG")["store"] == (-2, 0)
    config = tmp_path / "hub.toml"
    url = str(world.hub.engine.url.render_as_string(hide_password=False))
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[locations.main]\nname = "Main"\n\n'
        '[locations.store]\nname = "Shop"\nkind = "store"\n\n'
        '[channels.square]\ntype = "manual"\n'
    )
    answer = CliRunner().invoke(cli, ["status", "--json", "--config", str(config)])
    assert answer.exit_code == 0, answer.output
    assert '"MUG@store": 2' in answer.output


def test_a_late_sale_takes_the_unit_a_web_order_only_reserved(world):
    world.import_listings()
    web = order("W-300", ("MUG", 1), channel="web")  # reserves the shop's last unit
    assert world.hub.ingest("web", [web]).outcomes[0].status == "open"
    assert world.level("MUG")["store"] == (1, 1)
    sold_at = world.square.store.now() - timedelta(hours=2)
    world.square.sell("MUG", 1, SHOP_B, idempotency_key="till-3:0001", sold_at=sold_at)
    world.sync.pull_orders("square")
    assert world.level("MUG") == {"main": (3, 0), "store": (0, 0)}  # sold, not below zero
    [held] = world.hub.read(lambda c: list_orders(c, channel="web"))
    assert held.status == "on_hold"  # the web order lost its unit: a person sees why
    assert held.hold_reason.startswith("not enough stock")
    assert _square_status(world).oversold == {}  # nothing went beyond the shelf
    assert world.hub.available("web", ["MUG"]) == {"MUG": 0}
