"""Helpers of the notification tests (imported by name, so that they never clash with
another folder's conftest): a local mail server with STARTTLS and AUTH, certificates
made here, and a hub with both notifiers served by its own web app."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword
from builders import order
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.orders import Address, Customer
from hub.sandbox import SandboxServer
from hub.web.app import make_app
from hub_plugins.notifiers.twilio.sandbox import TwilioSandbox

SMTP_USER, SMTP_PASSWORD = "hub@shop.example", "mail secret 7"
PHONE = "+13125550142"
EMAIL = "ada@example.com"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Mailbox:
    """What the local mail server received, and the knobs of its refusals."""

    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    fail_next: int = 0  # answer DATA with 451 (try again later) this many times

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.fail_next:
            self.fail_next -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((mechanism, user))
        return AuthResult(success=user == SMTP_USER and password == SMTP_PASSWORD, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MailServer:
    mailbox: Mailbox
    port: int
    ca_file: Path


@dataclass
class Shop:
    """A hub with both notifiers, served by its web app at ``url``."""

    hub: Hub
    url: str
    twilio: TwilioSandbox
    mail: MailServer
    raw: dict[str, Any]

    def order(self, external_id: str, **fields: Any) -> int:
        """Ingest an open order of one MUG for Ada (e-mail and phone); its hub id."""
        fields.setdefault("customer", Customer(name="Ada Lovelace", email=EMAIL, phone=PHONE))
        fields.setdefault(
            "shipping_address",
            Address(
                name="Ada Lovelace",
                line1="1 Analytical Row",
                city="Chicago",
                postcode="60601",
                country=fields.pop("country", "US"),
                phone=PHONE,
            ),
        )
        customer = fields.pop("customer")
        made = replace(order(external_id, ("MUG", 1), **fields), customer=customer)
        self.hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
        self.hub.ingest("web", [made])
        return int(self.hub.read(lambda c: _order_id(c, external_id)))


def _order_id(conn: Any, external_id: str) -> int:
    from hub.core.models import order_t

    return int(
        conn.scalar(
            order_t.select()
            .with_only_columns(order_t.c.id)
            .where(order_t.c.external_id == external_id)
        )
    )


def write_toml(raw: dict[str, Any], path: Path) -> Path:
    """``raw`` as a hub.toml (JSON strings and numbers are valid TOML values)."""
    lines: list[str] = []

    def table(prefix: str, values: dict[str, Any]) -> None:
        plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in plain.items())
        for key, value in values.items():
            if isinstance(value, dict):
                table(f"{prefix}.{key}" if prefix else key, value)

    table("", raw)
    path.write_text("\n".join(lines) + "\n")
    return path


def shop_raw(
    url: str, sandbox_url: str, sandbox: TwilioSandbox, mail: MailServer, **notifications: Any
):  # type: ignore[no-untyped-def]
    raw = {
        "hub": {"name": "Corner Shop", "timezone": "America/Chicago"},
        "database": {"url": url},
        "web": {"secret_key": "tracking tests' session key"},
        "locations": {"main": {"name": "Main", "latitude": 41.88, "longitude": -87.63}},
        "channels": {"web": {"type": "manual"}},
        "notifiers": {
            "mail": {
                "type": "smtp",
                "host": "127.0.0.1",
                "port": mail.port,
                "username": SMTP_USER,
                "password": SMTP_PASSWORD,
                "sender": "Corner Shop <orders@shop.example>",
                "ca_file": str(mail.ca_file),
                "timeout": 10,
            },
            "sms": sandbox.config_for(sandbox_url),
        },
        "notifications": {"quiet_start": "00:00:00", "quiet_end": "00:00:00", **notifications},
    }
    return raw


def open_shop(
    db_url: str, twilio: tuple[TwilioSandbox, str], mail: MailServer, **notifications: Any
) -> Iterator[Shop]:
    sandbox, sandbox_url = twilio
    raw = shop_raw(db_url, sandbox_url, sandbox, mail, **notifications)
    hub = Hub.open(settings=parse_settings(raw))
    hub.upgrade()
    server = SandboxServer(make_app(Sync(hub))).start()
    hub.settings.notifications.public_url = server.url
    try:
        yield Shop(hub, server.url, sandbox, mail, raw)
    finally:
        server.stop()
        hub.close()
