"""The unified stock ledger: the only writer of stock.

Every change is a :class:`~hub.core.models.Movement` appended to the journal, and the
matching :class:`~hub.core.models.Balance` is updated in the same transaction by a
*conditional* ``UPDATE`` whose ``WHERE`` clause refuses to take stock that is not
there; the database's CHECK constraints are the last guard. Nothing here reads a
balance in Python and writes it back, so concurrent writers can never take the same
unit twice, on SQLite or PostgreSQL.

Quantities are bounded where they enter: one movement (a receipt, adjustment, transfer,
order line, bundle component) moves at most :data:`MAX_QUANTITY` units, and no balance
holds more than :data:`MAX_ON_HAND` units of a SKU at a location. Both are far below what
the 64-bit columns hold, so no sum of them can overflow on SQLite or PostgreSQL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from hub.core.models import (
    balance_t,
    bundle_t,
    location_t,
    movement_t,
    now,
    product_t,
)
from hub.core.outbox import mark_dirty
from hub.errors import InsufficientStock, InvalidInput, NotFound, StockError
from hub.skus import normalise_sku, require_sku
from hub.stock import StockChange, StockLevel

MAX_QUANTITY = 1_000_000_000
"""Most units one movement, count row, order line or bundle component may name."""
MAX_ON_HAND = 1_000_000_000_000
"""Most units of one SKU on hand at one location (a stock count may set up to this)."""

_WHOLE = re.compile(r"[+-]?[0-9]+")
KINDS = ("receipt", "sale", "reservation", "release", "adjustment", "transfer", "return")


@dataclass(frozen=True)
class Move:
    """A movement to apply: deltas to on hand and reserved of one SKU at one location."""

    kind: str
    product_id: int
    location_id: int
    on_hand_delta: int = 0
    reserved_delta: int = 0
    reason: str = ""
    channel: str = ""
    reference: str = ""
    actor: str = ""
    order_id: int | None = None


def insert_ignore(connection: Connection, table: sa.Table) -> sa.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the connection's dialect."""
    maker = sqlite_insert if connection.dialect.name == "sqlite" else pg_insert
    return maker(table).on_conflict_do_nothing()  # type: ignore[no-any-return]


# Statements built once: building SQLAlchemy expressions costs more than running them.
_PRODUCT_BY_SKU = sa.select(product_t.c.id).where(product_t.c.sku == sa.bindparam("sku"))
_LOCATION_BY_CODE = sa.select(location_t.c.id).where(location_t.c.code == sa.bindparam("code"))
_b = balance_t.c
_DOH: Any = sa.bindparam("doh")
_DR: Any = sa.bindparam("dr")
_UPDATE_BALANCE = (
    balance_t.update()
    .where(
        _b.product_id == sa.bindparam("p"),
        _b.location_id == sa.bindparam("l"),
        # never below zero; a balance a final sale took below zero (intake's oversell)
        # may still receive stock and release its reservations on the way back up
        sa.or_(_b.on_hand + _DOH >= 0, sa.and_(_DOH >= 0, _b.reserved + _DR == 0)),
        _b.reserved + _DR >= 0,
        sa.or_(_b.reserved + _DR <= _b.on_hand + _DOH, _b.reserved + _DR == 0),
        sa.or_(_DOH <= 0, _b.on_hand + _DOH <= MAX_ON_HAND),
    )
    .values(on_hand=_b.on_hand + _DOH, reserved=_b.reserved + _DR)
    .returning(_b.on_hand, _b.reserved)
)


# --- products and locations -------------------------------------------------------------


def ensure_product(connection: Connection, sku: str, **fields: object) -> int:
    """The id of product ``sku``, creating it (with ``fields``) when it does not exist.

    ``sku`` is read through :func:`hub.skus.normalise_sku` ("MUG\u00a0" is MUG);
    :class:`InvalidInput` when it is empty or too long.
    """
    sku = require_sku(sku)
    connection.execute(
        insert_ignore(connection, product_t).values(
            sku=sku, created_at=now(), **_product_defaults(fields)
        )
    )
    if fields:
        connection.execute(product_t.update().where(product_t.c.sku == sku).values(**fields))
    return int(connection.execute(_PRODUCT_BY_SKU, {"sku": sku}).scalar_one())


