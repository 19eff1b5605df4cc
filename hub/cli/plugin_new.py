"""``hub plugin new NAME``: start a channel plugin as a package of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.scaffold import files, new_plugin

app = typer.Typer(help="Write plugins.", no_args_is_help=True)


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="The channel type, e.g. 'acme' (a-z, 0-9, _).")],
    directory: Annotated[
        Path, typer.Option("--dir", help="The folder to write hub-NAME/ into.")
    ] = Path("."),
) -> None:
    """Write hub-NAME/: an installable channel plugin (adapter, sandbox, tests, README)
    that passes its own tests and that `hub plugins` lists once installed."""
    target = new_plugin(name, directory)
    typer.echo(f"wrote {target}/ ({len(files(name))} files)")
    typer.echo(f"next: pip install -e '{target}[test]' && cd {target} && python -m pytest")
