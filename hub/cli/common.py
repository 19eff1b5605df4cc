"""What every ``hub`` command shares: the ``--config`` option and opening the hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.core.runtime import Hub

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $HUB_CONFIG or config/hub.toml).",
        show_default=False,
    ),
]


def open_hub(config: Path | str | None, *, check_schema: bool = True) -> Hub:
    """Open the hub for a command; refuses an outdated database unless told not to check."""
    hub = Hub.open(config)
    if check_schema:
        try:
            hub.require_schema()
            hub.sync_locations()  # the config is the source of truth for locations
        except Exception:
            hub.close()
            raise
    return hub
