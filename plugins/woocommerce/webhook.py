"""WooCommerce webhooks: the signature scheme and turning deliveries into hub events.

Woo signs each delivery with ``X-WC-Webhook-Signature``: the base64 of the
HMAC-SHA256 of the raw body, keyed with the webhook's secret. The topic, resource,
event and ids travel in ``X-WC-Webhook-*`` headers; the body is the resource exactly
as the REST API returns it (``{"id": ...}`` only for ``*.deleted``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from hub import WebhookEvent, WebhookRejected

from . import mapping

SIGNATURE_HEADER = "X-WC-Webhook-Signature"


def signature(secret: str, body: bytes) -> str:
    """The value Woo puts in ``X-WC-Webhook-Signature`` for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def header(headers: Mapping[str, str], name: str) -> str:
    """Look a header up without regard to case (plain dicts from tests or frameworks)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the delivery carries a valid signature; constant-time comparison."""
    sent = header(headers, SIGNATURE_HEADER)
    if not secret or not sent:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), sent.strip().encode())


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise WebhookRejected("WooCommerce webhook body is not valid JSON") from error


def parse(channel: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Turn a verified delivery into a WebhookEvent (order, deleted order id or SKUs)."""
    topic = header(headers, "X-WC-Webhook-Topic")
    delivery_id = header(headers, "X-WC-Webhook-Delivery-ID")
    if not topic and body.startswith(b"webhook_id="):
        # Woo pings a new webhook's URL with a form body and no topic
        return WebhookEvent(topic="ping", delivery_id=delivery_id)
    payload = _decode(body)
    if not isinstance(payload, dict) or "id" not in payload:
        raise WebhookRejected(f"WooCommerce webhook {topic!r} has no resource id in its body")
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
        return WebhookEvent(topic, delivery_id, skus=skus, payload=payload, quantities=quantities)
    return WebhookEvent(topic or "unknown", delivery_id, payload=payload)
