"""The audit export: every order touched in a range of local days with its whole history,
as CSV (one row per event) and as PDF (a table per order).

An order is touched when anything happened to it in the range: a history event (intake,
holds, releases, edits, cancellations, returns, driver actions), a shipment, a carrier
label or a customer notification. Its history is then given whole, before and after the
range too, in time order. Tables an older database lacks are left out, not an error.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.models import (
    NotificationMessage,
    carrier_label_t,
    driver_t,
    location_t,
    movement_t,
    order_event_t,
    order_t,
    planned_stop_t,
    product_t,
    route_action_t,
    shipment_t,
    tracking_event_t,
)
from hub.core.reports import check_range, utc_bounds

notification_t = NotificationMessage.__table__  # type: ignore[attr-defined]

CSV_COLUMNS = ["order", "channel", "local_time", "utc_time", "kind", "actor", "origin", "what"]


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened to an order: when (aware UTC), ``kind`` (intake, update,
    allocation, hold, release, edit, cancellation, return, fulfilment, delivery, status,
    driver, driver_app, shipment, label, tracking, notification), who (``actor``, "" for
    jobs), from where (``origin``) and what."""

    at: datetime
    kind: str
    actor: str
    origin: str
    what: str


@dataclass(frozen=True)
class AuditOrder:
    """An order (``channel:external_id`` as ``ref``) and its history in time order."""

    order_id: int
    ref: str
    channel: str
    status: str
    events: list[AuditEvent]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _kind(status: str, note: str, origin: str) -> str:
    if origin == "driver":
        return "driver"
    for prefix, kind in (
        ("held: ", "hold"),
        ("released ", "release"),
        ("edited: ", "edit"),
        ("returned ", "return"),
        ("created from", "intake"),
        ("updated from", "update"),
    ):
        if note.startswith(prefix):
            return kind
    named = {"cancelled": "cancellation", "fulfilled": "fulfilment", "delivered": "delivery"}
    if status in named:
        return named[status]
    if status == "on_hold":
        return "hold"
    return "status"


