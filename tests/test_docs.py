"""The plugin guide stays true: every hook and argument documented, every hook tested,
and the guide's example plugin works as written."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hub import hookspecs

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "plugins.md").read_text()
HOOKS = [
    name for name, f in vars(hookspecs).items() if inspect.isfunction(f) and hasattr(f, "hub_spec")
]


def test_there_are_hooks():
    assert "register_channel_types" in HOOKS and len(HOOKS) >= 9


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_are_documented(hook):
    arguments = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"### {hook}({arguments})" in GUIDE, f"document {hook}({arguments}) in docs/plugins.md"
    assert getattr(hookspecs, hook).__doc__, f"give {hook} a docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_have_tests(hook):
    tests = "\n".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
    assert re.search(rf"def test_hook_{hook}\b|def test_hook_\w*{hook}", tests), (
        f"write test_hook_{hook}"
    )


def test_the_guides_example_channel_plugin_works(sqlite_url):
    from builders import make_hub

    from hub.core import ledger
    from hub.core.plugins import PluginHost

    source = re.search(r"```python\n(# hub_acme/__init__.py\n.*?)```", GUIDE, re.S).group(1)
    namespace: dict = {}
    exec(compile(source, "docs/plugins.md", "exec", dont_inherit=True), namespace)

    class Example:  # the module's hooks, as pluggy would find them in an installed package
        register_channel_types = staticmethod(namespace["register_channel_types"])

    assert "acme" in PluginHost.load([Example()], entry_points=False).channel_types
    channels = {
        "acme-eu": {"type": "acme", "api_url": "http://x", "api_key": "k", "locations": ["main"]}
    }
    with make_hub(sqlite_url, plugins=(Example(),), entry_points=False, channels=channels) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
        channel = hub.channel("acme-eu")
        page = next(channel.fetch_orders(None, None))
        report = hub.ingest("acme-eu", page.orders)
        assert [(o.external_id, o.status) for o in report.outcomes] == [("A-1", "open")]
        assert hub.available("acme-eu") == {"MUG": 3}


def _nav_pages(entries) -> list[str]:
    pages = []
    for entry in entries:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_in_the_sites_nav_exists():
    yaml = pytest.importorskip("yaml")  # mkdocs' own dependency
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    pages = _nav_pages(nav)
    assert "plugins.md" in pages and "operations.md" in pages
    generated = {f"channels/{p.parent.name}.md" for p in REPO.glob("plugins/*/README.md")}
    missing = [p for p in pages if not (REPO / "docs" / p).is_file() and p not in generated]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist: {missing}"


@pytest.mark.timeout(600)
def test_the_docs_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: no broken link or anchor, every reference resolves, the
    configuration tables render from the models (as `make docs` does)."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    assert mkdocs.exists(), "install the docs extra: pip install -e '.[dev,docs]' (make does)"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / "site" / "reference" / "configuration" / "index.html").read_text()
    assert "rate_burst" in page and "<!-- config" not in page
    assert (tmp_path / "site" / "reference" / "hooks" / "index.html").is_file()


TUTORIAL = REPO / "docs" / "guide" / "tutorial.md"
#: A code block of the tutorial that names the scaffold's file it shows.
BLOCK = re.compile(r'```\w+ title="([^"]+)"\n(.*?)```', re.S)
SNIPPET = re.compile(r'--8<-- "([^"]+)"\n')


def _tutorial_blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(TUTORIAL.read_text())


def test_every_code_block_of_the_tutorial_is_the_scaffolds_own_code():
    """docs/guide/tutorial.md shows what `hub plugin new acme` writes, word for word: a
    block titled with a file of the package is a piece of that file as generated, or
    includes the template's file itself (pymdownx.snippets)."""
    from hub.scaffold import TEMPLATE, files

    generated = {str(path): text for path, text in files("acme").items()}
    blocks = _tutorial_blocks()
    assert {name for name, _ in blocks} >= {
        "pyproject.toml",
        "hub_acme/__init__.py",
        "hub_acme/channel.py",
        "hub_acme/sandbox.py",
        "tests/test_contract.py",
    }
    for name, code in blocks:
        assert name in generated, f"the tutorial shows {name}, which the scaffold does not write"
        included = SNIPPET.fullmatch(code)
        if included:
            assert (REPO / included.group(1)) == TEMPLATE / name
            continue
        assert code in generated[name], (
            f"a block of {name} in docs/guide/tutorial.md is not the scaffold's code; copy "
            f"it again from hub/scaffold/template/{name}: {code[:80]!r}"
        )
    untitled = re.findall(r"```python\n", TUTORIAL.read_text())
    assert not untitled, "every python block of the tutorial names the file it is from"


def test_the_tutorial_shows_the_whole_adapter_and_counts_its_lines():
    from hub.scaffold import files

    adapter = files("acme")[Path("hub_acme/channel.py")]
    shown = [0] * len(adapter)
    for name, code in _tutorial_blocks():
        if name == "hub_acme/channel.py":
            start = adapter.index(code)
            shown[start : start + len(code)] = [1] * len(code)
    left_out = "".join(c for c, seen in zip(adapter, shown, strict=True) if not seen)
    assert not left_out.strip(), f"the tutorial leaves out of channel.py: {left_out.strip()!r}"
    lines = len(adapter.splitlines())
    assert f"That is the whole adapter: {lines} lines" in TUTORIAL.read_text()
    assert lines < 150


