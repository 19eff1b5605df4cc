"""Oversells to investigate: listed until a person resolves them with a note, which goes
into the order's history; `hub oversells` and the API do the same."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import make_hub, order, run_hub

from hub import Channel, OrderStatus, hookimpl
from hub.core import ledger, oversells
from hub.core.desk.inputs import Actor
from hub.core.models import order_event_t
from hub.core.runtime import Hub
from hub.core.status import channel_status
from hub.errors import Conflict, InvalidInput, NotFound

PERSON = Actor("alice", "cli")


class TillChannel(Channel):
    type_name = "till-oversell-test"
    final_sales = True


class TillPlugin:
    @hookimpl
    def register_channel_types(self, register):  # type: ignore[no-untyped-def]
        register(TillChannel)


@pytest.fixture
def shop(db_url: str) -> Iterator[Hub]:
    channels = {"till": {"type": "till-oversell-test", "locations": ["store"]}}
    with make_hub(db_url, plugins=(TillPlugin(),), channels=channels) as the_hub:
        the_hub.write(lambda c: ledger.receive(c, "MUG", "store", 1))
        sale = order(
            "T-1", ("MUG", 3), channel="till", status=OrderStatus.FULFILLED, location="store"
        )
        the_hub.ingest("till", [sale])  # 3 handed over, 1 on the shelf: 2 oversold
        yield the_hub


def test_an_oversell_is_listed_until_resolved_and_the_note_joins_the_order_history(shop):
    [open_one] = shop.read(oversells.list_oversells)
    assert (open_one.channel, open_one.reference, open_one.sku) == ("till", "T-1", "MUG")
    assert (open_one.location, open_one.quantity, open_one.resolved_at) == ("store", 2, None)
    done = shop.write(lambda c: oversells.resolve(c, open_one.id, " miscount ", PERSON))
    assert done.resolved_at is not None
    assert shop.read(oversells.list_oversells) == []
    [kept] = shop.read(lambda c: oversells.list_oversells(c, include_resolved=True))
    assert kept.id == open_one.id and kept.resolved_at is not None
    [status] = shop.read(lambda c: channel_status(c, ["till"]))
    assert status.oversold == {}  # the status page no longer asks anyone to look
    e = order_event_t.c
    events = shop.read(
        lambda c: c.execute(
            sa.select(e.status, e.note, e.actor, e.origin).where(e.order_id == open_one.order_id)
        ).all()
    )
    assert ("oversell resolved", "2 x MUG at store: miscount", "cli:alice", "cli") in [
        tuple(e) for e in events
    ]
    # the stock is untouched: resolving records a finding, a count or receipt moves units
    [level] = shop.read(lambda c: ledger.levels(c, "MUG"))
    assert level.on_hand == -2


def test_resolving_refuses_an_unknown_id_an_empty_note_and_a_second_resolution(shop):
    [one] = shop.read(oversells.list_oversells)
    with pytest.raises(NotFound, match="no oversell 999"):
        shop.write(lambda c: oversells.resolve(c, 999, "x", PERSON))
    with pytest.raises(InvalidInput, match="note: say what was found"):
        shop.write(lambda c: oversells.resolve(c, one.id, "  ", PERSON))
    with pytest.raises(InvalidInput, match="at most 2,000"):
        shop.write(lambda c: oversells.resolve(c, one.id, "x" * 2001, PERSON))
    assert shop.read(oversells.list_oversells) == [one]  # nothing written by the refusals
    shop.write(lambda c: oversells.resolve(c, one.id, "found it", PERSON))
    with pytest.raises(Conflict, match=rf"oversell {one.id} was already resolved at .* UTC"):
        shop.write(lambda c: oversells.resolve(c, one.id, "again", PERSON))


def _hub(*args: str, cwd: Path, script: bool = False) -> subprocess.CompletedProcess:
    """``hub args`` in this process, or with ``script`` in a process of its own."""
    if not script:
        return run_hub(*args, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_the_oversells_commands(tmp_path):
    """`hub oversells list` and `resolve` on a hub whose Square till sold beyond stock."""
    config = tmp_path / "hub.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "hub.db"}"

[locations.store]
name = "City store"
kind = "store"

[channels.till]
type = "square"
access_token = "not-used"
location_map = {{ L1 = "store" }}
"""
    )
    from hub.core.config import load_settings

    with Hub.open(settings=load_settings(config)) as hub:
        hub.upgrade()
        hub.write(lambda c: ledger.receive(c, "MUG", "store", 1))
        sale = order(
            "T-9", ("MUG", 2), channel="till", status=OrderStatus.FULFILLED, location="store"
        )
        hub.ingest("till", [sale])
    listed = _hub("oversells", "list", "-c", str(config), cwd=tmp_path, script=True)
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if "T-9" in line]
    assert [cell.strip() for cell in row.split("│")[1:7]] == [
        "1",
        "till",
        "T-9",
        "MUG",
        "store",
        "1",
    ]
    empty = _hub("oversells", "resolve", "1", "--note", " ", "-c", str(config), cwd=tmp_path)
    assert (empty.returncode, empty.stderr.strip()) == (1, "error: note: say what was found")
    unknown = _hub("oversells", "resolve", "7", "--note", "x", "-c", str(config), cwd=tmp_path)
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "error: no oversell 7")
    done = _hub(
        "oversells", "resolve", "1", "--note", "till miscounted", "-c", str(config), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Oversell 1 resolved: 1 x MUG at store (till order T-9)."
    after = _hub("oversells", "list", "-c", str(config), cwd=tmp_path)
    assert after.stdout.strip() == "No oversells to investigate."
