"""Configuration: ``hub.toml`` read with tomllib, ``${ENV}`` substituted, validated by pydantic.

Every mistake is reported in one :class:`ConfigError` naming the file, the key and what
was expected. Channel, carrier and notifier sections are validated by the ``Config``
model of the plugin type they name, so plugins own their settings.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.errors import ConfigError

DEFAULT_PATH = Path("config/hub.toml")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HubSection(_Strict):
    name: str = "hub"
    currency: str = "USD"


class DatabaseSection(_Strict):
    url: str = "sqlite:///hub.db"
    echo: bool = False


class LocationSection(_Strict):
    name: str = ""
    kind: Literal["warehouse", "store"] = "warehouse"
    address: str = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class WebSection(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class RoutingSection(_Strict):
    router: str = "auto"
    time_limit: float = Field(default=30.0, gt=0)
    timezone: str = "UTC"  # the merchant's calendar: which day a delivery belongs to
    service_minutes: float = Field(default=5.0, ge=0)  # time at each stop
    channels: list[str] = []  # channels whose orders the own fleet delivers (empty: all)
    # cost of leaving one stop unplanned; None: the router's own, twice the cost of serving
    # the dearest stop on a route of its own (a stop is only left out when it cannot fit)
    drop_penalty: float | None = Field(default=None, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from None
        return value


class FleetVehicle(_Strict):
    """One driver and vehicle of the own fleet."""

    depot: str  # location code the vehicle starts from
    end_depot: str | None = None
    shift_start: time = time(8, 0)
    shift_end: time = time(17, 0)
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4])  # Monday = 0
    break_earliest: time | None = None
    break_latest: time | None = None
    break_minutes: float = Field(default=0, ge=0)
    max_weight_kg: float | None = Field(default=None, gt=0)
    max_volume_m3: float | None = Field(default=None, gt=0)
    cost_per_km: float = Field(default=0.5, ge=0)
    cost_per_hour: float = Field(default=20.0, ge=0)
    skills: list[str] = []
    speed_kmh: float = Field(default=30.0, gt=0)


class Settings(_Strict):
    """The validated configuration. ``path`` is the file it came from."""

    hub: HubSection = HubSection()
    database: DatabaseSection = DatabaseSection()
    web: WebSection = WebSection()
    routing: RoutingSection = RoutingSection()
    locations: dict[str, LocationSection] = {}
    fleet: dict[str, FleetVehicle] = {}
    channels: dict[str, dict[str, Any]] = {}
    carriers: dict[str, dict[str, Any]] = {}
    notifiers: dict[str, dict[str, Any]] = {}
    path: Path = Path("<memory>")


def config_path(path: str | Path | None = None) -> Path:
    """The config file to use: ``path``, else ``$HUB_CONFIG``, else ``config/hub.toml``."""
    return Path(path or os.environ.get("HUB_CONFIG") or DEFAULT_PATH)


def load_settings(path: str | Path | None = None) -> Settings:
    """Read, substitute and validate the configuration file."""
    file = config_path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such configuration file; create one with `hub init`"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    return parse_settings(raw, file)


def parse_settings(raw: dict[str, Any], file: Path = Path("<memory>")) -> Settings:
    """Validate an already-parsed configuration mapping (used by tests and the demo)."""
    data = substitute_env(raw, file, ())
    try:
        settings = Settings.model_validate({**data, "path": file})
    except ValidationError as error:
        raise ConfigError(describe_validation_error(file, error)) from None
    _resolve_sqlite_path(settings)
    return settings


def substitute_env(value: Any, file: Path, where: tuple[str, ...]) -> Any:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) in every string with its value."""
    if isinstance(value, dict):
        return {k: substitute_env(v, file, (*where, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, file, (*where, str(i))) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{file}: {'.'.join(where)}: environment variable {name} is not set")

    return _ENV_REF.sub(replace, value)


def describe_validation_error(file: Path, error: ValidationError, prefix: str = "") -> str:
    """Turn a pydantic error into one line: file, key, what was expected."""
    parts = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        key = f"{prefix}.{key}" if prefix and key else (prefix or key)
        if item["type"] == "extra_forbidden":
            parts.append(f"{key}: unknown key")
        elif item["type"] == "missing":
            parts.append(f"{key}: required key is missing")
        else:
            parts.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return f"{file}: " + "; ".join(parts)


def _resolve_sqlite_path(settings: Settings) -> None:
    """A relative SQLite path is taken relative to the folder of the config file."""
    url = settings.database.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        settings.database.url = prefix + str((settings.path.parent / url[len(prefix) :]).resolve())


def validate_plugin_sections(settings: Settings, kinds: dict[str, dict[str, Any]]) -> dict:
    """Validate channel/carrier/notifier sections with the Config model of their plugin type.

    ``kinds`` maps a section name ("channels") to the registry of types for it.
    Returns ``{section: {name: validated config}}``.
    """
    validated: dict[str, dict[str, BaseModel]] = {}
    for section, types in kinds.items():
        validated[section] = {}
        for name, raw in getattr(settings, section).items():
            key = f"{section}.{name}"
            type_name = raw.get("type")
            if type_name not in types:
                known = ", ".join(sorted(types)) or "none installed"
                raise ConfigError(
                    f"{settings.path}: {key}.type: unknown type {type_name!r} "
                    f"(expected one of: {known})"
                )
            try:
                validated[section][name] = types[type_name].Config.model_validate(raw)
            except ValidationError as error:
                raise ConfigError(describe_validation_error(settings.path, error, key)) from None
    return validated
