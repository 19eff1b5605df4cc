"""What is sent when, in which language and words: quiet hours, opt-outs, languages,
the merchant's own templates and times in the customer's zone across daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest
import requests
from notify_site import EMAIL, PHONE, Shop, open_shop

from hub.core import notify
from hub.core.config import NotificationsSection
from hub.core.notify import render as rendering

CHICAGO = ZoneInfo("America/Chicago")


def messages(shop: Shop, order_id: int) -> list[dict]:
    return list(reversed(shop.hub.read(lambda c: notify.messages(c, order_id=order_id))))


# -- quiet hours ----------------------------------------------------------------------------


@pytest.fixture
def quiet_shop(db_url, twilio, mail_server):  # type: ignore[no-untyped-def]
    """Quiet from 21:00 to 08:00, Chicago time."""
    yield from open_shop(db_url, twilio, mail_server, quiet_start="21:00:00", quiet_end="08:00:00")


def test_a_message_due_in_quiet_hours_waits_until_they_end(quiet_shop: Shop):
    shop = quiet_shop
    order_id = shop.order("2001")
    late = datetime(2026, 11, 30, 22, 15, tzinfo=CHICAGO)  # 22:15 in Chicago
    shop.hub.write(lambda c: notify.queue(shop.hub, c, order_id, "dispatched", at=late))
    waiting = [m for m in messages(shop, order_id) if m["event"] == "dispatched"]
    morning = datetime(2026, 12, 1, 8, 0, tzinfo=CHICAGO)
    assert {m["next_attempt_at"] for m in waiting} == {morning.astimezone(UTC)}
    assert {m["status_detail"] for m in waiting} == {"quiet hours until 08:00 CST"}
    sent = notify.send_due(shop.hub, at=late + timedelta(hours=2))
    assert not [i for i in sent.sent if i in {m["id"] for m in waiting}]
    later = notify.send_due(shop.hub, at=morning + timedelta(minutes=1))
    assert {m["id"] for m in waiting} <= set(later.sent)


def test_a_next_stop_message_in_quiet_hours_is_suppressed(quiet_shop: Shop):
    shop = quiet_shop
    order_id = shop.order("2002")
    night = datetime(2026, 11, 30, 23, 0, tzinfo=CHICAGO)
    shop.hub.write(
        lambda c: notify.queue(shop.hub, c, order_id, "next_stop", {"minutes": 10}, at=night)
    )
    nexts = [m for m in messages(shop, order_id) if m["event"] == "next_stop"]
    assert {m["status"] for m in nexts} == {"suppressed"}
    assert {m["status_detail"] for m in nexts} == {"quiet hours: stale by the time they end"}


@pytest.mark.parametrize(
    "local, ends",
    [
        (datetime(2024, 3, 9, 23, 30), datetime(2024, 3, 10, 8, 0)),  # the night DST starts
        (datetime(2024, 3, 10, 7, 59), datetime(2024, 3, 10, 8, 0)),
        (datetime(2024, 3, 10, 8, 0), None),
        (datetime(2024, 3, 10, 20, 59), None),
        (datetime(2024, 3, 10, 21, 0), datetime(2024, 3, 11, 8, 0)),
    ],
)
def test_quiet_hours_follow_the_customers_clock(local, ends):
    section = NotificationsSection(quiet_start=time(21, 0), quiet_end=time(8, 0))
    at = local.replace(tzinfo=CHICAGO)
    until = notify.quiet_until(section, CHICAGO, at)
    assert until == (ends.replace(tzinfo=CHICAGO) if ends else None)
    if until is not None:
        assert until.astimezone(CHICAGO).hour == 8  # 08:00 on either side of the change


def test_equal_quiet_times_mean_no_quiet_hours():
    section = NotificationsSection(quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert notify.quiet_until(section, CHICAGO, datetime(2026, 1, 1, 3, 0, tzinfo=CHICAGO)) is None


# -- opting out -------------------------------------------------------------------------------


def test_the_opt_out_link_stops_every_later_message(shop: Shop):
    order_id = shop.order("2003")
    notify.send_due(shop.hub)
    body = next(m for m in messages(shop, order_id) if m["kind"] == "sms")["body"]
    link = body.split("no more texts: ")[1].rstrip(")")
    assert link.startswith(shop.url + "/track/") and link.endswith("/opt-out")
    page = requests.get(link, timeout=10)  # a GET (a mail scanner) changes nothing
    assert page.status_code == 200 and "No more messages" in page.text
    assert not shop.hub.read(lambda c: notify.opted_out(c, PHONE))
    done = requests.post(link, timeout=10)
    assert done.status_code == 200 and "you will get no more messages" in done.text
    assert shop.hub.read(lambda c: notify.opted_out(c, PHONE))
    assert shop.hub.read(lambda c: notify.opted_out(c, EMAIL))
    shop.hub.ship("web:2003", "own-fleet")
    dispatched = [m for m in messages(shop, order_id) if m["event"] == "dispatched"]
    assert {m["status"] for m in dispatched} == {"suppressed"}
    assert {m["status_detail"] for m in dispatched} == {"the recipient opted out"}
    notify.send_due(shop.hub)
    assert len(shop.twilio.sent_to(PHONE)) == 1 and len(shop.mail.mailbox.messages) == 1


def test_opting_out_suppresses_what_is_still_queued(shop: Shop):
    order_id = shop.order("2004")
    assert shop.hub.write(lambda c: notify.opt_out(c, "ADA@example.com", "cli")) is True
    assert shop.hub.write(lambda c: notify.opt_out(c, "ada@example.com", "cli")) is False
    email = next(m for m in messages(shop, order_id) if m["kind"] == "email")
    assert email["status"] == "suppressed"
    notify.send_due(shop.hub)
    assert shop.mail.mailbox.messages == []
    assert len(shop.twilio.sent_to(PHONE)) == 1  # the phone did not opt out
    assert shop.hub.write(lambda c: notify.opt_in(c, EMAIL)) is True


# -- languages, the merchant's templates, times -------------------------------------------------


def test_a_customer_in_germany_gets_the_german_templates(shop: Shop):
    order_id = shop.order("2005", country="DE")
    rows = {m["kind"]: m for m in messages(shop, order_id)}
    assert rows["email"]["language"] == "de"
    assert rows["email"]["template"] == "de/confirmed.email.txt"
    assert rows["email"]["subject"] == "Corner Shop: Bestellung 2005 bestätigt"
    assert rows["sms"]["body"].startswith("Corner Shop: Bestellung 2005 bestätigt.")


def test_the_merchants_templates_override_the_hubs(db_url, twilio, mail_server, tmp_path: Path):
    own = tmp_path / "templates"
    (own / "en").mkdir(parents=True)
    (own / "web" / "en").mkdir(parents=True)
    (own / "en" / "confirmed.sms.txt").write_text(
        "{{ merchant }} says thanks for {{ order_number }}!\n"
    )
    (own / "web" / "en" / "confirmed.email.txt").write_text(
        "Subject: Thanks from the web shop\n\nOrder {{ order_number }}: {{ tracking_url }}\n"
    )
    for shop in open_shop(db_url, twilio, mail_server, templates=str(own)):
        order_id = shop.order("2006")
        rows = {m["kind"]: m for m in messages(shop, order_id)}
        assert rows["sms"]["body"] == "Corner Shop says thanks for 2006!"
        assert rows["email"]["subject"] == "Thanks from the web shop"
        assert rows["email"]["body"].startswith("Order 2006: " + shop.url + "/track/")
        shop.hub.ship("web:2006", "own-fleet")  # no override: the hub's own template
        dispatched = next(
            m for m in messages(shop, order_id) if m["event"] == "dispatched" and m["kind"] == "sms"
        )
        assert dispatched["template"] == "en/dispatched.sms.txt"
        assert dispatched["body"].startswith("Corner Shop: order 2006 is on its way")


def test_a_broken_template_records_the_message_failed_naming_it(
    db_url, twilio, mail_server, tmp_path
):
    own = tmp_path / "templates"
    (own / "en").mkdir(parents=True)
    (own / "en" / "confirmed.sms.txt").write_text("Hi {{ nickname }}\n")
    (own / "en" / "confirmed.email.txt").write_text("No subject line here\n")
    for shop in open_shop(db_url, twilio, mail_server, templates=str(own)):
        order_id = shop.order("2007")
        rows = {m["kind"]: m for m in messages(shop, order_id)}
        assert rows["sms"]["status"] == "failed"
        assert (
            rows["sms"]["status_detail"] == "template en/confirmed.sms.txt: 'nickname' is undefined"
        )
        assert rows["email"]["status"] == "failed"
        assert "starts with 'Subject: ...'" in rows["email"]["status_detail"]
        assert not notify.send_due(shop.hub)


def test_an_eta_of_1430_chicago_on_the_day_dst_starts_reads_230_pm_cdt():
    env = rendering.environment(None)
    eta = datetime(2024, 3, 10, 14, 30, tzinfo=CHICAGO)
    assert eta.astimezone(UTC) == datetime(2024, 3, 10, 19, 30, tzinfo=UTC)  # UTC-5 now
    done = rendering.render(
        env,
        "next_stop",
        "sms",
        "en",
        "en",
        CHICAGO,
        {
            "merchant": "Corner Shop",
            "minutes": 10,
            "eta_start": eta.astimezone(UTC),
            "tracking_url": "https://t.example/x",
        },
    )
    assert done.body == (
        "Corner Shop: you're next, about 10 minutes (around 2:30 PM CDT). "
        "Track: https://t.example/x"
    )
    earlier = datetime(2024, 3, 10, 7, 30, tzinfo=UTC)  # 1:30 the same night, before the change
    assert (
        "1:30 AM CST"
        in rendering.render(
            env,
            "next_stop",
            "sms",
            "en",
            "en",
            CHICAGO,
            {"merchant": "M", "minutes": 5, "eta_start": earlier, "tracking_url": "u"},
        ).body
    )


def test_german_times_read_on_the_24_hour_clock():
    env = rendering.environment(None)
    eta = datetime(2024, 3, 31, 12, 30, tzinfo=UTC)  # Berlin's first day of summer time
    done = rendering.render(
        env,
        "next_stop",
        "sms",
        "de",
        "en",
        ZoneInfo("Europe/Berlin"),
        {"merchant": "Eckladen", "minutes": 10, "eta_start": eta, "tracking_url": "u"},
    )
    assert "(gegen 14:30 Uhr)" in done.body


def test_a_language_without_templates_falls_back_to_the_default():
    env = rendering.environment(None)
    done = rendering.render(
        env,
        "confirmed",
        "sms",
        "fr",
        "en",
        CHICAGO,
        {"merchant": "M", "order_number": "1", "tracking_url": "u", "opt_out_url": "o"},
    )
    assert done.template == "en/confirmed.sms.txt" and done.language == "en"


def test_a_missing_template_is_named():
    env = rendering.environment(None)
    with pytest.raises(rendering.TemplateProblem, match=r"no template fr/picnic\.sms\.txt"):
        rendering.render(env, "picnic", "sms", "fr", "en", CHICAGO, {})


def test_templates_are_plain_text_not_html_escaped():
    env = rendering.environment(None)
    assert isinstance(env.loader, jinja2.FileSystemLoader) and not env.autoescape


def test_a_held_order_is_confirmed_only_once_it_opens(shop: Shop):
    from dataclasses import replace

    from builders import order

    from hub.core import ledger
    from hub.orders import Customer

    waiting = replace(
        order("2008", ("LAMP", 1)), customer=Customer(name="Ada", email=EMAIL, phone=PHONE)
    )
    shop.hub.write(lambda c: ledger.ensure_product(c, "LAMP"))
    shop.hub.ingest("web", [waiting])  # no LAMP in stock: held
    order_id = shop.hub.read(lambda c: notify.order_ids(c, "web", ["2008"]))["2008"]
    assert messages(shop, order_id) == []
    shop.hub.write(lambda c: ledger.receive(c, "LAMP", "main", 1))  # decided again: open
    assert {(m["event"], m["status"]) for m in messages(shop, order_id)} == {
        ("confirmed", "queued")
    }


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("kind", ["email", "sms"])
@pytest.mark.parametrize("event", notify.EVENTS)
def test_every_shipped_template_renders_with_its_tracking_link(event, kind, language):
    eta = datetime(2024, 3, 10, 19, 30, tzinfo=UTC)
    context = {
        "merchant": "Corner Shop",
        "order_number": "1001",
        "customer_name": "Ada",
        "tracking_url": "https://t.example/track/abc",
        "opt_out_url": "https://t.example/track/abc/opt-out",
        "rebook": "Call us.",
        "eta_start": eta,
        "eta_end": eta + timedelta(hours=1),
        "minutes": 10,
        "proof": "signed by Ada",
        "reason": "nobody home",
        "delivered_at": eta,
    }
    done = rendering.render(
        rendering.environment(None), event, kind, language, "en", CHICAGO, context
    )
    assert done.template == f"{language}/{event}.{kind}.txt"
    assert "https://t.example/track/abc" in done.body
    assert bool(done.subject) == (kind == "email")
    if kind == "sms":
        assert len(done.body) <= 320, "an SMS of more than two segments"
