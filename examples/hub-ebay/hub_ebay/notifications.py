"""eBay's notification signature: ECDSA over the body, with a public key fetched by key id.

Each push notification carries ``X-EBAY-SIGNATURE``: the base64 of a JSON object
``{"alg": "ecdsa", "kid": ..., "signature": <base64 DER ECDSA signature>, "digest":
"SHA1"}``. The public key for ``kid`` comes from the Notification API's ``getPublicKey``
(``GET /commerce/notification/v1/public_key/{public_key_id}`` with an Application access
token), answering ``{"algorithm": "ECDSA", "digest": "SHA1", "key": <PEM>}``; eBay asks
that it be cached, an hour recommended (developer.ebay.com/api-docs/commerce/notification/
resources/public_key/methods/getPublicKey).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PUBLIC_KEY_PATH = "/commerce/notification/v1/public_key/"
KEY_LIFETIME = 3600.0  # seconds a fetched key is kept, as eBay recommends
UNKNOWN_LIFETIME = 300.0  # seconds a key id eBay does not know is not asked for again
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}


def read_signature(value: str) -> dict[str, Any] | None:
    """The fields of an ``X-EBAY-SIGNATURE`` header, or None when it is not one."""
    try:
        fields = json.loads(base64.b64decode(value, validate=True))
        if isinstance(fields, dict) and isinstance(fields.get("kid"), str):
            fields["signature"] = base64.b64decode(fields["signature"], validate=True)
            return fields
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    return None


class PublicKeys:
    """eBay's notification keys by id, fetched once an hour through ``fetch(kid)`` (which
    returns the ``getPublicKey`` answer, None for an unknown key id, or raises
    ``ChannelError``); thread-safe."""

    def __init__(self, fetch: Callable[[str], Any]) -> None:
        self.fetch = fetch
        self._keys: dict[str, tuple[ec.EllipticCurvePublicKey, str, float]] = {}
        self._unknown: dict[str, float] = {}  # forged key ids cost one getPublicKey a while
        self._lock = threading.Lock()

    def verify(self, header_value: str, body: bytes) -> bool:
        """True when ``header_value`` is eBay's valid signature of exactly ``body``."""
        fields = read_signature(header_value)
        if fields is None or str(fields.get("alg", "")).lower() != "ecdsa":
            return False
        key = self._key(fields["kid"])
        if key is None:
            return False
        public_key, digest, _ = key
        try:
            public_key.verify(fields["signature"], body, ec.ECDSA(DIGESTS[digest]()))
        except InvalidSignature:
            return False
        return True

    def _key(self, kid: str) -> tuple[ec.EllipticCurvePublicKey, str, float] | None:
        with self._lock:
            held = self._keys.get(kid)
            if held is not None and time.monotonic() < held[2]:
                return held
            if time.monotonic() < self._unknown.get(kid, 0.0):
                return None
            answer = self.fetch(kid)  # None: eBay knows no such key
            if not isinstance(answer, dict):
                self._unknown[kid] = time.monotonic() + UNKNOWN_LIFETIME
                return None
            # The key's own answer names the digest: the header's claim is the sender's.
            digest = str(answer.get("digest", "")).upper()
            if str(answer.get("algorithm", "")).upper() != "ECDSA" or digest not in DIGESTS:
                return None
            try:
                key = serialization.load_pem_public_key(str(answer["key"]).encode())
            except (ValueError, KeyError, UnsupportedAlgorithm):
                return None
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return None
            self._keys[kid] = (key, digest, time.monotonic() + KEY_LIFETIME)
            return self._keys[kid]
