"""The plugin guide stays true: every hook and argument documented, every hook tested,
and the guide's example plugin works as written."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
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


def test_the_tutorials_plugin_keeps_the_contract(tmp_path, monkeypatch):
    """docs/guide/tutorial.md's files, put where their first lines say, make a plugin that
    registers and passes hub.testing.check_channel against its own sandbox."""
    from hub.core.plugins import PluginHost
    from hub.testing import check_channel

    tutorial = (REPO / "docs" / "guide" / "tutorial.md").read_text()
    files: dict[str, str] = {}
    for block in re.findall(r"```python\n(.*?)```", tutorial, re.S):
        name = re.match(r"# (\S+\.py)( \(continued\))?\n", block)
        assert name, f"a tutorial code block does not name its file: {block[:60]!r}"
        files[name.group(1)] = files.get(name.group(1), "") + block
    assert {"hub_acme/__init__.py", "hub_acme/channel.py", "hub_acme/sandbox.py"} <= set(files)
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "hub_acme" or m.startswith("hub_acme.")]:
        monkeypatch.delitem(sys.modules, name)
    import hub_acme

    assert "acme" in PluginHost.load([hub_acme], entry_points=False).channel_types
    passed = check_channel(hub_acme.AcmeChannel)
    assert len(passed) == 5, passed
