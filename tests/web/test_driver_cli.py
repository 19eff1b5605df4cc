"""``hub drivers``: add (the token printed once, only its hash kept), link (a one-time
sign-in link that works once), list, token (a new one), disable; mistakes get one line
and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from builders import run_hub

from hub.core import drivers
from hub.core.models import driver_t
from hub.core.runtime import Hub

HUB = [sys.executable, "-m", "hub.cli"]
CONFIG = """\
[database]
url = "sqlite:///{db}"

[web]
host = "0.0.0.0"
port = 8099

[locations.main]
latitude = 51.5
longitude = -0.12

[fleet.van-1]
depot = "main"
"""


def hub(*args: str, config: Path, script: bool = False) -> subprocess.CompletedProcess:
    """``hub args`` in this process, or with ``script`` in a process of its own."""
    if not script:
        return run_hub(*args, config=config)
    return subprocess.run(
        [*HUB, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_drivers_are_added_linked_listed_and_disabled(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG.format(db=tmp_path / "hub.db"))
    assert hub("db", "upgrade", config=config, script=True).returncode == 0

    added = hub(
        "drivers", "add", "Dora", "--vehicle", "van-1", "--phone", "+44 7700 900123", config=config
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("drv_") and "shown only now" in added.stderr

    unknown = hub("drivers", "add", "Vic", "--vehicle", "van-9", config=config)
    assert unknown.returncode == 1
    assert "vehicle 'van-9' is not in the fleet" in unknown.stderr and "van-1" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    twice = hub("drivers", "add", "Dora", "--vehicle", "van-1", config=config)
    assert twice.returncode == 1 and "a driver named 'Dora' exists" in twice.stderr

    link = hub("drivers", "link", "Dora", config=config)
    assert link.returncode == 0, link.stderr
    url = link.stdout.strip()
    assert url.startswith("http://localhost:8099/driver/link/drl_")
    missing = hub("drivers", "link", "Nobody", config=config)
    assert missing.returncode == 1 and "no driver named 'Nobody' (drivers: Dora)" in missing.stderr

    listed = hub("drivers", "list", config=config)
    assert "Dora" in listed.stdout and "van-1" in listed.stdout and token[:12] in listed.stdout
    assert token not in listed.stdout

    with Hub.open(config) as opened:
        stored = opened.read(lambda c: c.execute(sa.select(driver_t.c.token_hash)).scalar())
        assert stored == drivers.token_hash(token)  # only the hash is kept
        assert opened.read(lambda c: drivers.authenticate(c, token)).name == "Dora"
        link_token = url.rsplit("/", 1)[1]
        assert opened.write(lambda c: drivers.use_link(c, link_token)).name == "Dora"
        assert opened.write(lambda c: drivers.use_link(c, link_token)) is None  # once only

    renewed = hub("drivers", "token", "Dora", config=config)
    assert renewed.returncode == 0 and "the old one no longer works" in renewed.stderr
    with Hub.open(config) as opened:
        assert opened.read(lambda c: drivers.authenticate(c, token)) is None
        token = renewed.stdout.strip()
        assert opened.read(lambda c: drivers.authenticate(c, token)).name == "Dora"

    assert hub("drivers", "disable", "Dora", config=config).returncode == 0
    assert "yes" in hub("drivers", "list", config=config).stdout
    with Hub.open(config) as opened:
        assert opened.read(lambda c: drivers.authenticate(c, token)) is None