def _tables(conn: Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


def touched_orders(conn: Connection, start: datetime, end: datetime) -> list[int]:
    """Hub ids of the orders anything happened to in [``start``, ``end``) (UTC), sorted."""
    present = _tables(conn)
    e, s = order_event_t.c, shipment_t.c
    queries = [
        sa.select(e.order_id).where(e.created_at >= start, e.created_at < end),
        sa.select(s.order_id).where(s.shipped_at >= start, s.shipped_at < end),
    ]
    if "carrier_label" in present:
        c = carrier_label_t.c
        queries.append(sa.select(c.order_id).where(c.created_at >= start, c.created_at < end))
    if "notification_message" in present:
        n = notification_t.c
        queries.append(sa.select(n.order_id).where(n.created_at >= start, n.created_at < end))
    if {"route_action", "planned_stop"} <= present:
        a, p = route_action_t.c, planned_stop_t.c
        at_stop = sa.and_(p.route_id == a.route_id, p.seq == a.stop_seq)
        queries.append(
            sa.select(p.order_id)
            .join(route_action_t, at_stop)
            .where(a.phone_at >= start, a.phone_at < end)
        )
    found: set[int] = set()
    for query in queries:
        found.update(conn.scalars(query))
    return sorted(found)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


def _history(conn: Connection, ids: Sequence[int]) -> dict[int, list[AuditEvent]]:
    present = _tables(conn)
    out: dict[int, list[AuditEvent]] = defaultdict(list)
    e, s = order_event_t.c, shipment_t.c
    for chunk in _chunks(ids):
        for row in conn.execute(sa.select(order_event_t).where(e.order_id.in_(chunk))):
            kind = _kind(row.status or "", row.note or "", row.origin or "")
            what = row.note or f"status {row.status}"
            out[row.order_id].append(
                AuditEvent(_aware(row.created_at), kind, row.actor, row.origin, what)
            )
        for row in conn.execute(sa.select(shipment_t).where(s.order_id.in_(chunk))):
            tracking = f" {row.tracking_number}" if row.tracking_number else ""
            what = f"shipped by {row.carrier or 'no carrier named'}{tracking}"
            if row.channel_state:
                what += f"; channel told: {row.channel_state}"
            out[row.order_id].append(
                AuditEvent(_aware(row.shipped_at), "shipment", row.actor, row.source, what)
            )
        _allocations(conn, chunk, out)
        if "carrier_label" in present:
            _labels(conn, chunk, out, "tracking_event" in present)
        if "notification_message" in present:
            _notifications(conn, chunk, out)
        if {"route_action", "driver"} <= present:
            _driver_actions(conn, chunk, out)
    for events in out.values():
        events.sort(key=lambda ev: ev.at)
    return out


def _allocations(conn: Connection, ids: Sequence[int], out: dict[int, list[AuditEvent]]) -> None:
    """Where the order's units were reserved: one event per order, moment and location,
    from the stock journal's reservations ("allocated 2 × MUG, 1 × LID at main")."""
    m, p, loc = movement_t.c, product_t.c, location_t.c
    rows = conn.execute(
        sa.select(m.order_id, m.created_at, m.actor, m.channel, loc.code, p.sku, m.reserved_delta)
        .join(product_t, p.id == m.product_id)
        .join(location_t, loc.id == m.location_id)
        .where(m.order_id.in_(ids), m.kind == "reservation", m.reserved_delta > 0)
        .order_by(m.order_id, m.created_at, m.id)
    )
    grouped: dict[tuple[int, datetime, str, str, str], list[str]] = defaultdict(list)
    for row in rows:
        key = (row.order_id, _aware(row.created_at), row.actor, row.channel, row.code)
        grouped[key].append(f"{row.reserved_delta} × {row.sku}")
    for (order_id, at, actor, channel, where), units in grouped.items():
        what = f"allocated {', '.join(units)} at {where}"
        out[order_id].append(AuditEvent(at, "allocation", actor, channel, what))


def _labels(
    conn: Connection, ids: Sequence[int], out: dict[int, list[AuditEvent]], tracking: bool
) -> None:
    c = carrier_label_t.c
    labels = conn.execute(sa.select(carrier_label_t).where(c.order_id.in_(ids))).all()
    for row in labels:
        service = f" {row.service}" if row.service else ""
        number = f", tracking {row.tracking_number}" if row.tracking_number else ""
        what = f"label {row.reference} from {row.carrier}{service}{number}: {row.state}"
        at = row.bought_at or row.created_at
        out[row.order_id].append(AuditEvent(_aware(at), "label", row.actor, "", what))
        if row.voided_at:
            refund = f" (refund {row.refund_status})" if row.refund_status else ""
            out[row.order_id].append(
                AuditEvent(
                    _aware(row.voided_at),
                    "label",
                    row.actor,
                    "",
                    f"label {row.reference} voided{refund}",
                )
            )
    by_label = {row.id: row.order_id for row in labels}
    if not tracking or not by_label:
        return
    t = tracking_event_t.c
    for row in conn.execute(sa.select(tracking_event_t).where(t.label_id.in_(list(by_label)))):
        where = f" at {row.location}" if row.location else ""
        what = f"carrier: {row.status}{where}" + (f": {row.message}" if row.message else "")
        out[by_label[row.label_id]].append(
            AuditEvent(_aware(row.occurred_at), "tracking", "", "carrier", what)
        )


def _notifications(conn: Connection, ids: Sequence[int], out: dict[int, list[AuditEvent]]) -> None:
    n = notification_t.c
    for row in conn.execute(sa.select(notification_t).where(n.order_id.in_(ids))):
        detail = f" ({row.status_detail})" if row.status_detail else ""
        what = (
            f"{row.event} by {row.kind} to {row.recipient} via {row.notifier}: {row.status}{detail}"
        )
        out[row.order_id].append(
            AuditEvent(_aware(row.created_at), "notification", "", row.notifier, what)
        )


def _position(row: sa.Row) -> str:
    if row.latitude is None or row.longitude is None:
        return "no position"
    accuracy = f" ±{row.accuracy_m:.0f} m" if row.accuracy_m is not None else ""
    return f"at {row.latitude:.5f},{row.longitude:.5f}{accuracy}"


def _driver_actions(conn: Connection, ids: Sequence[int], out: dict[int, list[AuditEvent]]) -> None:
    """What drivers did at the orders' stops as their phones recorded it (kind
    ``driver_app``, at the phone's time): device and position included."""
    a, p, d = route_action_t.c, planned_stop_t.c, driver_t.c
    query = (
        sa.select(
            p.order_id,
            a.kind,
            a.reason,
            a.note,
            a.recipient_name,
            a.phone_at,
            a.device_id,
            a.latitude,
            a.longitude,
            a.accuracy_m,
            d.name,
        )
        .join(planned_stop_t, sa.and_(p.route_id == a.route_id, p.seq == a.stop_seq))
        .join(driver_t, d.id == a.driver_id)
        .where(p.order_id.in_(ids))
    )
    for row in conn.execute(query):
        what = row.kind + (f" ({row.reason})" if row.reason else "")
        if row.recipient_name:
            what += f", received by {row.recipient_name}"
        if row.note:
            what += f": {row.note}"
        what += f"; device {row.device_id or 'unknown'}, {_position(row)}"
        out[row.order_id].append(
            AuditEvent(_aware(row.phone_at), "driver_app", f"driver:{row.name}", "driver", what)
        )


def audit_orders(conn: Connection, first: date, last: date, zone: ZoneInfo) -> list[AuditOrder]:
    """Every order touched on local days ``first`` to ``last`` (in ``zone``) with its
    whole history, by hub id. InvalidInput for a reversed range."""
    check_range(first, last)
    start, end = utc_bounds(first, last, zone)
    ids = touched_orders(conn, start, end)
    history = _history(conn, ids)
    o = order_t.c
    orders = []
    for chunk in _chunks(ids):
        query = sa.select(o.id, o.channel, o.external_id, o.status).where(o.id.in_(chunk))
        for row in conn.execute(query):
            ref = f"{row.channel}:{row.external_id}"
            orders.append(AuditOrder(row.id, ref, row.channel, row.status, history[row.id]))
    return sorted(orders, key=lambda a: a.order_id)


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def audit_csv(orders: Sequence[AuditOrder], zone: ZoneInfo) -> bytes:
    """audit.csv: one row per event, orders by id and each one's events in time order;
    columns :data:`CSV_COLUMNS` (times in ``zone`` and in UTC, ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        for ev in order.events:
            writer.writerow(
                [
                    order.ref,
                    order.channel,
                    ev.at.astimezone(zone).isoformat(timespec="seconds"),
                    ev.at.astimezone(UTC).isoformat(timespec="seconds"),
                    ev.kind,
                    ev.actor,
                    ev.origin,
                    ev.what,
                ]
            )
    return out.getvalue().encode()


def audit_pdf(
    orders: Sequence[AuditOrder],
    first: date,
    last: date,
    zone: ZoneInfo,
    made_at: datetime,
    hub_name: str = "hub",
) -> bytes:
    """audit.pdf (A4 landscape, reportlab): a heading and a table of events per order;
    every page's header names the range, the zone and when the file was made, its footer
    the page number."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    header = (
        f"{hub_name}: order audit, {first.isoformat()} to {last.isoformat()} ({zone.key}); "
        f"made {_local(made_at, zone)}"
    )

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        width, height = doc.pagesize
        canvas.drawString(doc.leftMargin, height - 10 * mm, header)
        canvas.drawRightString(width - doc.rightMargin, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    def cell(text: str) -> Paragraph:
        return Paragraph(_escape(text), small)

    story: list[Any] = []
    if not orders:
        story.append(Paragraph("No order was touched in this range.", styles["BodyText"]))
    for order in orders:
        title = f"Order {order.ref} (hub id {order.order_id}, now {order.status})"
        story.append(Paragraph(_escape(title), styles["Heading3"]))
        rows = [["Local time", "UTC", "Kind", "Actor", "Origin", "What"]]
        for ev in order.events:
            rows.append(
                [
                    _local(ev.at, zone),
                    ev.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    ev.kind,
                    cell(ev.actor),
                    ev.origin,
                    cell(ev.what),
                ]
            )
        widths = [38 * mm, 32 * mm, 22 * mm, 35 * mm, 16 * mm, None]
        table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef3")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0b8c0")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.extend([table, Spacer(1, 4 * mm)])
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=16 * mm,
        bottomMargin=14 * mm,
        title=f"Order audit {first.isoformat()} to {last.isoformat()}",
        author=hub_name,
    )
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


def _escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
