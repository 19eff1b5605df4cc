"""Calls to Square through the official ``squareup`` SDK, failures as :class:`hub.ChannelError`.

The SDK's own retries are switched off (``max_retries = 0`` on every request): the hub's
limiter, backoff and dead letters decide when to try again, so a 429 or 503 is raised
at once as a retryable error carrying Square's ``Retry-After`` when it sent one. The SDK
is pointed at the service through its ``base_url`` option (or its ``environment``:
production or Square's own sandbox); the access token is given to the SDK and never
appears in a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel
from square.client import Square
from square.core.api_error import ApiError
from square.core.request_options import RequestOptions
from square.environment import SquareEnvironment

from hub import ChannelError, RateLimited

T = TypeVar("T")

#: Every request: no retries inside the SDK (the hub's retry policy is in charge).
NO_RETRIES: RequestOptions = {"max_retries": 0}


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _errors(body: Any) -> str:
    """``CODE: detail (field)`` for each error of a Square error body, or a short excerpt."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = []
        for error in body["errors"][:3]:
            if isinstance(error, dict):
                text = f"{error.get('code', '?')}: {error.get('detail', '')}".strip()
                if error.get("field"):
                    text += f" ({error['field']})"
                parts.append(text)
        if parts:
            return "; ".join(parts)
    return str(body)[:120]


def _codes(body: Any) -> set[str]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return {str(e.get("code")) for e in body["errors"] if isinstance(e, dict)}
    return set()


class SquareApi:
    """One seller account's API: :meth:`call` runs an SDK call, raising ChannelError."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        environment: str = "production",
        timeout: float = 10.0,
        channel: str = "square",
    ) -> None:
        self.channel = channel
        self.timeout = timeout
        self.where = base_url or SquareEnvironment[environment.upper()].value
        self.sdk = Square(
            token=token,
            base_url=base_url,
            environment=SquareEnvironment[environment.upper()],
            timeout=timeout,
        )

    def call(self, what: str, fn: Callable[[RequestOptions], T]) -> T:
        """Run ``fn(request_options)`` (an SDK call) and return its answer.

        Raises :class:`hub.RateLimited` for 429, a retryable ChannelError for 5xx,
        408, time-outs, unreachable hosts and bodies that are not JSON, and a ChannelError
        naming Square's error codes (with a hint for 401/403) for other 4xx.
        """
        where = f"Square channel {self.channel!r}: {what}"
        try:
            return fn(NO_RETRIES)
        except ApiError as error:
            raise self._failure(where, error) from None
        except httpx.TimeoutException:
            raise ChannelError(
                f"{where} got no answer within {self.timeout:g}s", retryable=True
            ) from None
        except httpx.HTTPError as error:
            raise ChannelError(
                f"{where} could not reach {self.where} ({type(error).__name__}); check base_url "
                "and the network",
                retryable=True,
            ) from None
        except ValueError as error:  # a 2xx body that is not JSON (or not Square's shape)
            raise ChannelError(
                f"{where} answered with a body that is not valid JSON ({type(error).__name__})",
                retryable=True,
            ) from None

    def _failure(self, where: str, error: ApiError) -> ChannelError:
        status = error.status_code or 0
        if 200 <= status < 300 or (isinstance(error.body, str) and status >= 500):
            return ChannelError(
                f"{where} answered {status} with a body that is not valid JSON (truncated, or "
                "a proxy's page)",
                retryable=True,
                status=status,
                retry_after=_retry_after(error.headers),
            )
        detail = f"{where} answered {status}: {_errors(error.body)}"
        if status == 429:
            return RateLimited(f"{detail}; slowing down", retry_after=_retry_after(error.headers))
        if status >= 500 or status == 408:
            return ChannelError(
                detail, retryable=True, status=status, retry_after=_retry_after(error.headers)
            )
        hint = ""
        if status in (401, 403):
            hint = (
                "; check access_token (Square Developer Console > Credentials) and that it "
                "has ORDERS_READ, ITEMS_READ, INVENTORY_READ and INVENTORY_WRITE"
            )
        elif "IDEMPOTENCY_KEY_REUSED" in _codes(error.body):
            hint = "; a stock batch was changed under the same idempotency key"
        return ChannelError(detail + hint, status=status)

    def close(self) -> None:
        """Close the SDK's HTTP connections."""
        client = getattr(getattr(self.sdk, "_client_wrapper", None), "httpx_client", None)
        inner = getattr(client, "httpx_client", None)
        if isinstance(inner, httpx.Client):
            inner.close()


def as_dict(model: BaseModel | None) -> dict[str, Any]:
    """An SDK model as the JSON Square sent (unset fields left out)."""
    if model is None:
        return {}
    return model.model_dump(mode="json", exclude_none=True)
