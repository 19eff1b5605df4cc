"""``hub stock``: levels, receipts, adjustments, transfers, counts and the journal check."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import Connection

from hub.cli.common import ConfigOption, open_hub, required_text
from hub.core import ledger
from hub.core.counts import apply_counts, count_warnings, read_counts
from hub.errors import InvalidInput
from hub.skus import normalise_sku, require_sku, respelled

app = typer.Typer(help="The unified stock ledger.", no_args_is_help=True)
console = Console()

Sku = Annotated[
    str,
    typer.Argument(
        help="The SKU. Read as the hub spells SKUs (outer and non-breaking spaces dropped, "
        "full-width letters as plain ones); a respelling is printed."
    ),
]
Quantity = Annotated[
    int, typer.Argument(help=f"Units, 1 to {ledger.MAX_QUANTITY:,}.", show_default=False)
]
LocationOpt = Annotated[str, typer.Option("--location", "-l", help="Location code.")]
Actor = Annotated[str, typer.Option(help="Who did it, for the journal.")]


@app.command()
def levels(
    config: ConfigOption = None,
    sku: Annotated[str | None, typer.Option(help="Only this SKU.")] = None,
    channel: Annotated[str | None, typer.Option(help="Add this channel's ATP.")] = None,
) -> None:
    """On hand, reserved and free per SKU and location."""
    sku = _read_sku(sku) if sku is not None else None
    with open_hub(config) as hub:
        if channel is not None:
            hub.require_channel(channel)
        if sku is not None:
            hub.read(lambda c: ledger.product_id(c, sku))  # an unknown SKU is an error
        rows = hub.read(lambda c: ledger.levels(c, sku))
        atp = hub.available(channel) if channel else {}
    table = Table(
        "sku", "location", "on hand", "reserved", "free", *([f"ATP {channel}"] if channel else [])
    )
    for r in rows:
        extra = [str(atp.get(r.sku, 0))] if channel else []
        table.add_row(r.sku, r.location, str(r.on_hand), str(r.reserved), str(r.free), *extra)
    console.print(table)


@app.command()
def receive(
    sku: Sku,
    quantity: Quantity,
    location: LocationOpt = "main",
    config: ConfigOption = None,
    reason: str = "",
    actor: Actor = "cli",
) -> None:
    """Book a delivery into a location (creates the SKU if new)."""
    sku = _read_sku(sku)
    actor = required_text(actor, "--actor")
    with open_hub(config) as hub:
        changes = hub.write(
            lambda c: ledger.receive(c, sku, location, quantity, reason=reason, actor=actor)
        )
    _print_changes(changes)


@app.command(context_settings={"ignore_unknown_options": True})
def adjust(
    sku: Sku,
    delta: Annotated[
        int,
        typer.Argument(
            help=f"Units to add (negative: remove), at most {ledger.MAX_QUANTITY:,} either "
            "way; not 0.",
            show_default=False,
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why (damaged, found, ...). Required.")],
    location: LocationOpt = "main",
    config: ConfigOption = None,
    actor: Actor = "cli",
) -> None:
    """Correct on hand up or down, with a reason."""
    sku = _read_sku(sku)
    actor = required_text(actor, "--actor")
    with open_hub(config) as hub:
        changes = hub.write(
            lambda c: ledger.adjust(c, sku, location, delta, reason=reason, actor=actor)
        )
    _print_changes(changes)


@app.command()
def transfer(
    sku: Sku,
    quantity: Quantity,
    source: Annotated[str, typer.Option("--from", help="Location to take from.")],
    target: Annotated[str, typer.Option("--to", help="Location to put into.")],
    config: ConfigOption = None,
    actor: Actor = "cli",
) -> None:
    """Move free units between locations."""
    sku = _read_sku(sku)
    actor = required_text(actor, "--actor")
    with open_hub(config) as hub:
        changes = hub.write(
            lambda c: ledger.transfer(c, sku, source, target, quantity, actor=actor)
        )
    _print_changes(changes)


@app.command("import")
def import_counts(
    path: Annotated[Path, typer.Argument(help="CSV: sku,location,quantity[,name]")],
    config: ConfigOption = None,
    actor: Actor = "import",
) -> None:
    """Set on hand from a stock count; every row is checked before anything is written.

    The file is UTF-8 (CSV UTF-8 from a spreadsheet). Every bad row is listed with its
    line and column, and nothing is imported until all are fixed.
    """
    actor = required_text(actor, "--actor")
    rows = read_counts(path)
    for warning in count_warnings(rows):
        console.print(f"note: {warning}", markup=False, highlight=False)
    with open_hub(config) as hub, Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {len(rows)} counts", total=len(rows))
        changes = hub.write(
            lambda c: apply_counts(
                c, rows, actor=actor, progress=lambda n: progress.advance(task, n), path=path
            )
        )
    console.print(f"imported {len(rows)} counts from {path}: {len(changes)} adjustments")


@app.command()
def verify(config: ConfigOption = None) -> None:
    """Recompute every balance from the journal; exit 1 and list differences if any."""
    with open_hub(config) as hub:
        problems = hub.read(ledger.verify)
    if problems:
        for problem in problems:
            console.print(f"[red]drift[/] {problem}")
        console.print(f"{len(problems)} balance(s) differ from the journal")
        raise typer.Exit(1)
    console.print("ledger verified: every balance equals its journal")


def _read_sku(typed: str) -> str:
    """``typed`` as the hub spells it, printing a note when that differs; an empty or
    overlong SKU is an error."""
    sku = require_sku(typed)
    note = respelled(typed)
    if note:
        console.print(f"note: {note}", markup=False, highlight=False)
    return normalise_sku(sku)


def _print_changes(changes: list) -> None:
    for c in changes:
        console.print(
            f"{c.kind:<11} {c.sku} @ {c.location}: {c.quantity:+d} → on hand "
            f"{c.on_hand}, reserved {c.reserved}"
        )


@app.command()
def product(
    sku: Sku,
    config: ConfigOption = None,
    name: Annotated[str | None, typer.Option(help="Product name.")] = None,
    barcode: Annotated[str | None, typer.Option(help="EAN/UPC barcode.")] = None,
    weight: Annotated[float | None, typer.Option(help="Weight in grams.", min=0)] = None,
    volume: Annotated[float | None, typer.Option(help="Volume in cm³.", min=0)] = None,
) -> None:
    """Create a product or change its name, barcode, weight or volume."""
    sku = _read_sku(sku)
    name = required_text(name, "--name") if name is not None else None
    barcode = barcode.strip() if barcode is not None else None
    for option, value in (("--weight", weight), ("--volume", volume)):
        if value is not None and not math.isfinite(value):
            raise InvalidInput(f"{option} must be a number, got {value}", field=option[2:])
    fields = {
        k: v
        for k, v in {
            "name": name,
            "barcode": barcode,
            "weight_grams": weight,
            "volume_cm3": volume,
        }.items()
        if v is not None
    }
    with open_hub(config) as hub:
        hub.write(lambda c: ledger.ensure_product(c, sku, **fields))
    console.print(f"{sku}: " + (", ".join(f"{k} {v}" for k, v in fields.items()) or "exists"))


@app.command()
def bundle(
    sku: Sku,
    components: Annotated[list[str], typer.Argument(help="COMPONENT=UNITS, e.g. CUP=2 SAUCER=1")],
    config: ConfigOption = None,
) -> None:
    """Make SKU a bundle of components; its availability is derived from theirs."""
    sku = _read_sku(sku)
    parts = {}
    for text in components:
        component, equals, units = text.partition("=")
        if equals and not units.strip():
            raise InvalidInput(f"component {text!r}: give the units after '=', e.g. CUP=2")
        component = _read_sku(component)
        if component in parts:
            raise InvalidInput(f"component {component!r} is given twice; give it once")
        parts[component] = ledger.check_quantity(units or "1", f"component {text!r}")

    def make(conn: Connection) -> None:
        ledger.ensure_product(conn, sku)
        ledger.set_bundle(conn, sku, parts)

    with open_hub(config) as hub:
        hub.write(make)
    console.print(f"{sku} = " + " + ".join(f"{n} × {c}" for c, n in parts.items()))


@app.command()
def journal(
    sku: Sku,
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """The movements of a SKU, newest first: what changed, why, who, when."""
    sku = _read_sku(sku)
    with open_hub(config) as hub:
        rows = hub.read(lambda c: ledger.movements(c, sku, limit))
    table = Table(
        "when", "kind", "location", "on hand", "reserved", "channel", "reference", "reason", "by"
    )
    for r in rows:
        table.add_row(
            f"{r['created_at']:%Y-%m-%d %H:%M:%S}",
            r["kind"],
            r["location"],
            f"{r['on_hand_delta']:+d}",
            f"{r['reserved_delta']:+d}",
            r["channel"],
            r["reference"],
            r["reason"],
            r["actor"],
        )
    console.print(table)