def _product_defaults(fields: dict[str, object]) -> dict[str, object]:
    defaults: dict[str, object] = {
        "name": "",
        "barcode": "",
        "weight_grams": 0.0,
        "volume_cm3": 0.0,
    }
    return {**defaults, **fields}


def set_bundle(connection: Connection, bundle_sku: str, components: dict[str, int]) -> None:
    """Make ``bundle_sku`` a bundle of ``components`` (SKU -> units per bundle).

    SKUs are normalised; :class:`InvalidInput` when a component is the bundle itself or
    two components are one SKU spelt twice; :class:`NotFound` for an unknown SKU.
    """
    bundle_sku = normalise_sku(bundle_sku)
    bundle_id = product_id(connection, bundle_sku)
    parts: dict[str, int] = {}
    for typed, quantity in components.items():
        sku = normalise_sku(typed)
        if sku in parts:
            raise InvalidInput(
                f"bundle {bundle_sku!r}: component {sku!r} is given twice "
                f"(once as {typed!r}); give each component once",
                field="components",
            )
        parts[sku] = quantity
    if bundle_sku in parts:
        raise InvalidInput(f"bundle {bundle_sku!r} cannot contain itself", field="components")
    for sku, quantity in parts.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidInput(
                f"bundle {bundle_sku!r}: component {sku!r} needs a positive "
                f"quantity, got {quantity!r}",
                field="components",
            )
        _bounded(quantity, f"bundle {bundle_sku!r}: component {sku!r}")
    connection.execute(bundle_t.delete().where(bundle_t.c.bundle_id == bundle_id))
    for sku, quantity in parts.items():
        connection.execute(
            bundle_t.insert().values(
                bundle_id=bundle_id, component_id=product_id(connection, sku), quantity=quantity
            )
        )


def ensure_location(connection: Connection, code: str, **fields: object) -> int:
    """The id of location ``code``, creating or updating it with ``fields``."""
    if not code.strip():
        raise InvalidInput("location code must not be empty", field="location")
    defaults = {"name": code, "kind": "warehouse", "address": ""}
    connection.execute(
        insert_ignore(connection, location_t).values(code=code, **{**defaults, **fields})
    )
    if fields:
        connection.execute(location_t.update().where(location_t.c.code == code).values(**fields))
    return int(
        connection.execute(sa.select(location_t.c.id).where(location_t.c.code == code)).scalar_one()
    )


def product_id(connection: Connection, sku: str) -> int:
    """The id of an existing product, found by ``sku`` as normalised; :class:`NotFound`
    names the SKU otherwise."""
    found = connection.execute(_PRODUCT_BY_SKU, {"sku": normalise_sku(sku)}).scalar()
    if found is None:
        raise NotFound(
            f"unknown SKU {sku!r}; add it with `hub stock receive` or a listing import", field="sku"
        )
    return int(found)


def location_id(connection: Connection, code: str) -> int:
    """The id of an existing location; :class:`NotFound` names the code otherwise."""
    found = connection.execute(_LOCATION_BY_CODE, {"code": code}).scalar()
    if found is None:
        known = ", ".join(connection.scalars(sa.select(location_t.c.code).order_by("code")))
        raise NotFound(
            f"unknown location {code!r} (known: {known or 'none'}); declare it under "
            "[locations] in the config",
            field="location",
        )
    return int(found)


# --- applying movements -----------------------------------------------------------------


def apply(
    connection: Connection,
    moves: Sequence[Move],
    names: dict[tuple[int, int], tuple[str, str]] | None = None,
) -> list[StockChange]:
    """Append ``moves`` to the journal and update balances, all or nothing.

    Raises :class:`InsufficientStock` (and leaves the caller to roll back) when a move
    would take more than is on hand or free. ``names`` maps (product id, location id) to
    (SKU, location code) when the caller knows them, saving a look-up.
    """
    if not moves:
        return []
    for move in moves:
        if move.kind not in KINDS:
            raise InvalidInput(f"unknown movement kind {move.kind!r}", field="kind")
    deltas: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for move in moves:
        delta = deltas[(move.product_id, move.location_id)]
        delta[0] += move.on_hand_delta
        delta[1] += move.reserved_delta
    for key, (d_on_hand, d_reserved) in deltas.items():
        if max(abs(d_on_hand), abs(d_reserved)) > MAX_ON_HAND:  # never valid, nor bindable
            raise _refusal(connection, *key, d_on_hand, d_reserved)
    growing = [key for key, (d_on_hand, _) in deltas.items() if d_on_hand > 0]
    if growing:  # a receipt may be the first stock of a SKU at a location
        _ensure_balances(connection, growing)
    after = {
        key: _update_balance(connection, *key, *delta) for key, delta in sorted(deltas.items())
    }
    stamp = now()
    connection.execute(
        movement_t.insert(), [{**move.__dict__, "created_at": stamp} for move in moves]
    )
    mark_dirty(connection, {m.product_id for m in moves})
    return _changes(connection, moves, after, names)


