"""The own fleet's paper: a 4x6 in label per parcel and an A4 run sheet per route (reportlab).

A label shows the order number, the recipient's address, the route and stop number, and
a Code 128 barcode of the order id (the channel's order id, as the driver app scans it).
A run sheet lists the route's stops in order with arrival, time window, address, what to
hand over, and a box for the recipient's name and signature.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from hub import LabelRequest, RunSheet, RunSheetStop

LABEL_SIZE = (102 * mm, 152 * mm)  # 4 x 6 inches, the thermal printers' roll


def label_pdf(request: LabelRequest, tracking_number: str) -> bytes:
    """One parcel's label as PDF bytes."""
    out = io.BytesIO()
    page = Canvas(out, pagesize=LABEL_SIZE)
    page.setTitle(f"Label {request.order_number or request.order_external_id}")
    width, height = LABEL_SIZE
    page.setFont("Helvetica-Bold", 16)
    page.drawString(6 * mm, height - 12 * mm, f"Order {request.order_number}")
    page.setFont("Helvetica", 9)
    sender = request.from_address
    page.drawString(6 * mm, height - 18 * mm, f"From: {sender.name} {sender.line1}".strip())
    page.setFont("Helvetica-Bold", 11)
    page.drawString(6 * mm, height - 30 * mm, "Deliver to:")
    page.setFont("Helvetica", 11)
    y = height - 36 * mm
    for line in address_lines(request):
        page.drawString(8 * mm, y, line)
        y -= 5 * mm
    page.setFont("Helvetica-Bold", 14)
    stop = "" if request.stop is None else f"   Stop {request.stop}"
    page.drawString(6 * mm, 52 * mm, f"Route {request.route or '-'}{stop}")
    page.setFont("Helvetica", 9)
    page.drawString(6 * mm, 46 * mm, f"Tracking {tracking_number}")
    barcode = Code128(request.order_external_id, barHeight=18 * mm, barWidth=0.9)
    barcode.drawOn(page, max(2 * mm, (width - barcode.width) / 2), 18 * mm)
    page.drawCentredString(width / 2, 13 * mm, request.order_external_id)
    page.showPage()
    page.save()
    return out.getvalue()


def address_lines(request: LabelRequest) -> list[str]:
    """The recipient's address as printed, blank parts left out."""
    a = request.to_address
    city = " ".join(p for p in (a.postcode, a.city) if p)
    return [p for p in (a.name, a.company, a.line1, a.line2, city, a.region, a.country) if p]


def run_sheet_pdf(sheet: RunSheet) -> bytes:
    """A route's run sheet as PDF bytes: a header and one block per stop, in order."""
    zone = ZoneInfo(sheet.zone)
    out = io.BytesIO()
    page = Canvas(out, pagesize=A4)
    page.setTitle(f"Run sheet {sheet.vehicle} {sheet.day.isoformat()}")
    width, height = A4
    y = _sheet_header(page, sheet, zone, height)
    for stop in sheet.stops:
        block = 30 * mm + 5 * mm * len(stop.items)
        if y - block < 15 * mm:
            page.showPage()
            y = _sheet_header(page, sheet, zone, height)
        y = _stop_block(page, stop, zone, y, width)
    page.showPage()
    page.save()
    return out.getvalue()


def _sheet_header(page: Canvas, sheet: RunSheet, zone: ZoneInfo, height: float) -> float:
    page.setFont("Helvetica-Bold", 14)
    page.drawString(
        15 * mm, height - 18 * mm, f"Run sheet: {sheet.vehicle}, {sheet.day:%A %d %B %Y}"
    )
    page.setFont("Helvetica", 10)
    page.drawString(
        15 * mm,
        height - 25 * mm,
        f"Plan {sheet.plan_id}, route {sheet.route_id}; departs {_clock(sheet.departure, zone)}; "
        f"{len(sheet.stops)} stops",
    )
    return height - 35 * mm


def _stop_block(page: Canvas, stop: RunSheetStop, zone: ZoneInfo, y: float, width: float) -> float:
    page.setFont("Helvetica-Bold", 11)
    window = ""
    if stop.window_start and stop.window_end:
        window = f"  window {_clock(stop.window_start, zone)}-{_clock(stop.window_end, zone)}"
    page.drawString(
        15 * mm,
        y,
        f"Stop {stop.seq}  arrive {_clock(stop.arrival, zone)}{window}  order {stop.order_number}",
    )
    page.setFont("Helvetica", 10)
    y -= 5 * mm
    page.drawString(20 * mm, y, ", ".join((stop.customer, *stop.address)) + _phone(stop))
    for sku, title, units in stop.items:
        y -= 5 * mm
        page.drawString(20 * mm, y, f"[ ] {units} x {sku} {title}".rstrip())
    if stop.notes:
        y -= 5 * mm
        page.drawString(20 * mm, y, f"Note: {stop.notes}")
    y -= 9 * mm
    page.drawString(20 * mm, y, "Received by (name): ____________________")
    page.drawString(110 * mm, y, "Signature: ____________________")
    y -= 4 * mm
    page.line(15 * mm, y, width - 15 * mm, y)
    return y - 7 * mm


def _clock(moment: datetime | None, zone: ZoneInfo) -> str:
    return "--:--" if moment is None else moment.astimezone(zone).strftime("%H:%M")


def _phone(stop: RunSheetStop) -> str:
    return f"  tel. {stop.phone}" if stop.phone else ""
