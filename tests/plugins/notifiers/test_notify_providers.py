"""The two notifiers on their own: real SMTP (STARTTLS, AUTH PLAIN and LOGIN, refusals)
against a local aiosmtpd, and the official Twilio client against the sandbox."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from notify_site import SMTP_PASSWORD, SMTP_USER, MailServer
from pydantic import ValidationError

from hub import NotificationRefused, OutgoingMessage
from hub_plugins.notifiers.smtp import SmtpConfig, SmtpNotifier, message_id
from hub_plugins.notifiers.twilio import TwilioConfig, TwilioNotifier
from hub_plugins.notifiers.twilio.sandbox import TwilioSandbox

HELLO = OutgoingMessage(to="ada@example.com", subject="Hello", body="Hi Ada\n", reference="9:x")


def mailer(server: MailServer, **changes: object) -> SmtpNotifier:
    fields = {
        "type": "smtp",
        "host": "127.0.0.1",
        "port": server.port,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "sender": "Corner Shop <orders@shop.example>",
        "ca_file": str(server.ca_file),
        "timeout": 10,
        **changes,
    }
    return SmtpNotifier("mail", SmtpConfig.model_validate(fields))


@pytest.mark.parametrize("auth, mechanism", [("plain", "PLAIN"), ("login", "LOGIN")])
def test_smtp_sends_after_starttls_and_auth(mail_server: MailServer, auth, mechanism):
    provider_id = mailer(mail_server, auth=auth).send(HELLO)
    [mail] = mail_server.mailbox.messages
    assert mail["Message-ID"] == provider_id == message_id("9:x", "orders@shop.example")
    assert provider_id.endswith("@shop.example>")
    assert mail["From"] == "Corner Shop <orders@shop.example>" and mail["Subject"] == "Hello"
    assert mail_server.mailbox.logins == [(mechanism, SMTP_USER)]


def test_the_same_message_sent_again_keeps_its_message_id(mail_server: MailServer):
    notifier = mailer(mail_server)
    assert notifier.send(HELLO) == notifier.send(HELLO)
    first, second = mail_server.mailbox.messages
    assert first["Message-ID"] == second["Message-ID"]


def test_a_wrong_password_is_an_error_the_hub_retries(mail_server: MailServer):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        mailer(mail_server, password="guess").send(HELLO)
    assert mail_server.mailbox.messages == []


def test_a_server_certificate_nobody_vouches_for_is_refused(mail_server: MailServer):
    with pytest.raises(ssl.SSLCertVerificationError):
        mailer(mail_server, ca_file=None).send(HELLO)
    assert mail_server.mailbox.messages == []


def test_without_starttls_the_server_will_not_take_the_login(mail_server: MailServer):
    with pytest.raises(smtplib.SMTPException):
        mailer(mail_server, tls="none").send(HELLO)
    assert mail_server.mailbox.logins == []


def test_a_recipient_refused_for_good_is_a_refusal_and_for_now_is_not(mail_server: MailServer):
    mail_server.mailbox.refuse["ada@example.com"] = "550 5.1.1 No such user"
    with pytest.raises(NotificationRefused, match="refused ada@example.com"):
        mailer(mail_server).send(HELLO)
    mail_server.mailbox.refuse["ada@example.com"] = "450 4.2.1 Mailbox busy"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mailer(mail_server).send(HELLO)


@pytest.fixture
def sms(twilio) -> tuple[TwilioNotifier, TwilioSandbox]:  # type: ignore[no-untyped-def]
    sandbox, url = twilio
    return TwilioNotifier("sms", TwilioConfig.model_validate(sandbox.config_for(url))), sandbox


TEXT = OutgoingMessage(to="+13125550142", subject="", body="You're next", reference="1:next")


def test_twilio_creates_the_message_and_answers_its_sid(sms):
    notifier, sandbox = sms
    sid = notifier.send(TEXT)
    [message] = sandbox.sent_to("+13125550142")
    assert sid == message.sid and sid.startswith("SM") and len(sid) == 34
    assert message.sender == "+15005550006" and message.body == "You're next"


def test_twilio_refusals_and_passing_failures(sms):
    notifier, sandbox = sms
    with pytest.raises(NotificationRefused, match="21211"):
        notifier.send(OutgoingMessage(to="+1", subject="", body="x"))
    sandbox.faults.rate_limited = 1
    with pytest.raises(RuntimeError, match="Twilio answered 429 \\(error 20429\\)"):
        notifier.send(TEXT)
    sandbox.faults.server_errors = 1
    with pytest.raises(RuntimeError, match="503"):
        notifier.send(TEXT)
    assert sandbox.messages == {}


def test_a_wrong_auth_token_is_refused_by_twilio(twilio):
    sandbox, url = twilio
    config = TwilioConfig.model_validate({**sandbox.config_for(url), "auth_token": "wrong"})
    with pytest.raises(RuntimeError, match="401 \\(error 20003\\)"):
        TwilioNotifier("sms", config).send(TEXT)


def test_twilio_config_needs_a_sender_and_a_real_account_sid():
    base = {"type": "twilio", "account_sid": "AC" + "a" * 32, "auth_token": "t"}
    with pytest.raises(ValidationError, match="give from_number or messaging_service_sid"):
        TwilioConfig.model_validate(base)
    with pytest.raises(ValidationError, match="account_sid"):
        TwilioConfig.model_validate({**base, "account_sid": "AC1", "from_number": "+15005550006"})
    assert TwilioConfig.model_validate({**base, "messaging_service_sid": "MG" + "b" * 32})


def test_a_messaging_service_sends_as_accepted(twilio):
    sandbox, url = twilio
    service = "MG" + "c" * 32
    config = {**sandbox.config_for(url), "from_number": "", "messaging_service_sid": service}
    TwilioNotifier("sms", TwilioConfig.model_validate(config)).send(TEXT)
    [message] = sandbox.sent_to("+13125550142")
    assert message.sender == service and message.status == "accepted"
