"""The operator's live view in a real headless browser (Playwright driving Debian's
chromium): signed in at /live, a ping posted through the driver API makes the driver's
marker appear on the map and a second one moves it, without a reload; the route's row
shows the new progress. A screenshot goes to tmp_path (and /tmp/live.png)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from driver_site import ZONE, Site, driver_site, phone_time
from playwright.sync_api import Browser, expect
from test_browser import sign_in

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


def post_ping(url: str, site: Site, lat: float, lon: float, minutes: int) -> None:
    """A ping of Dora's phone through the driver API, as the phone sends it."""
    body = {
        "route": site.routes["van-1"],
        "device_id": "phone-1",
        "pings": [{"latitude": lat, "longitude": lon, "at": phone_time(minutes).isoformat()}],
    }
    request = urllib.request.Request(
        f"{url}/api/v1/driver/pings",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {site.tokens['Dora']}",
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
