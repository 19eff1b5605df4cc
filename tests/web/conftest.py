"""The order desk's pages: a stocked hub with two warehouses, a customer nearer the second,
a manual ``b2b`` channel and one user per role; served by the whole web app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.sync_api import Browser, sync_playwright

from hub.core import customers, ledger, users
from hub.core.config import parse_settings
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.orders import Address
from hub.web.app import make_app

PASSWORD = "correct horse 42"
#: Debian's chromium, headless, with nothing that reaches the network on its own.
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium for the browser tests of the pages."""
    with sync_playwright() as playwright:
        the_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield the_browser
        finally:
            the_browser.close()


def desk_site(url: str, tmp: str = "") -> Hub:
    """A migrated hub: warehouses ``north`` (Edinburgh) and ``south`` (London) with 20
    CRATE each and 3 LID at north, account ACME (30 days' terms) delivering to London,
    channel ``b2b`` (manual, allocating from the nearest location; by priority alone it
    would take north first), users ``ada`` (admin), ``sam`` (sales), ``vic`` (viewer)."""
    channel = {"type": "manual", "locations": ["north", "south"], "allocation": "nearest"}
    raw = {
        "hub": {"name": "Crate & Co", "timezone": "Europe/London", "currency": "GBP"},
        "database": {"url": url},
        "web": {"secret_key": "test secret key of the order desk", "low_stock": 5},
        "locations": {
            "north": {"name": "Edinburgh warehouse", "latitude": 55.95, "longitude": -3.19},
            "south": {"name": "London warehouse", "latitude": 51.51, "longitude": -0.13},
        },
        "channels": {"b2b": channel},
    }
    hub = Hub.open(settings=parse_settings(raw))
    hub.upgrade()

    def seed(conn):  # type: ignore[no-untyped-def]
        ledger.ensure_product(conn, "CRATE", name="Oak crate")
        ledger.ensure_product(conn, "LID", name="Crate lid")
        ledger.receive(conn, "CRATE", "north", 20)
        ledger.receive(conn, "CRATE", "south", 20)
        ledger.receive(conn, "LID", "north", 3)
        customers.create_account(
            conn, "ACME", "Acme Ltd", email="buyer@acme.example", payment_terms_days=30
        )
        customers.create_account(conn, "CASH", "Cash Customer", email="till@cash.example")
        for number in ("ACME", "CASH"):
            customers.add_address(
                conn,
                number,
                Address(
                    name="Goods in",
                    line1="1 Strand",
                    city="London",
                    postcode="WC2N 5HR",
                    country="GB",
                    latitude=51.507,
                    longitude=-0.127,
                ),
                label="london",
            )
        for name, role in (("ada", "admin"), ("sam", "sales"), ("vic", "viewer")):
            users.create_user(conn, name, PASSWORD, role, full_name=name.title())

    hub.write(seed)
    return hub


@pytest.fixture
def site(db_url: str) -> Iterator[Hub]:
    """:func:`desk_site` on SQLite and on PostgreSQL."""
    with desk_site(db_url) as hub:
        yield hub


@pytest.fixture
def sqlite_site(sqlite_url: str) -> Iterator[Hub]:
    with desk_site(sqlite_url) as hub:
        yield hub


@pytest.fixture
async def client(site: Hub) -> AsyncIterator[TestClient]:
    """An HTTP client of the whole app (no browser), cookies kept."""
    async with TestClient(TestServer(make_app(Sync(site)))) as the_client:
        yield the_client


CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the dashboard's HTML."""
    form = await (await client.get("/sign-in")).text()
    answer = await client.post(
        "/sign-in",
        data={"username": username, "password": password, "_csrf": csrf_of(form), "next": "/"},
    )
    assert answer.status == 200, await answer.text()
    return await answer.text()
