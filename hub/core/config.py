"""Configuration: ``hub.toml`` read with tomllib, ``${ENV}`` substituted, validated by pydantic.

Every mistake is reported in one :class:`ConfigError` naming the file, the key and what
was expected. Channel, carrier and notifier sections are validated by the ``Config``
model of the plugin type they name, so plugins own their settings; references between
sections (a channel's locations, a vehicle's depot, routing channels, the router) are
checked once all are read. A message quotes the value it refuses only when that value is
plain and not a credential, and never a whole section: secrets never reach a message.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Iterable, Sequence
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from hub.errors import ConfigError

DEFAULT_PATH = Path("config/hub.toml")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: Channel and location codes: they appear in URLs (/webhooks/<channel>), order references
#: (<channel>:<id>) and command lines, so letters, digits, "_", "-" and "." only.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: Key parts that mark a setting as a credential: such fields are typed SecretStr.
SECRET_WORDS = ("secret", "token", "password", "key")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^@/\s]+@")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _no_duplicates(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


#: A list of names in which each may appear once.
UniqueNames = Annotated[list[Name], AfterValidator(_no_duplicates)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from None
    return value


class HubSection(_Strict):
    name: Name = "hub"
    currency: str = "USD"
    # The merchant's time zone (IANA): dates and delivery windows people type or import
    # are read in it, and pages show times in it.
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"
    # How a date such as 02/04/2024 is read: "day_first" (2 April), "month_first"
    # (4 February), or "" (unset: such an ambiguous date is refused; ISO 2024-04-02 is
    # always understood).
    date_order: Literal["", "day_first", "month_first"] = ""

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("currency is a three-letter ISO 4217 code such as EUR or USD")
        return value


class DatabaseSection(_Strict):
    url: str = "sqlite:///hub.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                f"unsupported database {value.split(':', 1)[0]!r} "
                "(expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB)"
            )
        if value.startswith("postgresql"):
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                url = make_url(value)
            except (ArgumentError, ValueError):  # "host:x": a port that is not a number
                raise ValueError(
                    "not a database URL (expected postgresql+psycopg://USER@HOST:PORT/DB)"
                ) from None
            if url.port is not None and not 0 < url.port < 65536:
                raise ValueError(f"port {url.port} is not a number from 1 to 65535")
            if not url.database:
                raise ValueError("names no database (…@HOST:PORT/DB)")
        return value


class LocationSection(_Strict):
    name: str = ""
    # a quarantine location holds stock no channel sells (damaged returns)
    kind: Literal["warehouse", "store", "quarantine"] = "warehouse"
    address: str = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> LocationSection:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class WebSection(_Strict):
    host: Name = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    # A new API order with the PO number of another order of the same customer: "warn"
    # (a warning in the answer) or "refuse" (409 naming the other order).
    duplicate_po: Literal["warn", "refuse"] = "warn"
    # Signs and encrypts the order desk's session cookie. Unset: one is made once and
    # kept beside the database (SQLite) or the config file, so sessions survive restarts.
    secret_key: SecretStr | None = None
    # The dashboard lists SKUs whose available-to-promise is below this many units.
    low_stock: int = Field(default=5, ge=0, le=1_000_000)


class RoutingSection(_Strict):
    router: Name = "auto"
    time_limit: float = Field(default=30.0, gt=0)
    # the calendar which day a delivery belongs to; unset: the hub's own timezone
    timezone: str = ""
    service_minutes: float = Field(default=5.0, ge=0, lt=24 * 60)  # time at each stop
    channels: UniqueNames = []  # channels whose orders the own fleet delivers (empty: all)
    # cost of leaving one stop unplanned; None: the router's own, twice the cost of serving
    # the dearest stop on a route of its own (a stop is only left out when it cannot fit)
    drop_penalty: float | None = Field(default=None, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return value and _zone(value)


class FleetVehicle(_Strict):
    """One driver and vehicle of the own fleet."""

    depot: Name  # location code the vehicle starts from
    end_depot: Name | None = None
    shift_start: time = time(8, 0)
    shift_end: time = time(17, 0)
    # Monday = 0 ... Sunday = 6
    weekdays: Annotated[list[Annotated[int, Field(ge=0, le=6)]], AfterValidator(_no_duplicates)] = (
        Field(default=[0, 1, 2, 3, 4], min_length=1)
    )
    break_earliest: time | None = None
    break_latest: time | None = None
    break_minutes: float = Field(default=0, ge=0)
    max_weight_kg: float | None = Field(default=None, gt=0)
    max_volume_m3: float | None = Field(default=None, gt=0)
    cost_per_km: float = Field(default=0.5, ge=0)
    cost_per_hour: float = Field(default=20.0, ge=0)
    skills: UniqueNames = []
    speed_kmh: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _windows_in_order(self) -> FleetVehicle:
        if self.shift_end <= self.shift_start:
            raise ValueError(
                f"shift_end {self.shift_end:%H:%M} is not after shift_start "
                f"{self.shift_start:%H:%M}"
            )
        window = (self.break_earliest, self.break_latest)
        if (window[0] is None) != (window[1] is None):
            raise ValueError("give both break_earliest and break_latest, or neither")
        if window[0] is not None and window[1] is not None:
            if window[1] < window[0]:
                raise ValueError(
                    f"break_latest {window[1]:%H:%M} is before break_earliest {window[0]:%H:%M}"
                )
            if window[0] < self.shift_start or window[1] > self.shift_end:
                raise ValueError(
                    f"the break window {window[0]:%H:%M}-{window[1]:%H:%M} is outside the "
                    f"shift {self.shift_start:%H:%M}-{self.shift_end:%H:%M}"
                )
            if not self.break_minutes:
                raise ValueError("a break window needs break_minutes")
        elif self.break_minutes:
            raise ValueError("break_minutes needs break_earliest and break_latest")
        return self


class DriverSection(_Strict):
    """The driver app (``/driver``): proof-of-delivery files, pings, sign-in links."""

    # Where signatures and photos are kept; unset: ``driver-media`` beside the database
    # (SQLite) or the config file.
    media_dir: Path | None = None
    photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    ping_seconds: int = Field(default=30, ge=5, le=3600)  # how often phones send positions
    link_hours: float = Field(default=24.0, gt=0, le=24 * 14)  # a sign-in link's lifetime
    # the address drivers' phones reach the hub at, for sign-in links; unset: the web
    # section's host and port over http
    public_url: str = ""


def _language(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?", value):
        raise ValueError(f"{value!r} is not a language tag such as en, de or pt-BR")
    return value


Language = Annotated[str, AfterValidator(_language)]


class NotificationsSection(_Strict):
    """Customer notifications (:mod:`hub.core.notify`): which events, in which language,
    when not to write, where the merchant's own templates are."""

    enabled: bool = True
    # Events customers are told of: confirmed, dispatched, next_stop, delivered, failed.
    events: UniqueNames = ["confirmed", "dispatched", "next_stop", "delivered", "failed"]
    # Languages with templates; a customer's is picked from ship_country by
    # country_languages, else default_language.
    default_language: Language = "en"
    country_languages: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], Language] = {
        "DE": "de",
        "AT": "de",
        "CH": "de",
        "LI": "de",
    }
    # The customers' time zone (IANA); unset: the routing (else the hub's) time zone.
    timezone: str = ""
    # Quiet hours in the customers' time zone: messages due then wait until quiet_end; a
    # next-stop message is dropped (suppressed) instead. Equal times: no quiet hours.
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    # A folder of the merchant's own templates (LANG/EVENT.KIND.txt, optionally
    # under a channel's name first); unset: the templates shipped with the hub.
    templates: Path | None = None
    # The address customers and the SMS service reach the hub at, for tracking links and
    # status callbacks; unset: the web section's host and port over http.
    public_url: str = ""
    # Half the width of the ETA window told to customers, around the planned arrival.
    eta_margin_minutes: int = Field(default=30, ge=5, le=240)
    # How to rebook a failed delivery, per language, quoted in the "failed" message.
    rebook: dict[Language, str] = {
        "en": "Reply to this message or call us to choose a new day.",
        "de": "Antworten Sie auf diese Nachricht oder rufen Sie uns an.",
    }
    max_attempts: int = Field(default=5, ge=1, le=50)  # tries before a message fails

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return value and _zone(value)

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("public_url is an http:// or https:// address")
        return value.rstrip("/")


