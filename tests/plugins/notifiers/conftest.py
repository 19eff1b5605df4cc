"""Notifications: a hub with the ``smtp`` and ``twilio`` notifiers, a local Twilio
(the plugin's sandbox), a local mail server (aiosmtpd with STARTTLS on a certificate made
here, and AUTH LOGIN/PLAIN), and the hub's own web app serving the tracking pages and the
status callbacks, all over real sockets. The helpers are in ``notify_site``."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from notify_site import Mailbox, MailServer, Shop, free_port, open_shop, self_signed

from hub_plugins.notifiers.twilio.sandbox import TwilioSandbox


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailServer]:
    """aiosmtpd on 127.0.0.1: STARTTLS required before AUTH (LOGIN, PLAIN) and mail."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield MailServer(mailbox, port, cert)
    finally:
        controller.stop()


@pytest.fixture
def twilio() -> Iterator[tuple[TwilioSandbox, str]]:
    """The Twilio sandbox, served; (sandbox, its URL)."""
    sandbox = TwilioSandbox()
    with sandbox.serve() as server:
        yield sandbox, server.url


@pytest.fixture
def shop(db_url: str, twilio, mail_server) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    """A notifying hub on SQLite and on PostgreSQL, quiet hours off."""
    yield from open_shop(db_url, twilio, mail_server)