def _ensure_balances(connection: Connection, keys: Iterable[tuple[int, int]]) -> None:
    rows = [{"product_id": p, "location_id": loc, "on_hand": 0, "reserved": 0} for p, loc in keys]
    connection.execute(insert_ignore(connection, balance_t), rows)


def _update_balance(
    connection: Connection, product: int, location: int, d_on_hand: int, d_reserved: int
) -> tuple[int, int]:
    """Apply deltas when the result stays valid; returns the new (on hand, reserved)."""
    row = connection.execute(
        _UPDATE_BALANCE, {"p": product, "l": location, "doh": d_on_hand, "dr": d_reserved}
    ).first()
    if row is None:
        raise _refusal(connection, product, location, d_on_hand, d_reserved)
    return int(row[0]), int(row[1])


def _refusal(
    connection: Connection, product: int, location: int, d_on_hand: int, d_reserved: int
) -> StockError:
    """Why the balance refused these deltas: above the ceiling, or not enough stock."""
    sku = connection.scalar(sa.select(product_t.c.sku).where(product_t.c.id == product))
    code = connection.scalar(sa.select(location_t.c.code).where(location_t.c.id == location))
    row = connection.execute(
        sa.select(balance_t.c.on_hand, balance_t.c.reserved).where(
            balance_t.c.product_id == product, balance_t.c.location_id == location
        )
    ).first()
    on_hand, reserved = (int(row[0]), int(row[1])) if row else (0, 0)
    if d_on_hand > 0 and on_hand + d_on_hand > MAX_ON_HAND:
        return StockError(
            f"{sku!r} at {code!r} would have {on_hand + d_on_hand:,} on hand (now "
            f"{on_hand:,}, {d_on_hand:+,}), above the maximum of {MAX_ON_HAND:,} units "
            "per SKU and location",
            field="quantity",
        )
    return InsufficientStock(
        f"not enough stock of {sku!r} at {code!r}: on hand {on_hand}, reserved {reserved}; "
        f"asked to change on hand by {d_on_hand:+d} and reserved by {d_reserved:+d}",
        field="quantity",
    )


def _changes(
    connection: Connection,
    moves: Sequence[Move],
    after: dict[tuple[int, int], tuple[int, int]],
    names: dict[tuple[int, int], tuple[str, str]] | None,
) -> list[StockChange]:
    if names is None or not set(after) <= set(names):
        names = _names(connection, sorted(after))
    changes = []
    for move in moves:
        key = (move.product_id, move.location_id)
        sku, code = names[key]
        on_hand, reserved = after[key]
        quantity = (
            move.on_hand_delta
            if move.kind in ("receipt", "adjustment", "return", "transfer", "sale")
            else move.reserved_delta
        )
        changes.append(
            StockChange(
                sku=sku,
                location=code,
                kind=move.kind,
                quantity=quantity,
                on_hand=on_hand,
                reserved=reserved,
                channel=move.channel,
                reference=move.reference,
            )
        )
    return changes


def _names(connection: Connection, keys: Sequence[tuple[int, int]]) -> dict:
    products = {p for p, _ in keys}
    locations = {loc for _, loc in keys}
    skus: dict[Any, Any] = dict(
        connection.execute(
            sa.select(product_t.c.id, product_t.c.sku).where(product_t.c.id.in_(products))
        ).all()
    )
    codes: dict[Any, Any] = dict(
        connection.execute(
            sa.select(location_t.c.id, location_t.c.code).where(location_t.c.id.in_(locations))
        ).all()
    )
    return {(p, loc): (skus[p], codes[loc]) for p, loc in keys}


# --- the operations people and channels ask for -----------------------------------------


