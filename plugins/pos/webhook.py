"""Square webhooks: the signature scheme, and reading an event's body.

Square signs each notification with ``x-square-hmacsha256-signature``: the base64 of the
HMAC-SHA256, keyed with the subscription's signature key, of the subscription's
notification URL followed by the raw body, byte for byte (Square's "Validate webhook
notifications": ``hmac(key, notification_url + body)``). The URL is the one configured in
the subscription, so behind a proxy or load balancer the hub must use its configured
public URL, never one rebuilt from the request it received (scheme, host, port and
trailing slash all count), and the raw bytes, never a parsed-and-reserialised body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from hub import UnreadableWebhook
from hub.signing import header

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def signature(key: str, notification_url: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of ``notification_url`` + ``body`` keyed with ``key``."""
    digest = hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(
    key: str | None, notification_url: str | None, headers: Mapping[str, str], body: bytes
) -> bool:
    """True when the delivery's signature matches; compared in constant time.

    A missing key, URL or header is never valid.
    """
    sent = header(headers, SIGNATURE_HEADER).strip()
    if not key or not notification_url or not sent:
        return False
    expected = signature(key, notification_url, body)
    return hmac.compare_digest(expected.encode(), sent.encode())


def decode(body: bytes) -> dict[str, Any]:
    """The event as JSON; :class:`UnreadableWebhook` naming what is missing otherwise.

    Shape (Square's ``OrderUpdatedEvent`` and kin): ``{"merchant_id", "type", "event_id",
    "created_at", "data": {"type", "id", "object": {...}}}``.
    """
    try:
        event = json.loads(body)
    except ValueError as error:
        raise UnreadableWebhook("Square webhook body is not valid JSON") from error
    if not isinstance(event, dict):
        raise UnreadableWebhook("Square webhook body is not a JSON object")
    for name in ("type", "event_id", "data"):
        if name not in event:
            raise UnreadableWebhook(f"Square webhook body has no {name!r}")
    if not isinstance(event["data"], dict) or not isinstance(event["data"].get("object"), dict):
        raise UnreadableWebhook("Square webhook body has no data.object")
    return event
