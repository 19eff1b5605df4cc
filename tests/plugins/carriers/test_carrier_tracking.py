"""EasyPost tracker webhooks to the hub's endpoint over real HTTP: verified by their HMAC
signature, recorded once, estimated delivery kept as the recipient's calendar day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
import requests
import sqlalchemy as sa
from conftest import World

from hub.core import labels
from hub.core.models import carrier_label_t, tracking_event_t
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.shipping import delivery_day, spoken_day
from hub.web.app import make_app
from hub_plugins.carriers.easypost.sandbox import signature


@pytest.fixture
def endpoint(world: World) -> Iterator[str]:
    """The hub's carrier webhook endpoint in the web app ``hub run`` serves; the sandbox
    posts tracker events to it."""
    with SandboxServer(make_app(Sync(world.hub))) as server:
        url = f"{server.url}/carriers/easypost/tracking"
        world.easypost.subscribe(url)
        yield url


def shipped(world: World, external_id: str) -> dict:
    return labels.buy(world.hub, world.carriers, world.sell(external_id)).label


def label_now(world: World, label_id: int) -> dict:
    return world.hub.read(
        lambda c: dict(
            c.execute(sa.select(carrier_label_t).where(carrier_label_t.c.id == label_id))
            .mappings()
            .one()
        )
    )


def events(world: World) -> list[dict]:
    return world.hub.read(
        lambda c: [dict(r) for r in c.execute(sa.select(tracking_event_t)).mappings()]
    )


@pytest.mark.parametrize("estimate", ["2024-08-09T00:00:00-06:00", "2024-08-09"])
def test_an_estimated_delivery_in_denver_is_friday_9_august_never_thursday(
    world: World, endpoint: str, estimate: str
):
    label = shipped(world, "T-1")
    world.easypost.track(label["carrier_shipment_id"], "in_transit", est_delivery_date=estimate)

    [delivery] = world.easypost.hooks.deliver()

    assert delivery.status == 200
    stored = label_now(world, label["id"])
    assert stored["estimated_delivery"] == date(2024, 8, 9)
    assert labels.estimated_delivery_text(stored) == "Friday 9 August"
    assert stored["tracking_status"] == "in_transit"


def test_delivery_day_reads_a_bare_date_as_that_day_and_a_time_in_the_recipients_zone():
    assert delivery_day("2024-08-09", "America/Denver") == date(2024, 8, 9)
    assert delivery_day("2024-08-09T00:00:00-06:00", "America/Denver") == date(2024, 8, 9)
    assert delivery_day("2024-08-09T23:30:00-06:00", "Europe/Berlin") == date(2024, 8, 10)
    assert delivery_day(None, "America/Denver") is None
    assert spoken_day(date(2024, 8, 9)) == "Friday 9 August"
    with pytest.raises(ValueError, match="'next week' is not an ISO 8601"):
        delivery_day("next week", "UTC")


def test_a_delivery_sent_twice_is_recorded_once_and_delivered_ships_the_order_home(
    world: World, endpoint: str
):
    label = shipped(world, "T-2")
    world.easypost.faults.duplicate_webhooks = 1
    world.easypost.track(label["carrier_shipment_id"], "in_transit", at="2024-08-08T15:00:00Z")
    world.easypost.track(label["carrier_shipment_id"], "delivered", at="2024-08-09T17:20:00Z")

    answers = world.easypost.hooks.deliver()

    assert [a.status for a in answers] == [200, 200, 200]
    assert sorted(e["status"] for e in events(world)) == ["delivered", "in_transit"]
    assert label_now(world, label["id"])["delivered_at"] is not None
    assert world.order("desk:T-2")["status"] == "delivered"


@pytest.mark.parametrize("forgery", ["wrong_secret", "no_signature", "tampered_body"])
def test_a_forged_tracking_webhook_is_refused_and_records_nothing(
    world: World, endpoint: str, forgery: str
):
    label = shipped(world, "T-3")
    event = world.easypost.track(
        label["carrier_shipment_id"], "delivered", est_delivery_date="2024-08-09"
    )
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if forgery == "wrong_secret":
        headers["X-Hmac-Signature"] = signature("guessed-secret", body)
    elif forgery == "tampered_body":
        headers["X-Hmac-Signature"] = signature(world.easypost.webhook_secret, body)
        body = body.replace(b'"delivered"', b'"returned"')

    answer = requests.post(endpoint, data=body, headers=headers, timeout=10)

    assert answer.status_code == 401
    assert answer.json() == {
        "error": "carrier easypost: the webhook's signature is not valid",
        "field": "signature",
    }
    assert events(world) == []
    after = label_now(world, label["id"])
    assert (after["tracking_status"], after["estimated_delivery"], after["delivered_at"]) == (
        "",
        None,
        None,
    )
    assert world.order("desk:T-3")["status"] == "fulfilled"


def test_a_webhook_for_an_unknown_carrier_is_404(world: World, endpoint: str):
    url = endpoint.replace("/easypost/", "/fedex/")
    answer = requests.post(url, data=b"{}", timeout=10)
    assert answer.status_code == 404 and "no carrier 'fedex'" in answer.json()["error"]


def test_a_signed_but_unreadable_body_is_400_and_records_nothing(world: World, endpoint: str):
    body = b'{"description": "tracker.updated"}'
    headers = {"X-Hmac-Signature": signature(world.easypost.webhook_secret, body)}
    answer = requests.post(endpoint, data=body, headers=headers, timeout=10)
    assert answer.status_code == 400 and "unreadable tracking webhook" in answer.json()["error"]
    assert events(world) == []