class Settings(_Strict):
    """The validated configuration. ``path`` is the file it came from."""

    hub: HubSection = HubSection()
    database: DatabaseSection = DatabaseSection()
    web: WebSection = WebSection()
    routing: RoutingSection = RoutingSection()
    driver: DriverSection = DriverSection()
    notifications: NotificationsSection = NotificationsSection()
    locations: dict[Annotated[str, Field(pattern=CODE_PATTERN)], LocationSection] = {}
    fleet: dict[Name, FleetVehicle] = {}
    channels: dict[Annotated[str, Field(pattern=CODE_PATTERN)], dict[str, Any]] = {}
    carriers: dict[Name, dict[str, Any]] = {}
    notifiers: dict[Name, dict[str, Any]] = {}
    path: Path = Path("<memory>")

    @model_validator(mode="after")
    def _routing_zone(self) -> Settings:
        if not self.routing.timezone:
            self.routing.timezone = self.hub.timezone
        return self


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
    problems = _fleet_references(settings) + _routing_references(settings)
    if problems:
        raise ConfigError(f"{file}: " + "; ".join(problems))
    _resolve_sqlite_path(settings)
    return settings


def config_key(parts: Iterable[str | int]) -> str:
    """``channels.web.locations[1]`` for ("channels", "web", "locations", 1)."""
    key = ""
    for part in parts:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key


