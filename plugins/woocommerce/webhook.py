"""WooCommerce webhooks: the signature scheme and turning deliveries into hub events.

Woo signs each delivery with ``X-WC-Webhook-Signature``: the base64 of the
HMAC-SHA256 of the raw body, keyed with the webhook's secret. The topic, resource,
event and ids travel in ``X-WC-Webhook-*`` headers; the body is the resource exactly
as the REST API returns it (``{"id": ...}`` only for ``*.deleted``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub import UnreadableWebhook, WebhookEvent, utc
from hub.signing import header, hmac_base64, verify_hmac

from . import mapping

SIGNATURE_HEADER = "X-WC-Webhook-Signature"


def signature(secret: str, body: bytes) -> str:
    """The value the service puts in its signature header for ``body``."""
    return hmac_base64(secret, body)


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the delivery carries a valid signature; constant-time comparison."""
    return verify_hmac(secret, headers, body, SIGNATURE_HEADER)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise UnreadableWebhook("WooCommerce webhook body is not valid JSON") from error


def parse(channel: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Turn a verified delivery into a WebhookEvent (order, deleted order id or SKUs)."""
    topic = header(headers, "X-WC-Webhook-Topic")
    delivery_id = header(headers, "X-WC-Webhook-Delivery-ID")
    if not topic and body.startswith(b"webhook_id="):
        # Woo pings a new webhook's URL with a form body and no topic
        return WebhookEvent(topic="ping", delivery_id=delivery_id)
    payload = _decode(body)
    if not isinstance(payload, dict) or "id" not in payload:
        raise UnreadableWebhook(f"WooCommerce webhook {topic!r} has no resource id in its body")
    resource, _, event = topic.partition(".")
    if resource == "order" and event == "deleted":
        return WebhookEvent(
            topic, delivery_id, cancelled_order_id=str(payload["id"]), payload=payload
        )
    if resource == "order":
        return WebhookEvent(
            topic, delivery_id, order=mapping.order(channel, payload), payload=payload
        )
    if resource == "product":
        skus = (str(payload["sku"]),) if payload.get("sku") else ()
        held = payload.get("stock_quantity")
        managed = payload.get("manage_stock") is True and isinstance(held, int)
        quantities = {skus[0]: held} if skus and managed else {}
        return WebhookEvent(
            topic,
            delivery_id,
            skus=skus,
            payload=payload,
            quantities=quantities,
            occurred_at=_modified(topic, payload),
        )
    return WebhookEvent(topic or "unknown", delivery_id, payload=payload)


def _modified(topic: str, payload: Mapping[str, Any]) -> datetime | None:
    """The item's ``date_modified_gmt`` (naive, in GMT) as aware UTC; None when absent."""
    value = payload.get("date_modified_gmt")
    if not value:
        return None
    try:
        return utc(str(value))
    except ValueError as error:
        raise UnreadableWebhook(
            f"WooCommerce webhook {topic!r}: date_modified_gmt {value!r} is not a time"
        ) from error
