"""The driver page on a phone-sized screen in headless Chromium (Playwright driving
Debian's chromium): sign in by a one-time link, deliver a stop with a signature drawn
with the mouse and a photo file, fail a stop, queue an arrival while offline and see it
sent once back online; the phone's position reaches the hub as pings. Screenshots go to
tmp_path; the assertions are on the page and the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from driver_site import Site, driver_site, jpeg
from playwright.sync_api import Browser, Page, expect

from hub.core import drivers, driving
from hub.core.models import order_t, position_ping_t
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app

PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = driver_site(sqlite_url, tmp_path / "media", ping_seconds=5)
    server = SandboxServer(make_app(Sync(site.hub))).start()
    try:
        yield site, server.url
    finally:
        server.stop()
        site.hub.close()


def phone(browser: Browser) -> Page:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": 51.5072, "longitude": -0.1276, "accuracy": 12},
        permissions=["geolocation"],
    )
    return context.new_page()


def status(site: Site, ref: str) -> str:
    return str(
        site.hub.read(
            lambda c: c.scalar(sa.select(order_t.c.status).where(order_t.c.id == int(ref)))
        )
    )


def draw_signature(page: Page) -> None:
    box = page.locator("#signature").bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(x + step * 9, y + (12 if step % 2 else -12))
    page.mouse.up()


def test_sign_in_by_link_deliver_with_signature_and_photo_and_fail_a_stop(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
) -> None:
    site, url = served
    token, _, _ = site.hub.write(lambda c: drivers.create_link(c, "Dora", 24))
    page = phone(browser)

    page.goto(f"{url}/driver/link/{token}")
    expect(page.get_by_role("heading", name="Hello, Dora")).to_be_visible()
    page.get_by_role("button", name="Sign in as Dora").click()
    stops = page.locator("li.stop")
    expect(stops).to_have_count(2)
    expect(stops.nth(0)).to_contain_text("1 Strand, WC2N 5HR London")
    expect(stops.nth(0)).to_contain_text("3 × Oak crate (CRATE)")
    expect(page.locator("#sync")).to_contain_text("All sent")
    page.screenshot(path=str(tmp_path / "driver-route.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # the link works once
    again = phone(browser)
    again.goto(f"{url}/driver/link/{token}")
    expect(again.locator(".error")).to_contain_text("used already")

    # deliver stop 1: name, signature drawn with the mouse, a photo file
    stops.nth(0).get_by_role("button", name="Deliver").click()
    dialog = page.locator("#deliver-dialog")
    dialog.get_by_label("Recipient's name").fill("Jo Bloggs")
    draw_signature(page)
    photo = tmp_path / "parcel.jpg"
    photo.write_bytes(jpeg(800, 600))
    dialog.get_by_label("Photo of the goods left").set_input_files(str(photo))
    page.screenshot(path=str(tmp_path / "driver-deliver.png"))
    dialog.get_by_role("button", name="Confirm delivery").click()
    expect(stops.nth(0).locator(".state")).to_have_text("delivered")
    expect(page.locator("#sync")).to_have_attribute("data-waiting", "0")
    expect(page.locator("#sync")).to_contain_text("All sent")
    assert status(site, site.orders["A1"]) == "delivered"
    (proof,) = site.hub.read(lambda c: driving.stop_actions(c, site.routes["van-1"]))
    assert proof["recipient_name"] == "Jo Bloggs"
    assert (site.media / proof["signature_path"]).stat().st_size > 500  # ink, not blank
    assert (site.media / proof["photo_path"]).suffix == ".jpg"

    # offline: an arrival waits on the phone, then is sent once the phone is back
    page.context.set_offline(True)
    stops.nth(1).get_by_role("button", name="Arrived").click()
    expect(page.locator("#sync")).to_contain_text("Offline: 1 action waiting")
    expect(stops.nth(1).locator(".state")).to_have_text("arrived")
    page.screenshot(path=str(tmp_path / "driver-offline.png"))
    page.context.set_offline(False)
    expect(page.locator("#sync")).to_contain_text("All sent", timeout=15000)

    # fail stop 2 with a reason and a note
    stops.nth(1).get_by_role("button", name="Failed").click()
    dialog = page.locator("#fail-dialog")
    dialog.get_by_label("Reason").select_option("closed")
    dialog.get_by_role("textbox", name="Note").fill("shutters down, sign says back at 2")
    dialog.get_by_role("button", name="Record failed stop").click()
    expect(stops.nth(1).locator(".state")).to_have_text("failed")
    expect(page.locator("#sync")).to_have_attribute("data-waiting", "0")
    expect(page.locator("#sync")).to_contain_text("All sent")
    page.screenshot(path=str(tmp_path / "driver-done.png"), full_page=True)

    kinds = [
        (a["stop_seq"], a["kind"], a["reason"])
        for a in site.hub.read(lambda c: driving.stop_actions(c, site.routes["van-1"]))
    ]
    assert kinds == [(1, "deliver", ""), (2, "arrive", ""), (2, "fail", "closed")]
    assert status(site, site.orders["C1"]) == "open"

    # the phone's position arrives every ping_seconds (5 here)
    deadline = time.monotonic() + 20
    pings: list = []
    while time.monotonic() < deadline and not pings:
        pings = site.hub.read(lambda c: c.execute(sa.select(position_ping_t)).mappings().all())
        time.sleep(0.5)
    assert pings and pings[0]["route_id"] == site.routes["van-1"]
    assert abs(pings[0]["latitude"] - 51.5072) < 1e-6 and pings[0]["accuracy_m"] == 12


def test_a_wrong_token_is_refused_and_a_right_one_signs_in(
    served: tuple[Site, str], browser: Browser
) -> None:
    site, url = served
    page = phone(browser)
    page.goto(f"{url}/driver")
    page.get_by_label("Driver token").fill("drv_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error")).to_contain_text("does not belong to an active driver")
    page.get_by_label("Driver token").fill(site.tokens["Vic"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("li.stop")).to_have_count(1)
    expect(page.locator("header.bar")).to_contain_text("Vic · van-2")


def test_the_route_opens_again_while_the_phone_is_offline(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
) -> None:
    site, url = served
    page = phone(browser)
    page.goto(f"{url}/driver")
    page.get_by_label("Driver token").fill(site.tokens["Dora"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("li.stop")).to_have_count(2)
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    page.reload()  # the service worker keeps this copy of the page, script and style
    expect(page.locator("li.stop")).to_have_count(2)

    page.context.set_offline(True)
    page.reload()
    expect(page.locator("li.stop")).to_have_count(2)  # from the phone: page and route
    expect(page.locator("#sync")).to_contain_text("Offline")
    page.locator("li.stop").nth(0).get_by_role("button", name="Arrived").click()
    expect(page.locator("#sync")).to_contain_text("Offline: 1 action waiting")
    page.screenshot(path=str(tmp_path / "driver-offline-reload.png"), full_page=True)
    page.context.set_offline(False)
    expect(page.locator("#sync")).to_contain_text("All sent", timeout=15000)
    kinds = [
        a["kind"] for a in site.hub.read(lambda c: driving.stop_actions(c, site.routes["van-1"]))
    ]
    assert kinds == ["arrive"]
