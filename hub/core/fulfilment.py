"""Shipping and delivery of stored orders: stock leaves the ledger, history records it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from hub.core import ledger, shipments
from hub.core.models import now, order_event_t, order_t
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
    *,
    tell_channel: Callable[[str], bool] = lambda channel: True,
) -> tuple[OrderRecord, Shipment, list[StockChange]]:
    """Mark an open order shipped: its reservation becomes a sale, its status fulfilled,
    and a shipment (:func:`hub.core.shipments.record`) waits to be told to the channel
    when ``tell_channel(channel)`` says it can be.

    Raises :class:`InvalidInput` naming the order when it is not open (two people
    shipping the same order at once: the second is refused), and before anything is
    written when the carrier is blank or the tracking URL is not an http(s) address.
    """
    carrier, tracking_number, tracking_url = check_shipment(carrier, tracking_number, tracking_url)
    record = find_order(conn, ref)
    order = record.order
    stamp = now()
    note = f"shipped with {carrier} {tracking_number}".strip()
    # Guarded on the status the order had, so that of two concurrent ships one wins.
    moved = conn.execute(
        order_t.update()
        .where(order_t.c.id == order["id"], order_t.c.status.in_(SHIPPABLE))
        .values(status=OrderStatus.FULFILLED.value, hold_reason="", updated_at=stamp)
    )
    if not moved.rowcount:
        current = find_order(conn, str(order["id"])).order
        reason = f" ({current['hold_reason']})" if current["hold_reason"] else ""
        raise InvalidInput(
            f"order {order['channel']}:{order['external_id']} is "
            f"{current['status']}{reason}; only open orders can ship",
            field="order",
        )
    _, changes = shipments.record(
        conn,
        order,
        carrier,
        tracking_number,
        tracking_url,
        actor=actor,
        tell_channel=tell_channel(order["channel"]),
        shipped_at=stamp,
    )
    _log_status(conn, order["id"], OrderStatus.FULFILLED.value, note, actor, stamp)
    shipment = Shipment(
        order["channel"],
        order["external_id"],
        carrier,
        tracking_number,
        tracking_url,
        shipped_at=stamp,
    )
    return find_order(conn, str(order["id"])), shipment, changes


def check_shipment(carrier: str, tracking_number: str, tracking_url: str) -> tuple[str, str, str]:
    """Carrier, tracking number and URL stripped; :class:`InvalidInput` naming the one that
    cannot be told to a channel (a blank carrier, a URL that is not http(s))."""
    carrier, tracking_number, tracking_url = (
        carrier.strip(),
        tracking_number.strip(),
        tracking_url.strip(),
    )
    if not carrier:
        raise InvalidInput(
            "carrier must not be empty; name it, e.g. DHL or own-fleet", field="carrier"
        )
    if tracking_url:
        parts = urlsplit(tracking_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(
                f"tracking URL {tracking_url!r} is not an http(s) address, e.g. "
                "https://track.example.com/JD0001",
                field="tracking_url",
            )
    return carrier, tracking_number, tracking_url


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


def _set_status(
    conn: Connection, order_id: int, status: str, note: str, actor: str, origin: str = ""
) -> None:
    stamp = now()
    conn.execute(
        order_t.update()
        .where(order_t.c.id == order_id)
        .values(status=status, hold_reason="", updated_at=stamp)
    )
    _log_status(conn, order_id, status, note, actor, stamp, origin)


def _log_status(
    conn: Connection,
    order_id: int,
    status: str,
    note: str,
    actor: str,
    stamp: datetime,
    origin: str = "",
) -> None:
    conn.execute(
        order_event_t.insert().values(
            order_id=order_id,
            status=status,
            note=note,
            actor=actor,
            origin=origin,
            created_at=stamp,
        )
    )


def cancel(
    conn: Connection, ref: str, reason: str = "", actor: str = "", origin: str = ""
) -> tuple[OrderRecord, list[StockChange]]:
    """Cancel an order that has not shipped: its reservation goes back to free stock.
    History records ``actor`` and ``origin`` ("cli", "api", "web"; "" for channels, jobs)."""
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
        for (product, location), reserved in shipments.reserved_units(conn, order["id"]).items()
    ]
    changes = ledger.apply(conn, moves)
    _set_status(
        conn, order["id"], OrderStatus.CANCELLED.value, reason or "cancelled", actor, origin
    )
    return find_order(conn, str(order["id"])), changes
