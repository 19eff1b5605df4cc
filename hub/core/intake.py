"""Order intake: every channel's orders land here, exactly once.

A page of orders is taken in one transaction. Idempotency comes from the unique key
(channel, external id): rows are inserted with ``ON CONFLICT DO NOTHING`` and then
locked, never checked-then-inserted in Python. A later version of an order (by the
channel's ``updated_at``) adjusts or releases its reservation; an older or equal one
changes nothing, so duplicates and out-of-order deliveries are harmless. An order with
an unknown SKU or too little stock is put on hold with a readable reason; it never
fails the page it came in.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hub.core import allocation as policies
from hub.core import bulk, orderstate
from hub.core.db import in_list, is_sqlite, run_in_transaction
from hub.core.holds import parse_holds, released_codes
from hub.core.ledger import MAX_ON_HAND, MAX_QUANTITY, insert_ignore
from hub.core.models import (
    balance_t,
    bundle_t,
    location_t,
    movement_t,
    now,
    order_event_t,
    order_line_t,
    order_t,
    oversell_t,
    product_t,
)
from hub.core.orderstate import Position
from hub.core.outbox import mark_dirty
from hub.errors import StockError
from hub.orders import Hold, Order, OrderLine, OrderStatus
from hub.skus import normalise_sku, respelled, sku_problem
from hub.stock import StockChange

#: The code of a hold a person put on an order (the API's and the desk's hold): intake keeps
#: it whenever the order is decided again, until a person releases it.
PERSON_HOLD = "manual"

log = logging.getLogger("hub.intake")

_SHIPPED_VALUES = {s.value for s in orderstate.SHIPPED}


@dataclass(frozen=True)
class Outcome:
    """What intake did with one order: created, updated, unchanged (an old or equal version)."""

    external_id: str
    action: str
    status: str
    reason: str = ""


@dataclass
class IntakeReport:
    """The outcome of every order of a page, and the stock changes it caused."""

    channel: str
    outcomes: list[Outcome] = field(default_factory=list)
    changes: list[StockChange] = field(default_factory=list)

    def count(self, action: str | None = None, status: str | None = None) -> int:
        """How many outcomes match ``action`` and/or ``status``."""
        return sum(
            1
            for o in self.outcomes
            if (action is None or o.action == action) and (status is None or o.status == status)
        )


@dataclass
class _Catalogue:
    """SKU → product id and bundle expansions, read once per page."""

    products: dict[str, int]
    skus: dict[int, str]
    bundles: dict[int, list[tuple[int, int]]]

    def components(self, line: OrderLine) -> list[tuple[int, int]] | None:
        """(product id, units per line unit) the line takes, or None for an unknown SKU."""
        pid = self.products.get(line.sku)
        if pid is None:
            return None
        return self.bundles.get(pid, [(pid, 1)])

    def problems(self, order: Order) -> list[str]:
        """Why the order's stocked lines cannot all be matched to products."""
        unknown: list[str] = []
        out: list[str] = []
        for n, line in enumerate(order.lines, 1):
            if not line.stocked:
                continue
            if not line.sku:
                name = line.title or line.external_id or f"line {n}"
                out.append(
                    f"line {n} {name!r} has no SKU: give it one on the channel "
                    "(or make it a non-shipping item there)"
                )
            elif line.sku in self.products:
                pass  # a product's SKU is a valid SKU
            elif sku_problem(line.sku):
                out.append(f"line {n}: {sku_problem(line.sku)}")
            elif line.sku not in unknown:
                unknown.append(line.sku)
            if line.quantity > MAX_QUANTITY:
                out.append(
                    f"line {n} {(line.sku or line.title)!r}: quantity {line.quantity} is beyond "
                    f"the maximum of {MAX_QUANTITY:,} units; correct it on the channel"
                )
        if unknown:
            names = ", ".join(repr(s) for s in sorted(unknown))
            out.insert(0, f"unknown SKU {names}: add it to the catalogue")
        return out


