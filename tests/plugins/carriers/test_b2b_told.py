"""A B2B desk order's label: the account's contact is told by e-mail (carrier, tracking
number and URL) through the notification outbox and the smtp notifier, against a local
aiosmtpd server: retried when the server says "try again later", sent once however
often the label is asked for. SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from builders import order
from conftest import DENVER

from hub.core import customers, ledger, notify
from hub.core.config import parse_settings
from hub.core.labels import Carriers, buy
from hub.core.models import now, order_t
from hub.core.runtime import Hub
from hub.core.shipments import order_shipments
from hub_plugins.carriers.easypost import EasyPostSandbox


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    busy: int = 0  # answer DATA with 451 this many times

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.content)
        message["X-Rcpt-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@dataclass
class Desk:
    hub: Hub
    carriers: Carriers
    mailbox: Mailbox
    easypost: EasyPostSandbox


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[Desk]:
    mailbox, port = Mailbox(), _port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    easypost = EasyPostSandbox()
    server = easypost.serve().start()
    settings = parse_settings(
        {
            "hub": {"name": "Mugs & Co"},
            "database": {"url": db_url},
            "locations": {"main": {"name": "Main warehouse"}},
            "channels": {"desk": {"type": "manual", "locations": ["main"]}},
            "carriers": {"easypost": easypost.config_for(server.url, timeout=2.0)},
            "notifiers": {
                "mail": {
                    "type": "smtp",
                    "host": "127.0.0.1",
                    "port": port,
                    "tls": "none",
                    "sender": "Mugs & Co <orders@mugs.example>",
                    "timeout": 10,
                }
            },
            "notifications": {"quiet_start": "00:00:00", "quiet_end": "00:00:00"},
        },
        tmp_path / "hub.toml",
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 20))
    carriers = Carriers(hub, tmp_path / "labels")
    try:
        yield Desk(hub, carriers, mailbox, easypost)
    finally:
        carriers.close()
        hub.close()
        server.stop()
        smtp.stop()


def b2b_order(desk: Desk, external_id: str) -> str:
    """Acme's buyer keys in an order at the desk, charged to Acme's account."""

    def account(conn):  # type: ignore[no-untyped-def]
        made = customers.create_account(conn, "ACME", "Acme Corp", email="ap@acme.example")
        customers.add_contact(conn, "ACME", "Ann Buyer", "ann@acme.example", role="purchasing")
        customers.add_contact(conn, "ACME", "Sam Dock", "dock@acme.example", role="shipping")
        return made.id

    account_id = desk.hub.write(account)
    desk.hub.ingest(
        "desk",
        [order(external_id, ("MUG", 3), channel="desk", shipping_address=DENVER, po_number="PO-9")],
    )
    desk.hub.write(
        lambda c: c.execute(
            order_t.update()
            .where(order_t.c.external_id == external_id)
            .values(account_id=account_id)
        )
    )
    return f"desk:{external_id}"


def test_the_accounts_shipping_contact_is_emailed_carrier_tracking_and_url_once(desk: Desk):
    ref = b2b_order(desk, "B2B-1")
    desk.mailbox.busy = 1  # the mail server asks to try again later, once

    label = buy(desk.hub, desk.carriers, ref).label
    first = notify.send_due(desk.hub)
    buy(desk.hub, desk.carriers, ref)  # a second click
    later = notify.send_due(desk.hub, at=now() + timedelta(hours=2))
    notify.send_due(desk.hub, at=now() + timedelta(hours=4))

    assert first.retrying and later.sent
    shipped = [m for m in desk.mailbox.messages if "shipped" in m["Subject"]]
    others = [m["Subject"] for m in desk.mailbox.messages if m not in shipped]
    assert others == ["Mugs & Co: order B2B-1 confirmed"]  # intake's, to the buyer
    [mail] = shipped
    assert mail["X-Rcpt-To"] == "dock@acme.example"
    assert mail["Subject"] == "Mugs & Co: order B2B-1 (your PO PO-9) has shipped"
    body = mail.get_payload(decode=True).decode()
    assert "USPS GroundAdvantage" in body and label["tracking_number"] in body
    assert label["tracking_url"] in body and "Hello Sam Dock" in body
    order_id = desk.hub.read(lambda c: c.scalar(order_t.select().with_only_columns(order_t.c.id)))
    [shipment] = desk.hub.read(lambda c: order_shipments(c, order_id))
    assert shipment["channel_state"] == "not_needed"  # the desk has no channel to tell
