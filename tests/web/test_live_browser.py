"""The operator's live view in a real headless browser (Playwright driving Debian's
chromium): signed in at /live, a ping posted through the driver API makes the driver's
marker appear on the map and a second one moves it, without a reload; the route's row
shows the new progress. A screenshot goes to tmp_path (and /tmp/live.png). A van
dispatched while the page is open gets its row and marker without the test reloading the
page (the page reloads itself once and says so; screenshot /tmp/live-after-dispatch.png)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from driver_site import ZONE, Site, driver_site, phone_time
from playwright.sync_api import Browser, expect
from test_browser import sign_in

from hub.core.models import planned_route_t
from hub.core.routedispatch import dispatch_and_tell
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = driver_site(sqlite_url, tmp_path / "media")
    server = SandboxServer(make_app(Sync(site.hub))).start()
    try:
        yield site, server.url
    finally:
        server.stop()
        site.hub.close()


def post_ping(
    url: str, site: Site, lat: float, lon: float, minutes: int, driver: str = "Dora"
) -> None:
    """A ping of ``driver``'s phone (Dora: van-1, Vic: van-2) through the driver API, as
    the phone sends it."""
    body = {
        "route": site.routes["van-1" if driver == "Dora" else "van-2"],
        "device_id": "phone-1",
        "pings": [{"latitude": lat, "longitude": lon, "at": phone_time(minutes).isoformat()}],
    }
    request = urllib.request.Request(
        f"{url}/api/v1/driver/pings",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {site.tokens[driver]}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_a_ping_moves_the_drivers_marker_without_a_reload(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
):
    site, url = served
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, url, "ada")
    page.goto(f"{url}/live")
    expect(page.locator("#feed-state")).to_have_text("live")  # the stream is open
    page.evaluate("window.notReloaded = true")
    route = site.routes["van-1"]
    marker = page.locator(f"#driver-{route}")
    expect(marker).to_have_attribute("visibility", "hidden")  # no position yet

    post_ping(url, site, 51.5101, -0.1275, minutes=0)
    expect(marker).to_have_attribute("data-lat", "51.510100")
    expect(marker).not_to_have_attribute("visibility", "hidden")
    first = (marker.get_attribute("data-x"), marker.get_attribute("data-y"))
    row = page.locator(f'tr[data-route="{route}"]')
    expect(row.locator("td.seen")).to_have_text(
        phone_time(0).astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
    )
    expect(row.locator("td.next")).to_contain_text("1.")

    post_ping(url, site, 51.5050, -0.1270, minutes=1)  # further south, towards stop 2
    expect(marker).to_have_attribute("data-lat", "51.505000")
    second = (marker.get_attribute("data-x"), marker.get_attribute("data-y"))
    assert second != first
    assert float(second[1] or 0) > float(first[1] or 0)  # south is down the map
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(tmp_path / "live.png"), full_page=True)
    shutil.copy(tmp_path / "live.png", "/tmp/live.png")
    assert (tmp_path / "live.png").stat().st_size > 20_000


def test_a_van_dispatched_while_the_page_is_open_appears_on_it(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
):
    site, url = served
    r = planned_route_t.c
    van2 = site.routes["van-2"]

    def undispatch(conn):  # type: ignore[no-untyped-def]  # set-up: van-2 leaves later
        conn.execute(planned_route_t.update().where(r.id == van2).values(dispatched=False))
        return conn.scalar(sa.select(r.plan_id).where(r.id == van2))

    plan = site.hub.write(undispatch)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, url, "ada")
    page.goto(f"{url}/live")
    expect(page.locator("#feed-state")).to_have_text("live")
    row = page.locator(f'tr[data-route="{van2}"]')
    marker = page.locator(f"#driver-{van2}")
    expect(page.locator("table.routes tbody tr")).to_have_count(1)  # van-1 only
    expect(marker).to_have_count(0)
    expect(page.locator("#live-notice")).to_be_hidden()

    dispatch_and_tell(site.hub, plan, "van-2")  # as 'hub route dispatch' does
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator("td").first).to_have_text("van-2")
    expect(row).to_contain_text("Vic")
    expect(marker).to_have_count(1)
    expect(page.locator("table.routes tbody tr")).to_have_count(2)
    expect(page.locator("#live-notice")).to_have_text("New routes dispatched — updated")
    assert "day=" in page.url  # the page kept its day
    expect(page.locator("#feed-state")).to_have_text("live")

    page.evaluate("window.notReloaded = true")  # no second reload: the new van moves live
    post_ping(url, site, 51.5040, -0.1270, minutes=0, driver="Vic")
    expect(marker).to_have_attribute("data-lat", "51.504000")
    expect(row.locator("td.seen")).not_to_have_text("none yet")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(tmp_path / "after.png"), full_page=True)
    shutil.copy(tmp_path / "after.png", "/tmp/live-after-dispatch.png")
