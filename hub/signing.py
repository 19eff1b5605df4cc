"""Webhook signatures for channel plugins: base64 HMAC-SHA256 of the raw body.

Shopify (``X-Shopify-Hmac-Sha256``) and WooCommerce (``X-WC-Webhook-Signature``) both
sign a delivery with the base64 of the HMAC-SHA256 of its exact bytes, keyed with a
shared secret; many other services do the same. :func:`verify_hmac` compares in
constant time, so a forger learns nothing from how long the refusal took.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def hmac_base64(secret: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of ``body`` keyed with ``secret``: the signature to send."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def header(headers: Mapping[str, str], name: str) -> str:
    """Look a header up without regard to case (plain dicts from tests or frameworks)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def verify_hmac(
    secret: str | None, headers: Mapping[str, str], body: bytes, header_name: str
) -> bool:
    """True when ``header_name`` carries the body's signature; constant-time comparison.

    A missing secret or header is never valid.
    """
    sent = header(headers, header_name)
    if not secret or not sent:
        return False
    return hmac.compare_digest(hmac_base64(secret, body).encode(), sent.strip().encode())
