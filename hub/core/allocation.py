"""Allocation across warehouses: which locations an order's reservation takes, and where
an order's units stand per location.

A channel chooses its policy with ``allocation`` in its configuration section:

``priority``
    The channel's locations in the order configured (all locations, by id, when it lists
    none). The default, and what intake did before policies existed.
``nearest``
    Per product, the location nearest to the delivery address (great-circle distance
    between coordinates, :func:`hub.core.planning.distance_metres`) that has free stock
    for all the units still to reserve; when none has, the nearest ones first, so the
    reservation is split over as near locations as possible. Locations without
    coordinates come after those with, in priority order; an order without coordinates
    is allocated by priority.
``fewest_splits``
    One location for the whole order wherever any single location can serve every line
    in full: the nearest of those (or the first in priority order when the order or
    those locations have no coordinates). Otherwise a greedy cover: the location that
    serves the most of the units still missing first, then the one serving the most of
    the rest, and so on; each line is reserved at the locations so chosen.

Intake (:mod:`hub.core.intake`) calls :func:`nearest_order` and :func:`fewest_splits_order`
with the balances it has locked, in the transaction that reserves, so a policy only
orders locations: it can never reserve more than a location has free (the reservation
itself takes at most what is free, the database's check constraint guards the rest).

:func:`order_allocation` reads an order's allocation back from the movement journal
(never from a separate table that could drift), grouped into one shipment per location;
:func:`describe` renders it one line per location.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import in_list
from hub.core.models import bundle_t, location_t, movement_t, order_line_t, order_t, product_t
from hub.core.planning import distance_metres
from hub.stock import StockChange

POLICIES = ("priority", "nearest", "fewest_splits")

Coordinates = tuple[float, float]


@dataclass(frozen=True)
class Site:
    """A location intake may reserve from: its id and coordinates (None when unknown)."""

    id: int
    coordinates: Coordinates | None = None


def _closeness(
    sites: Sequence[Site], origin: Coordinates | None
) -> dict[int, tuple[int, float, int]]:
    """Sort key per site id: with coordinates first (nearest first), then without, each
    in priority order (the order of ``sites``)."""
    out = {}
    for rank, site in enumerate(sites):
        if origin is None or site.coordinates is None:
            out[site.id] = (1, 0.0, rank)
        else:
            out[site.id] = (0, distance_metres(origin, site.coordinates), rank)
    return out


def nearest_order(
    sites: Sequence[Site],
    needs: Mapping[int, int],
    free: Callable[[int, int], int],
    origin: Coordinates | None,
) -> dict[int, list[int]]:
    """Per product of one order, location ids to reserve its units from, under ``nearest``.

    ``sites`` in priority order; ``needs`` maps product ids to the units still to
    reserve; ``free(product id, location id)`` the units free now; ``origin`` the
    delivery address's (latitude, longitude) or None (then priority order). For each
    product, locations with at least its need free come first, nearest first; then the
    others, nearest first; locations without coordinates after those with, in priority
    order. Distances are worked out once for the whole order.
    """
    priority = [s.id for s in sites]
    if origin is None:
        return dict.fromkeys(needs, priority)
    close = _closeness(sites, origin)

    def ordered(product: int, need: int) -> list[int]:
        if need <= 0:
            return priority
        return sorted(close, key=lambda loc: (free(product, loc) < need, *close[loc]))

    return {product: ordered(product, need) for product, need in needs.items()}


def fewest_splits_order(
    sites: Sequence[Site],
    needs: Mapping[int, int],
    free: Callable[[int, int], int],
    origin: Coordinates | None,
    holding: Collection[int] = (),
) -> list[int]:
    """Location ids, for every product of one order, under ``fewest_splits``.

    ``needs`` maps product ids to the units still to reserve (the others are ignored);
    ``free(product id, location id)`` the units free now; ``holding`` the locations
    where the order already holds a reservation (an edited order), preferred so that
    it keeps to them. When a single location has every need free, it comes first: one
    already holding, else the nearest such location, or the first in priority order
    without coordinates. Otherwise the greedy cover comes first (most units served
    first, ties to a holding location, then the nearer, then priority), then the
    remaining locations in priority order.
    """
    wanted = {p: n for p, n in needs.items() if n > 0}
    if not wanted:
        return [s.id for s in sites]
    near = _closeness(sites, origin)
    close = {loc: (loc not in holding, *key) for loc, key in near.items()}
    whole = [s.id for s in sites if all(free(p, s.id) >= n for p, n in wanted.items())]
    if whole:
        best = min(whole, key=lambda loc: close[loc])
        return [best, *(s.id for s in sites if s.id != best)]
    chosen: list[int] = []
    left = dict(wanted)
    candidates = [s.id for s in sites]
    while left and candidates:
        served = {
            loc: sum(min(n, max(0, free(p, loc))) for p, n in left.items()) for loc in candidates
        }
        best = min(candidates, key=lambda loc: (-served[loc], close[loc]))
        if served[best] <= 0:
            break
        chosen.append(best)
        candidates.remove(best)
        for p in list(left):
            left[p] -= min(left[p], max(0, free(p, best)))
            if left[p] <= 0:
                del left[p]
    return chosen + candidates


# -- stock arriving for held orders ---------------------------------------------------------


def freed_skus(changes: Iterable[StockChange]) -> set[str]:
    """SKUs whose free stock some of ``changes`` raised: units received, counted or
    adjusted up, transferred in, returned to stock, or a reservation released."""
    return {
        c.sku
        for c in changes
        if (c.quantity > 0 and c.kind in ("receipt", "adjustment", "transfer", "return"))
        or (c.quantity < 0 and c.kind == "release")
    }


def held_orders_waiting(
    conn: Connection, skus: Iterable[str], limit: int | None = None
) -> list[int]:
    """Hub ids of orders on hold with a line of one of ``skus`` (an unknown SKU that now
    exists included) or of a bundle made of one of them, oldest first (the oldest
    ``limit`` when given)."""
    wanted = sorted(set(skus))
    if not wanted:
        return []
    line = order_line_t.c
    bundles = (
        sa.select(bundle_t.c.bundle_id)
        .join(product_t, product_t.c.id == bundle_t.c.component_id)
        .where(in_list(conn, product_t.c.sku, wanted))
    )
    query = (
        sa.select(order_t.c.id)
        .join(order_line_t, line.order_id == order_t.c.id)
        .where(
            order_t.c.status == "on_hold",
            sa.or_(in_list(conn, line.sku, wanted), line.product_id.in_(bundles)),
        )
        .distinct()
        .order_by(order_t.c.id)
        .limit(limit)
    )
    return [int(i) for i in conn.scalars(query)]


# -- reading an order's allocation -------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """Units of ``sku`` held for an order at ``location``.

    ``state`` is "reserved" (waiting to ship from there) or "shipped" (sold from there,
    shown once nothing of the order is reserved any more). ``shipment`` numbers the
    locations of the order from 1: every line at one location ships together, locations
    numbered in the order the order first took stock there.
    """

    sku: str
    location: str
    quantity: int
    shipment: int
    state: str = "reserved"


def order_allocation(conn: Connection, order_id: int) -> list[Allocation]:
    """The allocation of the order with hub id ``order_id``, from its movements: units
    reserved per SKU and location or, when nothing is reserved any more, units shipped.
    Empty for an order that holds and shipped nothing (or does not exist). Sorted by
    shipment, then SKU."""
    return orders_allocation(conn, [order_id]).get(order_id, [])


def orders_allocation(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[Allocation]]:
    """:func:`order_allocation` of many orders in one query: {order id: allocation}
    (orders with none are left out)."""
    if not order_ids:
        return {}
    m = movement_t.c
    rows = conn.execute(
        sa.select(
            m.order_id,
            product_t.c.sku,
            location_t.c.code,
            sa.func.min(m.id),
            sa.func.sum(m.reserved_delta),
            sa.func.sum(sa.case((m.kind == "sale", -m.on_hand_delta), else_=0)),
        )
        .join(product_t, product_t.c.id == m.product_id)
        .join(location_t, location_t.c.id == m.location_id)
        .where(in_list(conn, m.order_id, list(order_ids)))
        .group_by(m.order_id, product_t.c.sku, location_t.c.code)
    )
    reserved: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
    shipped: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
    for oid, sku, code, first, held, sold in rows:
        if int(held or 0) > 0:
            reserved[oid].append((int(first), code, sku, int(held)))
        if int(sold or 0) > 0:
            shipped[oid].append((int(first), code, sku, int(sold)))
    out = {}
    for oid in set(reserved) | set(shipped):
        parts, state = (
            (reserved[oid], "reserved") if reserved.get(oid) else (shipped[oid], "shipped")
        )
        out[oid] = _grouped(parts, state)
    return out


def _grouped(parts: Iterable[tuple[int, str, str, int]], state: str) -> list[Allocation]:
    first: dict[str, int] = {}
    for movement, code, _, _ in parts:
        first[code] = min(first.get(code, movement), movement)
    numbers = {code: n for n, code in enumerate(sorted(first, key=lambda c: (first[c], c)), 1)}
    return sorted(
        (Allocation(sku, code, units, numbers[code], state) for _, code, sku, units in parts),
        key=lambda a: (a.shipment, a.sku),
    )


def describe(allocation: Sequence[Allocation]) -> list[str]:
    """One line per location: ``shipment 1 from main: 2 × MUG, 1 × CUP`` (``shipped from
    main: …`` once shipped); empty when nothing is allocated."""
    lines = []
    by_shipment: dict[int, list[Allocation]] = defaultdict(list)
    for part in allocation:
        by_shipment[part.shipment].append(part)
    for number in sorted(by_shipment):
        parts = by_shipment[number]
        units = ", ".join(f"{p.quantity} × {p.sku}" for p in parts)
        head = (
            f"shipped from {parts[0].location}"
            if parts[0].state == "shipped"
            else f"shipment {number} from {parts[0].location}"
        )
        lines.append(f"{head}: {units}")
    return lines
