"""The driver page after a re-plan during the day, in headless Chromium (Playwright driving
Debian's chromium): the driver delivered stop 1 and failed stop 2, the office re-plans
with a new order, and the phone shows the continued route: the done stops with their
states, the inserted stop in its place, and an arrival there recorded on the new route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from replan_day import Day, morning_plan, open_day, place, stops_by_seq

from hub.core import driving
from hub.core.planning import plan_routes, plan_summary
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[Day, str]]:
    with open_day(sqlite_url) as site:
        server = SandboxServer(make_app(Sync(site.day))).start()
        try:
            yield site, server.url
        finally:
            server.stop()


def test_the_phone_shows_the_continued_route_with_the_inserted_stop(
    served: tuple[Day, str], browser: Browser, tmp_path: Path
) -> None:
    site, url = served
    route, seen = morning_plan(site)
    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.goto(f"{url}/driver")
    page.get_by_label("Driver token").fill(seen["token"])
    page.get_by_role("button", name="Sign in").click()
    stops = page.locator("li.stop")
    expect(stops).to_have_count(4)
    expect(stops.nth(0).locator(".state")).to_have_text("delivered")
    expect(stops.nth(1).locator(".state")).to_have_text("failed")

    place(site.day, "new-near", 5.0, boxes=1)  # on the way back, between the others
    outcome = plan_routes(site.day, site.today, time_limit=1, at=site.now)
    summary = site.day.read(lambda c: plan_summary(c, outcome.plan_id))
    (van1,) = [r for r in summary["routes"] if r["vehicle"] == "van-1"]
    order = stops_by_seq(van1)

    page.reload()  # the page also fetches the route again every minute
    expect(stops).to_have_count(len(order))
    assert len(order) == 6  # two done, two still to do, the failed order again, one new
    expect(stops.nth(0).locator(".state")).to_have_text("delivered")
    expect(stops.nth(1).locator(".state")).to_have_text("failed")
    for n, refs in enumerate(order):
        expect(stops.nth(n)).to_contain_text(f"{refs[0]} Road")
    inserted = stops.filter(has_text="new-near Road")
    expect(inserted.locator(".state")).to_have_text("to do")
    page.screenshot(path=str(tmp_path / "driver-replanned.png"), full_page=True)

    inserted.get_by_role("button", name="Arrived").click()
    expect(inserted.locator(".state")).to_have_text("arrived")
    expect(page.locator("#sync")).to_contain_text("All sent", timeout=15000)
    seq = next(n for n, refs in enumerate(order, 1) if refs == ["new-near"])
    kinds = [
        (a["stop_seq"], a["kind"])
        for a in site.day.read(lambda c: driving.stop_actions(c, van1["id"]))
    ]
    assert kinds == [(seq, "arrive")]
    assert route["id"] != van1["id"]
