"""``hub demo``: a scripted tour of the ledger and order intake on embedded SQLite.

It needs no accounts and no network: it builds a hub in a folder of its own, books stock,
takes orders from three channels (with a duplicate, an edit, a cancellation, an unknown
SKU, an unpaid order and a race for the last units), ships one, and checks the journal.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hub.core import ledger
from hub.core.config import load_settings
from hub.core.orderbook import list_orders
from hub.core.runtime import Hub
from hub.core.starter import write_starter_config
from hub.orders import Address, Customer, Order, OrderLine, OrderStatus, PaymentStatus


def hub_command(
    argv0: str | None = None, executable: str | None = None, search_path: str | None = None
) -> str:
    """How to run this ``hub`` from the current folder: ``hub`` when that is on the PATH
    and is this hub, else the path of the running script (``.venv/bin/hub`` for
    ``make demo``), relative to the current folder when it is inside it."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    script = Path(argv0)
    if script.name != "hub":  # started as ``python -m hub.cli``: the script beside python
        script = Path(executable).parent / "hub"
        if not script.is_file():
            return f"{shlex.quote(executable)} -m hub.cli"
    found = shutil.which("hub", path=search_path)
    if found is not None and Path(found).resolve() == script.resolve():
        return "hub"
    if script.is_absolute() and script.is_relative_to(Path.cwd()):
        script = script.relative_to(Path.cwd())
    text = str(script)
    return shlex.quote(text if os.sep in text else f".{os.sep}{text}")


def show_command(console: Console, *args: str) -> None:
    """Print a ``hub`` command the user can paste as it is, on a line of its own."""
    line = " ".join([hub_command(), *(shlex.quote(a) for a in args)])
    console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def look_around(console: Console, folder: Path) -> None:
    """Say where the tour's hub is and how to look at its orders."""
    console.print(f"The demo hub is in {folder}; look around with:")
    show_command(console, "orders", "list", "--config", str(folder / "hub.toml"))


DEMO_CHANNELS = """
[channels.web]
type = "manual"
locations = ["main"]
safety_buffer = 2

[channels.pos]
type = "manual"
locations = ["store", "main"]

[channels.b2b]
type = "manual"
locations = ["main"]
max_quantity = 20
"""
T0 = datetime.now(UTC).replace(microsecond=0)
CATALOGUE = [
    ("MUG-BLUE", "Blue mug", 40),
    ("MUG-RED", "Red mug", 3),
    ("TEE-M", "T-shirt M", 12),
    ("SAUCER", "Saucer", 30),
]


def _order(
    channel: str, ref: str, *lines: tuple[str, int], minutes: int = 0, **fields: Any
) -> Order:
    address = Address(
        name="Grace Hopper",
        line1="12 Harbour St",
        city="Leith",
        postcode="EH6 6QQ",
        country="GB",
        latitude=55.976,
        longitude=-3.172,
    )
    return Order(
        channel=channel,
        external_id=ref,
        number=f"#{ref}",
        lines=tuple(OrderLine(s, q, Decimal("8.50")) for s, q in lines),
        total=Decimal("8.50") * sum(q for _, q in lines),
        currency="GBP",
        customer=Customer(name="Grace Hopper", email="grace@example.com"),
        shipping_address=address,
        placed_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
        **fields,
    )


def run_tour(folder: Path, console: Console) -> bool:
    """Run the tour in ``folder`` (made afresh); returns True when the ledger verified clean."""
    shutil.rmtree(folder, ignore_errors=True)
    config = folder / "hub.toml"
    write_starter_config(config)
    config.write_text(
        config.read_text().replace(
            "[locations.main]",
            '[locations.store]\nname = "High Street store"\nkind = "store"\n\n[locations.main]',
        )
        + DEMO_CHANNELS
    )
    hub = Hub.open(settings=load_settings(config))
    with hub:
        hub.upgrade()
        console.rule("[bold]1. Stock arrives")
        _book_stock(hub, console)
        console.rule("[bold]2. Orders from three channels")
        _take_orders(hub, console)
        console.rule("[bold]3. The race for the last red mugs")
        _race(hub, console)
        console.rule("[bold]4. Ship, and check the books")
        hub.ship("web:1001", "DHL", "JD014600006281", actor="demo")
        console.print("shipped web:1001 with DHL JD014600006281: its reservation became a sale")
        _show(hub, console)
        problems = hub.read(ledger.verify)
    if problems:
        console.print(f"[red]{len(problems)} balances differ from the journal[/]")
        return False
    console.print("[green]hub stock verify: every balance equals the sum of its journal[/]")
    look_around(console, folder)
    return True


