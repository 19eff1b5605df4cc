"""Keeping configured secrets out of what people see, whatever a plugin puts in a message.

Config models type credentials :class:`pydantic.SecretStr`, so the hub itself never
prints them. A plugin may still quote one in an exception or a log line (a URL with a
key in its query, a header echoed back): what is shown (status pages, ``hub status``,
the service's log, the CLI's error line) has every configured secret value masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, SecretStr

MASK = "***"
#: Shorter values are not masked: replacing every "ab" in a page would garble it, and a
#: secret that short is no secret.
MIN_LENGTH = 4


def secret_values(configs: Iterable[BaseModel]) -> list[str]:
    """The values of every SecretStr field of ``configs``, longest first."""
    found = {
        value.get_secret_value()
        for config in configs
        for value in vars(config).values()
        if isinstance(value, SecretStr)
    }
    return sorted((v for v in found if len(v) >= MIN_LENGTH), key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactSecrets(logging.Filter):
    """A handler filter masking ``secrets`` in each record's message and traceback."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.secrets)
            record.exc_info = None  # the formatted, masked text stands in for it
        return True


def install(secrets: Sequence[str], logger: logging.Logger | None = None) -> Any:
    """Mask ``secrets`` in every record the handlers of ``logger`` (default: the root
    logger) emit; returns a function that removes the filter again."""
    target = logger or logging.getLogger()
    redactor = RedactSecrets(secrets)
    handlers = list(target.handlers)
    for handler in handlers:
        handler.addFilter(redactor)

    def uninstall() -> None:
        for handler in handlers:
            handler.removeFilter(redactor)

    return uninstall
