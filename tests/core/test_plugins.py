"""The plugin manager and every hook: each ``test_hook_<name>`` shows a hook at work."""

from __future__ import annotations

import pytest
from builders import make_hub, order

from hub import Carrier, Channel, Hold, Notifier, hookimpl
from hub.core import ledger
from hub.core.plugins import PluginHost
from hub.errors import PluginError


class Recorder:
    """A plugin that records every lifecycle hook call."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def order_received(self, order, status):
        self.calls.append(("order_received", order.external_id, status))

    @hookimpl
    def stock_changed(self, changes):
        self.calls.append(("stock_changed", [(c.sku, c.kind, c.quantity) for c in changes]))

    @hookimpl
    def order_shipped(self, order, shipment):
        self.calls.append(("order_shipped", order.external_id, shipment.tracking_number))

    @hookimpl
    def order_delivered(self, order, shipment):
        self.calls.append(("order_delivered", order.external_id, order.status.value))


def test_builtins_load_through_the_entry_point_group():
    host = PluginHost.load()
    names = {row["name"] for row in host.describe()}
    assert {"checks", "shopify", "woocommerce", "routing"} <= names
    checks = next(r for r in host.describe() if r["name"] == "checks")
    assert checks["module"] == "hub_plugins.checks" and checks["hooks"] == ["check_order"]


def test_disabled_plugins_do_not_load(monkeypatch):
    monkeypatch.setenv("HUB_DISABLE_PLUGINS", "checks, routing")
    names = {row["name"] for row in PluginHost.load().describe()}
    assert "checks" not in names and "routing" not in names


def test_a_hook_with_a_wrong_name_fails_at_load_naming_the_plugin():
    class Typo:
        @hookimpl
        def register_chanel_types(self, register):
            pass

    with pytest.raises(PluginError, match="unknown hook"):
        PluginHost.load([Typo()], entry_points=False)


def test_two_plugins_registering_the_same_channel_type_are_both_named():
    class Shop(Channel):
        type_name = "shop"

    class One:
        @hookimpl
        def register_channel_types(self, register):
            register(Shop)

    class Two:
        @hookimpl
        def register_channel_types(self, register):
            register(Shop)

    with pytest.raises(PluginError) as error:
        PluginHost.load([One(), Two()], entry_points=False)
    message = str(error.value)
    assert "channel 'shop' is registered by both plugin" in message
    assert message.count("plugin '") == 2


def test_hook_register_channel_types():
    class Till(Channel):
        type_name = "till"

    class TillPlugin:
        @hookimpl
        def register_channel_types(self, register):
            register(Till)

    host = PluginHost.load([TillPlugin()], entry_points=False)
    assert host.channel_types == {"till": Till}


def test_hook_register_carrier_types():
    class Courier(Carrier):
        type_name = "courier"

    class CourierPlugin:
        @hookimpl
        def register_carrier_types(self, register):
            register(Courier)

    assert PluginHost.load([CourierPlugin()], entry_points=False).carrier_types == {
        "courier": Courier
    }


def test_hook_register_notifiers():
    class Pager(Notifier):
        type_name = "pager"

    class PagerPlugin:
        @hookimpl
        def register_notifiers(self, register):
            register(Pager)

    assert PluginHost.load([PagerPlugin()], entry_points=False).notifier_types == {"pager": Pager}


def test_hook_register_routers():
    class Straight:
        name = "straight"

        def solve(self, problem, time_limit):
            return None

    class RouterPlugin:
        @hookimpl
        def register_routers(self, register):
            register(Straight())

    host = PluginHost.load([RouterPlugin()], entry_points=False)
    assert list(host.routers) == ["straight"]
    with pytest.raises(PluginError, match="without a name"):

        class Nameless:
            @hookimpl
            def register_routers(self, register):
                register(object())

        PluginHost.load([Nameless()], entry_points=False)


def test_hook_check_order(sqlite_url):
    class Weekend:
        @hookimpl
        def check_order(self, order):
            return [Hold("review", "first order of this customer")]

    with make_hub(sqlite_url, plugins=(Weekend(),), entry_points=False) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
        report = hub.ingest("web", [order("1", ("MUG", 1))])
    assert report.outcomes[0].reason == "review: first order of this customer"


def test_hook_order_received_and_stock_changed(sqlite_url):
    recorder = Recorder()
    with make_hub(sqlite_url, plugins=(recorder,), entry_points=False) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 2))
        hub.ingest("web", [order("1", ("MUG", 2))])
        hub.ingest("web", [order("1", ("MUG", 2))])  # unchanged: no second call
    assert recorder.calls == [
        ("stock_changed", [("MUG", "receipt", 2)]),
        ("order_received", "1", "open"),
        ("stock_changed", [("MUG", "reservation", 2)]),
    ]


def test_hook_stock_changed(sqlite_url):
    recorder = Recorder()
    with make_hub(sqlite_url, plugins=(recorder,), entry_points=False) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
        hub.write(lambda c: ledger.transfer(c, "MUG", "main", "store", 2))
    assert recorder.calls[-1] == (
        "stock_changed",
        [("MUG", "transfer", -2), ("MUG", "transfer", 2)],
    )


def test_hook_order_shipped(sqlite_url):
    recorder = Recorder()
    with make_hub(sqlite_url, plugins=(recorder,), entry_points=False) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 2))
        hub.ingest("web", [order("1", ("MUG", 2))])
        hub.ship("web:1", "DHL", "JD0001")
        assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 0
    assert recorder.calls[-2:] == [
        ("stock_changed", [("MUG", "sale", -2)]),
        ("order_shipped", "1", "JD0001"),
    ]


def test_hook_order_delivered(sqlite_url):
    recorder = Recorder()
    with make_hub(sqlite_url, plugins=(recorder,), entry_points=False) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
        hub.ingest("web", [order("1", ("MUG", 1))])
        with pytest.raises(Exception, match="only shipped orders can be delivered"):
            hub.deliver("web:1")
        hub.ship("web:1", "own-fleet")
        hub.deliver("web:1")
    assert recorder.calls[-1] == ("order_delivered", "1", "delivered")


def test_a_plugin_that_raises_is_logged_marked_failing_and_skipped(sqlite_url, caplog):
    class Broken:
        @hookimpl
        def stock_changed(self, changes):
            raise ValueError("disk full")

    recorder = Recorder()
    with make_hub(sqlite_url, plugins=(Broken(), recorder), entry_points=False) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
        failing = dict(hub.plugins.failing)
    assert recorder.calls == [("stock_changed", [("MUG", "receipt", 1)])]
    assert list(failing.values()) == ["ValueError: disk full"]
    assert "failed in hook stock_changed: disk full" in caplog.text


def test_a_plugin_that_fails_to_import_is_named(tmp_path, monkeypatch):
    import importlib.metadata
    import sys

    from hub.core.plugins import make_plugin_manager

    (tmp_path / "hub_broken.py").write_text("def oops(:\n")
    (tmp_path / "hub_broken-1.0.dist-info").mkdir()
    (tmp_path / "hub_broken-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hub-broken\nVersion: 1.0\n"
    )
    (tmp_path / "hub_broken-1.0.dist-info" / "entry_points.txt").write_text(
        "[hub]\nbroken = hub_broken\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    host = PluginHost.load()  # reported, not raised: the other plugins load
    assert [str(p) for p in host.problems] == [
        "plugin 'broken' (hub-broken 1.0) failed to import (hub_broken): SyntaxError: "
        "invalid syntax (hub_broken.py, line 1); not loaded: fix it or set "
        "HUB_DISABLE_PLUGINS=broken"
    ]
    assert "checks" in {r["name"] for r in host.describe()}
    with pytest.raises(PluginError) as error:  # the strict manager stops at it
        make_plugin_manager()
    assert "plugin 'broken' (hub-broken 1.0) failed to import" in str(error.value)
    monkeypatch.setenv("HUB_DISABLE_PLUGINS", "broken")
    host = PluginHost.load()
    assert "broken" not in {r["name"] for r in host.describe()} and not host.problems
    sys.modules.pop("hub_broken", None)
