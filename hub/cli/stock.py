"""``hub stock``: levels, receipts, adjustments, transfers, counts and the journal check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub
from hub.core import ledger
from hub.core.counts import apply_counts, read_counts

app = typer.Typer(help="The unified stock ledger.", no_args_is_help=True)
console = Console()

Sku = Annotated[str, typer.Argument(help="The SKU.")]
Quantity = Annotated[int, typer.Argument(help="Units.")]
LocationOpt = Annotated[str, typer.Option("--location", "-l", help="Location code.")]
Actor = Annotated[str, typer.Option(help="Who did it, for the journal.")]


@app.command()
def levels(
    config: ConfigOption = None,
    sku: Annotated[str | None, typer.Option(help="Only this SKU.")] = None,
    channel: Annotated[str | None, typer.Option(help="Add this channel's ATP.")] = None,
) -> None:
    """On hand, reserved and free per SKU and location."""
    with open_hub(config) as hub:
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
    with open_hub(config) as hub:
        changes = hub.write(
            lambda c: ledger.receive(c, sku, location, quantity, reason=reason, actor=actor)
        )
    _print_changes(changes)


@app.command(context_settings={"ignore_unknown_options": True})
def adjust(
    sku: Sku,
    delta: Annotated[int, typer.Argument(help="Units to add (negative: remove).")],
    reason: Annotated[str, typer.Option(help="Why (damaged, found, ...). Required.")],
    location: LocationOpt = "main",
    config: ConfigOption = None,
    actor: Actor = "cli",
) -> None:
    """Correct on hand up or down, with a reason."""
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
    """Set on hand from a stock count; every row is checked before anything is written."""
    rows = read_counts(path)
    with open_hub(config) as hub, Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {len(rows)} counts", total=len(rows))
        changes = hub.write(
            lambda c: apply_counts(
                c, rows, actor=actor, progress=lambda n: progress.advance(task, n)
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


def _print_changes(changes: list) -> None:
    for c in changes:
        console.print(
            f"{c.kind:<11} {c.sku} @ {c.location}: {c.quantity:+d} → on hand "
            f"{c.on_hand}, reserved {c.reserved}"
        )
