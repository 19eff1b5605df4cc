"""Shipping and delivery of stored orders: stock leaves the ledger, history records it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.core.models import movement_t, now, order_event_t, order_t
from hub.core.orderbook import OrderRecord, find_order
from hub.errors import InvalidInput
from hub.orders import OrderStatus
from hub.shipping import Shipment
from hub.stock import StockChange

SHIPPABLE = {OrderStatus.OPEN.value}


def ship(
    conn: Connection,
    ref: str,
    carrier: str,
    tracking_number: str = "",
    tracking_url: str = "",
    actor: str = "",
) -> tuple[OrderRecord, Shipment, list[StockChange]]:
    """Mark an open order shipped: its reservation becomes a sale, its status fulfilled."""
    record = find_order(conn, ref)
    order = record.order
    if order["status"] not in SHIPPABLE:
        reason = f" ({order['hold_reason']})" if order["hold_reason"] else ""
        raise InvalidInput(
            f"order {order['channel']}:{order['external_id']} is "
            f"{order['status']}{reason}; only open orders can ship",
            field="order",
        )
    moves = [
        ledger.Move(
            "sale",
            product,
            location,
            on_hand_delta=-reserved,
            reserved_delta=-reserved,
            channel=order["channel"],
            reference=order["number"] or order["external_id"],
            actor=actor,
            order_id=order["id"],
        )
        for (product, location), reserved in _reserved(conn, order["id"]).items()
    ]
    changes = ledger.apply(conn, moves)
    stamp = now()
    _set_status(
        conn,
        order["id"],
        OrderStatus.FULFILLED.value,
        f"shipped with {carrier} {tracking_number}".strip(),
        actor,
    )
    shipment = Shipment(
        order["channel"],
        order["external_id"],
        carrier,
        tracking_number,
        tracking_url,
        shipped_at=stamp,
    )
    return find_order(conn, str(order["id"])), shipment, changes


def deliver(
    conn: Connection, ref: str, carrier: str = "", actor: str = ""
) -> tuple[OrderRecord, Shipment]:
    """Mark a shipped order delivered."""
    record = find_order(conn, ref)
    order = record.order
    if order["status"] != OrderStatus.FULFILLED.value:
        raise InvalidInput(
            f"order {order['channel']}:{order['external_id']} is "
            f"{order['status']}; only shipped orders can be delivered",
            field="order",
        )
    _set_status(conn, order["id"], OrderStatus.DELIVERED.value, "delivered", actor)
    shipment = Shipment(order["channel"], order["external_id"], carrier, delivered_at=now())
    return find_order(conn, str(order["id"])), shipment


def _reserved(conn: Connection, order_id: int) -> dict[tuple[int, int], int]:
    m = movement_t.c
    rows = conn.execute(
        sa.select(m.product_id, m.location_id, sa.func.sum(m.reserved_delta))
        .where(m.order_id == order_id)
        .group_by(m.product_id, m.location_id)
    )
    return {(p, loc): int(r) for p, loc, r in rows if r}


def _set_status(conn: Connection, order_id: int, status: str, note: str, actor: str) -> None:
    stamp = now()
    conn.execute(
        order_t.update()
        .where(order_t.c.id == order_id)
        .values(status=status, hold_reason="", updated_at=stamp)
    )
    conn.execute(
        order_event_t.insert().values(
            order_id=order_id, status=status, note=note, actor=actor, created_at=stamp
        )
    )


def cancel(
    conn: Connection, ref: str, reason: str = "", actor: str = ""
) -> tuple[OrderRecord, list[StockChange]]:
    """Cancel an order that has not shipped: its reservation goes back to free stock."""
    record = find_order(conn, ref)
    order = record.order
    if order["status"] in (OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value):
        return record, []
    if order["status"] in (OrderStatus.FULFILLED.value, OrderStatus.DELIVERED.value):
        raise InvalidInput(
            f"order {order['channel']}:{order['external_id']} has shipped; "
            "record a return instead of cancelling",
            field="order",
        )
    moves = [
        ledger.Move(
            "release",
            product,
            location,
            reserved_delta=-reserved,
            channel=order["channel"],
            actor=actor,
            order_id=order["id"],
            reference=order["number"] or order["external_id"],
        )
        for (product, location), reserved in _reserved(conn, order["id"]).items()
    ]
    changes = ledger.apply(conn, moves)
    _set_status(conn, order["id"], OrderStatus.CANCELLED.value, reason or "cancelled", actor)
    return find_order(conn, str(order["id"])), changes
