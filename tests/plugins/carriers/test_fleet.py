"""The own fleet: PDF labels (read back with pypdf, the Code 128 decoded from the bars
drawn), run sheets per route of a stored plan, and the carrier choice: own vans inside
their area, the cheapest carrier rate meeting the promised date outside it."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import BOULDER, DENVER, World, make_world
from pypdf import PdfReader
from reportlab.graphics.barcode.code128 import _patterns

from hub.core import labels, runsheets
from hub.core.models import carrier_label_t, shipment_t
from hub.core.planning import store_plan
from hub.errors import InvalidInput, NotFound
from hub.routing import Plan, Route, Visit
from hub.shipping import LabelRequest, Rate
from hub_plugins.carriers.fleet import FleetCarrier, FleetConfig
from hub_plugins.carriers.fleet.pdfs import label_pdf

BAR = re.compile(rb"n ([\d.]+) 0 ([\d.]+) [\d.]+ re f\*")
CODE_B_START, STOP = 104, 106


def decode_code128(pdf: bytes) -> str:
    """The text of the Code 128 drawn on the PDF's first page, read from its bars (start
    code B, switching to set C for digit pairs and back)."""
    content = PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data()
    bars = [(float(x), float(w)) for x, w in BAR.findall(content)]
    module = min(w for _, w in bars)
    widths: list[int] = []
    for i, (x, w) in enumerate(bars):
        widths.append(round(w / module))
        if i + 1 < len(bars):
            widths.append(round((bars[i + 1][0] - x - w) / module))
    by_pattern = {
        tuple(ord(ch.upper()) - 64 for ch in pattern): value for value, pattern in _patterns.items()
    }
    values = [by_pattern[tuple(widths[i : i + 6])] for i in range(0, len(widths) - 7, 6)]
    assert values[0] == CODE_B_START and by_pattern.get(tuple(widths[-7:-1])) in (None, STOP)
    data, check = values[1:-1], values[-1]
    assert (CODE_B_START + sum((i + 1) * v for i, v in enumerate(data))) % 103 == check
    text, code_set = "", "B"
    for value in data:  # 99: to set C (digit pairs), 100: to set B
        if value in (99, 100):
            code_set = "C" if value == 99 else "B"
        else:
            text += f"{value:02d}" if code_set == "C" else chr(value + 32)
    return text


def request(**fields: object) -> LabelRequest:
    values: dict = {
        "reference": "hub-7-1",
        "order_channel": "desk",
        "order_external_id": "DESK-1042",
        "order_number": "#1042",
        "to_address": DENVER,
        "from_address": DENVER.__class__(name="Main warehouse", line1="1 Depot Way"),
        "weight_grams": 1200,
        "route": "VAN-1",
        "stop": 3,
    }
    values.update(fields)
    return LabelRequest(**values)


def test_a_fleet_label_shows_order_address_route_stop_and_a_code128_of_the_order_id():
    pdf = label_pdf(request(), "HUB-7-1")

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in ("Order #1042", "Grace Hopper", "1437 Bannock St", "80202 Denver"):
        assert expected in text
    assert "Route VAN-1   Stop 3" in text and "HUB-7-1" in text
    assert decode_code128(pdf) == "DESK-1042"
    assert decode_code128(label_pdf(request(order_external_id="B2B-77"), "X")) == "B2B-77"


def test_the_fleet_serves_its_postcodes_or_its_radius_and_nothing_else():
    by_postcode = FleetCarrier("vans", FleetConfig(type="fleet", postcodes=["802"]))
    by_radius = FleetCarrier(
        "vans", FleetConfig(type="fleet", depot=(39.7392, -104.9903), radius_km=20)
    )
    assert by_postcode.serves(request()) and not by_postcode.serves(request(to_address=BOULDER))
    assert by_radius.serves(request(to_address=DENVER))
    assert not by_radius.serves(request(to_address=BOULDER))  # 39 km from the depot
    assert not FleetCarrier("vans", FleetConfig(type="fleet")).serves(request())


def test_the_cheapest_rate_meeting_the_promised_date_wins_else_the_fastest():
    monday = date(2026, 11, 30)
    rates = [
        Rate("Ground", Decimal("5.00"), "USD", delivery_days=5),
        Rate("Priority", Decimal("8.00"), "USD", delivery_days=2),
        Rate("Express", Decimal("9.50"), "USD", delivery_days=2),
        Rate("NextDay", Decimal("24.00"), "USD", delivery_days=1),
    ]
    assert labels.cheapest_meeting(rates, None, monday).service == "Ground"
    assert labels.cheapest_meeting(rates, date(2026, 12, 7), monday).service == "Ground"
    assert labels.cheapest_meeting(rates, date(2026, 12, 2), monday).service == "Priority"
    assert labels.cheapest_meeting(rates, date(2026, 12, 1), monday).service == "NextDay"
    assert labels.cheapest_meeting(rates, date(2026, 11, 30), monday).service == "NextDay"
    assert labels.business_days_after(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Fri -> Mon


def test_own_vans_inside_the_area_and_easypost_outside_it(fleet_world: World):
    inside = fleet_world.sell("F-1", DENVER)
    outside = fleet_world.sell("F-2", BOULDER)

    vans = labels.buy(fleet_world.hub, fleet_world.carriers, inside)
    parcel = labels.buy(fleet_world.hub, fleet_world.carriers, outside)

    assert vans.label["carrier"] == "vans" and vans.label["postage"] == 0
    assert vans.label["tracking_url"] == f"https://shop.example/t/{vans.label['tracking_number']}"
    assert fleet_world.order(inside)["status"] == "open"  # the driver takes it, not a carrier
    assert parcel.label["carrier"] == "easypost" and fleet_world.order(outside)["status"] == (
        "fulfilled"
    )
    assert fleet_world.easypost.buy_calls == 1


def test_outside_the_area_the_cheapest_service_meeting_the_requested_date(fleet_world: World):
    by = labels.business_days_after(date.today(), 2)  # Ground (5 days) is too slow
    ref = fleet_world.sell("F-3", BOULDER, requested_date=by)

    label = labels.buy(fleet_world.hub, fleet_world.carriers, ref).label

    assert label["service"] == "USPS Priority"  # cheaper than UPS NextDayAir, in time


def test_a_carrier_limited_to_other_channels_is_not_chosen(db_url: str, tmp_path: Path):

    world = make_world(db_url, tmp_path, channels=["web"])
    try:
        with pytest.raises(InvalidInput, match="no configured carrier serves order desk:F-4"):
            labels.buy(world.hub, world.carriers, world.sell("F-4", BOULDER))
        assert labels.buy(world.hub, world.carriers, world.sell("F-5", BOULDER, channel="web"))
    finally:
        world.carriers.close()
        world.hub.close()
        world.server.stop()


def stored_plan(world: World, refs: list[str]) -> int:
    """A plan of one route, VAN-1 tomorrow, visiting ``refs`` in order from 09:00 Denver."""
    day = date.today() + timedelta(days=1)
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)  # 08:00 in Denver
    visits = tuple(
        Visit(
            ref,
            start + timedelta(minutes=20 * i),
            start + timedelta(minutes=20 * i),
            start + timedelta(minutes=20 * i + 5),
        )
        for i, ref in enumerate(refs, 1)
    )
    route = Route("VAN-1", day, visits, start, start + timedelta(hours=2), 12_000, 4, 0.1, 20)
    ids = {ref: [world.order(ref)["id"]] for ref in refs}
    return world.hub.write(
        lambda c: store_plan(
            c, day, 1, Plan(routes=(route,), unassigned=(), router="test"), ids, []
        )
    )


def test_run_sheets_and_labels_for_a_plan_stops_in_order_windows_and_signatures(
    fleet_world: World, tmp_path: Path
):
    first = fleet_world.sell("R-1", DENVER)
    second = fleet_world.sell("R-2", DENVER)
    plan_id = stored_plan(fleet_world, [first, second])
    out = tmp_path / "print"

    written = runsheets.write_sheets(fleet_world.hub, fleet_world.carriers, plan_id, out)
    again = runsheets.write_sheets(fleet_world.hub, fleet_world.carriers, plan_id, out)

    assert written.skipped == [] and len(written.sheets) == 1 and len(written.labels) == 2
    sheet = PdfReader(written.sheets[0])
    text = "\n".join(page.extract_text() for page in sheet.pages)
    assert text.index("Stop 1") < text.index("Stop 2")
    assert text.index("order R-1") < text.index("order R-2")
    assert "2 x MUG" in text and text.count("Signature:") == 2 and "VAN-1" in text
    label = written.labels[0].read_bytes()
    assert decode_code128(label) == "R-1"
    assert "Route VAN-1   Stop 1" in PdfReader(written.labels[0]).pages[0].extract_text()
    rows = fleet_world.hub.read(lambda c: c.execute(sa.select(carrier_label_t)).mappings().all())
    assert len(rows) == 2 and {r["carrier"] for r in rows} == {"vans"}  # the same two, again
    assert again.labels == written.labels
    assert fleet_world.hub.read(lambda c: c.execute(sa.select(shipment_t)).all()) == []


def test_sheets_for_an_unknown_plan_or_without_vans_are_refused(world: World, tmp_path: Path):
    with pytest.raises(InvalidInput, match="no own-fleet carrier configured"):
        runsheets.write_sheets(world.hub, world.carriers, 1, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_sheets_for_an_unknown_plan_are_refused(fleet_world: World, tmp_path: Path):
    with pytest.raises(NotFound, match="no route plan 99"):
        runsheets.write_sheets(fleet_world.hub, fleet_world.carriers, 99, tmp_path / "x")
    assert not (tmp_path / "x").exists()
