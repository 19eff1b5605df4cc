"""eBay's OAuth token endpoint: the two grants an integration needs without a browser.

``POST {api_url}/identity/v1/oauth2/token``, form-encoded, with HTTP Basic authentication
of ``client_id:client_secret`` (eBay, "Using the refresh token" and "Client credentials
grant request", developer.ebay.com/api-docs/static/oauth-*.html):

- ``grant_type=refresh_token`` with the seller's long-lived ``refresh_token`` mints a
  *User access token* for the Sell APIs (Fulfillment, Inventory);
- ``grant_type=client_credentials`` with ``scope=https://api.ebay.com/oauth/api_scope``
  mints an *Application access token*, which the Notification API's ``getPublicKey``
  takes.

Both answer ``{"access_token": ..., "expires_in": seconds, "token_type": ...}``; errors
are ``{"error": ..., "error_description": ...}`` (RFC 6749, section 5.2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from hub.errors import ChannelError
from hub.rest import answer_error

TOKEN_PATH = "/identity/v1/oauth2/token"
APPLICATION_SCOPE = "https://api.ebay.com/oauth/api_scope"
SELL_SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)
MARGIN = 60.0  # seconds before its expiry a token is renewed, so none expires in flight


class TokenSource:
    """Access tokens of one eBay application, minted on demand and cached until shortly
    before ``expires_in`` runs out; safe to use from several threads at once.

    ``token("user")`` is a User access token (refresh-token grant), ``token("application")``
    an Application access token (client-credentials grant). Raises :class:`ChannelError`:
    retryable for 429, 5xx and time-outs, not for refused credentials.
    """

    def __init__(
        self,
        session: requests.Session,
        url: str,
        client_id: str,
        secret: Callable[[], str],
        refresh_token: Callable[[], str],
        timeout: float,
    ) -> None:
        self.session = session
        self.url = url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self.secret = secret
        self.refresh_token = refresh_token
        self.timeout = timeout
        self.minted = 0  # tokens obtained, for tests and logs
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, kind: str) -> str:
        """A valid access token of ``kind`` ("user" or "application")."""
        with self._lock:  # one renewal at a time; the others wait and take its token
            held = self._cache.get(kind)
            if held is None or time.monotonic() >= held[1]:
                held = self._mint(kind)
                self._cache[kind] = held
            return held[0]

    def forget(self, kind: str, token: str) -> None:
        """Drop ``token`` (eBay answered 401 to it: revoked or expired early)."""
        with self._lock:
            if self._cache.get(kind, ("",))[0] == token:
                del self._cache[kind]

    def _mint(self, kind: str) -> tuple[str, float]:
        if kind == "user":
            form = {"grant_type": "refresh_token", "refresh_token": self.refresh_token()}
            form["scope"] = " ".join(SELL_SCOPES)
        else:
            form = {"grant_type": "client_credentials", "scope": APPLICATION_SCOPE}
        try:
            answer = self.session.post(
                self.url, data=form, auth=(self.client_id, self.secret()), timeout=self.timeout
            )
        except requests.RequestException as error:
            raise ChannelError(
                f"cannot reach eBay's token endpoint {self.url}: {type(error).__name__}",
                retryable=True,
            ) from None
        if answer.status_code in (400, 401):  # RFC 6749 errors name what was refused
            try:
                reason = answer.json()
                why = f"{reason['error']} ({reason.get('error_description', '')})"
            except (ValueError, KeyError, TypeError):
                why = answer.text[:200]
            raise ChannelError(
                f"eBay refused the {form['grant_type']} grant: {why}; check client_id, "
                "client_secret and refresh_token",
                status=answer.status_code,
            )
        problem = answer_error("eBay", "POST", TOKEN_PATH, answer.status_code, answer.headers, "")
        if problem is not None:
            raise problem
        try:
            body = answer.json()
            token, lifetime = str(body["access_token"]), float(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise ChannelError(
                "eBay's token endpoint answered without access_token", retryable=True
            ) from None
        self.minted += 1
        return token, time.monotonic() + lifetime - min(MARGIN, lifetime / 2)
