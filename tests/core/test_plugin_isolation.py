"""Broken installed plugins are reported by name, version and cause; the hub keeps running.

Each broken plugin is a real distribution made on the fly in a temp folder (a module
next to a ``*.dist-info`` with METADATA and entry_points.txt) and found through the
``hub`` entry-point group, in this process (``sys.path``) and in ``hub`` commands run as
a user runs them (``PYTHONPATH``).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from textwrap import dedent

import pytest
from builders import make_hub

from hub import PLUGIN_API, hookimpl
from hub.core import ledger
from hub.core.plugins import PluginHost, api_accepts, make_plugin_manager
from hub.errors import PluginError

HUB = [sys.executable, "-m", "hub.cli"]

BROKEN = {  # entry-point name -> (version, module source)
    "missing": ("0.1", "import hubfix_no_such_sdk\n"),
    "quitter": (
        "0.6",
        """
        import sys

        sys.exit("usage: hubfix-quitter --token T")
        """,
    ),
    "typo": (
        "0.2",
        """
        from hub import hookimpl

        @hookimpl
        def register_chanel_types(register):
            pass
        """,
    ),
    "wrongargs": (
        "0.3",
        """
        from hub import hookimpl

        @hookimpl
        def check_order(ordr):
            return None
        """,
    ),
    "tills": (
        "0.4",
        """
        from hub import Channel, hookimpl

        class Till(Channel):
            type_name = "till"

        class NotShopify(Channel):
            type_name = "shopify"

        @hookimpl
        def register_channel_types(register):
            register(Till)
            register(NotShopify)
        """,
    ),
    "exploding": (
        "0.5",
        """
        from hub import hookimpl

        @hookimpl
        def register_carrier_types(register):
            raise RuntimeError("carrier table not found")
        """,
    ),
    "future": (
        "2.0",
        """
        from hub import hookimpl

        HUB_PLUGIN_API = ">=2,<3"

        @hookimpl
        def check_order(order):
            return None
        """,
    ),
}

EXPECTED = {  # entry-point name -> the line reported for it
    "missing": "plugin 'missing' (hubfix-missing 0.1) failed to import (hubfix_missing): "
    "ModuleNotFoundError: No module named 'hubfix_no_such_sdk'; not loaded: fix it or set "
    "HUB_DISABLE_PLUGINS=missing",
    "quitter": "plugin 'quitter' (hubfix-quitter 0.6) failed to import (hubfix_quitter): "
    "SystemExit: usage: hubfix-quitter --token T; not loaded: fix it or set "
    "HUB_DISABLE_PLUGINS=quitter",
    "typo": "plugin 'typo' (hubfix-typo 0.2) implements unknown hook(s) register_chanel_types "
    "(the hooks are check_order, order_delivered, order_received, order_shipped, "
    "register_carrier_types, register_channel_types, register_notifiers, register_routers, "
    "stock_changed); not loaded",
    "wrongargs": "plugin 'wrongargs' (hubfix-wrongargs 0.3) implements check_order(ordr) with "
    "argument(s) the hook does not offer: ordr (check_order offers order, context); not loaded",
    "tills": "plugin 'tills' (hubfix-tills 0.4) failed in its registration: channel 'shopify' "
    "is registered by both plugin 'shopify' and plugin 'tills'; disable one with "
    "HUB_DISABLE_PLUGINS; not loaded",
    "exploding": "plugin 'exploding' (hubfix-exploding 0.5) failed in its registration: "
    "RuntimeError: carrier table not found; not loaded",
    "future": "plugin 'future' (hubfix-future 2.0) needs plugin API >=2,<3 but this hub offers "
    "1.0; not loaded: install a version of the plugin made for this hub",
}


def make_distribution(folder: Path, name: str, version: str, source: str) -> None:
    """Install plugin ``name`` as distribution ``hubfix-<name>`` with module ``hubfix_<name>``."""
    module = f"hubfix_{name}"
    (folder / f"{module}.py").write_text(dedent(source))
    info = folder / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: hubfix-{name}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[hub]\n{name} = {module}\n")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A folder on ``sys.path`` to install plugins into; their modules are forgotten after."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    yield folder
    for module in [m for m in sys.modules if m.startswith("hubfix_")]:
        del sys.modules[module]


@pytest.fixture
def all_broken(installed):
    for name, (version, source) in BROKEN.items():
        make_distribution(installed, name, version, source)
    importlib.invalidate_caches()
    return installed


def hub(*args: str, cwd: Path, path: Path, **env: str) -> subprocess.CompletedProcess:
    pythonpath = os.pathsep.join(p for p in (str(path), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [*HUB, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": pythonpath, **env},
        timeout=120,
    )


def test_each_broken_plugin_is_reported_by_name_version_and_cause_and_the_rest_loads(
    all_broken, caplog
):
    caplog.set_level(logging.ERROR, logger="hub.plugins")
    host = PluginHost.load()
    assert {p.plugin: str(p) for p in host.problems} == EXPECTED
    future = next(p for p in host.problems if p.plugin == "future")
    assert future.as_dict() == {
        "plugin": "future",
        "package": "hubfix-future",
        "version": "2.0",
        "cause": "needs plugin API >=2,<3 but this hub offers 1.0; not loaded: install a "
        "version of the plugin made for this hub",
    }
    loaded = {row["name"] for row in host.describe()}
    assert {"checks", "shopify", "woocommerce", "routing", "manual"} <= loaded
    assert not loaded & set(BROKEN)
    # the clashing plugin's other channel is not half-registered; shopify keeps its own
    assert "till" not in host.channel_types
    assert host.channel_types["shopify"].__module__.startswith("hub_plugins.shopify")
    assert host.origins["channel:shopify"] == "shopify"
    logged = [r.getMessage() for r in caplog.records if r.name == "hub.plugins"]
    assert sorted(logged) == sorted(EXPECTED.values())  # each once, at ERROR
    assert {r.levelname for r in caplog.records if r.name == "hub.plugins"} == {"ERROR"}


def test_the_strict_manager_stops_at_a_broken_plugin_naming_it(installed):
    version, source = BROKEN["future"]
    make_distribution(installed, "future", version, source)
    importlib.invalidate_caches()
    with pytest.raises(PluginError) as error:
        make_plugin_manager()
    assert str(error.value) == EXPECTED["future"]
    assert error.value.plugin == "future"


def test_a_plugin_in_the_api_range_loads_and_a_range_that_cannot_be_read_is_reported(
    installed,
):
    make_distribution(
        installed,
        "current",
        "1.1",
        """
        from hub import Carrier, hookimpl

        HUB_PLUGIN_API = ">=1.0, <2"

        class Pigeon(Carrier):
            type_name = "pigeon"

        @hookimpl
        def register_carrier_types(register):
            register(Pigeon)
        """,
    )
    make_distribution(installed, "sloppy", "0.9", 'HUB_PLUGIN_API = "1.x"\n')
    importlib.invalidate_caches()
    host = PluginHost.load()
    assert "pigeon" in host.carrier_types and host.origins["carrier:pigeon"] == "current"
    current = next(r for r in host.describe() if r["name"] == "current")
    assert (current["package"], current["version"]) == ("hubfix-current", "1.1")
    assert [str(p) for p in host.problems] == [
        "plugin 'sloppy' (hubfix-sloppy 0.9) declares HUB_PLUGIN_API '1.x' in '1.x' is not a "
        "clause like '>=1' or '<2' (operators >=, >, <=, <, ==, !=; versions MAJOR or "
        "MAJOR.MINOR); not loaded"
    ]


@pytest.mark.parametrize(
    ("spec", "accepted"),
    [
        (">=1,<2", True),
        (">=1.0", True),
        ("==1", True),
        ("==1.0", True),
        (">1.0", False),
        (">=1.1,<2", False),
        ("<1", False),
        (">=0.9, <=1.0", True),
        ("!=1.0", False),
        (">=2,<3", False),
    ],
)
def test_api_ranges_against_this_hubs_version(spec, accepted):
    assert PLUGIN_API == "1.0"
    assert api_accepts(spec) is accepted


def test_an_api_range_that_cannot_be_read_names_the_clause():
    with pytest.raises(ValueError, match="'~=1' in '>=1,~=1' is not a clause"):
        api_accepts(">=1,~=1")
    with pytest.raises(ValueError, match="is empty"):
        api_accepts(" ")


def test_a_plugin_raising_at_run_time_is_logged_by_name_and_version_and_skipped(
    installed, sqlite_url, caplog
):
    make_distribution(
        installed,
        "flaky",
        "0.7",
        """
        from hub import hookimpl

        @hookimpl
        def stock_changed(changes):
            raise OSError("disk full")
        """,
    )
    make_distribution(
        installed,
        "ledgerlog",
        "1.2",
        """
        from hub import hookimpl

        SEEN = []

        @hookimpl
        def stock_changed(changes):
            SEEN.extend((c.sku, c.quantity) for c in changes)
        """,
    )
    importlib.invalidate_caches()
    with make_hub(sqlite_url) as the_hub:
        the_hub.write(lambda c: ledger.receive(c, "MUG", "main", 3))
        failing = dict(the_hub.plugins.failing)
        row = next(r for r in the_hub.plugins.describe() if r["name"] == "flaky")
        on_hand = the_hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand
    assert on_hand == 3
    assert sys.modules["hubfix_ledgerlog"].SEEN == [("MUG", 3)]
    assert failing == {"flaky": "OSError: disk full"}
    assert row["failing"] == "OSError: disk full" and row["version"] == "0.7"
    assert (
        "plugin 'flaky' (hubfix-flaky 0.7) failed in hook stock_changed: disk full (OSError)"
        in caplog.text
    )


def test_hub_plugins_lists_the_failed_and_exits_0(all_broken, tmp_path):
    done = hub("plugins", cwd=tmp_path, path=all_broken)
    assert done.returncode == 0, done.stderr
    assert "channel:shopify" in done.stdout and "hub_plugins.checks" in done.stdout
    failed = done.stdout[done.stdout.index("failed (7, not loaded):") :].splitlines()[1:]
    assert sorted(line.strip() for line in failed) == sorted(EXPECTED.values())
    assert done.stderr == ""  # listed, not logged a second time

    listed = json.loads(hub("plugins", "--json", cwd=tmp_path, path=all_broken).stdout)
    statuses = {row["name"]: row["status"] for row in listed}
    assert {name: statuses[name] for name in BROKEN} == dict.fromkeys(BROKEN, "failed")
    assert statuses["shopify"] == "loaded"
    wrong = next(row for row in listed if row["name"] == "wrongargs")
    assert (wrong["package"], wrong["version"]) == ("hubfix-wrongargs", "0.3")
    assert wrong["cause"].startswith("implements check_order(ordr) with argument(s)")


def test_cli_commands_run_with_broken_plugins_log_them_once_and_trace_hook_calls(
    all_broken, tmp_path
):
    make_distribution(
        all_broken,
        "ledgerlog",
        "1.2",
        """
        from hub import hookimpl

        @hookimpl
        def stock_changed(changes):
            pass
        """,
    )
    made = hub("init", cwd=tmp_path, path=all_broken, HUB_TRACE_PLUGINS="0")
    assert made.returncode == 0, made.stderr
    assert sorted(made.stderr.splitlines()) == sorted(EXPECTED.values())  # no trace lines
    received = hub(
        "stock", "receive", "MUG", "4", cwd=tmp_path, path=all_broken, HUB_TRACE_PLUGINS="1"
    )
    assert received.returncode == 0, received.stderr
    assert "on hand 4" in received.stdout
    for line in EXPECTED.values():
        assert received.stderr.count(line) == 1
    assert "hook register_channel_types -> plugin 'shopify' (hub " in received.stderr
    assert "hook stock_changed -> plugin 'ledgerlog' (hubfix-ledgerlog 1.2) ok in " in (
        received.stderr
    )


def test_hub_run_serves_with_broken_plugins_installed_and_logs_them(all_broken, tmp_path):
    assert hub("init", cwd=tmp_path, path=all_broken).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pythonpath = os.pathsep.join(p for p in (str(all_broken), os.environ.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [*HUB, "run", "--port", str(port)],
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": pythonpath},
    )
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and answer is None and process.poll() is None:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
            except OSError:
                time.sleep(0.2)
        assert answer is not None and answer.status == 200
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    for line in EXPECTED.values():
        assert output.count(f"ERROR hub.plugins: {line}") == 1, output


GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()


def test_the_guides_channel_methods_take_the_arguments_channel_declares():
    import inspect

    from hub import Channel

    rows = re.findall(r"^\| `(\w+)\(([^)]*)\)` \|", GUIDE, re.M)
    assert {"fulfill", "fetch_orders", "push_stock"} <= {name for name, _ in rows}
    for name, arguments in rows:
        declared = [p for p in inspect.signature(getattr(Channel, name)).parameters if p != "self"]
        documented = [a.strip() for a in arguments.split(",") if a.strip()]
        assert documented == declared, f"docs/plugins.md: {name}({arguments})"


def test_the_guides_api_mismatch_line_is_the_one_the_hub_prints():
    shown = re.search(r"^plugin 'acme' \(hub-acme 2\.0\) needs .*$", GUIDE, re.M).group(0)
    assert shown == EXPECTED["future"].replace("'future' (hubfix-future", "'acme' (hub-acme")
    assert api_accepts(re.search(r'HUB_PLUGIN_API = "([^"]+)"  #', GUIDE).group(1))


def test_two_packages_with_one_plugin_name_the_second_is_reported_naming_the_first(installed):
    for package, module in (("hubfix-alpha", "hubfix_alpha"), ("hubfix-beta", "hubfix_beta")):
        (installed / f"{module}.py").write_text("")
        info = installed / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[hub]\nledger-export = {module}\n")
    importlib.invalidate_caches()
    host = PluginHost.load()
    row = next(r for r in host.describe() if r["name"] == "ledger-export")
    assert row["package"] == "hubfix-alpha"
    assert [str(p) for p in host.problems] == [
        "plugin 'ledger-export' (hubfix-beta 1.0) not loaded: the name 'ledger-export' is "
        "taken by hubfix-alpha 1.0"
    ]


def test_a_broken_plugin_handed_over_in_code_raises_naming_its_class():
    class Misspelt:
        @hookimpl
        def order_shiped(self, order, shipment):
            pass

    with pytest.raises(PluginError) as error:
        PluginHost.load([Misspelt()], entry_points=False)
    assert str(error.value).startswith(
        "plugin 'test_a_broken_plugin_handed_over_in_code_raises_naming_its_class.<locals>."
        "Misspelt' implements unknown hook(s) order_shiped"
    )
