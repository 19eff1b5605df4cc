"""Run sheets and own-fleet labels for a stored route plan.

:func:`write_sheets` writes, for every route of a plan, the driver's run sheet (stops in
order, arrival and time window, address, what to hand over, space for signatures) and
one label per parcel (order number, address, route, stop number, a Code 128 barcode of
the order id), both made by the configured own-fleet carrier (``own_fleet``). Each
parcel's label is bought once through :func:`hub.core.labels.buy`, so writing the sheets
again prints the same labels with the same numbers.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import labels
from hub.core.models import order_line_t, order_t, planned_route_t, planned_stop_t, route_plan_t
from hub.errors import HubError, InvalidInput, NotFound
from hub.shipping import Carrier, RunSheet, RunSheetStop

if TYPE_CHECKING:
    from hub.core.runtime import Hub


@dataclass
class SheetsWritten:
    """Files :func:`write_sheets` wrote, and the parcels it could not label (ref, reason)."""

    sheets: list[Path] = field(default_factory=list)
    labels: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def fleet_carrier(carriers: labels.Carriers) -> Carrier:
    """The first configured own-fleet carrier; :class:`InvalidInput` when there is none."""
    for name in carriers.names():
        carrier = carriers.get(name)
        if carrier.own_fleet:
            return carrier
    raise InvalidInput(
        'no own-fleet carrier configured: add a [carriers.NAME] section with type = "fleet"',
        field="carrier",
    )


def run_sheets(conn: Connection, plan_id: int, zone: str) -> list[RunSheet]:
    """The run sheets of stored plan ``plan_id``, one per route, stops in order.
    :class:`NotFound` for an unknown plan."""
    if conn.scalar(sa.select(route_plan_t.c.id).where(route_plan_t.c.id == plan_id)) is None:
        raise NotFound(f"no route plan {plan_id}; see hub route list", field="plan")
    r, s, o = planned_route_t.c, planned_stop_t.c, order_t.c
    routes = conn.execute(
        sa.select(planned_route_t).where(r.plan_id == plan_id).order_by(r.day, r.vehicle, r.id)
    ).mappings()
    stops: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        sa.select(s.route_id, s.seq, s.arrival, order_t)
        .join(order_t, o.id == s.order_id)
        .join(planned_route_t, r.id == s.route_id)
        .where(r.plan_id == plan_id)
        .order_by(s.route_id, s.seq, s.id)
    ).mappings():
        stops[row["route_id"]].append(dict(row))
    items = _items(conn, [x["id"] for rows in stops.values() for x in rows])
    return [
        RunSheet(
            plan_id=plan_id,
            route_id=route["id"],
            vehicle=route["vehicle"],
            day=route["day"],
            departure=route["departure"],
            zone=zone,
            stops=tuple(_stop(x, items.get(x["id"], ())) for x in stops[route["id"]]),
        )
        for route in routes
    ]


def _items(conn: Connection, order_ids: list[int]) -> dict[int, tuple]:
    found: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    if not order_ids:
        return {}
    line = order_line_t.c
    for order_id, sku, title, quantity in conn.execute(
        sa.select(line.order_id, line.sku, line.title, line.quantity)
        .where(line.order_id.in_(order_ids), line.quantity > 0)
        .order_by(line.order_id, line.line_no)
    ):
        found[order_id].append((sku, title, int(quantity)))
    return {k: tuple(v) for k, v in found.items()}


def _stop(row: dict[str, Any], items: tuple) -> RunSheetStop:
    city = " ".join(p for p in (row["ship_postcode"], row["ship_city"]) if p)
    return RunSheetStop(
        seq=row["seq"],
        order_ref=f"{row['channel']}:{row['external_id']}",
        order_number=row["number"] or row["external_id"],
        customer=row["ship_name"] or row["customer_name"] or row["company"],
        address=tuple(p for p in (row["ship_line1"], row["ship_line2"], city) if p),
        phone=row["ship_phone"] or row["customer_phone"],
        arrival=row["arrival"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        items=items,
        notes=row["notes"],
    )


def write_sheets(
    hub: Hub, carriers: labels.Carriers, plan_id: int, out: Path, actor: str = ""
) -> SheetsWritten:
    """Write plan ``plan_id``'s run sheets and parcel labels as PDFs into ``out``.

    Files: ``run-sheet-<plan>-<route>-<vehicle>.pdf`` and ``label-<order number>.pdf``.
    An order that cannot be labelled (shipped already, or holding another carrier's
    label) is listed in ``skipped`` with the reason. Raises :class:`NotFound` (unknown
    plan) and :class:`InvalidInput` (no own-fleet carrier) before writing anything.
    """
    fleet = fleet_carrier(carriers)
    zone = hub.settings.routing.timezone or hub.settings.hub.timezone
    sheets = hub.read(lambda c: run_sheets(c, plan_id, zone))
    out.mkdir(parents=True, exist_ok=True)
    written = SheetsWritten()
    for sheet in sheets:
        path = out / f"run-sheet-{plan_id}-{sheet.route_id}-{_safe(sheet.vehicle)}.pdf"
        path.write_bytes(fleet.run_sheet(sheet))
        written.sheets.append(path)
        for stop in sheet.stops:
            _label(hub, carriers, fleet, sheet, stop, out, actor, written)
    return written


def _label(
    hub: Hub,
    carriers: labels.Carriers,
    fleet: Carrier,
    sheet: RunSheet,
    stop: RunSheetStop,
    out: Path,
    actor: str,
    written: SheetsWritten,
) -> None:
    try:
        outcome = labels.buy(
            hub,
            carriers,
            stop.order_ref,
            carrier=fleet.name,
            actor=actor,
            route=sheet.vehicle,
            stop=stop.seq,
        )
    except HubError as error:
        written.skipped.append((stop.order_ref, str(error)))
        return
    if outcome.label["carrier"] != fleet.name:
        written.skipped.append((stop.order_ref, f"has a {outcome.label['carrier']} label already"))
        return
    target = out / f"label-{_safe(stop.order_number)}.pdf"
    shutil.copyfile(outcome.label["label_path"], target)
    written.labels.append(target)


def _safe(text: str) -> str:
    """A file-name part: letters, digits, - and _ kept, runs of anything else one _, none
    at the ends (``#1005`` is ``1005``, ``PO 77/01`` is ``PO_77_01``)."""
    kept = "".join(ch if ch.isalnum() or ch in "-_" else " " for ch in text)
    return "_".join(kept.split()) or "x"
