"""Returns: shipped units back on hand at a location, or at the quarantine location when
damaged, as ``return`` movements naming the order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.core.db import run_in_transaction
from hub.core.desk.actions import _event
from hub.core.desk.inputs import Actor
from hub.core.desk.views import OrderView, order_view
from hub.core.models import bundle_t, location_t, movement_t, order_line_t, order_t, product_t
from hub.core.orderbook import order_id
from hub.core.runtime import Hub
from hub.errors import Conflict, InvalidInput
from hub.skus import normalise_sku
from hub.stock import StockChange


def quarantine_location(conn: Connection) -> str:
    """The code of the location damaged returns go to: the first of kind ``quarantine``,
    else one created with code ``quarantine``."""
    code = conn.scalar(
        sa.select(location_t.c.code)
        .where(location_t.c.kind == "quarantine")
        .order_by(location_t.c.code)
        .limit(1)
    )
    if code:
        return str(code)
    ledger.ensure_location(conn, "quarantine", name="Quarantine", kind="quarantine")
    return "quarantine"


def return_lines(
    hub: Hub,
    ref: str | int,
    lines: Sequence[tuple[str, int]],
    to_location: str,
    damaged: bool,
    actor: Actor,
) -> OrderView:
    """Take shipped units back: ``lines`` are (SKU, units). They go on hand at
    ``to_location``, or when ``damaged`` at the quarantine location (which no channel
    sells from), as ``return`` movements naming the order; the order's lines count them
    as returned and history records it.

    InvalidInput naming the line (field ``lines[n]``) for a SKU not on the order or more
    units than shipped and not yet returned; NotFound for an unknown location; Conflict
    for an order nothing of which has shipped.
    """
    if not lines:
        raise InvalidInput("lines: name at least one SKU:QTY to return", field="lines")
    wanted: list[tuple[str, int]] = []
    for n, (sku, quantity) in enumerate(lines):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(
                f"lines[{n}]: quantity {quantity!r} must be a whole number of at least 1",
                field=f"lines[{n}].quantity",
            )
        if quantity > ledger.MAX_QUANTITY:
            raise InvalidInput(
                f"lines[{n}]: quantity {quantity} is beyond {ledger.MAX_QUANTITY:,}",
                field=f"lines[{n}].quantity",
            )
        wanted.append((normalise_sku(sku or ""), quantity))

    def work(conn: Connection) -> tuple[int, list[StockChange]]:
        oid = order_id(conn, ref)
        row = conn.execute(sa.select(order_t).where(order_t.c.id == oid)).mappings().one()
        name = f"{row['channel']}:{row['external_id']}"
        location = quarantine_location(conn) if damaged else to_location.strip()
        if not location:
            raise InvalidInput("to: name the location the units go back to", field="to")
        loc_id = ledger.location_id(conn, location)  # NotFound naming it
        order_lines = [
            dict(r)
            for r in conn.execute(
                sa.select(order_line_t)
                .where(order_line_t.c.order_id == oid)
                .order_by(order_line_t.c.line_no)
            ).mappings()
        ]
        m = movement_t.c
        figures: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # product: sold, returned
        for product, kind, on_hand in conn.execute(
            sa.select(m.product_id, m.kind, sa.func.sum(m.on_hand_delta))
            .where(m.order_id == oid, m.kind.in_(("sale", "return")))
            .group_by(m.product_id, m.kind)
        ):
            figures[product][0 if kind == "sale" else 1] += abs(int(on_hand or 0))
        if not any(sold for sold, _ in figures.values()):
            raise Conflict(
                f"order {name} has not shipped; cancel it or edit its lines instead",
                field="order",
            )
        products: dict[str, int] = dict(
            conn.execute(
                sa.select(product_t.c.sku, product_t.c.id).where(
                    product_t.c.sku.in_(sorted({s for s, _ in wanted}))
                )
            ).all()
        )
        moves: list[ledger.Move] = []
        line_updates: dict[int, int] = {}
        taken: dict[int, int] = defaultdict(int)
        for n, (sku, quantity) in enumerate(wanted):
            mine = [ln for ln in order_lines if ln["sku"] == sku and ln["stocked"]]
            if not mine or sku not in products:
                raise InvalidInput(
                    f"lines[{n}]: {sku!r} is not a line of order {name}", field=f"lines[{n}]"
                )
            parts: list[tuple[int, int]] = [
                (int(c), int(q))
                for c, q in conn.execute(
                    sa.select(bundle_t.c.component_id, bundle_t.c.quantity).where(
                        bundle_t.c.bundle_id == products[sku]
                    )
                )
            ] or [(products[sku], 1)]
            shipped_lines = sum(int(ln["quantity"]) for ln in mine)
            returned_lines = sum(int(ln["returned_quantity"]) for ln in mine)
            room = min((figures[p][0] - figures[p][1] - taken[p]) // per for p, per in parts)
            room = min(
                room, shipped_lines - returned_lines - line_updates_total(line_updates, mine)
            )
            if quantity > room:
                raise InvalidInput(
                    f"lines[{n}]: {quantity} × {sku!r} is more than order {name} shipped and "
                    f"has not had back ({max(room, 0)})",
                    field=f"lines[{n}]",
                )
            for p, per in parts:
                taken[p] += per * quantity
                moves.append(
                    ledger.Move(
                        "return",
                        p,
                        loc_id,
                        on_hand_delta=per * quantity,
                        channel=row["channel"],
                        actor=actor.label(),
                        order_id=oid,
                        reference=row["number"] or row["external_id"],
                        reason="damaged return" if damaged else "return",
                    )
                )
            left = quantity
            for ln in mine:
                has = (
                    int(ln["quantity"])
                    - int(ln["returned_quantity"])
                    - line_updates.get(ln["line_no"], 0)
                )
                step = min(left, max(has, 0))
                if step:
                    line_updates[ln["line_no"]] = line_updates.get(ln["line_no"], 0) + step
                    left -= step
        changes = ledger.apply(conn, moves)
        by_no = {ln["line_no"]: ln for ln in order_lines}
        for line_no, extra in line_updates.items():
            conn.execute(
                order_line_t.update()
                .where(order_line_t.c.order_id == oid, order_line_t.c.line_no == line_no)
                .values(returned_quantity=int(by_no[line_no]["returned_quantity"]) + extra)
            )
        shown = ", ".join(f"{q} × {s}" for s, q in wanted)
        where = f"{location} (damaged)" if damaged else location
        _event(conn, oid, row["status"], f"returned {shown} to {where}", actor)
        return oid, changes

    oid, changes = run_in_transaction(hub.engine, work)
    if changes:  # plugins are told; held orders waiting for freed stock are decided
        hub.stock_changed(changes)
    return order_view(hub, oid)


def line_updates_total(updates: dict[int, int], lines: list[dict]) -> int:
    """Units already taken from ``lines`` by earlier entries of the same return."""
    return sum(updates.get(ln["line_no"], 0) for ln in lines)
