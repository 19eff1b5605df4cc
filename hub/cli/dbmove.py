"""``hub db move``: the hub's SQLite database copied into an empty PostgreSQL one."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption
from hub.core import dbmove
from hub.core.config import load_settings

console = Console()


def move(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The empty PostgreSQL database: postgresql://user@host:5432/database.",
            show_default=False,
        ),
    ],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The SQLite database to copy (default: the configured database.url).",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Rows read and written at a time.")
    ] = dbmove.BATCH_SIZE,
    config: ConfigOption = None,
) -> None:
    """Copy the hub's SQLite database into an empty PostgreSQL database, in one
    transaction, and verify it: every table's rows and every stock balance.

    Stop every hub run first. On any failure nothing stays written to the target; the
    source is only read. Then point database.url at the target.
    """
    source = from_ if from_ is not None else load_settings(config).database.url
    report = dbmove.move(source, to, batch_size=batch_size)
    console.print(f"copied {report.source} -> {report.target}")
    table = Table("table", "rows")
    for copy in report.tables:
        table.add_row(copy.name, f"{copy.rows:,}")
    table.add_row("[bold]all tables[/bold]", f"[bold]{report.rows:,}[/bold]")
    console.print(table)
    console.print(
        f"moved {report.rows:,} rows in {len(report.tables)} tables at revision "
        f"{report.revision} in {report.seconds:.1f} s; row counts equal, "
        f"{report.balances:,} balances equal the journal"
    )
    console.print(
        f"next: set database.url to the PostgreSQL database ({report.target}) in the "
        "config, then `hub status` and `hub run`"
    )
