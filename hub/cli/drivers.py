"""``hub drivers``: the own fleet's drivers and how they sign in to the driver app.

A driver's token is printed once, when they are added; the hub keeps only its SHA-256.
``hub drivers link NAME`` prints a one-time sign-in link to send to the driver's phone.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, utc_minute
from hub.core import drivers
from hub.core.config import Settings

app = typer.Typer(help="Drivers of the own fleet and their sign-in.", no_args_is_help=True)
console = Console()

Name = Annotated[str, typer.Argument(help="The driver's name.")]


@app.command()
def add(
    name: Name,
    vehicle: Annotated[str, typer.Option(help="The vehicle they drive: a [fleet.NAME].")],
    phone: Annotated[str, typer.Option(help="Their phone number (for the office).")] = "",
    config: ConfigOption = None,
) -> None:
    """Add a driver and print their token once: the hub keeps only its hash."""
    with open_hub(config) as hub:
        token, info = hub.write(
            lambda c: drivers.create_driver(c, name, vehicle, phone, hub.settings)
        )
    typer.echo(token)
    typer.echo(
        f"driver {info.name!r} ({info.vehicle}) added; the token is shown only now "
        f"(or send a sign-in link: hub drivers link {info.name!r})",
        err=True,
    )


def base_url(settings: Settings) -> str:
    """Where phones reach the hub: ``[driver] public_url``, else the web section's."""
    if settings.driver.public_url:
        return settings.driver.public_url.rstrip("/")
    host = settings.web.host
    host = "localhost" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{settings.web.port}"


@app.command()
def link(name: Name, config: ConfigOption = None) -> None:
    """Print a one-time sign-in link for the driver's phone (valid [driver] link_hours)."""
    with open_hub(config) as hub:
        hours = hub.settings.driver.link_hours
        token, info, expires = hub.write(lambda c: drivers.create_link(c, name, hours))
        url = f"{base_url(hub.settings)}/driver/link/{token}"
    typer.echo(url)
    typer.echo(
        f"one-time sign-in link for {info.name!r}, valid until {utc_minute(expires)}", err=True
    )


@app.command()
def token(name: Name, config: ConfigOption = None) -> None:
    """Print a new token for a driver (a lost phone): the old one and its sessions stop."""
    with open_hub(config) as hub:
        new, info = hub.write(lambda c: drivers.new_token(c, name))
    typer.echo(new)
    typer.echo(f"new token for {info.name!r}; the old one no longer works", err=True)


@app.command("list")
def list_(config: ConfigOption = None) -> None:
    """Every driver: name, vehicle, phone, token prefix, added, disabled."""
    with open_hub(config) as hub:
        rows = hub.read(drivers.list_drivers)
    table = Table("name", "vehicle", "phone", "token", "added", "disabled")
    for d in rows:
        table.add_row(
            d.name,
            d.vehicle,
            d.phone,
            d.prefix + "…",
            utc_minute(d.created_at),
            "yes" if d.disabled else "",
        )
    console.print(table)


@app.command()
def disable(name: Name, config: ConfigOption = None) -> None:
    """Stop a driver signing in (token, links and open sessions) until enabled again."""
    with open_hub(config) as hub:
        info = hub.write(lambda c: drivers.set_disabled(c, name, True))
    typer.echo(f"driver {info.name!r} disabled")


@app.command()
def enable(name: Name, config: ConfigOption = None) -> None:
    """Let a disabled driver sign in again."""
    with open_hub(config) as hub:
        info = hub.write(lambda c: drivers.set_disabled(c, name, False))
    typer.echo(f"driver {info.name!r} enabled")
