"""Per-operation usage plans of the Selling Partner API, as the adapter paces itself.

Amazon limits each operation separately (a token bucket of ``rate`` requests per second
and ``burst`` requests at once) and tells the plan that applies in each answer's
``x-amzn-RateLimit-Limit`` header (requests per second). The hub's limiter paces the
channel as a whole; these buckets add the operation's own plan on top, so a pull of many
pages waits for ``searchOrders`` tokens instead of collecting 429s.

Sources: the "Usage Plan" table of each operation in ``orders_2026-01-01.json``
(searchOrders 0.0056/s burst 20, getOrder 0.5/s burst 30), ``ordersV0.json``
(confirmShipment 2/s burst 10), ``listingsItems_2021-08-01.json`` (searchListingsItems
5/5, getListingsItem 5/10, patchListingsItem 5/5) and ``feeds_2021-06-30.json``
(createFeedDocument 0.5/15, createFeed 0.0083/15, getFeed 2/15, getFeedDocument 0.0222/10).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .sandbox_store import USAGE_PLANS


@dataclass
class Plan:
    """One operation's bucket: ``rate`` tokens per second up to ``burst``."""

    rate: float
    burst: float
    tokens: float
    at: float


class UsagePlans:
    """The buckets of every operation, thread-safe; times in seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._plans = {
            op: Plan(rate, burst, burst, now) for op, (rate, burst) in USAGE_PLANS.items()
        }

    def _refill(self, plan: Plan) -> None:
        now = self._clock()
        plan.tokens = min(plan.burst, plan.tokens + (now - plan.at) * plan.rate)
        plan.at = now

    def reserve(self, operation: str) -> float:
        """Take a token of ``operation``; returns the seconds to wait before calling (0: now)."""
        with self._lock:
            plan = self._plans[operation]
            self._refill(plan)
            plan.tokens -= 1
            return 0.0 if plan.tokens >= 0 else -plan.tokens / plan.rate

    def wait(self, operation: str, calls: int = 1) -> float:
        """Seconds until ``calls`` calls of ``operation`` could all have been made (peek:
        nothing is taken)."""
        with self._lock:
            plan = self._plans[operation]
            self._refill(plan)
            short = calls - plan.tokens
            return 0.0 if short <= 0 else short / plan.rate

    def refund(self, operation: str) -> None:
        """Give back the token :meth:`reserve` took when the call is not made after all."""
        with self._lock:
            plan = self._plans[operation]
            plan.tokens = min(plan.burst, plan.tokens + 1)

    def observe(self, operation: str, header: str | None) -> None:
        """Follow the rate an answer's ``x-amzn-RateLimit-Limit`` header states."""
        try:
            rate = float(header) if header else 0.0
        except ValueError:
            return
        if rate <= 0:
            return
        with self._lock:
            plan = self._plans[operation]
            if plan.rate != rate:
                self._refill(plan)
                plan.rate = rate

    def throttled(self, operation: str) -> float:
        """A 429 came back: the bucket is empty; returns the seconds until one token."""
        with self._lock:
            plan = self._plans[operation]
            self._refill(plan)
            plan.tokens = min(plan.tokens, 0.0)
            return (1 - plan.tokens) / plan.rate

    def rate(self, operation: str) -> float:
        """The rate (requests per second) now used for ``operation``."""
        with self._lock:
            return self._plans[operation].rate
