"""The order state machine: what one version of an order means for its stock.

Every unit of an order line passes through three states at most once each:

    reserved ──sale──▶ sold ──return──▶ returned

Per product of an order (bundles expanded into their components) the journal holds three
figures, each summed over the movements that name the order:

==========  ===========================================================
reserved    units held for the order (reservation − release)
sold        units that left the shelf (−on hand of its ``sale`` moves)
returned    sold units taken back into stock (+on hand of its ``return`` moves)
==========  ===========================================================

A version of the order, as the channel reports it, implies a target for each figure
through :data:`STATUS_RULES` and its lines' quantities (:class:`hub.orders.OrderLine`).
Intake moves the journal from where it stands to the target of the newest version, and
only by the difference: a redelivered version moves nothing, a newer version of a shipped
order moves nothing unless its lines changed, a partial refund with restock books
exactly its units back at the locations that shipped them. Units only move forward:
sold and returned units stay so whatever a later version says, so a channel that has not
yet heard of a shipment the hub recorded itself cannot make the hub reserve those units
again, and one that forgets shipped quantities once an order is refunded (WooCommerce
has no record of shipments) cannot put them back on the shelf.

Versions are ordered by the channel's ``updated_at`` and, within the same second (Shopify
and WooCommerce give seconds), by :func:`version_key`: a version further along (shipped,
cancelled, more units shipped or returned) wins over one less far along, and identical
content is the same version. So the newest version always decides, whatever order the
versions arrive in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from hub.orders import Order, OrderLine, OrderStatus


@dataclass(frozen=True)
class Rule:
    """What a channel status means for an order's units.

    ``ships_all``: every unit counts as shipped, whatever the lines say.
    ``keeps_open``: units not yet shipped stay reserved (else they are released).
    ``rank``: how far along the status is, for versions within the same second.
    """

    ships_all: bool
    keeps_open: bool
    rank: int


#: The transition table: channel status → what its versions imply for the stock.
#: Shipped units stay sold under every status until a line reports them returned.
STATUS_RULES: Mapping[OrderStatus, Rule] = {
    OrderStatus.PENDING: Rule(ships_all=False, keeps_open=True, rank=1),
    OrderStatus.ON_HOLD: Rule(ships_all=False, keeps_open=True, rank=1),
    OrderStatus.OPEN: Rule(ships_all=False, keeps_open=True, rank=2),
    OrderStatus.FULFILLED: Rule(ships_all=True, keeps_open=False, rank=3),
    OrderStatus.DELIVERED: Rule(ships_all=True, keeps_open=False, rank=4),
    OrderStatus.REFUNDED: Rule(ships_all=False, keeps_open=False, rank=5),
    OrderStatus.CANCELLED: Rule(ships_all=False, keeps_open=False, rank=5),
}

SHIPPED = frozenset({OrderStatus.FULFILLED, OrderStatus.DELIVERED})


class Target(NamedTuple):
    """What a version implies for one product: units reserved, sold, and returned."""

    reserved: int = 0
    sold: int = 0
    returned: int = 0


_NOTHING = Target()


def line_target(rule: Rule, line: OrderLine) -> Target:
    """The units one stocked line implies under ``rule``: the table applied to a line."""
    sold = line.quantity if rule.ships_all else min(line.fulfilled_quantity, line.quantity)
    reserved = line.quantity - sold if rule.keeps_open else 0
    return Target(reserved, sold, min(line.returned_quantity, sold))


def targets(
    order: Order,
    components: Callable[[int], Iterable[tuple[int, int]] | None],
    already: Mapping[int, Target] | None = None,
) -> dict[int, Target]:
    """The targets of ``order`` per product id.

    ``components(line_index)`` gives (product id, units per line unit) for a stocked line
    whose SKU the hub knows (a bundle gives its components), or None for an unknown one,
    which implies nothing. ``already`` (product id → where the order stands) makes sold
    and returned units final: a version that reports fewer of them (a channel that has not
    heard of the hub's own shipment yet, or that forgets shipments once refunded) moves
    none back, and units sold beyond what the version says are not reserved again.
    """
    rule = STATUS_RULES[order.status]
    totals: dict[int, list[int]] = {}
    for n, line in enumerate(order.lines):
        parts = components(n) if line.stocked else None
        if not parts:
            continue
        reserved, sold, returned = line_target(rule, line)
        for product, per_unit in parts:
            total = totals.setdefault(product, [0, 0, 0])
            total[0] += per_unit * reserved
            total[1] += per_unit * sold
            total[2] += per_unit * returned
    if not already:
        return {product: Target(*total) for product, total in totals.items()}
    out = {}
    for product in already.keys() | totals.keys():
        reserved, sold, returned = totals.get(product, (0, 0, 0))
        floor = already.get(product, _NOTHING)
        if floor.sold > sold:  # sold beyond what this version says: not reserved again
            reserved = max(0, reserved - (floor.sold - sold))
            sold = floor.sold
        out[product] = Target(reserved, sold, min(max(returned, floor.returned), sold))
    return out


def version_key(order: Order) -> str:
    """A sortable key ordering versions of one order that share ``updated_at``.

    Status rank first, then units shipped, then units returned, then a digest of the
    whole content: later states win, and only identical content compares equal (the
    digest covers ``updated_at`` too, which changes nothing: keys are only compared
    between versions of the same ``updated_at``).
    """
    rule = STATUS_RULES[order.status]
    shipped = returned = 0
    for line in order.lines:
        if line.stocked:
            target = line_target(rule, line)
            shipped += target.sold
            returned += target.returned
    digest = hashlib.sha256(repr(order).encode()).hexdigest()[:32]
    rank = STATUS_RULES[order.status].rank
    return f"{rank:02d}.{min(shipped, 10**12 - 1):012d}.{min(returned, 10**12 - 1):012d}.{digest}"


_NEVER = datetime.min.replace(tzinfo=UTC)


def is_newer(
    updated_at: datetime | None, key: str, stored_version: datetime | None, stored_key: str | None
) -> bool:
    """True when a version (``updated_at``, :func:`version_key`) is later than the stored
    (version, key). A version without ``updated_at`` is never later than one stored."""
    if updated_at is None:
        return stored_version is None and stored_key is None
    return (updated_at, key) > (stored_version or _NEVER, stored_key or "")


@dataclass
class Position:
    """Where an order's units of one product stand, per location id."""

    reserved: dict[int, int] = field(default_factory=dict)
    sold: dict[int, int] = field(default_factory=dict)
    returned: dict[int, int] = field(default_factory=dict)

    def total(self) -> Target:
        """The three figures summed over locations."""
        return Target(
            sum(self.reserved.values()), sum(self.sold.values()), sum(self.returned.values())
        )


class Step(NamedTuple):
    """One journal movement the transition needs."""

    kind: str  # sale, return, reservation, release
    location: int
    on_hand_delta: int
    reserved_delta: int


def transition(
    position: Position,
    target: Target,
    locations: list[int],
    free: Callable[[int], int],
    reserve: bool = True,
) -> tuple[list[Step], int, int]:
    """The movements that bring ``position`` to ``target`` for one product.

    ``locations`` are the channel's locations in priority order; ``free(location)`` the
    units free there now (after the steps already taken; the caller updates it as it
    applies each step). Sales come out of the order's reservation first, then free
    stock; returns go back where the units were sold; a sale the channel takes back
    (a cancelled fulfilment) goes back there too. With ``reserve`` False the
    reservation is only reduced, never raised (the order is held for another reason).

    Returns the steps, the units the sale could not find on any shelf (the order ships
    on the channel but the hub's count is short), and the units still to reserve when
    there are not enough free units for all of them (then none of them is reserved).
    """
    if not (position.reserved or position.sold or position.returned or target.sold):
        return _first_reservation(target.reserved if reserve else 0, locations, free)
    steps: list[Step] = []
    reserved = dict(position.reserved)
    sold = dict(position.sold)
    returned = dict(position.returned)

    def step(kind: str, location: int, on_hand: int, held: int) -> None:
        steps.append(Step(kind, location, on_hand, held))
        if held:
            reserved[location] = reserved.get(location, 0) + held
        if kind == "sale":
            sold[location] = sold.get(location, 0) - on_hand
        elif kind == "return":
            returned[location] = returned.get(location, 0) + on_hand

    now = position.total()
    # 1. Units newly shipped: from the reservation, then from free stock.
    unsold = target.sold - now.sold
    for location in sorted(reserved, key=lambda loc: -reserved[loc]):
        take = min(unsold, reserved[location])
        if take > 0:
            step("sale", location, -take, -take)
            unsold -= take
    short_sale = 0
    if unsold > 0:
        for location in locations:
            take = min(unsold, free(location) - _pending(steps, location))
            if take > 0:
                step("sale", location, -take, 0)
                unsold -= take
        short_sale = unsold
    # 2. Returns: booked where the units were sold, never more than was sold there.
    more = min(target.returned, sum(sold.values())) - sum(returned.values())
    for location in sorted(sold, key=lambda loc: -(sold[loc] - returned.get(loc, 0))):
        back = min(more, sold[location] - returned.get(location, 0))
        if back > 0:
            step("return", location, back, 0)
            more -= back
    # 3. The reservation: release what is no longer wanted, reserve what is missing.
    excess = sum(reserved.values()) - target.reserved
    for location in sorted(reserved, key=lambda loc: reserved[loc]):
        give = min(excess, reserved[location])
        if give > 0:
            step("release", location, 0, -give)
            excess -= give
    missing = -excess if reserve else 0
    short_reserve = 0
    if missing > 0:
        room = {loc: free(loc) - _pending(steps, loc) for loc in locations}
        if sum(max(0, r) for r in room.values()) < missing:
            short_reserve = missing  # all or nothing: none of it is reserved
        else:
            for location in locations:
                take = min(missing, room[location])
                if take > 0:
                    step("reservation", location, 0, take)
                    missing -= take
    return steps, short_sale, short_reserve


def _first_reservation(
    units: int, locations: list[int], free: Callable[[int], int]
) -> tuple[list[Step], int, int]:
    """:func:`transition` for an order that holds nothing of the product yet and has
    shipped none of it (most orders, the first time they are seen)."""
    if units <= 0:
        return [], 0, 0
    room = [(location, free(location)) for location in locations]
    if sum(n for _, n in room if n > 0) < units:
        return [], 0, units
    steps = []
    for location, available in room:
        take = min(units, available)
        if take > 0:
            steps.append(Step("reservation", location, 0, take))
            units -= take
    return steps, 0, 0


def _pending(steps: list[Step], location: int) -> int:
    """Free units the steps so far have used up at ``location`` (not yet applied)."""
    return sum(s.reserved_delta - s.on_hand_delta for s in steps if s.location == location)
