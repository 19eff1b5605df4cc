"""``hub tokens``: REST API tokens (create, list, revoke).

A token is printed once, when it is created; the hub keeps only its SHA-256 hash.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, utc_minute
from hub.core import tokens

app = typer.Typer(help="REST API tokens.", no_args_is_help=True)
console = Console()

Name = Annotated[str, typer.Argument(help="The token's name (who or what uses it).")]


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return ""


@app.command()
def create(
    name: Name,
    role: Annotated[
        str, typer.Option(help="admin (everything), sales (orders, stock) or viewer (read).")
    ] = "viewer",
    config: ConfigOption = None,
) -> None:
    """Create a token and print it once: store it now, the hub keeps only its hash."""
    tokens.check_role(role)
    tokens.check_name(name)
    with open_hub(config) as hub:
        token, info = hub.write(lambda c: tokens.create_token(c, name, role, _who()))
    typer.echo(token)
    typer.echo(f"token {info.name!r} ({info.role}) created; it is shown only now", err=True)


@app.command("list")
def list_(config: ConfigOption = None) -> None:
    """Every token: name, role, prefix, created, last used, revoked."""
    with open_hub(config) as hub:
        rows = hub.read(tokens.list_tokens)
    table = Table("name", "role", "prefix", "created", "last used", "revoked")
    for t in rows:
        table.add_row(
            t.name,
            t.role,
            t.prefix + "…",
            utc_minute(t.created_at),
            utc_minute(t.last_used_at),
            utc_minute(t.revoked_at),
        )
    console.print(table)


@app.command()
def revoke(name: Name, config: ConfigOption = None) -> None:
    """Revoke a token: requests bearing it are refused (401) from now on."""
    with open_hub(config) as hub:
        info = hub.write(lambda c: tokens.revoke_token(c, name))
    typer.echo(f"token {info.name!r} revoked at {utc_minute(info.revoked_at)}")
