"""MkDocs hook: the configuration reference, rendered from the pydantic models at build time.

``docs/reference/configuration.md`` holds markers such as ``<!-- config: hub -->``; each
is replaced by a table of that section's model fields (key, type, default, constraints,
description). The description is the field's own ``description`` when it has one, else
the comments written next to the field in the source (the line's trailing comment and the
comment lines right above it), so the page says what the code says and cannot drift.

It also strips Sphinx roles (``:class:``, ``:func:`` ...) that some docstrings use from
the API pages, leaving the code-formatted name.
"""

from __future__ import annotations

import enum
import inspect
import io
import re
import textwrap
import tokenize
import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

MARKER = re.compile(r"<!--\s*config:\s*([\w.-]+)\s*-->")


def _sections() -> dict[str, tuple[type[BaseModel], type[BaseModel] | None]]:
    """Marker name -> (model, base whose fields are left out)."""
    from hub.channels import ChannelConfig
    from hub.checks import (
        AddressVelocityRule,
        ChecksConfig,
        CountryMismatchRule,
        ValueSpikeRule,
    )
    from hub.core import config
    from hub.shipping import PluginConfig

    sections: dict[str, tuple[type[BaseModel], type[BaseModel] | None]] = {
        "hub": (config.HubSection, None),
        "database": (config.DatabaseSection, None),
        "web": (config.WebSection, None),
        "routing": (config.RoutingSection, None),
        "locations": (config.LocationSection, None),
        "fleet": (config.FleetVehicle, None),
        "channels": (ChannelConfig, None),
        "checks": (ChecksConfig, None),
        "fraud.country_mismatch": (CountryMismatchRule, None),
        "fraud.value_spike": (ValueSpikeRule, None),
        "fraud.address_velocity": (AddressVelocityRule, None),
        "notifications": (config.NotificationsSection, None),
        "plugin": (PluginConfig, None),
    }
    for type_name, kind in _channel_types().items():
        sections[f"channel-type.{type_name}"] = (kind.Config, ChannelConfig)
    for type_name, kind in _notifier_types().items():
        sections[f"notifier-type.{type_name}"] = (kind.Config, PluginConfig)
    return sections


def _channel_types() -> dict[str, Any]:
    """The channel types of the installed plugins, as ``hub`` finds them."""
    from hub.core.plugins import PluginHost

    host = PluginHost.load(log_problems=False)
    return dict(sorted(host.channel_types.items()))


def _notifier_types() -> dict[str, Any]:
    """The notifier types of the installed plugins (``smtp``, ``twilio``, ...)."""
    from hub.core.plugins import PluginHost

    host = PluginHost.load(log_problems=False)
    return dict(sorted(host.notifier_types.items()))


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the comments written beside it in the class body."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        comments: dict[int, str] = {}
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
        own = cls.__dict__.get("__annotations__", {})
        # A comment block above a one-line field that has no comment of its own speaks of
        # the one-line field right below it too (rate_per_second and rate_burst).
        shared, shared_line = "", 0
        for number, line in enumerate(lines, start=1):
            match = re.match(r"^    (\w+)\s*:", line)
            if not match or match.group(1) not in own:
                continue
            above = []
            k = number - 1
            while k >= 1 and lines[k - 1].strip().startswith("#"):
                above.insert(0, comments.get(k, ""))
                k -= 1
            trailing = comments.get(number, "")
            parts = [p for p in [*above, trailing] if p and not p.startswith("noqa")]
            if not parts and shared and shared_line == number - 1:
                parts = [shared]
            shared, shared_line = ("", 0) if trailing or not above else (" ".join(parts), number)
            if parts:
                found[match.group(1)] = " ".join(parts)
    return found


def _type(annotation: Any) -> str:
    """A reader's name for a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(f'"{a}"' if isinstance(a, str) else repr(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type(args[1])}" if args else "table"
    if annotation is type(None):
        return "none"
    if annotation is SecretStr:
        return "secret string"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(f'"{m.value}"' for m in annotation)
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is PydanticUndefined:
        return "**required**"
    if isinstance(value, BaseModel):
        return "see its table"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list | tuple):
        return "`[" + ", ".join(repr(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value!r}`"
    return f"`{value}`"


_BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "length ≥",
           "max_length": "length ≤", "pattern": "matches"}


def _constraints(field: FieldInfo) -> str:
    found = []
    for item in field.metadata:
        for name, sign in _BOUNDS.items():
            value = getattr(item, name, None)
            if value is not None:
                found.append(f"{sign} `{value}`")
    return ", ".join(found)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(model: type[BaseModel], base: type[BaseModel] | None = None) -> str:
    """A Markdown table of ``model``'s fields (without those of ``base``)."""
    comments = _comments(model)
    inherited = set(base.model_fields) if base is not None else set()
    rows = []
    for name, field in model.model_fields.items():
        if name in inherited or name == "path":
            continue
        description = field.description or comments.get(name, "")
        rows.append(
            f"| `{name}` | {_cell(_type(field.annotation))} | {_cell(_default(field))} "
            f"| {_cell(_constraints(field))} | {_cell(description)} |"
        )
    doc = inspect.cleandoc(model.__doc__ or "") if model.__doc__ else ""
    head = ""
    if doc and model.__doc__ is not getattr(BaseModel, "__doc__", None):
        head = re.sub(r":\w+:`", "`", doc) + "\n\n"
    if not rows:
        return head + "*No keys beyond the common channel keys.*\n"
    table = "| key | type | default | constraints | description |\n| --- | --- | --- | --- | --- |\n"
    return head + table + "\n".join(rows) + "\n"


def _channel_types_section() -> str:
    """One subsection per installed channel type, with the keys it adds."""
    from hub.channels import ChannelConfig

    out = []
    for type_name, kind in _channel_types().items():
        module = kind.__module__.split(".")
        package = ".".join(module[:2]) if module[0] == "hub_plugins" else module[0]
        out.append(
            f'### type = "{type_name}"\n\n'
            f"Channel class `{kind.__module__}.{kind.__name__}` (package `{package}`), "
            f"config model `{kind.Config.__name__}`.\n\n" + render(kind.Config, ChannelConfig)
        )
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if "<!-- config" not in markdown:
        return markdown
    sections = _sections()

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "channel-types":
            return _channel_types_section()
        if name not in sections:
            raise KeyError(f"{page.file.src_path}: no configuration model named {name!r}")
        model, base = sections[name]
        return render(model, base)

    return MARKER.sub(replace, markdown)


_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):(?=<code>)")


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return _ROLE.sub("", html)


def on_files(files: Any, config: Any) -> Any:
    """Publish each built-in plugin's README as ``channels/<plugin>.md``: the READMEs stay
    beside their code (and readable on a code host), and the site carries them."""
    from pathlib import Path

    from mkdocs.structure.files import File

    root = Path(config["config_file_path"]).parent
    for readme in sorted(root.glob("plugins/*/README.md")):
        files.append(
            File.generated(
                config, f"channels/{readme.parent.name}.md", content=readme.read_text()
            )
        )
    return files
