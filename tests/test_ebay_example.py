"""examples/hub-ebay is a third party's plugin: installed from its folder, listed by its own
distribution, written against the public plugin API only, and taken into ``hub demo``."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import hub_ebay
from builders import make_hub

from hub.core.livedemo import sandbox_types

REPO = Path(__file__).resolve().parents[1]
EBAY = REPO / "examples" / "hub-ebay"
PUBLIC = {"hub", "hub.channels", "hub.errors", "hub.listingcheck", "hub.orders", "hub.rest",
          "hub.sandbox", "hub.signing", "hub.stock", "hub.testing"}  # fmt: skip


def test_hub_plugins_lists_it_by_its_distribution_name_and_version(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    listed = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    declared = tomllib.loads((EBAY / "pyproject.toml").read_text())["project"]
    assert rows["ebay"]["status"] == "loaded"
    assert (rows["ebay"]["package"], rows["ebay"]["version"]) == (
        declared["name"],
        declared["version"],
    )
    assert rows["ebay"]["module"] == "hub_ebay"
    assert rows["ebay"]["provides"] == ["channel:ebay"]


def test_it_is_a_distribution_of_its_own_not_part_of_the_hub():
    [entry] = [e for e in metadata.entry_points(group="hub") if e.name == "ebay"]
    assert entry.value == "hub_ebay" and entry.dist is not None
    assert entry.dist.metadata["Name"] == "hub-ebay"
    hub_files = {str(f) for f in metadata.distribution("hub").files or []}
    assert not any(f.startswith("hub_ebay/") for f in hub_files)


def test_the_installed_copy_is_the_folder_s_code():
    installed = Path(hub_ebay.__file__).parent
    for source in sorted((EBAY / "hub_ebay").glob("*.py")):
        assert (installed / source.name).read_text() == source.read_text(), (
            f"the installed hub-ebay's {source.name} differs from {source}: reinstall it "
            "(make does, or pip install ./examples/hub-ebay)"
        )


def test_it_imports_only_the_public_plugin_api():
    files = [*(EBAY / "hub_ebay").glob("*.py"), *(EBAY / "tests").glob("*.py")]
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in ("hub_plugins",), f"{file.name} imports {name}"
                assert top != "hub" or name in PUBLIC, f"{file.name} imports {name}"


def test_its_adapter_stays_under_400_lines():
    lines = len((EBAY / "hub_ebay" / "channel.py").read_text().splitlines())
    assert lines < 400, f"hub_ebay/channel.py has {lines} lines"


def test_hub_demo_takes_it_like_any_channel_with_a_sandbox(sqlite_url):
    with make_hub(sqlite_url) as hub:
        types = sandbox_types(hub)
    assert types["ebay"] is hub_ebay.EbayChannel
    assert {"shopify", "woocommerce", "ebay"} <= set(types)
