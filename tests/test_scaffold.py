"""``hub plugin new NAME`` writes a plugin package that installs, passes its own tests
unchanged and is listed by ``hub plugins``: all checked for real, in a throw-away folder.

The package is installed with pip into a folder of its own (``--target``), never into the
hub's environment; the subprocesses see it through ``PYTHONPATH``, whose dist-info holds
the ``hub`` entry point. No network: ``--no-index --no-deps --no-build-isolation``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.errors import InvalidInput
from hub.scaffold import TEMPLATE, class_name, files, new_plugin

HUB = [sys.executable, "-m", "hub.cli"]


def run(args: list[str], cwd: Path, pythonpath: Path | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["COLUMNS"] = "200"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=280)


def test_the_scaffolded_package_installs_passes_its_tests_and_is_listed(tmp_path):
    done = run([*HUB, "plugin", "new", "bazaar", "--dir", str(tmp_path / "work")], tmp_path)
    assert done.returncode == 0, done.stderr
    package = tmp_path / "work" / "hub-bazaar"
    assert f"wrote {package}/" in done.stdout
    written = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert written == [
        "README.md",
        "hub_bazaar/__init__.py",
        "hub_bazaar/channel.py",
        "hub_bazaar/sandbox.py",
        "pyproject.toml",
        "tests/test_contract.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert 'name = "hub-bazaar"' in pyproject
    assert '[project.entry-points.hub]\nbazaar = "hub_bazaar"' in pyproject
    init = (package / "hub_bazaar" / "__init__.py").read_text()
    assert 'HUB_PLUGIN_API = ">=1,<2"' in init and "register(BazaarChannel)" in init
    assert "acme" not in "".join(files("bazaar").values()).lower()

    site = tmp_path / "site"
    installed = run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--no-build-isolation", "--target", str(site), str(package)],
        tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (site / "hub_bazaar" / "channel.py").is_file()

    tests = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], package, site)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "19 passed" in tests.stdout and "skipped" not in tests.stdout  # 18 contract rules

    listed = run([*HUB, "plugins", "--json"], tmp_path, site)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["bazaar"]["status"] == "loaded"
    assert rows["bazaar"]["package"] == "hub-bazaar"
    assert rows["bazaar"]["module"] == "hub_bazaar"
    assert rows["bazaar"]["provides"] == ["channel:bazaar"]
    assert "shopify" in rows  # the built-ins are still there
    table = run([*HUB, "plugins"], tmp_path, site)
    assert "bazaar" in table.stdout and "hub-bazaar" in table.stdout


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("", "the plugin name is empty"),
        ("Bazaar", "must be lower-case letters, digits and '_'"),
        ("2shop", "starting with a letter"),
        ("a" * 41, "at most 40"),
        ("my__shop", "cannot be used"),
        ("shopify", "is taken by the installed plugin from hub"),
        ("square", "is a channel type an installed plugin provides"),
    ],
)
def test_a_bad_name_is_refused_naming_what_is_wrong_and_writes_nothing(tmp_path, name, complaint):
    with pytest.raises(InvalidInput) as refused:
        new_plugin(name, tmp_path)
    assert complaint in str(refused.value) and "\n" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_the_command_says_what_is_wrong_in_one_line(tmp_path):
    done = run([*HUB, "plugin", "new", "my-shop", "--dir", str(tmp_path)], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: plugin name 'my-shop' must be lower-case letters, digits and '_', starting "
        "with a letter (it names the channel type and the module hub_NAME)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    (tmp_path / "hub-bazaar").mkdir()
    (tmp_path / "hub-bazaar" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="exists and is not empty"):
        new_plugin("bazaar", tmp_path)
    assert [p.name for p in tmp_path.rglob("*")] == ["hub-bazaar", "notes.txt"]
    (tmp_path / "hub-bazaar" / "notes.txt").unlink()  # an empty folder is written into
    assert new_plugin("bazaar", tmp_path) == tmp_path / "hub-bazaar"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub-bazaar"]  # no staging left
    assert (tmp_path / "hub-bazaar" / "hub_bazaar" / "channel.py").is_file()


def test_a_dir_or_target_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInput, match="it is a file, not a folder"):
        new_plugin("bazaar", tmp_path / "file")
    (tmp_path / "hub-bazaar").write_text("mine")
    with pytest.raises(InvalidInput, match="hub-bazaar exists and is a file"):
        new_plugin("bazaar", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "hub-bazaar"]


def test_names_are_spelt_for_each_place():
    assert class_name("my_shop") == "MyShop"
    text = files("my_shop")
    assert "class MyShopChannel(Channel):" in text[Path("hub_my_shop/channel.py")]
    assert 'type_name: ClassVar[str] = "my_shop"' in text[Path("hub_my_shop/channel.py")]
    assert "${MY_SHOP_API_KEY}" in text[Path("README.md")]
    for path, source in text.items():
        if path.suffix == ".py":
            ast.parse(source, str(path))  # every renamed module is still Python


def test_the_channel_adapter_is_short():
    lines = (TEMPLATE / "hub_acme" / "channel.py").read_text().splitlines()
    assert len(lines) <= 150, f"the template adapter has {len(lines)} lines"
