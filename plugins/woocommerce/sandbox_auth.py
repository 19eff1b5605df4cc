"""How the sandbox checks API keys, following WooCommerce's own server-side rules.

Over HTTPS: HTTP Basic auth (key as user, secret as password) or ``consumer_key`` and
``consumer_secret`` query parameters. Over plain HTTP: OAuth 1.0a "one-legged", the
parameters in the query string, signed with HMAC-SHA1 or HMAC-SHA256 and the secret
followed by ``&``. The base string is built as Woo's ``class-wc-rest-authentication``
builds it: method, the raw-URL-encoded request URL, and the parameters (all query
parameters except ``oauth_signature``) sorted by key, each key and value
raw-URL-encoded and then ``%`` escaped as ``%25``, joined with ``%3D`` and ``%26``.

The ``woocommerce`` Python client puts the query parameters in the URL it signs and
passes them to ``requests`` again, so every non-OAuth parameter arrives twice; PHP
keeps one value per key, and so does this check. Timestamps must be within 15
minutes. A nonce may not be reused with the same timestamp (Woo remembers nonces for
the whole window; the client draws its nonces from 10^8 values, so keying on the
timestamp too keeps long test runs from failing on a chance repeat).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import quote, unquote

from aiohttp import web

from .sandbox_store import StoreError

WINDOW_SECONDS = 15 * 60
AUTH_CODE = "woocommerce_rest_authentication_error"


def _encode(text: str) -> str:
    """PHP's ``rawurlencode(rawurldecode(text))`` with ``%`` escaped again, as Woo does."""
    return quote(unquote(text), safe="").replace("%", "%25")


def base_string(method: str, url: str, params: Mapping[str, str]) -> str:
    """The OAuth signature base string Woo computes for a request."""
    pairs = sorted((k, v) for k, v in params.items() if k != "oauth_signature")
    query = "%26".join(f"{_encode(k)}%3D{_encode(v)}" for k, v in pairs)
    return f"{method.upper()}&{quote(url, safe='')}&{query}"


def oauth_signature(method: str, url: str, params: Mapping[str, str], secret: str) -> str:
    """The signature Woo expects, with the algorithm named by ``oauth_signature_method``."""
    algorithm = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(
        params.get("oauth_signature_method", "")
    )
    if algorithm is None:
        raise StoreError(401, AUTH_CODE, "Invalid signature method.")
    digest = hmac.new(
        f"{secret}&".encode(), base_string(method, url, params).encode(), algorithm
    ).digest()
    return base64.b64encode(digest).decode()


class KeyChecker:
    """Accept or refuse a request's credentials for one consumer key and secret."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self._nonces: set[tuple[str, str]] = set()

    def check(self, request: web.Request) -> None:
        """Return if the request is authenticated; raise StoreError 401 otherwise."""
        if request.secure:
            self._basic(request)
        elif "oauth_consumer_key" in request.query:
            self._oauth(request)
        else:
            verb = "list resources" if request.method == "GET" else "create resources"
            raise StoreError(401, "woocommerce_rest_cannot_view", f"Sorry, you cannot {verb}.")

    def _secret_matches(self, key: str, secret: str) -> None:
        if not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
            raise StoreError(401, AUTH_CODE, "Consumer key is invalid.")
        if not hmac.compare_digest(secret.encode(), self.consumer_secret.encode()):
            raise StoreError(401, AUTH_CODE, "Consumer secret is invalid.")

    def _basic(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return self._secret_matches(user, password)
        query = request.query
        if "consumer_key" in query:
            return self._secret_matches(query["consumer_key"], query.get("consumer_secret", ""))
        raise StoreError(401, AUTH_CODE, "Consumer key is missing.")

    def _oauth(self, request: web.Request) -> None:
        params = {key: request.query[key] for key in request.query}  # first value per key
        for required in (
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        ):
            if required not in params:
                raise StoreError(401, AUTH_CODE, f"{required} parameter is missing.")
        if not hmac.compare_digest(
            params["oauth_consumer_key"].encode(), self.consumer_key.encode()
        ):
            raise StoreError(401, AUTH_CODE, "Consumer key is invalid.")
        url = f"{request.scheme}://{request.host}{request.path}"
        expected = oauth_signature(request.method, url, params, self.consumer_secret)
        sent = unquote(params["oauth_signature"].replace(" ", "+"))
        if not hmac.compare_digest(expected.encode(), sent.encode()):
            raise StoreError(
                401, AUTH_CODE, "Invalid signature - provided signature does not match."
            )
        self._fresh(params["oauth_timestamp"], params["oauth_nonce"])

    def _fresh(self, timestamp: str, nonce: str) -> None:
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            age = WINDOW_SECONDS + 1
        if age > WINDOW_SECONDS:
            raise StoreError(401, AUTH_CODE, "Invalid timestamp.")
        if (timestamp, nonce) in self._nonces:
            raise StoreError(401, AUTH_CODE, "Invalid nonce - nonce has already been used.")
        self._nonces.add((timestamp, nonce))
