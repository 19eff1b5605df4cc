"""Every ``hub`` command loads every installed plugin, so what a plugin imports at load
time every command pays for. Emulators, solvers, PDF and chart libraries are imported
where they are used; this checks that loading the plugins and the CLI leaves them out."""

from __future__ import annotations

import json
import subprocess
import sys

#: modules only demos, tests, planning, labels and reports need
HEAVY = (
    "hub.sandbox",
    "hub_plugins.amazon.sandbox",
    "hub_plugins.shopify.sandbox",
    "hub_plugins.woocommerce.sandbox",
    "hub_plugins.pos.sandbox",
    "hub_plugins.carriers.easypost.sandbox",
    "hub_plugins.notifiers.twilio.sandbox",
    "hub_ebay.sandbox",
    "pyvrp",
    "ortools",
    "reportlab",
    "matplotlib",
)

PROBE = f"""
import json, sys
import hub.cli
from hub.core.plugins import PluginHost
host = PluginHost.load()
loaded = [name for name in {HEAVY!r} if name in sys.modules]
print(json.dumps({{"loaded": loaded, "channels": sorted(host.channel_types),
                  "routers": sorted(host.routers)}}))
"""


def test_loading_the_plugins_for_a_command_leaves_emulators_solvers_and_charts_out() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["loaded"] == []
    # and yet every plugin is there, its sandbox and router a call away
    assert {"amazon", "ebay", "shopify", "square", "woocommerce"} <= set(found["channels"])
    assert {"auto", "ortools", "pyvrp"} <= set(found["routers"])
