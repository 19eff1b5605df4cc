"""``hub oversells``: final sales the stock could not cover, and their resolution."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, utc_minute
from hub.core import oversells
from hub.core.desk.inputs import cli_actor

app = typer.Typer(
    help="Units a shop's till handed over beyond the stock, to investigate.",
    no_args_is_help=True,
)
console = Console()


@app.command("list")
def list_(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Show resolved ones too.")] = False,
) -> None:
    """Oversells waiting for a person (oldest first), or every one with --all."""
    with open_hub(config) as hub:
        rows = hub.read(lambda c: oversells.list_oversells(c, include_resolved=all_))
    if not rows:
        console.print("No oversells." if all_ else "No oversells to investigate.")
        return
    table = Table("id", "channel", "order", "sku", "location", "units", "sold", "resolved")
    for r in rows:
        table.add_row(
            str(r.id),
            r.channel,
            r.reference,
            r.sku,
            r.location,
            str(r.quantity),
            utc_minute(r.created_at),
            utc_minute(r.resolved_at),
        )
    console.print(table)


@app.command()
def resolve(
    oversell_id: Annotated[int, typer.Argument(help="The oversell's id (hub oversells list).")],
    note: Annotated[str, typer.Option(help="What was found (recorded in the order's history).")],
    config: ConfigOption = None,
) -> None:
    """Mark an oversell investigated; the note goes into its order's history."""
    with open_hub(config) as hub:
        view = hub.write(lambda c: oversells.resolve(c, oversell_id, note, cli_actor()))
    console.print(
        f"Oversell {view.id} resolved: {view.quantity} x {view.sku} at {view.location} "
        f"({view.channel} order {view.reference})."
    )
