"""``hub demo`` ends with a command the user can paste as it is, ``hub`` on the PATH or not."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hub.core.tour import hub_command

SCRIPT = Path(sys.executable).parent / "hub"  # the venv's console script
BARE_PATH = "/usr/bin:/bin"  # what a newcomer has before activating the venv


def test_the_tour_ends_with_a_command_that_works_when_hub_is_not_on_the_path(tmp_path):
    env = {**os.environ, "PATH": BARE_PATH, "COLUMNS": "60"}  # narrow: the line must not wrap
    assert shutil.which("hub", path=BARE_PATH) is None

    done = subprocess.run(
        [str(SCRIPT), "demo", "--tour", "--folder", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    *_, said, command = done.stdout.rstrip("\n").splitlines()
    assert said == "The demo hub is in demo/tour; look around with:"
    assert command.strip() == f"{SCRIPT} orders list --config demo/tour/hub.toml"
    wide = {**env, "COLUMNS": "200"}
    pasted = subprocess.run(
        command, shell=True, cwd=tmp_path, env=wide, capture_output=True, text=True, timeout=60
    )
    assert pasted.returncode == 0, pasted.stderr
    assert "#RACE-web" in pasted.stdout and "Grace Hopper" in pasted.stdout


def _script(folder: Path) -> Path:
    folder.mkdir(parents=True)
    script = folder / "hub"
    script.write_text("#!/bin/sh\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_hub_is_named_alone_when_the_path_finds_this_hub(tmp_path):
    script = _script(tmp_path / "venv" / "bin")

    assert hub_command(str(script), sys.executable, search_path=str(script.parent)) == "hub"


def test_a_script_inside_the_current_folder_is_named_relative_to_it(tmp_path, monkeypatch):
    script = _script(tmp_path / ".venv" / "bin")
    monkeypatch.chdir(tmp_path)

    assert hub_command(str(script), sys.executable, search_path=BARE_PATH) == ".venv/bin/hub"


def test_another_hub_on_the_path_is_not_taken_for_this_one(tmp_path):
    ours = _script(tmp_path / "a b" / "bin")
    other = _script(tmp_path / "other")

    named = hub_command(str(ours), sys.executable, search_path=str(other.parent))

    assert named == f"'{ours}'"  # quoted: the folder has a space


@pytest.mark.parametrize("argv0", ["/somewhere/hub/cli/__main__.py", "/somewhere/pytest"])
def test_started_through_python_the_script_beside_python_is_named(tmp_path, argv0):
    script = _script(tmp_path / "venv" / "bin")
    python = script.parent / "python"

    assert hub_command(argv0, str(python), search_path=BARE_PATH) == str(script)
    assert hub_command(argv0, "/opt/py/bin/python3", BARE_PATH) == "/opt/py/bin/python3 -m hub.cli"