def test_the_tutorials_plugin_keeps_the_contract(tmp_path, monkeypatch, sqlite_url):
    """The package `hub plugin new acme` writes, as the tutorial walks through it,
    registers, passes hub.testing.check_channel against its own sandbox and works in a
    hub."""
    from hub.core.plugins import PluginHost
    from hub.scaffold import new_plugin
    from hub.testing import check_channel

    package = new_plugin("acme", tmp_path)
    monkeypatch.syspath_prepend(str(package))
    for name in [m for m in sys.modules if m == "hub_acme" or m.startswith("hub_acme.")]:
        monkeypatch.delitem(sys.modules, name)
    import hub_acme

    assert "acme" in PluginHost.load([hub_acme], entry_points=False).channel_types
    passed = check_channel(hub_acme.AcmeChannel)
    assert len(passed) == 5, passed
    sections = re.findall(r"```toml\n(.*?)```", TUTORIAL.read_text(), re.S)
    assert sections, "the tutorial shows a hub configuration section for the channel"
    for text in sections:  # the configuration the tutorial shows is one the plugin takes
        for section in tomllib.loads(text)["channels"].values():
            hub_acme.AcmeConfig(**section)
    _run_the_tutorials_plugin_in_a_hub(hub_acme, sqlite_url)


def _run_the_tutorials_plugin_in_a_hub(hub_acme, sqlite_url):
    """The tutorial's channel in a hub: listings, an order pull of several pages, a
    repeated pull changing nothing, a stock push, a signed webhook carrying the store's
    quantities, corrected at once."""
    from builders import make_hub

    from hub.core import ledger
    from hub.core.listings import import_listings
    from hub.core.sync import Sync
    from hub.sandbox import DemoItem
    from hub.signing import hmac_base64

    store = hub_acme.AcmeSandbox()
    store.seed([DemoItem(f"SKU-{i}", f"Item {i}", "5.00", 9) for i in range(5)])
    server = store.serve().start()
    try:
        section = store.config_for(server.url, page_size=2, locations=["main"])
        with make_hub(
            sqlite_url, plugins=(hub_acme,), entry_points=False, channels={"acme": section}
        ) as hub:
            for i in range(5):
                hub.write(lambda c, i=i: ledger.receive(c, f"SKU-{i}", "main", 20))
            sync = Sync(hub, backoff=0.01)
            items = sync.fetch_listings("acme")
            assert sorted(item.sku for item in items) == [f"SKU-{i}" for i in range(5)]
            hub.write(lambda c: import_listings(c, "acme", items))
            orders = [store.sell("SKU-0", 1) for _ in range(3)]
            pulled = sync.pull_orders("acme")
            assert (pulled.pages, pulled.created, pulled.complete) == (2, 3, True)
            assert sync.pull_orders("acme").created == 0  # the overlap repeats: harmless
            sync.full_push("acme")
            assert store.stock("SKU-0") == 17 and store.stock("SKU-4") == 20
            store.cancel(orders[0])  # the store restocks 1: it now shows 18
            item = {"sku": "SKU-0", "quantity": 18, "updated_at": "2099-01-01T00:00:00+00:00"}
            body = json.dumps({"topic": "stock.updated", "item": item}).encode()
            headers = {"X-Acme-Topic": "stock.updated", "X-Acme-Delivery": "1"}
            headers["X-Acme-Signature"] = hmac_base64(store.webhook_secret, body)
            assert sync.accept_webhook("acme", headers, body)
            assert hub.channel("acme").parse_webhook(headers, body).quantities == {"SKU-0": 18}
            sync.process_inbox()
            sync.push_stock("acme")
            assert store.stock("SKU-0") == 17  # the hub's figure, put back at once
    finally:
        server.stop()


def _calls_let_through(rate: float, burst: float, seconds: float) -> list[float]:
    """When the channel's token bucket lets calls through, from full, calling as fast as
    it allows (a clock stepped by a millisecond)."""
    from hub.core.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(capacity=burst, restore_rate=rate, clock=lambda: now[0])
    times = []
    for step in range(int(seconds * 1000) + 1):
        now[0] = step / 1000
        while limiter.headroom().available >= 1:
            limiter.acquire()
            times.append(now[0])
    return times


def test_the_guides_token_bucket_figures():
    """docs/guide/concepts.md#rate-limits: rate 5 and burst 5 let 10 calls through in the
    first second; burst 1 and rate 4 never let more than 5 through in any second."""
    guide = (REPO / "docs" / "guide" / "concepts.md").read_text()
    assert "rate_burst = 1, rate_per_second = 4" in guide and "saw 10 requests" in guide
    assert len(_calls_let_through(5, 5, 1.002)) == 10  # the 11th waits until 1.2 s
    times = _calls_let_through(4, 1, 5.0)
    assert max(len([t for t in times if start <= t < start + 1.002]) for start in times) == 5
