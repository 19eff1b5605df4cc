"""Calling a channel: through its rate limiter, with backoff and jitter on what is retryable."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from hub.core.ratelimit import Priority, RateLimiter
from hub.errors import ChannelError

log = logging.getLogger("hub.sync")
T = TypeVar("T")


def is_retryable(error: BaseException) -> bool:
    """429, 5xx, time-outs and dropped connections are worth another try; the rest are not."""
    if isinstance(error, ChannelError):
        return error.retryable
    return isinstance(error, (TimeoutError, ConnectionError))


class ChannelCaller:
    """Runs one API call at a time under a channel's limiter and retry policy."""

    def __init__(
        self,
        limiter: RateLimiter,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.limiter = limiter
        self.attempts = attempts
        self._base = backoff
        self._max = max_backoff
        self.calls = 0
        self.retries = 0

    def once(
        self, fn: Callable[[], T], priority: Priority = Priority.STOCK, cost: float = 1.0
    ) -> T:
        """Call ``fn`` once a token is free, without retrying; a 429 pauses the limiter."""
        self.limiter.acquire(cost, priority)
        if cost:  # a parse the channel says needs no call (Channel.webhook_calls) is none
            self.calls += 1
        try:
            return fn()
        except ChannelError as error:
            if error.retry_after:
                self.limiter.pause(error.retry_after)
            raise

    def backoff(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait before retry number ``attempt`` after ``error`` (with jitter)."""
        self.retries += 1
        log.warning("retrying after %s (attempt %d)", error, attempt)
        if isinstance(error, ChannelError) and error.retry_after is not None:
            return 0.0  # the limiter's pause already holds everyone back that long
        return min(self._max, self._base * 2 ** (attempt - 1)) + random.uniform(0, self._base)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.backoff(state.attempt_number, error)

    def call(
        self, fn: Callable[[], T], priority: Priority = Priority.STOCK, cost: float = 1.0
    ) -> T:
        """Call ``fn`` once a token is free; retry what is retryable, raise the rest."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        return retrying(self.once, fn, priority, cost)
