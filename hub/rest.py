"""Helpers for channel adapters that talk to a JSON REST API.

What every adapter otherwise writes again: a session that turns HTTP answers into
:class:`hub.ChannelError` (429, 408, 5xx, time-outs and unreadable bodies retryable, with
the service's ``Retry-After``; other 4xx not), an opaque cursor that carries a pull's
state across a crash, a loop over cursor-paged lists, and batches of a size the API
allows::

    client = RestClient("https://api.acme.example", service="Acme",
                        headers={"Authorization": f"Bearer {key}"})
    for items, after in paged(lambda after: page_of(client, after)):
        ...
    for chunk in batches(updates, 50):
        client.post("/v1/stock", json={"updates": chunk})

Webhook signatures are in :mod:`hub.signing` (``verify_hmac``).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests

from hub.errors import ChannelError
from hub.orders import utc

T = TypeVar("T")

#: HTTP statuses worth trying again later: rate limited, request time-out, server trouble.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    stamp = utc(when)
    if stamp is None:
        return None
    return max(0.0, stamp.timestamp() - (time.time() if now is None else now))


def answer_error(
    service: str, method: str, path: str, status: int, headers: Mapping[str, str], text: str
) -> ChannelError | None:
    """The :class:`ChannelError` an HTTP answer means, or None for a 2xx.

    Retryable for :data:`RETRYABLE` statuses (with ``retry_after`` from the header); a
    401/403 says to check the credentials; any other 4xx is the request's own fault.
    """
    if 200 <= status < 300:
        return None
    detail = " ".join(text.split())[:200]
    what = f"{service} answered {status} to {method} {path}"
    if status in RETRYABLE:
        wait = retry_after(_header(headers, "Retry-After"))
        return ChannelError(
            f"{what}: {detail}" if detail else what, retryable=True, retry_after=wait, status=status
        )
    if status in (401, 403):
        return ChannelError(f"{what}: check the credentials ({detail})", status=status)
    return ChannelError(f"{what}: {detail}" if detail else what, status=status)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


class RestClient:
    """A JSON API at ``base_url``: every call returns the decoded body or raises
    :class:`ChannelError` (see :func:`answer_error`); a time-out, a refused connection and
    a body that is not JSON are retryable."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str = "the service",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        self.calls = 0  # requests sent, for tests and logs

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send one request; the decoded JSON answer (None for an empty body)."""
        url = self.base_url + path
        self.calls += 1
        try:
            answer = self.session.request(
                method, url, params=params, json=json_body, timeout=self.timeout
            )
        except requests.Timeout:
            raise ChannelError(
                f"{self.service} did not answer {method} {path} within {self.timeout:g}s",
                retryable=True,
            ) from None
        except requests.RequestException as error:
            raise ChannelError(
                f"cannot reach {self.service} at {self.base_url}: {type(error).__name__}",
                retryable=True,
            ) from None
        problem = answer_error(
            self.service, method, path, answer.status_code, answer.headers, answer.text
        )
        if problem is not None:
            raise problem
        if not answer.content:
            return None
        try:
            return answer.json()
        except ValueError:
            raise ChannelError(
                f"{self.service} answered {method} {path} with a body that is not JSON",
                retryable=True,
                status=answer.status_code,
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with query ``params`` (None values left out)."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        """POST ``body`` as JSON to ``path``."""
        return self.request("POST", path, json_body=body)

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()


def encode_cursor(state: Mapping[str, Any]) -> str:
    """An opaque, URL-safe cursor holding ``state`` (JSON values only)."""
    text = json.dumps(dict(state), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The state :func:`encode_cursor` put in ``cursor``; a cursor that is not one of
    ours raises a non-retryable :class:`ChannelError` saying so."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ChannelError(f"unreadable cursor {cursor[:40]!r}") from None
    if not isinstance(state, dict):
        raise ChannelError(f"unreadable cursor {cursor[:40]!r}")
    return state


def paged(
    fetch: Callable[[str | None], tuple[Sequence[T], str | None]], start: str | None = None
) -> Iterator[tuple[Sequence[T], str | None]]:
    """Walk a cursor-paged list: ``fetch(after)`` returns one page and the cursor of the
    next (None after the last). Yields each page with the cursor that resumes after it,
    beginning at ``start``; stops when the service gives no next cursor or repeats one."""
    after = start
    while True:
        items, following = fetch(after)
        if following is not None and following == after:
            following = None  # a service that repeats its cursor would loop forever
        yield items, following
        if following is None:
            return
        after = following


def batches(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