def ingest(
    engine: Engine,
    channel: str,
    orders: Sequence[Order],
    *,
    locations: Sequence[str] = (),
    holds: dict[str, list[Hold]] | None = None,
    actor: str = "intake",
    reevaluate: bool = False,
    accounts: dict[str, int | None] | None = None,
    origin: str = "",
    allocation: str = "priority",
    final_sales: bool = False,
) -> IntakeReport:
    """Store a page of ``channel``'s orders and move their stock; see the module doc.

    ``locations`` are the location codes the channel ships from, in priority order
    (all locations but quarantine ones when empty; a quarantine location is never
    reserved from); ``allocation`` the channel's policy choosing among them per order
    (:mod:`hub.core.allocation`: priority, nearest, fewest_splits); ``holds`` maps
    external ids to holds that plugins' ``check_order`` hooks returned. ``reevaluate``
    decides stored orders again even when the version is not newer (held orders, once
    stock has arrived). ``accounts`` maps external ids to the customer account each is
    charged to (None: none), stored as the order's ``account_id``; without it accounts
    are left as they are. Plugin holds whose code a person released on the order
    (``released_holds``) no longer apply.

    An order naming its ``location`` (a shop's till) takes its stock at that location
    only, when the channel sells from it. ``final_sales`` (the channel's
    :attr:`hub.Channel.final_sales`): a shipped order's units that no free stock covers
    are booked as sold all the same, at the order's location (the channel's first one
    when it names none), whose on hand goes below zero by them; each such sale is kept
    as an :class:`~hub.core.models.Oversell` and the order is not held. Units other
    orders only reserved there are taken first: those orders are released and put on hold
    (the hub decides them again once the page commits); one another writer holds at that
    moment is left alone, and what stays short then holds the sale as any channel's.
    """
    rejected = IntakeReport(channel)
    page, keys = _latest_versions(channel, orders, rejected)
    if not page:
        return rejected
    report = run_in_transaction(
        engine,
        lambda conn: _Intake(
            conn,
            channel,
            locations,
            holds or {},
            actor,
            reevaluate,
            accounts,
            origin,
            allocation,
            final_sales,
        ).run(page, keys),
    )
    report.outcomes.extend(rejected.outcomes)
    return report


def _problem(channel: str, order: Order) -> str:
    """Why an order cannot be stored at all (it is reported, the rest of the page goes on)."""
    if order.channel != channel:
        return f"belongs to channel {order.channel!r}, not {channel!r}"
    if not order.external_id or len(order.external_id) > 128:
        return "external id must have 1 to 128 characters"
    if any(  # more than the hub's columns are meant to hold
        max(line.quantity, line.fulfilled_quantity, line.returned_quantity) > MAX_ON_HAND
        for line in order.lines
    ):
        return f"a line's quantity is beyond {MAX_ON_HAND:,} units; correct it on the channel"
    return ""


def _normalised(order: Order) -> tuple[Order, list[str]]:
    """The order with every line's SKU in the hub's spelling, and a note per respelling."""
    notes = [note for line in order.lines if (note := respelled(line.sku))]
    if not notes:
        return order, []
    lines = tuple(replace(line, sku=normalise_sku(line.sku)) for line in order.lines)
    return replace(order, lines=lines), notes


def _latest_versions(
    channel: str, orders: Sequence[Order], report: IntakeReport
) -> tuple[list[Order], dict[str, str]]:
    """The newest version of each order of the page, and its version key."""
    latest: dict[str, tuple[Order, str]] = {}
    for order in orders:
        problem = _problem(channel, order)
        if problem:
            report.outcomes.append(Outcome(order.external_id, "rejected", "", problem))
            log.warning("order %r from %s rejected: %s", order.external_id, channel, problem)
            continue
        key = orderstate.version_key(order)
        kept = latest.get(order.external_id)
        if kept is None or orderstate.is_newer(order.updated_at, key, kept[0].updated_at, kept[1]):
            latest[order.external_id] = (order, key)
    ids = sorted(latest)
    return [latest[i][0] for i in ids], {i: latest[i][1] for i in ids}


@dataclass
class _Stored:
    """An order row as intake found it (locked)."""

    id: int
    version: Any
    version_key: str
    status: str
    hold_reason: str
    released_holds: str = ""


