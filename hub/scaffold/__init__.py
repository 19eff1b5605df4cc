"""``hub plugin new NAME``: write a channel plugin as a package of its own.

The template in ``template/`` is a working plugin for an imaginary "Acme" marketplace
(adapter, sandbox, tests, README, ``pyproject.toml``); it is linted and type-checked with
the hub. :func:`new_plugin` copies it with every ``acme`` / ``Acme`` / ``ACME`` renamed,
into ``hub-NAME/``, all at once or not at all.
"""

from __future__ import annotations

import importlib.metadata
import keyword
import re
import secrets
import shutil
from pathlib import Path

from hub.errors import InvalidInput

TEMPLATE = Path(__file__).parent / "template"
#: The files the template is made of; caches and editor files beside them are left out.
SUFFIXES = (".py", ".toml", ".md")
NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_LENGTH = 40


def check_name(name: str) -> None:
    """Raise :class:`InvalidInput` saying what is wrong with ``name`` as a plugin name."""
    if not name:
        raise InvalidInput("the plugin name is empty; give one such as 'acme'", field="name")
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"plugin name {name!r} must be lower-case letters, digits and '_', "
            "starting with a letter (it names the channel type and the module hub_NAME)",
            field="name",
        )
    if len(name) > MAX_LENGTH:
        raise InvalidInput(
            f"plugin name {name!r} is {len(name)} characters long; at most {MAX_LENGTH}",
            field="name",
        )
    if name.endswith("_") or "__" in name or keyword.iskeyword(name):
        raise InvalidInput(f"plugin name {name!r} cannot be used: say it in words", field="name")
    for entry in importlib.metadata.entry_points(group="hub"):
        if entry.name == name:
            package = entry.dist.name if entry.dist is not None else entry.value
            raise InvalidInput(
                f"plugin name {name!r} is taken by the installed plugin from {package}; "
                "choose another",
                field="name",
            )
    from hub.core.plugins import PluginHost  # the installed plugins' channel types

    if name in PluginHost.load(log_problems=False).channel_types:
        raise InvalidInput(
            f"plugin name {name!r} is a channel type an installed plugin provides; choose another",
            field="name",
        )


def class_name(name: str) -> str:
    """``my_shop`` -> ``MyShop``: the prefix of the plugin's class names."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def render(text: str, name: str) -> str:
    """The template's ``text`` for plugin ``name``."""
    return (
        text.replace("ACME", name.upper()).replace("Acme", class_name(name)).replace("acme", name)
    )


def files(name: str) -> dict[Path, str]:
    """Every file of the new package, relative to its folder, with its text."""
    out = {}
    for path in sorted(TEMPLATE.rglob("*")):
        if not path.is_file() or path.suffix not in SUFFIXES or "__pycache__" in path.parts:
            continue
        relative = Path(render(str(path.relative_to(TEMPLATE)), name))
        out[relative] = render(path.read_text(encoding="utf-8"), name)
    return out


def new_plugin(name: str, where: Path) -> Path:
    """Write the package ``hub-NAME`` into the folder ``where``; returns its path.

    Refuses, writing nothing, a bad name or a target that exists and is not an empty folder.
    """
    check_name(name)
    where = Path(where)
    target = where / f"hub-{name}"
    if where.exists() and not where.is_dir():
        raise InvalidInput(f"cannot write into {where}: it is a file, not a folder", field="dir")
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} exists and is a file; remove it or choose another --dir")
    if target.is_dir() and any(target.iterdir()):
        raise InvalidInput(
            f"{target} exists and is not empty; remove it or choose another --dir", field="dir"
        )
    content = files(name)
    try:
        where.mkdir(parents=True, exist_ok=True)
        staging = where / f".hub-{name}-{secrets.token_hex(4)}.partial"
        staging.mkdir()  # beside the target, so that one rename puts it in place
    except OSError as error:
        raise InvalidInput(f"cannot write into {where}: {error.strerror}", field="dir") from None
    try:
        for relative, text in content.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.is_dir():
            target.rmdir()  # empty, checked above
        staging.rename(target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidInput(f"cannot write {target}: {error.strerror}", field="dir") from None
    return target
