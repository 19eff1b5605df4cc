"""Property tests of allocation: random locations (with and without coordinates, some of
them quarantine) holding random free stock, random orders. Whatever the policy, nothing is
reserved beyond a location's free stock (the database's check constraint and the ledger's
``verify`` agree) and never at a quarantine location; ``fewest_splits`` never splits an
order one location could serve whole; ``nearest`` gives a single-line order to the
nearest location with enough stock.

Every example adds locations and SKUs of its own to one hub per module, so earlier
examples' stock never counts: their locations hold none of the new SKUs.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import make_hub, order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core import ledger
from hub.core.allocation import order_allocation
from hub.core.models import balance_t, location_t, product_t
from hub.core.orderbook import order_id
from hub.core.planning import distance_metres
from hub.core.runtime import Hub
from hub.orders import Address

POLICIES = ("priority", "nearest", "fewest_splits")
CHANNELS = {p: {"type": "manual", "allocation": p} for p in POLICIES}  # all locations
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_tags = itertools.count(1)


PG_URL = os.environ.get(
    "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One hub per module and database (a schema of its own on PostgreSQL)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("allocation") / "hub.db"
        with make_hub(f"sqlite:///{path}", channels=CHANNELS, locations={}) as the_hub:
            yield the_hub
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    try:
        with make_hub(url, channels=CHANNELS, locations={}) as the_hub:
            yield the_hub
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


coordinates = st.one_of(
    st.none(),
    st.tuples(st.floats(47.0, 55.0, allow_nan=False), st.floats(6.0, 15.0, allow_nan=False)),
)


@dataclass(frozen=True)
class Place:
    coordinates: tuple[float, float] | None
    quarantine: bool


places = st.lists(
    st.builds(Place, coordinates, st.sampled_from([False, False, False, True])),
    min_size=1,
    max_size=5,
)


@dataclass
class World:
    """One example's locations (code → place, in creation and so priority order) and
    free stock (sku → code → units)."""

    tag: int
    places: dict[str, Place]
    free: dict[str, dict[str, int]]

    def sellable(self) -> list[str]:
        return [code for code, place in self.places.items() if not place.quarantine]


def build(hub: Hub, spots: list[Place], stock: list[list[int]]) -> World:
    tag = next(_tags)
    world = World(tag, {f"L{tag}-{i}": p for i, p in enumerate(spots)}, {})
    for j, units in enumerate(stock):
        world.free[f"S{tag}-{j}"] = {
            code: units[i % len(units)] for i, code in enumerate(world.places)
        }

    def work(conn: sa.Connection) -> None:
        for code, place in world.places.items():
            lat, lon = place.coordinates or (None, None)
            kind = "quarantine" if place.quarantine else "warehouse"
            ledger.ensure_location(conn, code, kind=kind, latitude=lat, longitude=lon)
        for sku, at in world.free.items():
            ledger.ensure_product(conn, sku)
            for code, n in at.items():
                if n:
                    ledger.receive(conn, sku, code, n)

    hub.write(work)
    return world


def address(where: tuple[float, float] | None) -> Address:
    lat, lon = where or (None, None)
    return Address(
        name="Goods in", line1="1 Road", city="Town", postcode="1000", country="DE",
        latitude=lat, longitude=lon,
    )  # fmt: skip


def balances(hub: Hub, world: World) -> dict[tuple[str, str], tuple[int, int]]:
    """(sku, location) → (on hand, reserved) of the example's SKUs."""
    rows = hub.read(
        lambda c: c.execute(
            sa.select(product_t.c.sku, location_t.c.code, balance_t.c.on_hand, balance_t.c.reserved)
            .join(product_t, product_t.c.id == balance_t.c.product_id)
            .join(location_t, location_t.c.id == balance_t.c.location_id)
            .where(product_t.c.sku.in_(list(world.free)))
        ).all()
    )
    return {(sku, code): (int(h), int(r)) for sku, code, h, r in rows}


def allocated(hub: Hub, ref: str) -> dict[tuple[str, str], int]:
    found = hub.read(lambda c: order_allocation(c, order_id(c, ref)))
    assert all(a.state == "reserved" for a in found)
    return {(a.sku, a.location): a.quantity for a in found}


stock_rows = st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=5), min_size=1, max_size=3)


