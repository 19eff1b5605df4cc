"""Rendering customer messages from Jinja2 templates, per merchant and language.

Templates are plain text files named ``<lang>/<event>.<kind>.txt`` (``en/dispatched.sms.txt``).
An e-mail template starts with a ``Subject: ...`` line and a blank line; the rest is the
body. They are looked up, first found wins, in:

1. ``<templates>/<channel>/<lang>/...``: the merchant's own for one channel (a shop);
2. ``<templates>/<lang>/...``: the merchant's own for every channel;
3. the templates shipped with the hub (``hub/core/notify/templates``, English and German).

``templates`` is ``[notifications] templates`` in the configuration. A language without
a template for the event falls back to ``default_language``. Times are shown in the
customers' zone with :mod:`babel`: ``{{ eta_start | clock }}`` reads ``2:30 PM CDT`` in
English and ``14:30 Uhr`` in German, ``{{ eta_start | day }}`` ``Sun, March 10``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_skeleton, format_time

from hub.errors import HubError

SHIPPED = Path(__file__).resolve().parent / "templates"
#: Time patterns (Unicode LDML) per language; others get ``HH:mm z``.
TIME_PATTERNS = {"en": "h:mm a z", "de": "HH:mm 'Uhr'"}


class TemplateProblem(HubError):
    """A template is missing or cannot be rendered; names the template and the fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="template")


@dataclass(frozen=True)
class Rendered:
    """A rendered message: the template's name (``de/failed.sms.txt``), subject, body."""

    template: str
    language: str
    subject: str
    body: str


def environment(templates: Path | None, channel: str = "") -> jinja2.Environment:
    """A Jinja2 environment searching the merchant's folders before the shipped ones."""
    folders: list[Path] = []
    if templates is not None:
        if channel:
            folders.append(templates / channel)
        folders.append(templates)
    folders.append(SHIPPED)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text: e-mail text parts and SMS
    )
    env.filters["clock"] = _clock
    env.filters["day"] = _day
    return env


def render(
    env: jinja2.Environment,
    event: str,
    kind: str,
    language: str,
    default_language: str,
    zone: ZoneInfo,
    context: dict[str, Any],
) -> Rendered:
    """Render ``event`` for ``kind`` ("email", "sms") in ``language`` (else the default).

    Raises :class:`TemplateProblem` naming the template when none exists for either
    language, or when it fails (an unknown variable, a syntax error, an e-mail template
    without its ``Subject:`` line).
    """
    for lang in dict.fromkeys((language, default_language)):
        name = f"{lang}/{event}.{kind}.txt"
        try:
            template = env.get_template(name)
        except jinja2.TemplateNotFound:
            continue
        except jinja2.TemplateSyntaxError as error:
            raise TemplateProblem(
                f"template {name}, line {error.lineno}: {error.message}"
            ) from None
        try:
            text = template.render(**context, lang=lang, zone=zone)
        except jinja2.TemplateError as error:
            raise TemplateProblem(f"template {name}: {error}") from None
        subject, body = _split(name, text, kind)
        return Rendered(name, lang, subject, body)
    raise TemplateProblem(
        f"no template {language}/{event}.{kind}.txt (nor {default_language}/...) in "
        "the merchant's folder or the hub's"
    )


def _split(name: str, text: str, kind: str) -> tuple[str, str]:
    if kind != "email":
        return "", text.strip()
    head, _, body = text.partition("\n")
    if not head.startswith("Subject:"):
        raise TemplateProblem(f"template {name}: an e-mail template starts with 'Subject: ...'")
    return head.removeprefix("Subject:").strip(), body.strip() + "\n"


@jinja2.pass_context
def _clock(context: Any, value: datetime | None) -> str:
    """``2:30 PM CDT`` (en), ``14:30 Uhr`` (de): a time in the customers' zone."""
    if value is None:
        return ""
    language, zone = str(context["lang"]), context["zone"]
    pattern = TIME_PATTERNS.get(language.split("-")[0], "HH:mm z")
    local = value.astimezone(zone)
    return str(format_time(local, pattern, tzinfo=zone, locale=language.replace("-", "_")))


@jinja2.pass_context
def _day(context: Any, value: datetime | None) -> str:
    """``Sun, March 10`` (en), ``So., 10. März`` (de): the day in the customers' zone."""
    if value is None:
        return ""
    language, zone = str(context["lang"]), context["zone"]
    local = value.astimezone(zone)
    return str(format_skeleton("MMMMEEEEd", local, locale=language.replace("-", "_")))