def substitute_env(value: Any, file: Path, where: tuple[str | int, ...]) -> Any:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) in every string with its value.

    A ``${`` that does not start a complete reference (``"${TOKEN"``) is an error rather
    than text taken literally: it is nearly always a secret meant to come from the
    environment.
    """
    if isinstance(value, dict):
        return {k: substitute_env(v, file, (*where, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, file, (*where, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    if "${" in _ENV_REF.sub("", value):
        raise ConfigError(
            f"{file}: {config_key(where)}: unterminated or malformed ${{...}} reference; "
            "write ${NAME} or ${NAME:-default}"
        )

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{file}: {config_key(where)}: environment variable {name} is not set")

    return _ENV_REF.sub(replace, value)


def looks_secret(key: str) -> bool:
    """True for a setting named like a credential (``webhook_secret``, ``api_key``...)."""
    return any(word in part for part in key.lower().split("_") for word in SECRET_WORDS)


def hide_url_password(text: str) -> str:
    """``postgresql://hub:***@db/hub`` for ``postgresql://hub:s3cret@db/hub``."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def describe_validation_error(file: Path, error: ValidationError, prefix: str = "") -> str:
    """Turn a pydantic error into one line: file, key, what was expected.

    The offending value is quoted only when it is a plain value of a setting that is not a
    credential (and a URL's password is masked): a whole section, which would carry its
    secrets, is never quoted.
    """
    parts = []
    for item in error.errors(include_url=False):
        loc = [p for p in item["loc"] if p != "[key]"]
        is_key = "[key]" in item["loc"]
        key = config_key([prefix, *loc] if prefix else loc)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            parts.append(f"{key}: unknown key")
        elif item["type"] == "missing":
            parts.append(f"{key}: required key is missing")
        elif is_key:
            parts.append(f"{key}: not a usable name; use letters, digits, '_', '-' and '.'")
        elif item["type"] in ("string_too_short", "too_short") and _at_least_one(item):
            parts.append(f"{key}: must not be empty")
        elif _quotable(item, loc):
            parts.append(f"{key}: {message} (got {_quoted(item['input'])})")
        else:
            parts.append(f"{key}: {message}")
    return f"{file}: " + "; ".join(parts)


def _at_least_one(item: Any) -> bool:
    return (item.get("ctx") or {}).get("min_length") == 1


def _quotable(item: Any, loc: Sequence[str | int]) -> bool:
    value = item.get("input")
    if isinstance(value, dict | list | tuple | set | SecretStr) or not loc:
        return False
    return not any(isinstance(p, str) and looks_secret(p) for p in loc)


def _quoted(value: Any) -> str:
    return hide_url_password(repr(value))


def _fleet_references(settings: Settings) -> list[str]:
    """Depots that are not configured locations, or have no coordinates to start from."""
    problems = []
    for name, vehicle in settings.fleet.items():
        for field in ("depot", "end_depot"):
            code = getattr(vehicle, field)
            if code is None:
                continue
            if code not in settings.locations:
                problems.append(
                    f"fleet.{name}.{field}: unknown location {code!r}; "
                    f"known: {_known(settings.locations)}"
                )
            elif settings.locations[code].latitude is None:
                problems.append(
                    f"fleet.{name}.{field}: location {code!r} has no latitude and "
                    f"longitude; add them under [locations.{code}]"
                )
    return problems


def _routing_references(settings: Settings) -> list[str]:
    """Routing channels that are not configured channels."""
    return [
        f"routing.channels[{i}]: unknown channel {name!r}; known: {_known(settings.channels)}"
        for i, name in enumerate(settings.routing.channels)
        if name not in settings.channels
    ]


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none configured"


def _resolve_sqlite_path(settings: Settings) -> None:
    """A relative SQLite path is taken relative to the folder of the config file (in the
    URI form, ``sqlite:///file:PATH?mode=ro&uri=true``, too)."""
    url = settings.database.url
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return
    rest, uri = url[len(prefix) :], ""
    if rest.startswith("file:"):  # the URI form: sqlite:///file:PATH?mode=ro&uri=true
        rest, uri = rest[len("file:") :], "file:"
    if not rest.startswith("/"):
        settings.database.url = prefix + uri + str((settings.path.parent / rest).resolve())


def validate_plugin_sections(
    settings: Settings, kinds: dict[str, dict[str, Any]], routers: Collection[str] | None = None
) -> dict:
    """Validate channel/carrier/notifier sections with the Config model of their plugin type.

    ``kinds`` maps a section name ("channels") to the registry of types for it; channels'
    ``locations`` must be configured locations. ``routers``, when given, are the
    installed routers a ``routing.router`` set in the file must name.
    Returns ``{section: {name: validated config}}``.
    """
    validated: dict[str, dict[str, BaseModel]] = {}
    for section, types in kinds.items():
        validated[section] = {}
        for name, raw in getattr(settings, section).items():
            key = f"{section}.{name}"
            type_name = raw.get("type")
            known = ", ".join(sorted(types)) or "none installed"
            if type_name is None:
                raise ConfigError(
                    f"{settings.path}: {key}.type: required key is missing (one of: {known})"
                )
            if type_name not in types:
                raise ConfigError(
                    f"{settings.path}: {key}.type: unknown type {type_name!r} "
                    f"(expected one of: {known})"
                )
            try:
                validated[section][name] = types[type_name].Config.model_validate(raw)
            except ValidationError as error:
                raise ConfigError(describe_validation_error(settings.path, error, key)) from None
    problems = _channel_locations(settings, validated.get("channels", {}))
    if routers is not None:
        problems += _router_problem(settings, routers)
    if problems:
        raise ConfigError(f"{settings.path}: " + "; ".join(problems))
    return validated


def _router_problem(settings: Settings, routers: Collection[str]) -> list[str]:
    """A ``routing.router`` the file sets that no installed plugin provides."""
    chosen = settings.routing.router
    if "router" not in settings.routing.model_fields_set or chosen in routers:
        return []
    return [f"routing.router: unknown router {chosen!r}; installed: {_known(routers)}"]


def _channel_locations(settings: Settings, channels: dict[str, BaseModel]) -> list[str]:
    problems = []
    for name, config in channels.items():
        for i, code in enumerate(getattr(config, "locations", None) or []):
            if code not in settings.locations:
                problems.append(
                    f"channels.{name}.locations[{i}]: unknown location {code!r}; "
                    f"known: {_known(settings.locations)}"
                )
            elif settings.locations[code].kind == "quarantine":
                problems.append(
                    f"channels.{name}.locations[{i}]: location {code!r} is a quarantine "
                    "location; no channel sells from one"
                )
    return problems