def _book_stock(hub: Hub, console: Console) -> None:
    def work(conn):  # type: ignore[no-untyped-def]
        changes = []
        for sku, name, quantity in CATALOGUE:
            ledger.ensure_product(conn, sku, name=name)
            changes += ledger.receive(
                conn, sku, "main", quantity, reason="supplier delivery", actor="demo"
            )
        changes += ledger.transfer(conn, "MUG-BLUE", "main", "store", 10, actor="demo")
        ledger.ensure_product(conn, "GIFT-SET", name="Mug and saucer gift set")
        ledger.set_bundle(conn, "GIFT-SET", {"MUG-BLUE": 1, "SAUCER": 2})
        return changes

    for c in hub.write(work):
        console.print(
            f"{c.kind:<9} {c.sku:<9} @ {c.location:<5} {c.quantity:+4d} → on hand {c.on_hand}"
        )
    console.print("GIFT-SET is a bundle of 1 MUG-BLUE + 2 SAUCER: its availability is derived")


def _take_orders(hub: Hub, console: Console) -> None:
    steps = [
        ("web", [_order("web", "1001", ("MUG-BLUE", 2), ("GIFT-SET", 1))], "a web order"),
        (
            "web",
            [_order("web", "1001", ("MUG-BLUE", 2), ("GIFT-SET", 1))],
            "the same order again (webhook after poll)",
        ),
        ("web", [_order("web", "1002", ("TEE-M", 1), minutes=1)], "another web order"),
        ("web", [_order("web", "1002", ("TEE-M", 3), minutes=5)], "1002 edited: 3 T-shirts"),
        (
            "web",
            [_order("web", "1002", ("TEE-M", 1), minutes=2)],
            "an older version of 1002 arrives late",
        ),
        (
            "pos",
            [_order("pos", "T-77", ("MUG-BLUE", 1), status=OrderStatus.FULFILLED)],
            "a sale at the store's till",
        ),
        (
            "b2b",
            [_order("b2b", "PO-5", ("SAUCER", 12), ("MUG-GREEN", 4))],
            "a B2B order naming an unknown SKU",
        ),
        (
            "web",
            [_order("web", "1003", ("TEE-M", 1), payment_status=PaymentStatus.PENDING)],
            "an unpaid web order",
        ),
        (
            "web",
            [_order("web", "1002", ("TEE-M", 3), minutes=9, status=OrderStatus.CANCELLED)],
            "1002 cancelled on the channel",
        ),
    ]
    for channel, orders, what in steps:
        for o in hub.ingest(channel, orders, actor="demo").outcomes:
            note = f" — {o.reason}" if o.reason else ""
            console.print(f"{what:<42} {channel}:{o.external_id:<6} {o.action:<9} {o.status}{note}")


def _race(hub: Hub, console: Console) -> None:
    console.print("3 red mugs left; web, pos and b2b each want 2 in the same instant")
    pages = [(ch, [_order(ch, f"RACE-{ch}", ("MUG-RED", 2))]) for ch in ("web", "pos", "b2b")]
    for channel, page in pages:
        outcome = hub.ingest(channel, page, actor="demo").outcomes[0]
        console.print(f"  {channel}: {outcome.status} {outcome.reason}")
    console.print("no unit was promised twice: the database refuses an over-reservation")


def _show(hub: Hub, console: Console) -> None:
    table = Table("sku", "location", "on hand", "reserved", "free")
    for lvl in hub.read(lambda c: ledger.levels(c)):
        table.add_row(lvl.sku, lvl.location, str(lvl.on_hand), str(lvl.reserved), str(lvl.free))
    console.print(table)
    atp = Table("available to promise", *[sku for sku, *_ in CATALOGUE], "GIFT-SET")
    for channel in ("web", "pos", "b2b"):
        figures = hub.available(channel)
        atp.add_row(
            channel,
            *[str(figures.get(sku, 0)) for sku, *_ in CATALOGUE],
            str(figures.get("GIFT-SET", 0)),
        )
    console.print(atp)
    orders = hub.read(lambda c: list_orders(c, limit=100))
    counts: dict[str, int] = {}
    for o in orders:
        counts[o.status] = counts.get(o.status, 0) + 1
    console.print("orders: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
