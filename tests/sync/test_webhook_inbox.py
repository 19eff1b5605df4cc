"""Webhook deliveries are parsed through the channel's limiter and retry policy: a lookup
the adapter makes (Shopify's fraud risk) that meets a 429 or 503 is retried there, not
charged to the delivery's tries. A body that cannot be read is dead at once, with why."""

from __future__ import annotations

import json

import requests
import sqlalchemy as sa
from sync_stores import Stores

from hub.core.models import dead_letter_t, inbox_t, order_t
from hub_plugins.shopify.webhook import signature as shopify_signature
from hub_plugins.woocommerce.webhook import signature as woo_signature


def inbox(stores: Stores) -> list[dict]:
    query = sa.select(inbox_t).order_by(inbox_t.c.id)
    return [dict(r) for r in stores.hub.read(lambda c: c.execute(query).mappings().all())]


def dead_letters(stores: Stores) -> list[dict]:
    query = sa.select(dead_letter_t).where(dead_letter_t.c.kind == "inbox")
    return [dict(r) for r in stores.hub.read(lambda c: c.execute(query).mappings().all())]


def post(stores: Stores, channel: str, headers: dict[str, str], body: bytes) -> int:
    answer = requests.post(f"{stores.hooks_url}/{channel}", data=body, headers=headers, timeout=5)
    return answer.status_code


def dead_on_first_try(stores: Stores, channel: str, headers: dict[str, str], body: bytes) -> dict:
    """Post a signed delivery (stored: 200), read the inbox; its one row is dead after one try."""
    assert post(stores, channel, headers, body) == 200

    stores.sync.process_inbox()

    (row,) = inbox(stores)
    assert (row["status"], row["attempts"]) == ("dead", 1)
    return row


def test_a_shopify_order_whose_risk_lookup_meets_429_then_503_lands_with_its_risk(
    stores: Stores,
):
    stores.shop.sell("MUG", 2, risk="HIGH")
    assert {d.status for d in stores.shop.deliver_webhooks()} == {200}
    stores.shop.faults.rate_limited = 1  # the OrderRisk lookup is the first call: 429...
    stores.shop.faults.server_errors = 1  # ...then 503, then an answer

    stores.sync.process_inbox()

    assert (stores.shop.faults.rate_limited, stores.shop.faults.server_errors) == (0, 0)
    query = sa.select(order_t.c.risk_level, order_t.c.status).where(order_t.c.channel == "shop")
    (order,) = stores.hub.read(lambda c: c.execute(query).all())
    assert tuple(order) == ("high", "on_hold")
    rows = inbox(stores)
    assert [(r["status"], r["attempts"]) for r in rows] == [("done", 1)] * len(rows)
    assert dead_letters(stores) == []


def test_a_shopify_webhook_that_is_not_json_is_dead_on_its_first_try_with_the_reason(
    stores: Stores,
):
    body = b'{"id": 1001, "line_items": ['  # cut short
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": shopify_signature(stores.shop.api_secret, body),
        "X-Shopify-Webhook-Id": "d1",
    }
    row = dead_on_first_try(stores, "shop", headers, body)  # signed: stored, then read
    assert "not valid JSON" in row["last_error"]
    (letter,) = dead_letters(stores)
    assert "not valid JSON" in letter["error"] and letter["attempts"] == 1


def test_a_shopify_order_webhook_missing_fields_is_dead_on_its_first_try(stores: Stores):
    body = json.dumps({"id": 1002, "line_items": [{"sku": "MUG"}]}).encode()
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": shopify_signature(stores.shop.api_secret, body),
        "X-Shopify-Webhook-Id": "d2",
    }
    row = dead_on_first_try(stores, "shop", headers, body)
    assert row["last_error"].startswith("UnreadableWebhook: webhook for channel 'shop'")


def test_a_woocommerce_webhook_without_a_resource_id_is_dead_on_its_first_try(
    stores: Stores,
):
    body = json.dumps({"status": "processing"}).encode()
    headers = {
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Signature": woo_signature(stores.woo.webhook_secret, body),
        "X-WC-Webhook-Delivery-ID": "w1",
    }
    row = dead_on_first_try(stores, "woo", headers, body)
    assert "has no resource id" in row["last_error"]


def test_a_shopify_order_webhook_retries_when_the_shop_stays_down_then_lands(
    stores: Stores,
):
    stores.shop.sell("MUG", 1)
    stores.shop.deliver_webhooks()
    stores.shop.faults.server_errors = 3  # every try of the first pass: the row waits

    stores.sync.process_inbox()
    waiting = [r for r in inbox(stores) if r["status"] == "pending"]
    assert len(waiting) == 1 and "503" in waiting[0]["last_error"]
    stores.hub.write(  # its backoff has passed
        lambda c: c.execute(inbox_t.update().values(claimed_until=None))
    )
    stores.sync.process_inbox()

    assert {r["status"] for r in inbox(stores)} == {"done"}
    query = sa.select(order_t.c.risk_level).where(order_t.c.channel == "shop")
    assert stores.hub.read(lambda c: c.execute(query).scalar_one()) == "low"