def _apply_named(
    connection: Connection, moves: list[Move], sku: str, *codes: str
) -> list[StockChange]:
    """Apply moves of one SKU at the given locations (in the moves' order), names known."""
    names = {
        (m.product_id, m.location_id): (sku, code) for m, code in zip(moves, codes, strict=True)
    }
    return apply(connection, moves, names)


def _positive(quantity: int, what: str) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InvalidInput(
            f"{what}: quantity must be a whole number above 0, got {quantity!r}", field="quantity"
        )
    return _bounded(quantity, what)


def _bounded(quantity: int, what: str, most: int = MAX_QUANTITY) -> int:
    """``quantity``, or :class:`InvalidInput` when it is beyond ``most`` either way."""
    if abs(quantity) > most:
        raise InvalidInput(
            f"{what}{': ' if what else ''}quantity {quantity} is beyond the maximum of "
            f"{most:,} units",
            field="quantity",
        )
    return quantity


def receive(
    connection: Connection,
    sku: str,
    location: str,
    quantity: int,
    *,
    reason: str = "",
    actor: str = "",
    reference: str = "",
    create: bool = True,
) -> list[StockChange]:
    """Book ``quantity`` units of ``sku`` into ``location`` (a delivery from a supplier)."""
    sku = normalise_sku(sku)
    _positive(quantity, f"receipt of {sku!r}")
    pid = ensure_product(connection, sku) if create else product_id(connection, sku)
    return _apply_named(
        connection,
        [
            Move(
                "receipt",
                pid,
                location_id(connection, location),
                on_hand_delta=quantity,
                reason=reason,
                actor=actor,
                reference=reference,
            )
        ],
        sku,
        location,
    )


def adjust(
    connection: Connection,
    sku: str,
    location: str,
    delta: int,
    *,
    reason: str,
    actor: str = "",
    reference: str = "",
) -> list[StockChange]:
    """Correct on hand by ``delta`` (positive or negative); a reason is required."""
    if not reason.strip():
        raise InvalidInput(
            f"adjustment of {sku!r}: give a reason (damaged, count, ...)", field="reason"
        )
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise InvalidInput(
            f"adjustment of {sku!r}: quantity must be a whole number, got {delta!r}",
            field="quantity",
        )
    if delta == 0:
        raise InvalidInput(
            f"adjustment of {sku!r}: quantity must not be 0 (give units to add, or "
            "negative units to remove)",
            field="quantity",
        )
    _bounded(delta, f"adjustment of {sku!r}")
    return _one_move(
        connection,
        "adjustment",
        sku,
        location,
        on_hand=delta,
        reason=reason,
        actor=actor,
        reference=reference,
    )


def set_count(
    connection: Connection,
    sku: str,
    location: str,
    counted: int,
    *,
    actor: str = "",
    reference: str = "",
) -> list[StockChange]:
    """Record a stock count: adjust on hand to ``counted`` (creating the SKU if new)."""
    sku = normalise_sku(sku)
    if counted < 0:
        raise InvalidInput(
            f"count of {sku!r} must not be negative, got {counted}", field="quantity"
        )
    _bounded(counted, f"count of {sku!r}", MAX_ON_HAND)
    pid = ensure_product(connection, sku)
    loc = location_id(connection, location)
    _ensure_balances(connection, [(pid, loc)])
    on_hand = connection.scalar(
        sa.select(balance_t.c.on_hand).where(
            balance_t.c.product_id == pid, balance_t.c.location_id == loc
        )
    )
    delta = counted - int(on_hand or 0)
    if delta == 0:
        return []
    # The guarded UPDATE refuses a count below what is reserved, naming the SKU.
    return _apply_named(
        connection,
        [
            Move(
                "adjustment",
                pid,
                loc,
                on_hand_delta=delta,
                reason="stock count",
                actor=actor,
                reference=reference,
            )
        ],
        sku,
        location,
    )


def transfer(
    connection: Connection,
    sku: str,
    source: str,
    target: str,
    quantity: int,
    *,
    actor: str = "",
    reference: str = "",
) -> list[StockChange]:
    """Move free units of ``sku`` from one location to another."""
    sku = normalise_sku(sku)
    _positive(quantity, f"transfer of {sku!r}")
    if source == target:
        raise InvalidInput(
            f"transfer of {sku!r}: source and target are both {source!r}", field="target"
        )
    pid = product_id(connection, sku)
    reference = reference or f"transfer {source}->{target}"
    return _apply_named(
        connection,
        [
            Move(
                "transfer",
                pid,
                location_id(connection, source),
                on_hand_delta=-quantity,
                reason=f"to {target}",
                actor=actor,
                reference=reference,
            ),
            Move(
                "transfer",
                pid,
                location_id(connection, target),
                on_hand_delta=quantity,
                reason=f"from {source}",
                actor=actor,
                reference=reference,
            ),
        ],
        sku,
        source,
        target,
    )


