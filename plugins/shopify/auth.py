"""Access tokens: a fixed Admin API token, or one fetched and renewed with the app's
client credentials.

Apps made in Shopify's Dev Dashboard for the merchant's own store get no lasting token:
they exchange their client id and secret for one at
``POST https://<shop>/admin/oauth/access_token`` (``grant_type=client_credentials``),
and it expires after about a day. :class:`TokenSource` fetches a token when there is
none, renews it five minutes before it runs out, and again at once when the shop
refuses it. The secret is sent only there, and never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable

from hub import ChannelError

log = logging.getLogger(__name__)


def has_scope(granted: Iterable[str], needed: str) -> bool:
    """Whether the ``granted`` access scopes cover ``needed`` (``write_x`` implies ``read_x``)."""
    held = set(granted)
    return needed in held or needed.replace("read_", "write_", 1) in held


RENEW_BEFORE = 300.0  # seconds before expiry a token is renewed (a tenth of short lives)


class TokenSource:
    """The current access token of one shop."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        timeout: float = 10.0,
        channel: str = "shopify",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token and not (client_id and client_secret):
            raise ValueError("a Shopify channel needs access_token, or client_id and client_secret")
        self.base_url = base_url.rstrip("/")
        self.channel = channel
        self._token = token or ""
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._clock = clock
        self._expires = float("inf") if token else 0.0
        self._renew_before = RENEW_BEFORE
        self._lock = threading.Lock()
        self.fetched = 0  # tokens fetched with the client credentials so far

    @property
    def renewable(self) -> bool:
        """True when the token comes from client credentials and can be fetched again."""
        return bool(self._client_id and self._client_secret)

    def current(self) -> str:
        """A token that is valid for at least a few more minutes."""
        with self._lock:
            if self.renewable and self._clock() >= self._expires - self._renew_before:
                self._fetch()
            return self._token

    def refused(self, token: str) -> bool:
        """The shop refused ``token``: renew it if we can; True when a new one is ready."""
        if not self.renewable:
            return False
        with self._lock:
            if self._token == token:  # not renewed meanwhile by another thread
                self._fetch()
            return True

    def _fetch(self) -> None:
        where = f"Shopify channel {self.channel!r}"
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            }
        ).encode()
        request = urllib.request.Request(
            f"{self.base_url}/admin/oauth/access_token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            retryable = error.code == 429 or error.code >= 500
            raise ChannelError(
                f"{where}: Shopify refused the client credentials (HTTP {error.code}); check "
                f"client_id and client_secret, and that the app is installed on the shop",
                retryable=retryable,
                status=error.code,
            ) from None
        except (OSError, ValueError) as error:
            raise ChannelError(
                f"{where}: could not fetch an access token from {self.base_url} ({error})",
                retryable=True,
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise ChannelError(f"{where}: the token answer held no access_token")
        self._token = str(token)
        life = float(body.get("expires_in") or 86399)
        self._expires = self._clock() + life
        self._renew_before = min(RENEW_BEFORE, life / 10)
        self.fetched += 1
        log.info(
            "shopify %s: fetched an access token valid for %ss",
            self.channel,
            body.get("expires_in"),
        )
