"""Shopify webhooks: the signature scheme and turning deliveries into hub events.

Shopify signs each delivery with ``X-Shopify-Hmac-Sha256``: the base64 of the
HMAC-SHA256 of the raw body, keyed with the app's client secret. The topic travels in
``X-Shopify-Topic``; ``X-Shopify-Webhook-Id`` stays the same when Shopify retries a
delivery. Bodies have the shape of the REST resources (``line_items``,
``financial_status``...), whatever API version the app queries with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from hub import OrderStatus, UnreadableWebhook, WebhookEvent, utc
from hub.signing import header, hmac_base64, verify_hmac

from . import mapping

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
#: The topics the Shopify channel listens to.
TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    "inventory_levels/update",
)


def signature(secret: str, body: bytes) -> str:
    """The value the service puts in its signature header for ``body``."""
    return hmac_base64(secret, body)


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the delivery carries a valid signature; constant-time comparison."""
    return verify_hmac(secret, headers, body, SIGNATURE_HEADER)


def parse(
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    skus_of_items: Callable[[list[str]], dict[str, str]],
    risk_of: Callable[[str], str | None] = lambda order_id: None,
    location: str = "",
) -> WebhookEvent:
    """Turn a verified delivery into a WebhookEvent.

    ``skus_of_items`` maps inventory item ids to SKUs (``inventory_levels/update``
    names the item, not the SKU); ``risk_of`` reads an open order's fraud risk, which
    the webhook body does not carry, so the hub's fraud check sees it at once.
    ``location`` is the location the hub sets: a level elsewhere says nothing of what the
    channel holds there, so it only has the SKU compared again.
    """
    topic = header(headers, "X-Shopify-Topic")
    delivery_id = header(headers, "X-Shopify-Webhook-Id")
    try:
        payload: Any = json.loads(body)
    except ValueError as error:
        raise UnreadableWebhook(f"Shopify webhook {topic!r}: the body is not valid JSON") from error
    if not isinstance(payload, dict):
        raise UnreadableWebhook(f"Shopify webhook {topic!r}: the body is not a JSON object")
    if topic.startswith("orders/"):
        if "id" not in payload or "line_items" not in payload:
            raise UnreadableWebhook(f"Shopify webhook {topic!r} carries no order")
        order = mapping.order_from_webhook(channel, payload)
        if order.status is OrderStatus.OPEN:
            order = replace(order, risk_level=risk_of(order.external_id))
        return WebhookEvent(topic, delivery_id, order=order, payload=payload)
    if topic == "refunds/create":
        # The order itself follows as orders/updated; the refunded SKUs may have come back
        # to stock, so their quantities are compared again.
        skus = tuple(
            sorted(
                {
                    str(line["line_item"]["sku"])
                    for line in payload.get("refund_line_items") or []
                    if (line.get("line_item") or {}).get("sku")
                }
            )
        )
        return WebhookEvent(topic, delivery_id, skus=skus, payload=payload)
    if topic == "inventory_levels/update":
        item = payload.get("inventory_item_id")
        if item is None:
            raise UnreadableWebhook("Shopify webhook inventory_levels/update names no item")
        item_gid = f"gid://shopify/InventoryItem/{item}"
        skus = tuple(sku for sku in skus_of_items([item_gid]).values() if sku)
        available = payload.get("available")
        here = not location or mapping.numeric_id(location) == str(payload.get("location_id"))
        quantities = {sku: int(available) for sku in skus} if here and available is not None else {}
        return WebhookEvent(
            topic,
            delivery_id,
            skus=skus,
            payload=payload,
            quantities=quantities,
            occurred_at=_time(topic, payload.get("updated_at")),
        )
    return WebhookEvent(topic or "unknown", delivery_id, payload=payload)


def _time(topic: str, value: Any) -> datetime | None:
    """The event's ``updated_at`` as aware UTC (None when the body has none)."""
    if not value:
        return None
    try:
        return utc(str(value))
    except ValueError as error:
        raise UnreadableWebhook(
            f"Shopify webhook {topic!r}: updated_at {value!r} is not an ISO 8601 time"
        ) from error
