"""``hub orders import FILE`` and ``hub orders template``: B2B orders from spreadsheets
(:mod:`hub.core.importer`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.cli.common import ConfigOption, open_hub, writable_file
from hub.cli.orders import app
from hub.core import importer
from hub.errors import InvalidInput

ERRORS_SHOWN = 50  # bad rows printed; the rest summed up as "… and N more"


def import_(
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file.", show_default=False)],
    channel: Annotated[str, typer.Option(help="A manual channel (default: the first).")] = "",
    check: Annotated[
        bool, typer.Option("--check", help="Check the file and count its orders; import nothing.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Import B2B orders from a CSV or XLSX file (see `hub orders template`).

    One row per order line; rows with the same order_ref are one order. A file with any
    bad row imports nothing: every bad row is printed with its row number, column and
    reason. A good file imports in one transaction; importing it again creates nothing.
    """
    with open_hub(config) as hub:
        quiet = not sys.stderr.isatty()
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=Console(stderr=True), disable=quiet) as bar:
            tasks: dict[str, object] = {}

            def progress(stage: str, done: int, total: int) -> None:
                task = tasks.get(stage)
                if task is None:
                    task = tasks[stage] = bar.add_task(stage, total=total or None)
                bar.update(task, completed=done, total=total or None)  # type: ignore[arg-type]

            try:
                report = importer.import_file(
                    hub, file, channel=channel, progress=progress, dry_run=check
                )
            except importer.ImportRejected as rejected:
                bar.stop()
                for line in rejected.lines(ERRORS_SHOWN):
                    typer.echo(line, err=True)
                rows = rejected.bad_rows
                typer.echo(
                    f"error: {rejected.filename}: {rows} bad row{'s' if rows != 1 else ''}; "
                    "nothing imported",
                    err=True,
                )
                raise typer.Exit(1) from None
    typer.echo(report.summary())


def template(
    xlsx: Annotated[bool, typer.Option("--xlsx", help="An XLSX workbook instead of CSV.")] = False,
    output: Annotated[
        Path | None,
        typer.Option(help="Write here (default: order-template.csv / .xlsx)."),
    ] = None,
) -> None:
    """Write an import template: the header row and one example row.

    The XLSX template explains each column (header comments and a "Columns" sheet) and formats SKU,
    postcode, account and phone as Text so leading zeros are kept."""
    path = writable_file(output, "--output") or Path(
        "order-template.xlsx" if xlsx else "order-template.csv"
    )
    suffix = path.suffix.lower()
    wanted = ".xlsx" if xlsx else ".csv"
    if suffix != wanted:
        hint = "" if xlsx else " (add --xlsx for a workbook)"
        raise InvalidInput(f"--output {path}: give a {wanted} file name{hint}", field="output")
    data = importer.template_xlsx() if xlsx else importer.template_csv().encode()
    try:
        path.write_bytes(data)
    except OSError as error:
        raise InvalidInput(
            f"cannot write {path}: {error.strerror or type(error).__name__}", field="output"
        ) from None
    typer.echo(f"wrote {path}")


app.command("import")(import_)
app.command("template")(template)