class _Intake:
    """One page's transaction. Locks: order rows first, then balances, both in key order."""

    def __init__(
        self,
        conn: Connection,
        channel: str,
        locations: Sequence[str],
        holds: dict[str, list[Hold]],
        actor: str,
        reevaluate: bool = False,
        accounts: dict[str, int | None] | None = None,
        origin: str = "",
        policy: str = "priority",
        final_sales: bool = False,
    ) -> None:
        if policy not in policies.POLICIES:
            raise ValueError(f"unknown allocation policy {policy!r}")
        self.policy = policy
        self.sites: list[policies.Site] = []
        self.origin = origin
        self.reevaluate = reevaluate
        self.accounts = accounts
        self.released: dict[str, set[str]] = {}
        self.person_holds: dict[str, list[Hold]] = {}
        self.conn = conn
        self.channel = channel
        self.location_codes = locations
        self.holds = holds
        self.actor = actor
        self.stamp = now()
        self.report = IntakeReport(channel)
        self.moves: list[dict] = []
        self.free: dict[tuple[int, int], list[int]] = {}
        self.notes: dict[str, list[str]] = {}
        self.final_sales = final_sales
        self.page_ids: list[int] = []  # this page's order ids: never bumped by a final sale
        self.beyond: list[dict] = []  # sale moves past the free stock (final sales only)
        self.oversells: list[dict] = []
        self.codes: dict[str, int] = {}  # location code -> id, the channel's usable ones

    def run(self, page: list[Order], keys: dict[str, str]) -> IntakeReport:
        self.keys = keys
        inserted = self._insert_new(page)
        stored = self._lock_existing([o.external_id for o in page if o.external_id not in inserted])
        todo = []
        for order in page:
            known = stored.get(order.external_id)
            if (
                known is None
                or self.reevaluate
                or orderstate.is_newer(
                    order.updated_at, keys[order.external_id], known.version, known.version_key
                )
            ):
                todo.append(order)
            else:
                self.report.outcomes.append(Outcome(order.external_id, "unchanged", known.status))
        if not todo:
            return self.report
        ids = {
            o.external_id: (
                inserted[o.external_id] if o.external_id in inserted else stored[o.external_id].id
            )
            for o in todo
        }
        self.page_ids = [*inserted.values(), *(known.id for known in stored.values())]
        normalised = []
        for order in todo:
            order, notes = _normalised(order)
            self.notes[order.external_id] = notes
            normalised.append(order)
        todo = normalised
        catalogue = self._catalogue(todo)
        existing = [ids[o.external_id] for o in todo if o.external_id not in inserted]
        positions = self._positions(existing)
        self.locations = self._location_ids()
        self._lock_balances(
            {p for o in todo for ln in o.lines for p, _ in (catalogue.components(ln) or ())}
            | {p for by_product in positions.values() for p in by_product}
        )
        updates = []
        for order in todo:
            oid = ids[order.external_id]
            known = stored.get(order.external_id)
            status, reason = self._settle(
                order,
                oid,
                known.status if known else None,
                catalogue,
                positions.get(oid, {}),
            )
            changed = known is None or (status, reason) != (known.status, known.hold_reason)
            updates.append((order, oid, status, reason, changed))
        self._write(updates, inserted, catalogue)
        return self.report

    # -- orders ---------------------------------------------------------------------------

    def _insert_new(self, page: list[Order]) -> dict[str, int]:
        rows = [
            {
                **_order_row(o, self.keys[o.external_id]),
                "channel": self.channel,
                "external_id": o.external_id,
                "status": OrderStatus.PENDING.value,
                "created_at": self.stamp,
                "updated_at": self.stamp,
                "hold_reason": "",
                **self._account(o),
            }
            for o in page
        ]
        if is_sqlite(self.conn):
            return bulk.insert_new_sqlite(self.conn, order_t, "external_id", rows)
        return _pg_insert_returning(self.conn, rows)

    def _account(self, order: Order) -> dict[str, int | None]:
        """The ``account_id`` column when intake was told the page's accounts."""
        if self.accounts is None:
            return {}
        return {"account_id": self.accounts.get(order.external_id)}

    def _lock_existing(self, external_ids: list[str]) -> dict[str, _Stored]:
        if not external_ids:
            return {}
        o = order_t.c
        query = (
            sa.select(
                o.id,
                o.external_id,
                o.version,
                o.version_key,
                o.status,
                o.hold_reason,
                o.released_holds,
            )
            .where(o.channel == self.channel, in_list(self.conn, o.external_id, external_ids))
            .order_by(o.external_id)
        )
        if not is_sqlite(self.conn):
            query = query.with_for_update()
        stored = {
            r.external_id: _Stored(
                r.id, r.version, r.version_key, r.status, r.hold_reason, r.released_holds
            )
            for r in self.conn.execute(query)
        }
        self.released = {
            ext: released_codes(known.released_holds)
            for ext, known in stored.items()
            if known.released_holds
        }
        # A hold a person put on the order (the API's hold: "manual: why") stays until a
        # person releases it, however often the order is decided again.
        self.person_holds = {
            ext: [
                Hold(h.code, h.reason)
                for h in parse_holds(known.hold_reason)
                if h.code == PERSON_HOLD
            ]
            for ext, known in stored.items()
            if known.status == OrderStatus.ON_HOLD.value and f"{PERSON_HOLD}: " in known.hold_reason
        }
        return stored

    def _catalogue(self, orders: list[Order]) -> _Catalogue:
        wanted = {line.sku for o in orders for line in o.lines if line.sku}
        products: dict[str, int] = dict(
            self.conn.execute(
                sa.select(product_t.c.sku, product_t.c.id).where(
                    in_list(self.conn, product_t.c.sku, wanted)
                )
            ).all()
        )
        bundles: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for bundle, component, quantity in self.conn.execute(
            sa.select(bundle_t.c.bundle_id, bundle_t.c.component_id, bundle_t.c.quantity).where(
                in_list(self.conn, bundle_t.c.bundle_id, products.values())
            )
        ):
            bundles[bundle].append((component, quantity))
        skus: dict[int, str] = {v: k for k, v in products.items()}
        components = {c for parts in bundles.values() for c, _ in parts} - set(skus)
        if components:
            skus.update(
                self.conn.execute(
                    sa.select(product_t.c.id, product_t.c.sku).where(
                        in_list(self.conn, product_t.c.id, components)
                    )
                ).all()
            )
        return _Catalogue(products, skus, dict(bundles))

    def _positions(self, order_ids: list[int]) -> dict[int, dict[int, Position]]:
        """Per order and product: reserved, sold and returned units per location."""
        if not order_ids:
            return {}
        m = movement_t.c
        rows = self.conn.execute(
            sa.select(
                m.order_id,
                m.product_id,
                m.location_id,
                m.kind,
                sa.func.sum(m.on_hand_delta),
                sa.func.sum(m.reserved_delta),
            )
            .where(in_list(self.conn, m.order_id, order_ids))
            .group_by(m.order_id, m.product_id, m.location_id, m.kind)
        )
        out: dict[int, dict[int, Position]] = defaultdict(dict)
        for order_id, product, location, kind, on_hand, reserved in rows:
            position = out[order_id].setdefault(product, Position())
            _add(position.reserved, location, int(reserved or 0))
            if kind == "sale":
                _add(position.sold, location, -int(on_hand or 0))
            elif kind == "return":
                _add(position.returned, location, int(on_hand or 0))
        return out

    def _location_ids(self) -> list[int]:
        """The ids of the channel's locations in priority order (quarantine ones never);
        with a policy other than priority, ``self.sites`` with their coordinates too."""
        loc = location_t.c
        rows = {
            code: (lid, lat, lon)
            for code, lid, kind, lat, lon in self.conn.execute(
                sa.select(loc.code, loc.id, loc.kind, loc.latitude, loc.longitude)
            )
            if kind != "quarantine"
        }
        self.codes = {code: lid for code, (lid, _, _) in rows.items()}
        if self.location_codes:
            chosen = [rows[c] for c in self.location_codes if c in rows]
        else:
            chosen = sorted(rows.values())
        if self.policy != "priority":
            self.sites = [
                policies.Site(lid, None if lat is None or lon is None else (lat, lon))
                for lid, lat, lon in chosen
            ]
        return [lid for lid, _, _ in chosen]

    def _lock_balances(self, products: set[int]) -> None:
        if not products:
            return
        b = balance_t.c
        query = (
            sa.select(b.product_id, b.location_id, b.on_hand, b.reserved)
            .where(in_list(self.conn, b.product_id, sorted(products)))
            .order_by(b.product_id, b.location_id)
        )
        if not is_sqlite(self.conn):
            query = query.with_for_update()
        for row in self.conn.execute(query):
            self.free[(row.product_id, row.location_id)] = [row.on_hand, row.reserved]

    # -- deciding ---------------------------------------------------------------------------

    def _settle(
        self,
        order: Order,
        oid: int,
        previous: str | None,
        catalogue: _Catalogue,
        positions: dict[int, Position],
    ) -> tuple[str, str]:
        """Decide the order's hub status and queue the movements that bring its stock to
        what this version implies (:mod:`hub.core.orderstate`)."""
        problems = catalogue.problems(order)
        targets = orderstate.targets(
            order,
            lambda n: catalogue.components(order.lines[n]),
            {product: position.total() for product, position in positions.items()},
        )
        if problems:  # nothing is reserved for an order that cannot be matched
            targets = {p: t._replace(reserved=0) for p, t in targets.items()}
        order_locations = (
            None if self.policy == "priority" else self._allocate(order, targets, positions)
        )
        site = self._site(order)
        if site is not None:  # a sale at a shop's till takes that shop's stock only
            order_locations = dict.fromkeys(targets, [site])
        plans = self._plan(targets, positions, reserve=True, order_locations=order_locations)
        short_reserve = {p: short for p, (_, _, short) in plans.items() if short}
        if short_reserve:  # all or nothing: reserve no more for any product
            plans = self._plan(targets, positions, reserve=False, order_locations=order_locations)
        for product, (steps, _, _) in sorted(plans.items()):
            for step in steps:
                self._move(
                    step.kind,
                    oid,
                    order,
                    product,
                    step.location,
                    step.on_hand_delta,
                    step.reserved_delta,
                )
        short_sale = {p: short for p, (_, short, _) in plans.items() if short}
        if short_sale and self.final_sales:
            left = self._oversell(order, oid, short_sale, site)
            for product, units in short_sale.items():  # returns of the units just booked
                booked = units - left.get(product, 0)
                steps = plans[product][0]
                have = sum(s.on_hand_delta for s in steps if s.kind == "return")
                if product in positions:
                    have += positions[product].total().returned
                back = min(booked, targets[product].returned - have)
                if booked and back > 0:
                    self._return_booked(order, oid, product, back)
            short_sale = left
        if short_sale:
            shown = "; ".join(
                f"{catalogue.skus[p]!r} is short by {n}" for p, n in sorted(short_sale.items())
            )
            return (
                OrderStatus.ON_HOLD.value,
                f"shipped on the channel, but {shown}: count the stock",
            )
        rule = orderstate.STATUS_RULES[order.status]
        if not rule.keeps_open:
            if rule.ships_all and previous == OrderStatus.DELIVERED.value:
                return previous, ""
            return order.status.value, ""
        if problems:
            return OrderStatus.ON_HOLD.value, "; ".join(problems)
        if short_reserve:
            free = {
                p: sum(max(0, self._free(p, loc)) for loc in self.locations) for p in short_reserve
            }
            shown = "; ".join(
                f"{catalogue.skus[p]!r} needs {short_reserve[p]} more, {free[p]} available"
                for p in sorted(short_reserve)
            )
            return OrderStatus.ON_HOLD.value, "not enough stock: " + shown
        if (
            targets
            and all(t.reserved == 0 for t in targets.values())
            and any(t.sold for t in targets.values())
        ):  # every unit has shipped (the hub shipped it, the channel has not said so yet)
            shipped = previous if previous in _SHIPPED_VALUES else OrderStatus.FULFILLED.value
            return shipped, ""
        released = self.released.get(order.external_id, set())
        found = self.holds.get(order.external_id, [])
        kept = [h for h in self.person_holds.get(order.external_id, []) if h not in found]
        holds = [h for h in [*found, *kept] if h.code not in released]
        if holds:
            return OrderStatus.ON_HOLD.value, "; ".join(f"{h.code}: {h.reason}" for h in holds)
        return OrderStatus.OPEN.value, ""

    def _plan(
        self,
        targets: dict[int, orderstate.Target],
        positions: dict[int, Position],
        reserve: bool,
        order_locations: dict[int, list[int]] | None = None,
    ) -> dict[int, tuple[list[orderstate.Step], int, int]]:
        """``order_locations``: per product, the location order the channel's policy
        chose for this order (None: the channel's priority order)."""
        return {
            product: orderstate.transition(
                positions.get(product, Position()),
                target,
                self.locations if order_locations is None else order_locations[product],
                partial(self._free, product),
                reserve=reserve,
            )
            for product, target in targets.items()
        }

    def _allocate(
        self,
        order: Order,
        targets: dict[int, orderstate.Target],
        positions: dict[int, Position],
    ) -> dict[int, list[int]]:
        """Per product of ``order``, its locations in the order the policy wants them,
        from the balances this transaction has locked (and the moves queued so far)."""
        address = order.shipping_address
        origin = (
            (address.latitude, address.longitude)
            if address.latitude is not None and address.longitude is not None
            else None
        )
        needs = {
            product: _still_to_reserve(target, positions.get(product))
            for product, target in targets.items()
        }
        if self.policy == "nearest":
            return policies.nearest_order(self.sites, needs, self._free, origin)
        holding = {
            location
            for position in positions.values()
            for location, units in position.reserved.items()
            if units > 0
        }
        ordered = policies.fewest_splits_order(self.sites, needs, self._free, origin, holding)
        return dict.fromkeys(targets, ordered)

    def _site(self, order: Order) -> int | None:
        """The id of the location the order names, when the channel sells from it."""
        lid = self.codes.get(order.location) if order.location else None
        return lid if lid in self.locations else None

    def _oversell(
        self, order: Order, oid: int, short: dict[int, int], site: int | None
    ) -> dict[int, int]:
        """Book a final sale's units no free stock covers at the order's location: first
        those other orders reserved there (:meth:`_bump`), then below zero, keeping an
        oversell for each product; returns what stays short (reservations another writer
        holds now)."""
        location = site if site is not None else (self.locations[0] if self.locations else None)
        left = {}
        for product, units in sorted(short.items()):
            if location is not None and self.free.get((product, location), [0, 0])[1] > 0:
                taken = self._bump(product, location, units, oid)
                if taken:  # the shop's units other orders held: the till sold them
                    self._move("sale", oid, order, product, location, -taken, 0)
                    units -= taken
                if not units:
                    continue
            level = self.free.get((product, location), [0, 0]) if location else [0, 1]
            if location is None or level[1] != 0:
                left[product] = units
                continue
            self._move("sale", oid, order, product, location, -units, 0)
            self.beyond.append(self.moves[-1])
            self.oversells.append(
                {
                    "channel": self.channel,
                    "order_id": oid,
                    "product_id": product,
                    "location_id": location,
                    "quantity": units,
                    "reference": order.number or order.external_id,
                    "created_at": self.stamp,
                }
            )
            log.warning(
                "oversell: %s order %r was handed over with %d unit(s) of product %d that "
                "the hub's stock did not cover; booked below zero at location %d",
                self.channel,
                order.external_id,
                units,
                product,
                location,
            )
        return left

    def _return_booked(self, order: Order, oid: int, product: int, units: int) -> None:
        """Units of a final sale booked by :meth:`_oversell` that this same version says
        came back: a return where they were sold, and their oversell (if any) shrinks,
        since nothing is missing for them any more."""
        location = next(
            m["location_id"]
            for m in reversed(self.moves)
            if m["order_id"] == oid and m["product_id"] == product and m["kind"] == "sale"
        )
        self._move("return", oid, order, product, location, units, 0)
        for record in reversed(self.oversells):
            if (record["order_id"], record["product_id"]) == (oid, product) and units > 0:
                less = min(units, record["quantity"])
                record["quantity"] -= less
                units -= less
        self.oversells = [r for r in self.oversells if r["quantity"] > 0]

    def _bump(self, product: int, location: int, units: int, oid: int) -> int:
        """Release up to ``units`` of other orders' reservations of ``product`` at
        ``location`` (newest order first; not this page's orders, nor one another writer
        holds now) and put those orders on hold: a final sale took the units. Their
        release frees stock, so the hub decides them again once this commits (reserving
        elsewhere when it can). Returns the units released."""
        m = movement_t.c
        holders = self.conn.execute(
            sa.select(m.order_id, sa.func.sum(m.reserved_delta))
            .where(m.product_id == product, m.location_id == location, m.order_id.is_not(None))
            .group_by(m.order_id)
            .having(sa.func.sum(m.reserved_delta) > 0)
            .order_by(m.order_id.desc())
        ).all()
        page = set(self.page_ids)
        pending: dict[int, int] = {}  # releases this page already queued, per order
        for move in self.moves:
            if (move["product_id"], move["location_id"]) == (product, location):
                pending[move["order_id"]] = (
                    pending.get(move["order_id"], 0) + move["reserved_delta"]
                )
        taken = 0
        for holder, committed in holders:
            held = int(committed) + pending.get(holder, 0)
            if taken >= units or holder in page or holder == oid or held <= 0:
                continue
            lock = sa.select(order_t.c.id, order_t.c.number, order_t.c.external_id).where(
                order_t.c.id == holder
            )
            if not is_sqlite(self.conn):
                lock = lock.with_for_update(skip_locked=True)
            row = self.conn.execute(lock).first()
            if row is None:  # another writer has it: leave its reservation alone
                continue
            take = min(units - taken, int(held))
            # A held order reserves nothing (as intake holds them): every unit it still
            # holds, of any product and location, goes back with the ones the till took.
            for (p_id, l_id), amount in self._reservations(holder, pending_of=holder).items():
                level = self.free.setdefault((p_id, l_id), [0, 0])
                level[1] -= amount
                self.moves.append(
                    {
                        "kind": "release",
                        "product_id": p_id,
                        "location_id": l_id,
                        "on_hand_delta": 0,
                        "reserved_delta": -amount,
                        "reason": "sold at a shop's till (final sale)"
                        if (p_id, l_id) == (product, location)
                        else "order held: a shop's till sold units it held",
                        "channel": self.channel,
                        "reference": row.number or row.external_id,
                        "actor": self.actor,
                        "order_id": holder,
                        "created_at": self.stamp,
                    }
                )
            reason = (
                f"not enough stock: {take} unit(s) it held at the shop were sold at the "
                f"till ({self.channel}) meanwhile"
            )
            self.conn.execute(
                order_t.update()
                .where(order_t.c.id == holder)
                .values(status=OrderStatus.ON_HOLD.value, hold_reason=reason, updated_at=self.stamp)
            )
            self.conn.execute(
                order_event_t.insert().values(
                    order_id=holder,
                    status=OrderStatus.ON_HOLD.value,
                    actor=self.actor,
                    origin=self.origin,
                    note=reason,
                    created_at=self.stamp,
                )
            )
            taken += take
        return taken

    def _reservations(self, order_id: int, pending_of: int) -> dict[tuple[int, int], int]:
        """Units order ``order_id`` holds reserved now, per (product, location): what is
        committed plus this page's queued moves of order ``pending_of``; only positive."""
        m = movement_t.c
        held: dict[tuple[int, int], int] = {
            (p, loc): int(units)
            for p, loc, units in self.conn.execute(
                sa.select(m.product_id, m.location_id, sa.func.sum(m.reserved_delta))
                .where(m.order_id == order_id)
                .group_by(m.product_id, m.location_id)
            )
        }
        for move in self.moves:
            if move["order_id"] == pending_of:
                key = (move["product_id"], move["location_id"])
                held[key] = held.get(key, 0) + move["reserved_delta"]
        return {key: units for key, units in held.items() if units > 0}

    def _free(self, product: int, location: int) -> int:
        on_hand, reserved = self.free.get((product, location), (0, 0))
        return on_hand - reserved

    def _move(
        self,
        kind: str,
        oid: int,
        order: Order,
        product: int,
        location: int,
        d_on_hand: int,
        d_reserved: int,
    ) -> None:
        level = self.free.setdefault((product, location), [0, 0])
        level[0] += d_on_hand
        level[1] += d_reserved
        self.moves.append(
            {
                "kind": kind,
                "product_id": product,
                "location_id": location,
                "on_hand_delta": d_on_hand,
                "reserved_delta": d_reserved,
                "reason": "",
                "channel": self.channel,
                "reference": order.number or order.external_id,
                "actor": self.actor,
                "order_id": oid,
                "created_at": self.stamp,
            }
        )

    # -- writing ----------------------------------------------------------------------------

    def _write(self, updates: list, inserted: dict[str, int], catalogue: _Catalogue) -> None:
        fresh: list[dict] = []
        edited: list[dict] = []
        lines: list[dict] = []
        events: list[dict] = []
        for order, oid, status, reason, changed in updates:
            if order.external_id in inserted:  # inserted whole: only the decision is left
                fresh.append({"id": oid, "status": status, "hold_reason": reason})
            else:
                edited.append(
                    {
                        **_order_row(order, self.keys[order.external_id]),
                        **self._account(order),
                        "b_id": oid,
                        "status": status,
                        "hold_reason": reason,
                        "updated_at": self.stamp,
                    }
                )
            lines.extend(
                {
                    "order_id": oid,
                    "line_no": n,
                    "sku": line.sku,
                    "product_id": catalogue.products.get(line.sku) if line.stocked else None,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "title": line.title,
                    "external_id": line.external_id,
                    "fulfilled_quantity": line.fulfilled_quantity,
                    "returned_quantity": line.returned_quantity,
                    "stocked": line.stocked,
                }
                for n, line in enumerate(order.lines, 1)
            )
            action = "created" if order.external_id in inserted else "updated"
            notes = self.notes.get(order.external_id, [])
            if action == "created" or changed or notes:
                note = reason or f"{action} from {self.channel}"
                events.append(
                    {
                        "order_id": oid,
                        "status": status,
                        "actor": self.actor,
                        "origin": self.origin,
                        "note": "; ".join([note, *notes]),
                        "created_at": self.stamp,
                    }
                )
            self.report.outcomes.append(Outcome(order.external_id, action, status, reason))
        bulk.set_columns(self.conn, order_t, "id", fresh)
        if edited:
            self.conn.execute(order_t.update().where(order_t.c.id == sa.bindparam("b_id")), edited)
            self.conn.execute(
                order_line_t.delete().where(
                    in_list(self.conn, order_line_t.c.order_id, [r["b_id"] for r in edited])
                )
            )
        bulk.insert_rows(self.conn, order_line_t, lines)
        bulk.insert_rows(self.conn, order_event_t, events)
        self._apply_moves()

    def _apply_moves(self) -> None:
        if not self.moves:
            return
        deltas: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        beyond = {id(move) for move in self.beyond}
        for move in self.beyond:  # a shop that never held the product has no balance yet
            key = {"product_id": move["product_id"], "location_id": move["location_id"]}
            self.conn.execute(insert_ignore(self.conn, balance_t).values(**key))
        for move in self.moves:
            if id(move) in beyond:
                continue
            delta = deltas[(move["product_id"], move["location_id"])]
            delta[0] += move["on_hand_delta"]
            delta[1] += move["reserved_delta"]
        changed = [(p, loc, d[0], d[1]) for (p, loc), d in sorted(deltas.items()) if d != [0, 0]]
        if bulk.add_to_balances(self.conn, balance_t, changed) != len(changed):
            raise StockError(
                "intake's reservation guard refused a balance update; "
                "the page was rolled back and will be retried"
            )
        self._apply_beyond()
        bulk.insert_rows(self.conn, movement_t, self.moves)
        mark_dirty(self.conn, {move["product_id"] for move in self.moves})
        self._report_changes()

    def _apply_beyond(self) -> None:
        """Book final sales past the free stock: on hand down and ``oversold`` up by the
        same units, only where nothing is reserved; keep an oversell row for each."""
        if not self.beyond:
            return
        b = balance_t.c
        for move in self.beyond:
            key = {"product_id": move["product_id"], "location_id": move["location_id"]}
            units = -move["on_hand_delta"]
            done = self.conn.execute(
                balance_t.update()
                .where(
                    b.product_id == key["product_id"],
                    b.location_id == key["location_id"],
                    b.reserved == 0,
                )
                .values(on_hand=b.on_hand - units, oversold=b.oversold + units)
            )
            if done.rowcount != 1:
                raise StockError(
                    "intake's oversell guard refused a final sale (units were reserved at "
                    "its location meanwhile); the page was rolled back and will be retried"
                )
        if self.oversells:
            self.conn.execute(oversell_t.insert(), self.oversells)

    def _report_changes(self) -> None:
        codes: dict[int, str] = dict(
            self.conn.execute(sa.select(location_t.c.id, location_t.c.code)).all()
        )
        products = {move["product_id"] for move in self.moves}
        skus: dict[int, str] = dict(
            self.conn.execute(
                sa.select(product_t.c.id, product_t.c.sku).where(
                    in_list(self.conn, product_t.c.id, products)
                )
            ).all()
        )
        for move in self.moves:
            key = (move["product_id"], move["location_id"])
            on_hand, reserved = self.free[key]
            moves_shelf = move["kind"] in ("sale", "return")
            quantity = move["on_hand_delta"] if moves_shelf else move["reserved_delta"]
            self.report.changes.append(
                StockChange(
                    sku=skus[key[0]],
                    location=codes[key[1]],
                    kind=move["kind"],
                    quantity=quantity,
                    on_hand=on_hand,
                    reserved=reserved,
                    channel=self.channel,
                    reference=move["reference"],
                )
            )


