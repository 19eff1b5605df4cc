"""E-mail to customers over SMTP: STARTTLS (or implicit TLS) and AUTH, by :mod:`smtplib`.

A ``[notifiers.NAME]`` section with ``type = "smtp"``::

    [notifiers.mail]
    type = "smtp"
    host = "smtp.example.com"
    port = 587                    # 587: submission with STARTTLS; 465 with tls = "implicit"
    username = "hub@example.com"
    password = "${SMTP_PASSWORD}"
    sender = "Corner Shop <orders@example.com>"

The server's certificate is verified against the system's authorities, or ``ca_file``.
Each message's Message-ID is derived from the hub's idempotency key of the message, so a
message sent again (after the hub lost the server's answer) carries the same Message-ID
and mail systems can tell it is the same (RFC 5322, section 3.6.4). A recipient or a
sender the server refuses for good (a 5xx reply) is a :class:`hub.NotificationRefused`;
4xx replies, lost connections and time-outs are tried again by the hub.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from hub import NotificationRefused, Notifier, OutgoingMessage, PluginConfig, hookimpl

HUB_PLUGIN_API = ">=1,<2"


class SmtpConfig(PluginConfig):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    # "starttls" (upgrade a plain connection, port 587), "implicit" (TLS from the first
    # byte, port 465); "none" only for a relay on the same machine.
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str = ""
    password: SecretStr | None = None
    # AUTH mechanism: "auto" (the strongest both sides offer), "plain" or "login"
    auth: Literal["auto", "plain", "login"] = "auto"
    sender: str = Field(min_length=3)  # the From: header, "Name <address>" or an address
    ca_file: Path | None = None  # certificate authorities to trust instead of the system's
    timeout: float = Field(default=30.0, gt=0, le=300)  # seconds per SMTP command


class SmtpNotifier(Notifier):
    """Sends each message as one plain-text e-mail in one SMTP session."""

    type_name: ClassVar[str] = "smtp"
    Config = SmtpConfig
    kind: ClassVar[str] = "email"
    config: SmtpConfig

    def send(self, message: OutgoingMessage) -> str:
        """Send ``message``; returns its Message-ID (``<...@domain>``)."""
        mail = self._compose(message)
        try:
            with self._connect() as smtp:
                if self.config.username:
                    self._log_in(smtp)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise NotificationRefused(
                    f"the mail server refused {message.to}: {codes}"
                ) from None
            raise
        except smtplib.SMTPSenderRefused as error:
            if error.smtp_code >= 500:
                raise NotificationRefused(
                    f"the mail server refused the sender {error.sender}: {error.smtp_code}"
                ) from None
            raise
        return str(mail["Message-ID"])

    def _log_in(self, smtp: smtplib.SMTP) -> None:
        secret = self.config.password.get_secret_value() if self.config.password else ""
        if self.config.auth == "auto":
            smtp.login(self.config.username, secret)
            return
        smtp.ehlo_or_helo_if_needed()
        smtp.user, smtp.password = self.config.username, secret
        if self.config.auth == "plain":
            smtp.auth("PLAIN", smtp.auth_plain)
        else:
            smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)

    def _compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = (
            message_id(message.reference, self.config.sender)
            if message.reference
            else make_msgid(domain=_domain(self.config.sender))
        )
        mail.set_content(message.body)
        return mail

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(
            cafile=str(self.config.ca_file) if self.config.ca_file else None
        )
        host, port, timeout = self.config.host, self.config.port, self.config.timeout
        if self.config.tls == "implicit":
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if self.config.tls == "starttls":
                smtp.starttls(context=context)  # refuses a server without STARTTLS
        except BaseException:
            smtp.close()
            raise
        return smtp


def message_id(reference: str, sender: str) -> str:
    """``<hex@domain>``: the same for every attempt at one message (the hub's key)."""
    digest = hashlib.sha256(reference.encode()).hexdigest()[:32]
    return f"<{digest}@{_domain(sender)}>"


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return Address(addr_spec=address).domain if "@" in address else "hub.invalid"


@hookimpl
def register_notifiers(register):  # type: ignore[no-untyped-def]
    register(SmtpNotifier)
