"""The order desk in a real headless browser (Playwright driving Debian's chromium): sign
in, enter a B2B order through the form and see it allocated to the nearest warehouse,
release a held order, import a spreadsheet through the upload. Screenshots go to
tmp_path; the assertions are on the pages' text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, desk_site
from openpyxl import Workbook
from playwright.sync_api import Browser, Page, expect

from hub.core import desk
from hub.core.desk import Actor, LineInput, NewOrder
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[Hub, str]]:
    """The desk hub on SQLite, its whole web app on a free loopback port."""
    hub = desk_site(sqlite_url)
    server = SandboxServer(make_app(Sync(hub))).start()
    try:
        yield hub, server.url
    finally:
        server.stop()
        hub.close()


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()


def spreadsheet(path: Path) -> Path:
    """An XLSX of two orders (three lines), the SKU column as text."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Order Ref", "Account", "SKU", "Quantity", "Requested Date", "PO Number"])
    sheet.append(["XL-1", "ACME", "CRATE", 2, "2030-04-02", "PO-X1"])
    sheet.append(["XL-1", "ACME", "LID", 1, "2030-04-02", "PO-X1"])
    sheet.append(["XL-2", "ACME", "CRATE", 3, "2030-04-03", "PO-X2"])
    book.save(path)
    return path


def test_the_sales_desk_in_a_browser(browser: Browser, served, tmp_path: Path):
    hub, url = served
    held = desk.create_order(  # CASH has no payment terms: held as unpaid
        hub, NewOrder("CASH", (LineInput("CRATE", 2),), reference="HELD-7"), Actor("t", "cli")
    )
    assert held.status == "on_hold"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/sign-in")
    shot(page, tmp_path, "sign-in")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")
    sign_in(page, url, "sam")
    expect(page.locator("ul.health")).to_contain_text("b2b: entered at the desk")
    expect(page.locator("ul.holds")).to_contain_text("HELD-7")
    shot(page, tmp_path, "dashboard")

    # a B2B order through the form: live availability per location, then the order page
    page.get_by_role("link", name="New order").click()
    page.locator('input[name="account"]').press_sequentially("ACM")
    page.locator('input[name="account"]').fill("ACME")
    page.locator('input[name="account"]').dispatch_event("input")
    expect(page.locator("#address_id")).to_contain_text("1 Strand, London")
    sku = page.locator('input[name="lines[0].sku"]')
    sku.press_sequentially("CRATE")
    expect(page.locator("td .avail").first).to_contain_text("London warehouse 18")
    expect(page.locator("td .avail").first).to_contain_text("free now: Edinburgh warehouse 20")
    page.locator('input[name="lines[0].quantity"]').fill("four")
    page.get_by_label("PO number").fill("PO-4711")
    page.get_by_role("button", name="Enter order").click()
    expect(page.locator(".field-error")).to_contain_text("not a whole number")
    expect(page.get_by_label("PO number")).to_have_value("PO-4711")  # kept
    expect(page.locator("td .avail").first).to_contain_text("London warehouse 18")
    shot(page, tmp_path, "order-form-errors")
    page.locator('input[name="lines[0].quantity"]').fill("4")
    page.get_by_label("Requested delivery date").fill("2030-06-03")
    page.get_by_label("Window from").fill("09:00")
    page.get_by_label("to", exact=True).fill("12:00")
    page.get_by_label("Notes").fill("Ring at the goods entrance.")
    page.get_by_role("button", name="Enter order").click()
    expect(page.locator(".flash")).to_contain_text("entered for Acme Ltd")
    allocation = page.locator("table.allocation")
    expect(allocation).to_contain_text("London warehouse")
    expect(allocation).not_to_contain_text("Edinburgh")
    expect(page.locator("main")).to_contain_text("between 09:00 and 12:00")
    expect(page.locator("ol.history")).to_contain_text("by sam via web")
    shot(page, tmp_path, "order-entered")
    entered = desk.list_orders(hub, search="PO-4711").orders[0]
    assert [(a.sku, a.location, a.quantity) for a in entered.allocation] == [("CRATE", "south", 4)]
    assert hub.channel_locations("b2b")[0] == "north"  # first by priority, yet farther

    # the held order: found through the list's hold filter, released with a note
    page.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_label("Hold reason").fill("unpaid")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.list")).to_contain_text("HELD-7")
    expect(page.locator("table.list")).not_to_contain_text("PO-4711")
    shot(page, tmp_path, "orders-held")
    page.get_by_role("link", name="HELD-7").click()
    expect(page.locator(".holdbox")).to_contain_text("payment is pending")
    shot(page, tmp_path, "order-held")
    page.get_by_label("Why it may go ahead").fill("paid by bank transfer this morning")
    page.get_by_role("button", name="Release").click()
    expect(page.locator(".flash")).to_contain_text("Order HELD-7 released; it is now open.")
    expect(page.locator("ol.history")).to_contain_text("paid by bank transfer this morning")
    shot(page, tmp_path, "order-released")
    assert desk.order_view(hub, held.id).status == "open"

    # a spreadsheet through the upload: a bad one lists its rows, a good one imports
    page.get_by_role("link", name="Import").click()
    bad = tmp_path / "bad.csv"
    bad.write_text("order_ref,account,sku,quantity\nB-1,ACME,CRATE,2.5\nB-2,NOBODY,CRATE,1\n")
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".result.bad")).to_contain_text("Nothing was imported from bad.csv")
    expect(page.locator("table.bad-rows tbody tr")).to_have_count(2)
    shot(page, tmp_path, "import-bad")
    page.get_by_label("File").set_input_files(str(spreadsheet(tmp_path / "week.xlsx")))
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".result.good")).to_contain_text("2 orders: 2 new")
    shot(page, tmp_path, "import-done")
    assert {o.external_id for o in desk.list_orders(hub, search="XL-").orders} == {
        "XL-1",
        "XL-2",
    }

    page.get_by_role("link", name="Stock").click()
    expect(page.locator("table.stock")).to_contain_text("Oak crate")
    shot(page, tmp_path, "stock")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("main")).to_contain_text("Orders today")
    shot(page, tmp_path, "dashboard-after")
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(url + f"/orders/{held.id}")
    expect(phone.locator("ol.history")).to_contain_text("paid by bank transfer")
    shot(phone, tmp_path, "phone-order")
    phone.goto(url + "/")
    shot(phone, tmp_path, "phone-dashboard")
    assert all(re.match(r"[a-z-]+\.png", p.name) for p in tmp_path.glob("*.png"))
    assert len(list(tmp_path.glob("*.png"))) == 13
