"""``hub users``: create (password from a script or asked twice), list, disable; the hub
keeps an argon2 hash only, and a disabled user cannot sign in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import run_hub

from hub.core import users
from hub.core.runtime import Hub

HUB = [sys.executable, "-m", "hub.cli"]


def hub(
    *args: str, cwd: Path, stdin: str = "", script: bool = False
) -> subprocess.CompletedProcess:
    """``hub args`` in this process, or with ``script`` in a process of its own."""
    if not script:
        return run_hub(*args, cwd=cwd, stdin=stdin)
    return subprocess.run(
        [*HUB, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


# no terminal to ask at: the password prompt reads standard input, and getpass warns so
@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")
def test_users_are_created_listed_and_disabled(tmp_path):
    assert hub("init", cwd=tmp_path, script=True).returncode == 0

    def create(username: str, role: str, stdin: str, *more: str) -> subprocess.CompletedProcess:
        return hub("users", "create", username, "--role", role, *more, cwd=tmp_path, stdin=stdin)

    from_stdin = "--password-stdin"
    made = create("sam", "sales", "a long passphrase\n", "--name", "Sam Seller", from_stdin)
    assert made.returncode == 0, made.stderr
    assert "user 'sam' (sales) created" in made.stdout
    asked = create("ada", "admin", "pass word 1\npass word 1\n")
    assert asked.returncode == 0, asked.stderr
    differ = create("bob", "viewer", "pass word 1\npass word 2\n")
    assert differ.returncode == 1 and "the two passwords differ" in differ.stderr
    short = create("bob", "viewer", "short\n", from_stdin)
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    role = create("bob", "boss", "pass word 1\n", from_stdin)
    assert role.returncode == 1 and "admin, sales, viewer" in role.stderr
    twice = create("sam", "sales", "pass word 1\n", from_stdin)
    assert twice.returncode == 1 and "exists already" in twice.stderr

    listed = hub("users", "list", cwd=tmp_path)
    assert "Sam Seller" in listed.stdout and "admin" in listed.stdout and "bob" not in listed.stdout
    with Hub.open(tmp_path / "config" / "hub.toml") as opened:
        stored = opened.read(
            lambda c: c.exec_driver_sql("select password_hash from web_user").all()
        )
        assert all(h.startswith("$argon2id$") for (h,) in stored)
        assert opened.write(lambda c: users.authenticate(c, "sam", "a long passphrase")) is not None
        assert opened.write(lambda c: users.authenticate(c, "sam", "a long passphrasE")) is None
    assert hub("users", "disable", "sam", cwd=tmp_path).returncode == 0
    assert "yes" in hub("users", "list", cwd=tmp_path).stdout
    gone = hub("users", "disable", "nobody", cwd=tmp_path)
    assert gone.returncode == 1 and "no user 'nobody'" in gone.stderr
    with Hub.open(tmp_path / "config" / "hub.toml") as opened:
        assert opened.write(lambda c: users.authenticate(c, "sam", "a long passphrase")) is None


def test_the_session_key_is_made_once_and_kept_beside_the_database(tmp_path):
    assert hub("init", cwd=tmp_path).returncode == 0
    with Hub.open(tmp_path / "config" / "hub.toml") as opened:
        first = users.web_secret_key(opened.settings)
        again = users.web_secret_key(opened.settings)
        db = Path(opened.settings.database.url.removeprefix("sqlite:///"))
    kept = db.with_name("hub-web-secret.key")
    assert first == again and len(first) == 32
    assert kept.exists() and oct(kept.stat().st_mode & 0o777) == "0o600"