def _one_move(
    connection: Connection,
    kind: str,
    sku: str,
    location: str,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    **fields: Any,
) -> list[StockChange]:
    """Apply one movement of ``sku`` at ``location`` (both must exist)."""
    sku = normalise_sku(sku)
    move = Move(
        kind,
        product_id(connection, sku),
        location_id(connection, location),
        on_hand_delta=on_hand,
        reserved_delta=reserved,
        **fields,
    )
    return _apply_named(connection, [move], sku, location)


def reserve(
    connection: Connection, sku: str, location: str, quantity: int, **fields: Any
) -> list[StockChange]:
    """Reserve free units; :class:`InsufficientStock` when fewer are free.

    ``fields``: channel, reference, order_id, actor (as on every movement).
    """
    _positive(quantity, f"reservation of {sku!r}")
    return _one_move(connection, "reservation", sku, location, reserved=quantity, **fields)


def release(
    connection: Connection, sku: str, location: str, quantity: int, **fields: Any
) -> list[StockChange]:
    """Give reserved units back to free stock."""
    _positive(quantity, f"release of {sku!r}")
    return _one_move(connection, "release", sku, location, reserved=-quantity, **fields)


def sell(
    connection: Connection,
    sku: str,
    location: str,
    quantity: int,
    *,
    from_reserved: bool = False,
    **fields: Any,
) -> list[StockChange]:
    """Units leave stock: a shipped order (from its reservation) or a sale at the till."""
    _positive(quantity, f"sale of {sku!r}")
    taken = -quantity if from_reserved else 0
    return _one_move(connection, "sale", sku, location, on_hand=-quantity, reserved=taken, **fields)


def restock_return(
    connection: Connection, sku: str, location: str, quantity: int, **fields: Any
) -> list[StockChange]:
    """Returned units go back on hand (``fields`` may carry the ``reason``)."""
    _positive(quantity, f"return of {sku!r}")
    return _one_move(connection, "return", sku, location, on_hand=quantity, **fields)


# --- reading ---------------------------------------------------------------------------


def levels(connection: Connection, sku: str | None = None) -> list[StockLevel]:
    """Every balance (or those of ``sku``, normalised), ordered by SKU and location."""
    query = (
        sa.select(product_t.c.sku, location_t.c.code, balance_t.c.on_hand, balance_t.c.reserved)
        .join(product_t, product_t.c.id == balance_t.c.product_id)
        .join(location_t, location_t.c.id == balance_t.c.location_id)
        .order_by(product_t.c.sku, location_t.c.code)
    )
    if sku is not None:
        query = query.where(product_t.c.sku == normalise_sku(sku))
    return [
        StockLevel(sku=r.sku, location=r.code, on_hand=r.on_hand, reserved=r.reserved)
        for r in connection.execute(query)
    ]


