"""The ``hub`` command: set up, inspect and operate the hub.

Every command takes ``--config PATH`` (default ``$HUB_CONFIG`` or ``config/hub.toml``).
A :class:`hub.errors.HubError` is printed as one line on stderr with exit code 1.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli import customers as customers_cli
from hub.cli import dbmove, orders, oversells, planning, plugin_new, stock, sync
from hub.cli import drivers as drivers_cli
from hub.cli import imports as _imports  # noqa: F401  (hub orders import, template)
from hub.cli import labels as labels_cli
from hub.cli import notifications as notifications_cli
from hub.cli import reports as reports_cli
from hub.cli import tokens as tokens_cli
from hub.cli import users as users_cli
from hub.cli.common import ConfigOption, one_line_errors, open_hub
from hub.core.config import config_path
from hub.core.starter import write_starter_config
from hub.errors import ConfigError, HubError

app = typer.Typer(
    help="Integration hub for multi-channel sales.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Upgrade the database schema; move to PostgreSQL.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(stock.app, name="stock")
app.add_typer(oversells.app, name="oversells")
app.add_typer(orders.app, name="orders")
app.add_typer(customers_cli.app, name="customers")
app.add_typer(sync.sync_app, name="sync")
app.add_typer(tokens_cli.app, name="tokens")
app.add_typer(users_cli.app, name="users")
app.add_typer(notifications_cli.app, name="notifications")
app.add_typer(drivers_cli.app, name="drivers")
app.add_typer(plugin_new.app, name="plugin")
app.add_typer(labels_cli.app, name="labels")
app.add_typer(reports_cli.app, name="report")
app.command()(sync.run)
app.command()(sync.status)
app.command()(sync.retry)

try:  # the routing commands live with the routing engine
    from hub.cli import route  # type: ignore[attr-defined]

    route_app = route.app
except ImportError:  # pragma: no cover - routing is part of the distribution
    route_app = typer.Typer(no_args_is_help=True)
route_app.command("plan")(planning.plan)
route_app.command("show")(planning.show)
route_app.command("dispatch")(planning.dispatch_routes)
route_app.command("sheets")(labels_cli.sheets)
app.add_typer(route_app, name="route", help="Plan delivery routes.")

console = Console()


@app.command()
def init(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config and create the database."""
    path = config_path(config)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give --config a file name such as hub.toml")
    above = next((p for p in path.parents if p.exists()), Path("."))
    if not above.is_dir():
        raise ConfigError(f"cannot write {path}: {above} is a file, not a folder")
    if path.exists() and not force:
        console.print(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        try:
            write_starter_config(path)
        except OSError as error:
            raise ConfigError(f"cannot write {path}: {error.strerror}") from None
        console.print(f"wrote {path}")
    with open_hub(path, check_schema=False) as hub:
        hub.upgrade()
        console.print(f"database ready: {hub.engine.url.render_as_string()}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Migrate the database to the latest schema."""
    with open_hub(config, check_schema=False) as hub:
        hub.upgrade()
        console.print("database is at the latest revision")


db_app.command("move")(dbmove.move)


@app.command()
def plugins(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Also list plugins with no hooks.")] = False,
) -> None:
    """List loaded plugins: name, version, hooks, what they provide and where from; then
    the installed plugins that failed (not loaded) with their package, version and cause.

    A failed plugin does not stop the hub, nor this command (exit code 0). ``--json``
    prints one object per plugin, ``"status": "loaded"`` or ``"failed"`` (with
    ``"cause"``).
    """
    from hub.core.plugins import PluginHost

    host = PluginHost.load(log_problems=False)  # listed below instead
    rows = [{**r, "status": "loaded"} for r in host.describe() if all_ or r["hooks"]]
    failed = [
        {
            "name": p.plugin,
            "version": p.version,
            "package": p.package,
            "status": "failed",
            "cause": p.cause,
        }
        for p in host.problems
    ]
    if as_json:
        typer.echo(json.dumps(rows + failed, indent=2))
        return
    table = Table("plugin", "version", "provides", "hooks", "from")
    for r in rows:
        table.add_row(
            r["name"],
            r["version"],
            ", ".join(r["provides"]),
            ", ".join(r["hooks"]),
            f"{r['package']} ({r['module']})",
        )
    console.print(table)
    if host.problems:  # plain lines: a cause is never cut short nor read as markup
        typer.echo(f"failed ({len(host.problems)}, not loaded):")
        for problem in host.problems:
            typer.echo(f"  {problem}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning hub errors, and a database, file or port the
    system refuses, into one line and exit code 1."""
    try:
        with one_line_errors():
            app(args=argv)
    except HubError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)


__all__ = ["app", "main"]


def _check_demo_folder(folder: Path) -> None:
    """Refuse a --folder the demo cannot make its files in, before it starts."""
    if folder.exists() and not folder.is_dir():
        raise HubError(f"--folder {folder} is a file; give a folder for the demo hub")
    existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("."))
    if not existing.is_dir():
        raise HubError(f"--folder {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise HubError(f"--folder {folder}: cannot write in {existing}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Where the demo hub lives.")] = Path(".demo"),
    duration: Annotated[float, typer.Option(help="Seconds the shoppers shop.", min=1)] = 60.0,
    tour: Annotated[bool, typer.Option(help="Only the scripted ledger tour.")] = False,
    last_mile_only: Annotated[
        bool, typer.Option("--last-mile-only", help="Only the last mile (about 30 s).")
    ] = False,
) -> None:
    """The whole hub on embedded SQLite with sandbox stores: no accounts, no network.

    The ledger tour, the stores kept in step while shoppers shop, then the last mile:
    routes, labels, drivers delivering through the driver app, customers told, figures."""
    from hub.core.lastmiledemo import run_last_mile_demo
    from hub.core.livedemo import run_live_demo
    from hub.core.tour import run_tour

    _check_demo_folder(folder)
    if not math.isfinite(duration):
        raise HubError(f"--duration must be a number of seconds, got {duration}")
    if tour and last_mile_only:
        raise HubError("give --tour or --last-mile-only, not both")

    ok = True
    if not last_mile_only:
        ok = run_tour(folder / "tour", console)
        if not ok:  # the ledger itself is wrong: nothing after it would mean much
            raise typer.Exit(1)
        if not tour:
            ok = run_live_demo(folder / "live", duration, console)
    if not tour:  # the last mile has its own hub: it runs whatever the stores showed
        ok = run_last_mile_demo(folder / "lastmile", console).ok and ok
    if not ok:
        raise typer.Exit(1)
