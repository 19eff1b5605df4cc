"""A mail server on this machine for demos: aiosmtpd on 127.0.0.1 keeping what it gets.

The last-mile demo points its ``smtp`` notifier here (``tls = "none"``: nothing leaves
the machine), so the customers' e-mails are really sent over SMTP and can be counted
and read afterwards.
"""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Mailbox:
    """aiosmtpd's handler: every message accepted, kept parsed, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Keep the message (aiosmtpd calls this for each DATA command)."""
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def received(self) -> list[Message]:
        """The messages so far (a copy)."""
        with self._lock:
            return list(self.messages)


class LocalMailServer:
    """An SMTP server on 127.0.0.1 and a free port; use as a context manager.

    ``notifier_config(sender)`` is the ``[notifiers.NAME]`` section that sends to it.
    """

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = _free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> LocalMailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def notifier_config(self, sender: str) -> dict[str, Any]:
        """An ``smtp`` notifier's settings for this server (plain SMTP, no login)."""
        return {
            "type": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "tls": "none",
            "sender": sender,
            "timeout": 10,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = ["LocalMailServer", "Mailbox"]
