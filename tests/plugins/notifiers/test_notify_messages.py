"""Each event's messages: rendered, recorded and sent once by e-mail (real SMTP with
STARTTLS and AUTH) and by SMS (the official Twilio client against the sandbox), with the
provider's id and the delivery status Twilio reports back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from notify_site import EMAIL, PHONE, SMTP_USER, Shop

from hub.core import notify
from hub.core.models import notification_message_t, now, tracking_token_t


def messages(shop: Shop, order_id: int) -> list[dict]:
    return list(reversed(shop.hub.read(lambda c: notify.messages(c, order_id=order_id))))


def test_order_confirmed_is_sent_once_by_email_and_sms(shop: Shop):
    order_id = shop.order("1001")
    queued = messages(shop, order_id)
    assert [(m["event"], m["kind"], m["status"]) for m in queued] == [
        ("confirmed", "email", "queued"),
        ("confirmed", "sms", "queued"),
    ]
    report = notify.send_due(shop.hub)
    assert len(report.sent) == 2 and not report.retrying and not report.failed

    mail = shop.mail.mailbox.messages
    assert len(mail) == 1
    assert mail[0]["To"] == EMAIL and mail[0]["Subject"] == "Corner Shop: order 1001 confirmed"
    assert [user for _mechanism, user in shop.mail.mailbox.logins] == [SMTP_USER]
    texts = shop.twilio.sent_to(PHONE)
    assert len(texts) == 1 and texts[0].body.startswith("Corner Shop: order 1001 confirmed.")

    sent = {m["kind"]: m for m in messages(shop, order_id)}
    assert sent["email"]["provider_id"] == mail[0]["Message-ID"]
    assert sent["sms"]["provider_id"] == texts[0].sid
    assert {m["status"] for m in sent.values()} == {"sent"}
    assert all(m["sent_at"] is not None for m in sent.values())

    # the same order again (a repeated webhook) writes and sends nothing more
    shop.hub.ingest("web", [shop_order_again("1001")])
    assert notify.send_due(shop.hub).sent == []
    assert len(messages(shop, order_id)) == 2
    assert len(shop.mail.mailbox.messages) == 1 and len(shop.twilio.sent_to(PHONE)) == 1


def shop_order_again(external_id: str):  # type: ignore[no-untyped-def]
    from builders import order

    from hub.orders import Customer

    made = order(external_id, ("MUG", 1), minutes=5)
    return replace(made, customer=Customer(name="Ada Lovelace", email=EMAIL, phone=PHONE))


def test_twilio_status_callbacks_move_sent_to_delivered(shop: Shop):
    order_id = shop.order("1002")
    notify.send_due(shop.hub)
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["status"] == "sent"
    posted = shop.twilio.deliver_callbacks()
    assert [c.form["MessageStatus"] for c in posted] == ["sent", "delivered"]
    assert [c.answer for c in posted] == [200, 200]
    assert posted[0].url == f"{shop.url}/notifications/sms/status"
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["status"] == "delivered" and sms["delivered_at"] is not None


def test_an_unreachable_phone_ends_undelivered_with_twilios_error(shop: Shop):
    shop.twilio.unreachable(PHONE)
    order_id = shop.order("1003")
    notify.send_due(shop.hub)
    shop.twilio.deliver_callbacks()
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["status"] == "undelivered"
    assert sms["status_detail"] == "Twilio: undelivered (error 30003)"


def test_a_forged_status_callback_is_refused_and_changes_nothing(shop: Shop):
    order_id = shop.order("1004")
    notify.send_due(shop.hub)
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    url = f"{shop.url}/notifications/sms/status"
    form = {"MessageSid": sms["provider_id"], "MessageStatus": "failed", "To": PHONE}
    forged = requests.post(url, data=form, headers={"X-Twilio-Signature": "AAAA"}, timeout=10)
    assert forged.status_code == 403
    assert forged.json()["field"] == "signature"
    unsigned = requests.post(url, data=form, timeout=10)
    assert unsigned.status_code == 403
    # signed over another URL (a replay to another hub) is refused too
    other = shop.twilio.sign("https://elsewhere.example/notifications/sms/status", form)
    assert (
        requests.post(url, data=form, headers={"X-Twilio-Signature": other}, timeout=10).status_code
        == 403
    )
    # a valid signature over a changed body is refused
    signature = shop.twilio.sign(url, form)
    changed = {**form, "MessageStatus": "delivered"}
    answer = requests.post(url, data=changed, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert answer.status_code == 403
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["status"] == "sent"
    # the same report properly signed is taken
    answer = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert answer.status_code == 200
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["status"] == "failed"


def test_a_callback_for_an_unknown_message_or_notifier_is_a_404(shop: Shop):
    url = f"{shop.url}/notifications/sms/status"
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    signed = {"X-Twilio-Signature": shop.twilio.sign(url, form)}
    assert requests.post(url, data=form, headers=signed, timeout=10).status_code == 404
    other = f"{shop.url}/notifications/pigeon/status"
    assert requests.post(other, data=form, headers=signed, timeout=10).status_code == 404


def test_a_failed_send_is_retried_with_backoff_and_sent_once(shop: Shop):
    order_id = shop.order("1005")
    shop.twilio.faults.server_errors = 1
    shop.mail.mailbox.fail_next = 1
    start = now()
    first = notify.send_due(shop.hub, at=start)
    assert len(first.retrying) == 2 and not first.sent
    waiting = messages(shop, order_id)
    assert {m["status"] for m in waiting} == {"queued"}
    assert all(m["attempts"] == 1 for m in waiting)
    assert all(
        m["next_attempt_at"] == start.replace(microsecond=start.microsecond) + timedelta(seconds=30)
        for m in waiting
    )
    # not due yet: nothing is sent again early
    assert not notify.send_due(shop.hub, at=start + timedelta(seconds=10))
    second = notify.send_due(shop.hub, at=start + timedelta(seconds=31))
    assert len(second.sent) == 2
    assert len(shop.twilio.sent_to(PHONE)) == 1
    assert len(shop.mail.mailbox.messages) == 1
    assert {m["status"] for m in messages(shop, order_id)} == {"sent"}
    assert all(m["attempts"] == 2 for m in messages(shop, order_id))


def test_a_refused_number_fails_at_once_and_is_not_retried(shop: Shop):
    shop.twilio.opted_out.add(PHONE)  # the customer replied STOP to Twilio
    order_id = shop.order("1006")
    report = notify.send_due(shop.hub)
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["id"] in report.failed
    assert sms["status"] == "failed" and "21610" in sms["status_detail"]
    assert not notify.send_due(shop.hub, at=now() + timedelta(hours=2))


def test_a_message_left_sending_by_a_crash_is_not_sent_again(shop: Shop):
    order_id = shop.order("1007")
    stamp = now()
    claimed = shop.hub.write(lambda c: notify.sending._claim(c, "dead-worker", stamp, 10))
    assert len(claimed) == 2  # the worker died after committing "sending"
    assert notify.recover(shop.hub, at=stamp + timedelta(minutes=1)) == 0  # lease still runs
    assert notify.recover(shop.hub, at=stamp + timedelta(minutes=6)) == 2
    assert not notify.send_due(shop.hub, at=stamp + timedelta(minutes=7))
    assert {m["status"] for m in messages(shop, order_id)} == {"failed"}
    assert shop.twilio.sent_to(PHONE) == [] and shop.mail.mailbox.messages == []


def test_dispatched_carries_the_eta_window_of_the_planned_route(shop: Shop):
    from hub.core.models import planned_route_t, planned_stop_t, route_plan_t

    order_id = shop.order("1008")
    arrival = datetime(2024, 3, 10, 19, 30, tzinfo=UTC)  # 14:30 CDT, the day DST starts

    def plan(conn):  # type: ignore[no-untyped-def]
        plan_id = conn.execute(
            route_plan_t.insert().values(
                first_day=arrival.date(),
                days=1,
                router="test",
                stats="{}",
                note="",
                created_at=arrival,
            )
        ).inserted_primary_key[0]
        route_id = conn.execute(
            planned_route_t.insert().values(
                plan_id=plan_id,
                vehicle="van",
                day=arrival.date(),
                departure=arrival - timedelta(hours=3),
                arrival=arrival + timedelta(hours=2),
                dispatched=True,
                distance_m=0,
                weight_kg=0,
                volume_m3=0,
                cost=0,
            )
        ).inserted_primary_key[0]
        conn.execute(
            planned_stop_t.insert().values(
                route_id=route_id,
                seq=1,
                stop_key="s1",
                order_id=order_id,
                arrival=arrival,
                service_start=arrival,
                departure=arrival + timedelta(minutes=5),
            )
        )

    shop.hub.write(plan)
    shop.hub.ship("web:1008", "own-fleet")
    dispatched = [m for m in messages(shop, order_id) if m["event"] == "dispatched"]
    sms = next(m for m in dispatched if m["kind"] == "sms")
    assert "arriving Sun, March 10 2:00 PM CDT - 3:00 PM CDT" in sms["body"]
    token = shop.hub.read(
        lambda c: (
            c.execute(sa.select(tracking_token_t).where(tracking_token_t.c.order_id == order_id))
            .mappings()
            .one()
        )
    )
    assert token["eta_start"] == arrival - timedelta(minutes=30)
    assert token["eta_end"] == arrival + timedelta(minutes=30)


def test_next_stop_delivered_and_failed_for_the_driver_app(shop: Shop):
    order_id = shop.order("1009")
    shop.hub.ship("web:1009", "own-fleet")
    eta = now() + timedelta(minutes=11)
    written = shop.hub.write(lambda c: notify.next_stop(shop.hub, c, order_id, eta, stops_before=0))
    assert len(written) == 2
    again = shop.hub.write(lambda c: notify.next_stop(shop.hub, c, order_id, eta))
    assert again == []  # once per order
    failed = shop.hub.write(
        lambda c: notify.failed(shop.hub, c, order_id, "nobody home", attempt=1)
    )
    assert len(failed) == 2
    second_attempt = shop.hub.write(
        lambda c: notify.failed(shop.hub, c, order_id, "closed", attempt=2)
    )
    assert len(second_attempt) == 2
    done = shop.hub.write(
        lambda c: notify.delivered(shop.hub, c, order_id, proof="signed by A. Lovelace")
    )
    assert len(done) == 2
    shop.hub.deliver("web:1009")  # the hub's own "delivered" finds the driver's: nothing new
    notify.send_due(shop.hub)
    texts = [t.body for t in shop.twilio.sent_to(PHONE)]
    assert any("you're next, about 10 minutes" in t for t in texts)
    assert any("(nobody home)" in t and "To rebook: Reply to this message" in t for t in texts)
    assert any("(closed)" in t for t in texts)
    delivered = [t for t in texts if "delivered" in t]
    assert len(delivered) == 1 and "(signed by A. Lovelace)" in delivered[0]
    events = [m["event"] for m in messages(shop, order_id) if m["kind"] == "email"]
    assert events == ["confirmed", "dispatched", "next_stop", "failed", "failed", "delivered"]
    mail = shop.mail.mailbox.messages[-1]
    assert mail["Subject"] == "Corner Shop: order 1009 delivered"
    assert "Proof of delivery: signed by A. Lovelace." in mail.get_payload(decode=True).decode()


def test_an_order_without_a_phone_records_the_sms_suppressed(shop: Shop):
    from builders import ADDRESS

    from hub.orders import Customer

    order_id = shop.order(
        "1010", customer=Customer(name="Bo", email="bo@example.com"), shipping_address=ADDRESS
    )
    sms = next(m for m in messages(shop, order_id) if m["kind"] == "sms")
    assert sms["status"] == "suppressed"
    assert sms["status_detail"] == "the order has no phone number in international form"
    notify.send_due(shop.hub)
    assert shop.twilio.messages == {}


@pytest.mark.parametrize(
    "contact, key",
    [
        ("Ada@Example.com", "ada@example.com"),
        ("+1 (312) 555-0142", PHONE),
        ("0049 30 1234567", "+49301234567"),
    ],
)
def test_recipients_are_compared_in_one_spelling(contact, key):
    assert notify.any_recipient_key(contact) == key


def test_a_contact_that_is_neither_is_refused_in_one_line():
    with pytest.raises(Exception, match="neither an e-mail address nor a phone number"):
        notify.any_recipient_key("call me maybe")


def test_message_rows_keep_the_rendered_text_and_template(shop: Shop):
    order_id = shop.order("1011")
    rows = shop.hub.read(
        lambda c: (
            c.execute(
                sa.select(notification_message_t).where(
                    notification_message_t.c.order_id == order_id
                )
            )
            .mappings()
            .all()
        )
    )
    email = next(r for r in rows if r["kind"] == "email")
    assert email["template"] == "en/confirmed.email.txt" and email["language"] == "en"
    assert email["idempotency_key"] == f"{order_id}:confirmed:email"
    assert "/track/" in email["body"] and "/opt-out" in email["body"]


def test_an_unreadable_signed_callback_is_a_400_naming_the_problem(shop: Shop):
    order_id = shop.order("1012")
    notify.send_due(shop.hub)
    sid = next(m for m in messages(shop, order_id) if m["kind"] == "sms")["provider_id"]
    url = f"{shop.url}/notifications/sms/status"
    for form, why in (
        ({"MessageSid": sid}, "unreadable status report: 'MessageStatus'"),
        ({"MessageSid": sid, "MessageStatus": "canceled"}, "status 'canceled' is not one"),
    ):
        signed = {"X-Twilio-Signature": shop.twilio.sign(url, form)}
        answer = requests.post(url, data=form, headers=signed, timeout=10)
        assert answer.status_code == 400 and why in answer.json()["error"]
    assert next(m for m in messages(shop, order_id) if m["kind"] == "sms")["status"] == "sent"
