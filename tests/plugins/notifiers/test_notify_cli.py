"""``hub notifications list | send | send-test | opt-out`` against the sandboxes."""

from __future__ import annotations

from pathlib import Path

import pytest
from notify_site import EMAIL, PHONE, SMTP_PASSWORD, Shop, write_toml
from typer.testing import CliRunner, Result

from hub.cli import app as cli
from hub.cli import main
from hub.core import notify


def run(shop: Shop, tmp_path: Path, *args: str) -> Result:
    raw = {**shop.raw, "notifications": {**shop.raw["notifications"], "public_url": shop.url}}
    config = write_toml(raw, tmp_path / "hub.toml")
    return CliRunner().invoke(cli, [*args, "--config", str(config)], env={"COLUMNS": "250"})


def refused(shop: Shop, tmp_path: Path, capsys: pytest.CaptureFixture, *args: str) -> str:
    """Run ``hub ARGS`` as the command line does; the one line it prints on failure."""
    config = write_toml(shop.raw, tmp_path / "hub.toml")
    with pytest.raises(SystemExit) as stopped:
        main([*args, "--config", str(config)])
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_send_then_list_shows_provider_ids_and_statuses(shop: Shop, tmp_path: Path):
    shop.order("3001")
    sent = run(shop, tmp_path, "notifications", "send")
    assert sent.exit_code == 0, sent.output
    assert sent.output.strip() == "2 sent, 0 to retry, 0 failed"
    listed = run(shop, tmp_path, "notifications", "list", "--order", "web:3001")
    assert listed.exit_code == 0, listed.output
    sid = shop.twilio.sent_to(PHONE)[0].sid
    assert sid in listed.output and EMAIL in listed.output
    assert listed.output.count("confirmed") == 2 and listed.output.count("sent") >= 2
    only_failed = run(shop, tmp_path, "notifications", "list", "--status", "failed")
    assert sid not in only_failed.output


def test_list_refuses_an_unknown_status_in_one_line(shop: Shop, tmp_path: Path, capsys):
    err = refused(shop, tmp_path, capsys, "notifications", "list", "--status", "lost")
    assert err.startswith("error: unknown status 'lost' (one of: queued, sending, sent")


def test_opt_out_and_undo_from_the_command_line(shop: Shop, tmp_path: Path, capsys):
    done = run(shop, tmp_path, "notifications", "opt-out", "+1 312 555 0142")
    assert done.exit_code == 0 and done.output.strip() == f"{PHONE} opted out"
    again = run(shop, tmp_path, "notifications", "opt-out", PHONE)
    assert again.output.strip() == f"{PHONE} had opted out already"
    assert shop.hub.read(lambda c: notify.opted_out(c, PHONE))
    undone = run(shop, tmp_path, "notifications", "opt-out", PHONE, "--undo")
    assert undone.output.strip() == f"{PHONE} gets messages again"
    assert not shop.hub.read(lambda c: notify.opted_out(c, PHONE))
    bad = refused(shop, tmp_path, capsys, "notifications", "opt-out", "nobody")
    assert "'nobody' is neither an e-mail address nor a phone number" in bad


def test_send_test_reaches_both_services(shop: Shop, tmp_path: Path, capsys):
    sms = run(shop, tmp_path, "notifications", "send-test", "+49 30 1234567")
    assert sms.exit_code == 0, sms.output
    [text] = shop.twilio.sent_to("+49301234567")
    assert sms.output.strip() == f"sent by sms to +49301234567: {text.sid}"
    mail = run(shop, tmp_path, "notifications", "send-test", "Grace@Example.com")
    assert mail.exit_code == 0, mail.output
    [message] = shop.mail.mailbox.messages
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Corner Shop: test message"
    err = refused(shop, tmp_path, capsys, "notifications", "send-test", PHONE, "--notifier", "x")
    assert err.strip() == "error: no notifier 'x' (known: mail, sms)"
    shop.twilio.opted_out.add(PHONE)
    err = refused(shop, tmp_path, capsys, "notifications", "send-test", PHONE)
    assert err.startswith(f"error: notifier sms could not send to {PHONE}: NotificationRefused")
    assert "21610" in err


def test_a_notifier_secret_in_an_error_is_masked(shop: Shop, tmp_path: Path, capsys):
    # a badly behaved mail server that quotes the password back in its refusal
    shop.mail.mailbox.refuse["grace@example.com"] = f"450 4.7.1 not now, {SMTP_PASSWORD}"
    err = refused(shop, tmp_path, capsys, "notifications", "send-test", "grace@example.com")
    assert "could not send to grace@example.com: SMTPRecipientsRefused" in err
    assert SMTP_PASSWORD not in err and "***" in err
