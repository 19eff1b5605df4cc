"""Eight processes race for the last 100 units with 1,000 orders: nobody gets a unit twice."""

from __future__ import annotations

import multiprocessing

import pytest
from builders import make_hub
from race import place_orders

from hub.core import ledger
from hub.core.orderbook import list_orders

WORKERS = 8
ORDERS = 1000
UNITS = 100


@pytest.mark.parametrize("page", [1, 25])
def test_eight_processes_never_reserve_the_same_unit_twice(db_url, page):
    with make_hub(db_url, entry_points=False, locations={"main": {}}) as hub:
        hub.write(lambda c: ledger.receive(c, "LAST", "main", UNITS))
    ids = [f"o{n:04d}" for n in range(ORDERS)]
    shared = ids[:40]  # every worker also sends these: duplicates racing each other
    slices = [ids[40 + w :: WORKERS] + shared for w in range(WORKERS)]
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        sent = pool.starmap(place_orders, [(db_url, s, page) for s in slices])
    assert sum(sent) == ORDERS - len(shared) + WORKERS * len(shared)
    with make_hub(db_url, entry_points=False, locations={"main": {}}) as hub:
        levels = hub.read(lambda c: ledger.levels(c, "LAST"))
        assert [(x.on_hand, x.reserved) for x in levels] == [(UNITS, UNITS)]
        stored = hub.read(lambda c: list_orders(c, limit=10 * ORDERS))
        assert len(stored) == ORDERS
        assert sum(1 for o in stored if o.status == "open") == UNITS
        assert sum(1 for o in stored if o.status == "on_hold") == ORDERS - UNITS
        assert hub.read(ledger.verify) == []