def available_to_promise(
    connection: Connection,
    skus: Sequence[str] | None = None,
    *,
    locations: Sequence[str] = (),
    safety_buffer: int = 0,
    cap: int | None = None,
) -> dict[str, int]:
    """Units a channel may sell per SKU: free stock over its locations (all when empty;
    quarantine locations never count), minus its buffer.

    A bundle's figure is the number of whole bundles its components allow. ``skus`` are
    normalised; the result is keyed by the hub's spelling.
    """
    free = _free_by_product(connection, locations)
    query = sa.select(product_t.c.id, product_t.c.sku)
    if skus is not None:
        query = query.where(product_t.c.sku.in_(sorted({normalise_sku(s) for s in skus})))
    products: dict[Any, Any] = dict(connection.execute(query).all())
    bundles = _bundles(connection, products.keys())
    result = {}
    for pid, sku in products.items():
        if pid in bundles:
            units = min(free.get(c, 0) // q for c, q in bundles[pid])
        else:
            units = free.get(pid, 0)
        units = max(0, units - safety_buffer)
        result[sku] = min(units, cap) if cap is not None else units
    return result


def _free_by_product(connection: Connection, locations: Sequence[str]) -> dict[int, int]:
    """Free units per product id over ``locations`` (all when empty); stock at a location
    of kind ``quarantine`` is never counted."""
    b = balance_t.c
    # A location a final sale took below zero (an oversell at a shop) offers nothing,
    # and takes nothing away from the other locations' free units either.
    free = sa.case((b.on_hand - b.reserved > 0, b.on_hand - b.reserved), else_=0)
    query = (
        sa.select(b.product_id, sa.func.sum(free))
        .join(location_t, location_t.c.id == b.location_id)
        .where(location_t.c.kind != "quarantine")
        .group_by(b.product_id)
    )
    if locations:
        query = query.where(location_t.c.code.in_(list(locations)))
    return {pid: int(free) for pid, free in connection.execute(query)}


def _bundles(connection: Connection, product_ids: Iterable[int]) -> dict[int, list[tuple]]:
    rows = connection.execute(
        sa.select(bundle_t.c.bundle_id, bundle_t.c.component_id, bundle_t.c.quantity).where(
            bundle_t.c.bundle_id.in_(list(product_ids))
        )
    )
    bundles: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for bundle, component, quantity in rows:
        bundles[bundle].append((component, quantity))
    return bundles


@dataclass(frozen=True)
class Discrepancy:
    """A balance that differs from the sum of its journal."""

    sku: str
    location: str
    on_hand: int
    reserved: int
    journal_on_hand: int
    journal_reserved: int

    def __str__(self) -> str:
        return (
            f"{self.sku} @ {self.location}: balance on hand {self.on_hand}, reserved "
            f"{self.reserved}; journal says on hand {self.journal_on_hand}, reserved "
            f"{self.journal_reserved}"
        )


def verify(connection: Connection) -> list[Discrepancy]:
    """Recompute every balance from the journal and return each difference."""
    m = movement_t.c
    journal = {
        (r[0], r[1]): (int(r[2]), int(r[3]))
        for r in connection.execute(
            sa.select(
                m.product_id,
                m.location_id,
                sa.func.sum(m.on_hand_delta),
                sa.func.sum(m.reserved_delta),
            ).group_by(m.product_id, m.location_id)
        )
    }
    balances = {
        (r.product_id, r.location_id): (r.on_hand, r.reserved)
        for r in connection.execute(sa.select(balance_t))
    }
    keys = sorted(set(journal) | set(balances))
    names = _names(connection, keys) if keys else {}
    problems = []
    for key in keys:
        have = balances.get(key, (0, 0))
        want = journal.get(key, (0, 0))
        if have != want:
            sku, code = names[key]
            problems.append(Discrepancy(sku, code, *have, *want))
    return problems


def check_quantity(value: object, where: str, most: int = MAX_QUANTITY) -> int:
    """Parse a whole-number quantity from user input, naming ``where`` (when given) if it
    is not one or is beyond ``most`` units either way."""
    text = str(value).strip()
    prefix = f"{where}: " if where else ""
    if not _WHOLE.fullmatch(text):
        raise InvalidInput(f"{prefix}{value!r} is not a whole number", field="quantity")
    if len(text.lstrip("+-0")) > 19:  # no need to build (or print) a huge number
        raise InvalidInput(
            f"{prefix}quantity {text[:24]}{'...' if len(text) > 24 else ''} is beyond the "
            f"maximum of {most:,} units",
            field="quantity",
        )
    return _bounded(int(text), where, most)


__all__ = [
    "Discrepancy",
    "InsufficientStock",
    "MAX_ON_HAND",
    "MAX_QUANTITY",
    "Move",
    "StockError",
    "adjust",
    "apply",
    "available_to_promise",
    "check_quantity",
    "ensure_location",
    "ensure_product",
    "levels",
    "receive",
    "release",
    "reserve",
    "sell",
    "set_count",
    "transfer",
    "verify",
]


def movements(connection: Connection, sku: str, limit: int = 50) -> list[dict[str, Any]]:
    """The journal of ``sku``, newest first."""
    pid = product_id(connection, sku)
    m = movement_t.c
    query = (
        sa.select(movement_t, location_t.c.code.label("location"))
        .join(location_t, location_t.c.id == m.location_id)
        .where(m.product_id == pid)
        .order_by(m.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in connection.execute(query).mappings()]
