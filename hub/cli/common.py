"""What every ``hub`` command shares: the ``--config`` option, opening the hub, and
turning what the outside world refuses (database, files, ports) into one-line errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from hub.core.db import describe_failure, refuses_writes
from hub.core.runtime import Hub
from hub.core.secrets import redact, secret_values
from hub.errors import DatabaseUnavailable, HubError, InvalidInput

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $HUB_CONFIG or config/hub.toml).",
        show_default=False,
    ),
]


#: The database the running command opened: what a database error is about. Both lists
#: are emptied when a command starts (:func:`one_line_errors`).
_opened: list[URL] = []
#: Its configured secrets: an error line shows none of them, whatever a plugin wrote.
_secrets: list[str] = []


def open_hub(config: Path | str | None, *, check_schema: bool = True) -> Hub:
    """Open the hub for a command; refuses an outdated database unless told not to check."""
    hub = Hub.open(config)
    _opened.append(hub.engine.url)
    _secrets[:0] = secret_values([*hub.channel_configs.values(), *hub.notifier_configs.values()])
    if check_schema:
        try:
            hub.require_schema()
            _sync_locations(hub)
        except Exception:
            hub.close()
            raise
    return hub


def _sync_locations(hub: Hub) -> None:
    """The config is the source of truth for locations; a read-only database (or a role
    that may only read) still answers reading commands; a command that writes says why
    it cannot."""
    try:
        hub.sync_locations()
    except DBAPIError as error:
        if not refuses_writes(error):
            raise


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


def utc_minute(value: datetime | None) -> str:
    """``2026-11-30 14:05 UTC`` (``—`` for None): a stored time as a listing shows it. An
    aware time is converted (PostgreSQL hands them back in its session's zone)."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def writable_file(path: Path | None, option: str) -> Path | None:
    """``path`` when a file can be written there (checked before any work is done);
    :class:`InvalidInput` naming ``option`` when its folder is missing or it is a folder."""
    if path is None:
        return None
    field = option.lstrip("-")
    if path.is_dir():
        raise InvalidInput(f"{option} {path} is a folder; give a file name", field=field)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput(f"{option} {path}: folder {folder} does not exist", field=field)
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidInput(f"{option} {path}: not writable", field=field)
    return path


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn a database that cannot be reached, opened or written, and a file or port the
    system refuses, into a :class:`HubError` saying what and where (the CLI prints it as
    one line and exits 1). Other errors, bugs, keep their traceback."""
    _opened.clear()  # what the previous command opened (tests run many in one process)
    _secrets.clear()
    try:
        yield
    except HubError as error:
        masked = redact(str(error), _secrets)
        if masked == str(error):
            raise
        raise HubError(masked, field=error.field) from None
    except DBAPIError as error:
        line = describe_failure(error, _opened[-1]) if _opened else None
        if line is None:
            raise
        raise DatabaseUnavailable(line) from None
    except OSError as error:
        raise HubError(describe_os_error(error)) from None


def describe_os_error(error: OSError) -> str:
    """``permission denied: /srv/hub/counts.csv``: the system's reason and what it is about."""
    code = error.errno if error.errno is not None and error.errno > 0 else None
    reason = (os.strerror(code) if code is not None else error.strerror or str(error)).lower()
    names = [str(n) for n in (error.filename, error.filename2) if n]
    return f"{reason}: {' -> '.join(names)}" if names else f"{reason} ({error})"