def _order_row(order: Order, version_key: str) -> dict:
    address, customer, billing = order.shipping_address, order.customer, order.billing_address
    window = order.delivery_window
    return {
        "number": order.number,
        "channel_status": order.status.value,
        "payment_status": order.payment_status.value,
        "currency": order.currency,
        "total": order.total,
        "customer_id": customer.external_id,
        "customer_name": customer.name,
        "customer_email": customer.email,
        "customer_phone": customer.phone,
        "company": customer.company or address.company,
        "ship_name": address.name,
        "ship_line1": address.line1,
        "ship_line2": address.line2,
        "ship_city": address.city,
        "ship_region": address.region,
        "ship_postcode": address.postcode,
        "ship_country": address.country,
        "ship_phone": address.phone,
        "latitude": address.latitude,
        "longitude": address.longitude,
        "window_start": window.start if window else None,
        "window_end": window.end if window else None,
        "notes": order.notes,
        "risk_level": order.risk_level or "",
        "po_number": order.po_number,
        "requested_date": order.requested_date,
        "bill_name": billing.name,
        "bill_line1": billing.line1,
        "bill_line2": billing.line2,
        "bill_city": billing.city,
        "bill_region": billing.region,
        "bill_postcode": billing.postcode,
        "bill_country": billing.country,
        "placed_at": order.placed_at,
        "version": order.updated_at,
        "version_key": version_key,
    }


def _pg_insert_returning(conn: Connection, rows: list[dict]) -> dict[str, int]:
    """Insert order keys on PostgreSQL through psycopg's pipelined ``executemany``.

    One short statement repeated (parsed once, pipelined) is several times faster than
    the single multi-row INSERT SQLAlchemy would build, whose thousands of placeholders
    the driver re-parses on every page.
    """
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {order_t.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
        "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id, external_id"
    )
    inserted: dict[str, int] = {}
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows, returning=True)
        while True:
            for order_id, external_id in cursor.fetchall():
                inserted[external_id] = order_id
            if not cursor.nextset():
                break
    finally:
        cursor.close()
    return inserted


def _still_to_reserve(target: orderstate.Target, position: Position | None) -> int:
    """Units of a product the order still has to reserve for ``target``: its reservation
    after newly shipped units are taken from it, short of the target's."""
    if position is None:
        return target.reserved
    now = position.total()
    shipping = max(0, target.sold - now.sold)
    return max(0, target.reserved - max(0, now.reserved - shipping))


def _add(figures: dict[int, int], location: int, units: int) -> None:
    if units:
        figures[location] = figures.get(location, 0) + units
