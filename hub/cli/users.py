"""``hub users``: people who sign in to the order desk (create, list, disable).

A password is asked twice at the terminal, or read from standard input with
``--password-stdin`` (for scripts); the hub keeps only its argon2 hash.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, utc_minute
from hub.core import users
from hub.errors import InvalidInput

app = typer.Typer(help="People who sign in to the order desk.", no_args_is_help=True)
console = Console()

Username = Annotated[str, typer.Argument(help="The name they sign in with.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
        return users.check_password(text)
    first = typer.prompt("password", hide_input=True)
    users.check_password(first)
    again = typer.prompt("password again", hide_input=True)
    if first != again:
        raise InvalidInput("the two passwords differ", field="password")
    return str(first)


@app.command()
def create(
    username: Username,
    role: Annotated[
        str,
        typer.Option(help="admin (everything), sales (enter, release, cancel, import), viewer."),
    ],
    name: Annotated[str, typer.Option("--name", help="Their full name, as pages show it.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Add a person who may sign in to the order desk."""
    users.check_username(username)
    users.check_role(role)
    password = _password(password_stdin)
    with open_hub(config) as hub:
        info = hub.write(lambda c: users.create_user(c, username, password, role, name))
    typer.echo(f"user {info.username!r} ({info.role}) created")


@app.command("list")
def list_(config: ConfigOption = None) -> None:
    """Every user: name, role, created, last sign-in, disabled."""
    with open_hub(config) as hub:
        rows = hub.read(users.list_users)
    table = Table("username", "name", "role", "created", "last sign-in", "disabled")
    for u in rows:
        table.add_row(
            u.username,
            u.full_name,
            u.role,
            utc_minute(u.created_at),
            utc_minute(u.last_login_at),
            "yes" if u.disabled else "",
        )
    console.print(table)


@app.command()
def disable(username: Username, config: ConfigOption = None) -> None:
    """Stop a user signing in; their open sessions end at their next page."""
    with open_hub(config) as hub:
        info = hub.write(lambda c: users.disable_user(c, username))
    typer.echo(f"user {info.username!r} disabled")
