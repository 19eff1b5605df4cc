"""What every ``hub`` command shares: the ``--config`` option and opening the hub."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hub.core.runtime import Hub
from hub.errors import InvalidInput

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


def required_text(value: str, option: str) -> str:
    """``value`` stripped; :class:`InvalidInput` naming ``option`` when it is blank."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{option} must not be empty", field=option.lstrip("-"))
    return text


def parse_day(text: str, option: str = "--date") -> date:
    """A ``YYYY-MM-DD`` date; :class:`InvalidInput` naming ``option`` otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not a date like 2026-12-01", field=option.lstrip("-")
        ) from None


def writable_file(path: Path | None, option: str) -> Path | None:
    """``path`` when a file can be written there (checked before any work is done);
    :class:`InvalidInput` naming ``option`` when its folder is missing or it is a folder."""
    if path is None:
        return None
    if path.is_dir():
        raise InvalidInput(
            f"{option} {path} is a folder; give a file name", field=option.lstrip("-")
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput(
            f"{option} {path}: folder {folder} does not exist", field=option.lstrip("-")
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidInput(f"{option} {path}: not writable", field=option.lstrip("-"))
    return path
