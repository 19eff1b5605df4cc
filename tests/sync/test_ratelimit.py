"""The per-channel rate limiter: pacing, what the channel reports, pauses, priorities."""

from __future__ import annotations

import threading
import time

from hub.core.ratelimit import Priority, RateLimiter


def test_a_burst_is_served_then_calls_are_paced_by_the_restore_rate():
    limiter = RateLimiter(capacity=3, restore_rate=50)
    waits = [limiter.acquire() for _ in range(6)]
    assert max(waits[:3]) < 0.005
    assert sum(waits[3:]) >= 2 / 50  # three more tokens had to be restored, minus the slack


def test_what_the_channel_reports_replaces_the_estimate():
    limiter = RateLimiter(capacity=40, restore_rate=2)
    limiter.observe(available=5, capacity=1000, restore_rate=50)
    room = limiter.headroom()
    assert (room.capacity, room.restore_rate) == (1000, 50)
    assert 5 <= room.available < 10


def test_a_pause_holds_every_caller():
    limiter = RateLimiter(capacity=10, restore_rate=100)
    limiter.pause(0.2)
    assert limiter.headroom().paused_for > 0.1
    assert limiter.acquire() >= 0.15


def test_orders_go_before_stock_when_both_wait():
    limiter = RateLimiter(capacity=1, restore_rate=5)
    limiter.acquire()  # empty the bucket: the next token comes in 0.2 s
    served = []

    def take(priority):
        limiter.acquire(priority=priority)
        served.append(priority)

    stock = threading.Thread(target=take, args=(Priority.STOCK,))
    stock.start()
    while not limiter.waiting(Priority.STOCK):  # the stock push waits first...
        time.sleep(0.001)
    orders = threading.Thread(target=take, args=(Priority.ORDERS,))
    orders.start()  # ...then an order pull arrives
    stock.join(5)
    orders.join(5)
    assert served == [Priority.ORDERS, Priority.STOCK]
