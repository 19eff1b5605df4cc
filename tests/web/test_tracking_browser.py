"""The tracking page in a real headless browser (Playwright driving Debian's chromium):
it renders the stage, the ETA window and the driver's approach, and a customer leaves a
rating and a note through the form. Screenshots go to tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import order
from conftest import desk_site
from playwright.sync_api import Browser, expect

from hub.core import notify
from hub.core.models import tracking_feedback_t
from hub.core.notify import tracking
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app

ETA = datetime(2024, 3, 10, 19, 30, tzinfo=UTC)  # 14:30 in Chicago, the day DST starts


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[Hub, str]]:
    hub = desk_site(sqlite_url)
    hub.settings.notifications.timezone = "America/Chicago"
    server = SandboxServer(make_app(Sync(hub))).start()
    try:
        yield hub, server.url
    finally:
        server.stop()
        hub.close()


def test_the_tracking_page_renders_and_takes_a_rating(served, browser: Browser, tmp_path: Path):
    hub, url = served
    hub.ingest("b2b", [order("B1", ("CRATE", 1), channel="b2b")])

    def prepare(conn):  # type: ignore[no-untyped-def]
        order_id = notify.order_ids(conn, "b2b", ["B1"])["B1"]
        tracking.set_eta(conn, order_id, ETA - timedelta(minutes=5), ETA + timedelta(minutes=5), 0)
        return tracking.ensure_token(conn, order_id)

    token = hub.write(prepare)
    hub.ship("b2b:B1", "own-fleet")
    page = browser.new_page(viewport={"width": 420, "height": 800})
    page.goto(f"{url}/track/{token}")
    expect(page.locator("h1")).to_have_text("Your delivery")
    expect(page.locator(".stage")).to_have_text("On its way.")
    expect(page.locator(".window")).to_contain_text("2:25 PM CDT – 2:35 PM CDT")
    expect(page.locator(".approach")).to_contain_text("Stops before yours: 0")
    page.screenshot(path=str(tmp_path / "tracking.png"), full_page=True)

    hub.deliver("b2b:B1")
    page.reload()
    expect(page.locator(".stage")).to_have_text("Delivered.")
    page.locator("input[name=rating][value='5']").check()
    page.locator("textarea[name=note]").fill("Left with the neighbour, thanks!")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".flash")).to_have_text("Thank you, we have your message.")
    page.screenshot(path=str(tmp_path / "tracking-rated.png"), full_page=True)
    rows = hub.read(lambda c: c.execute(sa.select(tracking_feedback_t)).mappings().all())
    assert [(r["rating"], r["note"]) for r in rows] == [(5, "Left with the neighbour, thanks!")]
    assert (tmp_path / "tracking.png").stat().st_size > 5000