@EXAMPLES
@given(
    spots=places,
    stock=stock_rows,
    policy=st.sampled_from(POLICIES),
    orders=st.lists(
        st.tuples(
            st.lists(st.tuples(st.integers(0, 2), st.integers(1, 8)), min_size=1, max_size=3),
            coordinates,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_no_policy_reserves_beyond_free_stock(hub, spots, stock, policy, orders):
    world = build(hub, spots, stock)
    skus = list(world.free)
    page = [
        order(
            f"{world.tag}-{n}",
            *[(skus[k % len(skus)], qty) for k, qty in lines],
            channel=policy,
            shipping_address=address(where),
        )
        for n, (lines, where) in enumerate(orders)
    ]
    report = hub.ingest(policy, page)
    assert hub.read(ledger.verify) == []
    after = balances(hub, world)
    for (sku, code), (on_hand, reserved) in after.items():
        assert reserved <= on_hand == world.free[sku][code]
        if world.places[code].quarantine:
            assert reserved == 0
    taken: Counter[tuple[str, str]] = Counter()
    for o, outcome in zip(page, report.outcomes, strict=True):
        held = allocated(hub, f"{policy}:{o.external_id}")
        wanted: Counter[str] = Counter()
        for line in o.lines:
            wanted[line.sku] += line.quantity
        got: Counter[str] = Counter()
        for (sku, code), n in held.items():
            got[sku] += n
            taken[(sku, code)] += n
        if outcome.status == "open":
            assert got == wanted
        else:
            assert outcome.status == "on_hold" and not held
    assert all(taken[key] == after[key][1] for key in taken)  # no unit taken twice


@EXAMPLES
@given(
    spots=places,
    stock=stock_rows,
    lines=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 6)), min_size=1, max_size=3),
    where=coordinates,
)
def test_fewest_splits_never_splits_what_one_location_could_serve(hub, spots, stock, lines, where):
    world = build(hub, spots, stock)
    skus = list(world.free)
    need: Counter[str] = Counter()
    for k, qty in lines:
        need[skus[k % len(skus)]] += qty
    whole = [
        code
        for code in world.sellable()
        if all(world.free[sku][code] >= n for sku, n in need.items())
    ]
    ref = f"{world.tag}-f"
    status = (
        hub.ingest(
            "fewest_splits",
            [order(ref, *need.items(), channel="fewest_splits", shipping_address=address(where))],
        )
        .outcomes[0]
        .status
    )
    used = {code for _, code in allocated(hub, f"fewest_splits:{ref}")}
    if whole:
        assert status == "open" and len(used) == 1
        (chosen,) = used
        assert chosen in whole
        near = [c for c in whole if world.places[c].coordinates is not None]
        if where is not None and near:
            best = min(distance_metres(where, world.places[c].coordinates) for c in near)
            mine = world.places[chosen].coordinates
            assert mine is not None and distance_metres(where, mine) <= best + 1e-9
        else:
            assert chosen == whole[0]
    else:
        enough = all(
            sum(world.free[sku][c] for c in world.sellable()) >= n for sku, n in need.items()
        )
        assert (status == "open") == enough
        assert (len(used) > 1) == enough


@EXAMPLES
@given(spots=places, units=st.lists(st.integers(0, 6), min_size=1, max_size=5),
       qty=st.integers(1, 6), where=coordinates)  # fmt: skip
def test_nearest_gives_a_single_line_to_the_nearest_location_with_enough(
    hub, spots, units, qty, where
):
    world = build(hub, spots, [units])
    (sku,) = world.free
    ref = f"{world.tag}-n"
    hub.ingest(
        "nearest", [order(ref, (sku, qty), channel="nearest", shipping_address=address(where))]
    )
    held = allocated(hub, f"nearest:{ref}")

    def split(codes: list[str]) -> dict[tuple[str, str], int]:
        """Units taken from ``codes`` in turn, as many as each has; none when too few."""
        left = qty if sum(world.free[sku][c] for c in codes) >= qty else 0
        out = {}
        for code in codes:
            take = min(left, world.free[sku][code])
            if take:
                out[(sku, code)] = take
                left -= take
        return out

    enough = [c for c in world.sellable() if world.free[sku][c] >= qty]
    located = [c for c in enough if world.places[c].coordinates is not None]
    if where is not None and located:
        best = min(located, key=lambda c: distance_metres(where, world.places[c].coordinates))
        assert held == {(sku, best): qty}
    elif where is not None and enough:
        assert held == {(sku, enough[0]): qty}  # without coordinates: by priority
    elif where is None:  # no coordinates: the channel's priority order, splitting as needed
        assert held == split(world.sellable())
    else:  # no single location has enough: split over the nearest first, then those
        # without coordinates, ties in priority order

        def nearness(code: str) -> tuple[bool, float]:
            spot = world.places[code].coordinates
            return spot is None, 0.0 if spot is None else distance_metres(where, spot)

        assert held == split(sorted(world.sellable(), key=nearness))
