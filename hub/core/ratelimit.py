"""One rate limiter per channel account, shared by all of that channel's jobs.

A token bucket whose level and refill rate follow what the channel reports (Shopify's
GraphQL cost and throttle status, a 429's Retry-After); callers of higher priority
(orders before stock before catalogue) are served first when they wait together.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class Priority(enum.IntEnum):
    """Who goes first when several jobs wait for the same channel."""

    ORDERS = 0
    STOCK = 1
    CATALOGUE = 2


@dataclass(frozen=True)
class Headroom:
    """What the limiter knows: tokens available now, bucket size, refill per second."""

    available: float
    capacity: float
    restore_rate: float
    paused_for: float


class RateLimiter:
    """A thread-safe token bucket with priorities and pauses."""

    def __init__(
        self,
        capacity: float = 40.0,
        restore_rate: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.restore_rate = restore_rate
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._waiting = [0 for _ in Priority]
        self._cond = threading.Condition()
        self.waited = 0.0  # seconds callers spent waiting, in total

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.restore_rate)
        self._stamp = now

    def _delay(self, cost: float) -> float:
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        if self._tokens >= cost:
            return 0.0
        return (cost - self._tokens) / self.restore_rate if self.restore_rate > 0 else 1.0

    def acquire(self, cost: float = 1.0, priority: Priority = Priority.STOCK) -> float:
        """Wait until ``cost`` tokens are free and nobody more urgent waits; take them."""
        cost = min(cost, self.capacity)
        start = self._clock()
        with self._cond:
            self._waiting[priority] += 1
            try:
                while True:
                    self._refill()
                    delay = self._delay(cost)
                    ahead = any(self._waiting[p] for p in Priority if p < priority)
                    if delay <= 0 and not ahead:
                        self._tokens -= cost
                        break
                    self._cond.wait(timeout=max(delay, 0.005))
            finally:
                self._waiting[priority] -= 1
                self._cond.notify_all()
        waited = self._clock() - start
        self.waited += waited
        return waited

    def observe(
        self,
        available: float | None = None,
        capacity: float | None = None,
        restore_rate: float | None = None,
    ) -> None:
        """Correct the bucket with what the channel said about its own."""
        with self._cond:
            self._refill()
            if capacity:
                self.capacity = capacity
            if restore_rate:
                self.restore_rate = restore_rate
            if available is not None:
                self._tokens = min(self.capacity, available)
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Stop all callers for ``seconds`` (a 429 with Retry-After)."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self._tokens = 0.0
            self._stamp = self._clock()

    def waiting(self, priority: Priority) -> int:
        """How many callers of ``priority`` wait now."""
        with self._cond:
            return self._waiting[priority]

    def headroom(self) -> Headroom:
        """The bucket as it stands."""
        with self._cond:
            self._refill()
            paused = max(0.0, self._paused_until - self._clock())
            return Headroom(self._tokens, self.capacity, self.restore_rate, paused)
