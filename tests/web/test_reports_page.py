"""The reports page of the order desk (aiohttp's test client), on SQLite and PostgreSQL:
refused to anonymous users like every desk page; for a signed-in user the figures of
orders made through the desk, the charts as PNG images and the audit CSV and PDF of the
range; a bad date named in one line."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer
from conftest import sign_in
from driver_site import driver_site, phone_time
from PIL import Image
from pypdf import PdfReader

from hub.core import desk, drivers, driving
from hub.core.desk import Actor, LineInput, NewOrder
from hub.core.reports import charts, orders_report
from hub.core.sync import Sync
from hub.web.app import make_app

SAM = Actor("sam", "web")
LONDON = ZoneInfo("Europe/London")


def text_of(html: str) -> str:
    inline = re.sub(r"</?(a|strong|span|small|time|code|em|br)\b[^>]*>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", inline))).strip()


def three_orders(site) -> None:
    """ACME orders R-1 (2 CRATE at 12.50, shipped), R-2 (1 at 12.50, held then
    released) and R-3 (1 at 12.50, cancelled), all today."""
    for ref, units in (("R-1", 2), ("R-2", 1), ("R-3", 1)):
        desk.create_order(
            site,
            NewOrder("ACME", (LineInput("CRATE", units, Decimal("12.50")),), reference=ref),
            SAM,
        )
    site.ship("b2b:R-1", "dhl", "JD0001", actor="web:sam")
    desk.hold_order(site, "b2b:R-2", "customer asked to wait", SAM)
    desk.release_order(site, "b2b:R-2", "customer called back", SAM)
    desk.cancel_order(site, "b2b:R-3", "ordered twice", SAM)


async def test_reports_refuse_anonymous_users_as_every_desk_page(client):
    for path in ("/reports", "/reports/charts/orders_per_day.png", "/reports/audit.csv"):
        answer = await client.get(path, allow_redirects=False)
        assert answer.status == 303, path
        assert answer.headers["Location"].startswith("/sign-in?next=")


async def test_the_page_shows_the_figures_charts_and_audit_of_the_range(site, client):
    three_orders(site)
    today = datetime.now(LONDON).date()
    week = (today - timedelta(days=6)).isoformat()  # the default range: the last 7 days
    await sign_in(client, "vic")  # a viewer may read reports
    answer = await client.get("/reports")
    assert answer.status == 200
    html = await answer.text()
    text = text_of(html)
    assert f'name="to" type="date" value="{today}"' in html and f'value="{week}"' in html
    # today: 3 orders on b2b, one cancelled; revenue of the two not cancelled
    assert re.search(r"b2b 3 1 37\.50 GBP", text), text
    assert "b2b, all days 37.50 GBP" in text
    assert re.search(r"Holds Reason Orders Ended Still held Median Longest manual 1 1 0", text)
    assert re.search(r"Time to ship Channel Shipped Median 90th percentile b2b 1", text)
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 4
    for src in images:
        image = await client.get(unescape(src))
        assert image.status == 200 and image.content_type == "image/png"
        with Image.open(io.BytesIO(await image.read())) as png:
            assert png.format == "PNG" and png.size == charts.SIZE
    csv_link, pdf_link = re.findall(r'href="(/reports/audit\.(?:csv|pdf)\?[^"]+)"', html)
    answer = await client.get(unescape(csv_link))
    assert answer.status == 200
    assert f'filename="audit-{week}-to-{today}.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [(r["kind"], r["actor"]) for r in rows if r["order"] == "b2b:R-2"][:4] == [
        ("intake", "web:sam"),
        ("allocation", "web:sam"),
        ("hold", "web:sam"),
        ("release", "web:sam"),
    ]
    assert {r["order"] for r in rows} == {"b2b:R-1", "b2b:R-2", "b2b:R-3"}
    answer = await client.get(unescape(pdf_link))
    assert answer.status == 200 and answer.content_type == "application/pdf"
    pdf = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(await answer.read())).pages)
    pdf = " ".join(pdf.split())
    for needle in (
        "Order b2b:R-1",
        "shipped by dhl JD0001",
        "customer called back",
        "ordered twice",
    ):
        assert needle in pdf, needle


async def test_a_bad_range_is_named_in_one_line(site, client):
    await sign_in(client, "vic")
    answer = await client.get("/reports?from=2026-13-01&to=2026-12-01")
    assert answer.status == 400
    assert "from '2026-13-01' is not a date; give YYYY-MM-DD" in text_of(await answer.text())
    answer = await client.get("/reports?from=2026-12-02&to=2026-12-01")
    assert answer.status == 400
    assert "from 2026-12-02 is after to 2026-12-01" in text_of(await answer.text())
    answer = await client.get("/reports/audit.pdf?from=2026-12-02&to=2026-12-01")
    assert answer.status == 400
    chart = await client.get("/reports/charts/nothing.png")
    assert chart.status == 404


async def test_the_page_shows_a_drivers_failed_drop(db_url, tmp_path):
    made = driver_site(db_url, tmp_path / "media")
    failed = driving.Action(
        "phone-7:1", made.routes["van-1"], 2, "fail", phone_time(30), reason="no_access"
    )
    with made.hub as hub:
        dora = hub.read(lambda c: drivers.find_driver(c, "Dora"))
        driving.submit_actions(hub, dora, "phone-7", [failed])
        async with TestClient(TestServer(make_app(Sync(hub)))) as client:
            await sign_in(client, "ada")
            text = text_of(await (await client.get("/reports")).text())
    assert re.search(r"Deliveries Day Driver .* Dora 0 1 0 – [+-]\d+ ", text), text
    assert "Failed drops: no access 1." in text


def test_an_intake_hold_released_counts_under_its_reason(site):
    made = desk.create_order(
        site, NewOrder("CASH", (LineInput("CRATE", 1),), reference="U-1"), SAM
    )  # no payment terms: held at intake as unpaid
    assert [h.code for h in made.holds] == ["unpaid"]
    desk.release_order(site, "b2b:U-1", "paid by card on the phone", SAM)
    today = datetime.now(LONDON).date()
    report = site.read(lambda c: orders_report(c, today, today, LONDON))
    assert [(h.code, h.orders, h.ended, h.still_open) for h in report.holds] == [
        ("unpaid", 1, 1, 0)
    ]
    [spell] = report.spells
    assert spell.ended_by == "released" and spell.hours is not None and spell.hours >= 0
