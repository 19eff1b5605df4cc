"""The operator's live view (``/live`` and its server-sent events at ``/live/events``) on
SQLite and PostgreSQL: a ping posted through the driver API reaches a watching page as a
``position`` event and then as the route's recomputed ETAs; a page that goes away is
dropped from the broker; people who are not signed in are refused; a day that is not a
date is refused with 400. A van dispatched after the page opened, by ``hub route
dispatch`` in a process of its own, reaches the pages of its day as a ``routes`` event
(and no page of another day); a route a re-plan continued is no such change."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from conftest import sign_in
from driver_site import ZONE, Site, driver_site, phone_time

from hub.core.models import order_eta_t, planned_route_t
from hub.core.sync import Sync
from hub.web.api.machinery import API_KEY
from hub.web.app import make_app
from hub.web.livefeed import FEED_KEY

WAIT = 10.0  # seconds an event may take at most (it takes milliseconds)


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    made = driver_site(db_url, tmp_path / "media")
    with made.hub:
        yield made


@pytest.fixture
async def client(site: Site) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(Sync(site.hub)))) as the_client:
        yield the_client


def today() -> str:
    return datetime.now(ZoneInfo(ZONE)).date().isoformat()


async def next_event(answer: ClientResponse, wanted: str) -> dict[str, Any]:
    """The data of the stream's next ``wanted`` event (others are skipped)."""

    async def read() -> dict[str, Any]:
        event = ""
        while True:
            line = (await answer.content.readline()).decode().rstrip("\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == wanted:
                return json.loads(line.split(":", 1)[1])  # type: ignore[no-any-return]
            elif not line:
                event = ""

    return await asyncio.wait_for(read(), WAIT)


async def post_ping(client: TestClient, site: Site, lat: float, lon: float, minutes: int) -> None:
    body = {
        "route": site.routes["van-1"],
        "device_id": "phone-1",
        "pings": [{"latitude": lat, "longitude": lon, "at": phone_time(minutes).isoformat()}],
    }
    answer = await client.post(
        "/api/v1/driver/pings",
        json=body,
        headers={"Authorization": f"Bearer {site.tokens['Dora']}"},
    )
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["recorded"] == 1


async def test_a_ping_reaches_the_watching_page_with_the_routes_new_etas(
    client: TestClient, site: Site
):
    await sign_in(client, "ada")
    stream = await client.get(f"/live/events?day={today()}")
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    hello = await next_event(stream, "hello")
    assert sorted(hello["routes"]) == sorted(site.routes.values())

    await post_ping(client, site, 51.5101, -0.1275, minutes=0)
    position = await next_event(stream, "position")
    assert position["route"] == site.routes["van-1"]
    assert (position["latitude"], position["longitude"]) == (51.5101, -0.1275)
    assert position["driver"] == "Dora" and position["vehicle"] == "van-1"
    assert datetime.fromisoformat(position["at"]) == phone_time(0)

    eta = await next_event(stream, "eta")
    assert eta["route"] == site.routes["van-1"] and eta["basis"] == "ping"
    assert (eta["done"], eta["total"]) == (0, 2)
    assert eta["next"]["seq"] == 1 and eta["position"]["latitude"] == 51.5101
    first = datetime.fromisoformat(eta["next"]["eta"])
    assert phone_time(0) < first < phone_time(0) + timedelta(minutes=5)  # about 400 m away
    stored = site.hub.read(
        lambda c: c.execute(
            sa.select(order_eta_t.c.eta).where(order_eta_t.c.order_id == int(site.orders["A1"]))
        ).scalar_one()
    )
    assert stored == first
    stream.close()


async def test_an_action_sends_the_routes_progress(client: TestClient, site: Site):
    await sign_in(client, "ada")
    stream = await client.get(f"/live/events?day={today()}")
    await next_event(stream, "hello")
    action = {
        "client_id": str(uuid.uuid4()),
        "route": site.routes["van-1"],
        "stop": 1,
        "kind": "fail",
        "reason": "not_home",
        "at": phone_time(3).isoformat(),
    }
    answer = await client.post(
        "/api/v1/driver/actions",
        json={"device_id": "phone-1", "actions": [action]},
        headers={"Authorization": f"Bearer {site.tokens['Dora']}"},
    )
    assert answer.status == 200, await answer.text()
    eta = await next_event(stream, "eta")
    assert (eta["route"], eta["basis"], eta["done"], eta["total"]) == (
        site.routes["van-1"],
        "stop",
        1,
        2,
    )
    assert eta["next"]["seq"] == 2
    stream.close()


async def test_a_page_that_goes_away_is_dropped_from_the_broker(client: TestClient, site: Site):
    await sign_in(client, "ada")
    stream = await client.get(f"/live/events?day={today()}")
    await next_event(stream, "hello")
    feed = client.app[API_KEY].extras[FEED_KEY]  # type: ignore[index]
    assert len(feed.watchers) == 1
    stream.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while feed.watchers and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert feed.watchers == set()
    await post_ping(client, site, 51.5101, -0.1275, minutes=1)  # nobody to tell: no error


async def test_people_not_signed_in_are_refused(client: TestClient):
    page = await client.get("/live", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/sign-in")
    events = await client.get("/live/events")
    assert events.status == 401
    assert "sign in" in (await events.json())["error"]


async def test_a_day_that_is_not_a_date_is_refused(client: TestClient):
    await sign_in(client, "ada")
    page = await client.get("/live?day=2026-13-45")
    assert page.status == 400
    text = await page.text()
    assert "day: &#39;2026-13-45&#39; is not a date (YYYY-MM-DD)" in text
    assert "connecting" not in text  # no events to wait for: no feed state
    events = await client.get("/live/events?day=tomorrow")
    assert events.status == 400
    assert (await events.json()) == {
        "error": "day: 'tomorrow' is not a date (YYYY-MM-DD)",
        "field": "day",
    }


async def test_the_page_shows_the_map_markers_and_progress(client: TestClient, site: Site):
    await sign_in(client, "ada")
    await post_ping(client, site, 51.5101, -0.1275, minutes=0)
    page = await client.get(f"/live?day={today()}")
    assert page.status == 200
    html = await page.text()
    van1, van2 = site.routes["van-1"], site.routes["van-2"]
    marker = re.search(rf'<g class="driver" id="driver-{van1}"[^>]*>', html)
    assert marker and 'data-lat="51.510100"' in marker.group(0)
    assert "visibility" not in marker.group(0)
    idle = re.search(rf'<g class="driver" id="driver-{van2}"[^>]*>', html)
    assert idle and 'visibility="hidden"' in idle.group(0)  # no ping yet
    assert re.search(rf'<tr data-route="{van1}"', html)
    assert "van-1 · Dora" in html and "0/2" in html
    assert "data-scale=" in html and "data-west=" in html
    assert 'class="depot"' in html


def test_the_day_defaults_to_today_in_the_routing_zone(site: Site):
    from aiohttp.test_utils import make_mocked_request

    from hub.web.pages.live import requested_day

    assert (
        requested_day(make_mocked_request("GET", "/live"), site.hub)
        == datetime.now(ZoneInfo(ZONE)).date()
    )
    assert str(requested_day(make_mocked_request("GET", "/live?day=2024-03-10"), site.hub)) == (
        "2024-03-10"
    )


async def test_a_route_re_planned_during_the_day_reaches_the_open_page(
    client: TestClient, site: Site
):
    """A re-plan stores the van's route as a new dispatched one: its pings and ETAs reach
    a page opened before, by vehicle and day."""
    from hub.core.models import planned_route_t
    from hub.core.planning import dispatch, store_plan
    from hub.routing import Plan, Route, Visit

    await sign_in(client, "ada")
    stream = await client.get(f"/live/events?day={today()}")
    hello = await next_event(stream, "hello")
    day = datetime.now(ZoneInfo(ZONE)).date()
    at = phone_time(30)
    again = Route("van-1", day, (Visit("cash", at, at, at),), at, at, 1.0, 0, 0, 0)

    def replan(conn):  # type: ignore[no-untyped-def]
        members = {"cash": [int(site.orders["C1"])]}
        plan_id = store_plan(conn, day, 1, Plan((again,), (), "test"), members, [])
        dispatch(conn, plan_id)
        r = planned_route_t.c
        return conn.scalar(sa.select(r.id).where(r.plan_id == plan_id))

    new = site.hub.write(replan)
    assert new not in hello["routes"]
    site.routes["van-1"] = new
    await post_ping(client, site, 51.504, -0.127, minutes=5)
    position = await next_event(stream, "position")
    assert (position["route"], position["vehicle"]) == (new, "van-1")
    eta = await next_event(stream, "eta")
    assert (eta["route"], eta["total"]) == (new, 1)
    stream.close()


def later_van(site: Site) -> int:
    """Set-up: van-2 leaves later in the morning, its route not yet dispatched; its plan."""
    r = planned_route_t.c

    def undispatch(conn):  # type: ignore[no-untyped-def]
        conn.execute(
            planned_route_t.update().where(r.id == site.routes["van-2"]).values(dispatched=False)
        )
        return conn.scalar(sa.select(r.plan_id).where(r.id == site.routes["van-2"]))

    return int(site.hub.write(undispatch))


CONFIG = """\
[hub]
name = "Crate & Co"
timezone = "{zone}"

[database]
url = "{url}"

[locations.main]
latitude = 51.51
longitude = -0.13

[fleet.van-1]
depot = "main"

[fleet.van-2]
depot = "main"

[channels.b2b]
type = "manual"
locations = ["main"]

[notifiers.mail]
type = "smtp"
host = "127.0.0.1"
tls = "none"
sender = "a@b.example"
"""


async def no_event(answer: ClientResponse, wanted: str, seconds: float = 1.0) -> None:
    """The stream sends no ``wanted`` event within ``seconds``."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(next_event(answer, wanted), seconds)


async def test_a_van_dispatched_by_another_process_reaches_the_open_pages_of_its_day(
    client: TestClient, site: Site, db_url: str, tmp_path: Path
):
    plan = later_van(site)
    await sign_in(client, "ada")
    stream = await client.get(f"/live/events?day={today()}")
    hello = await next_event(stream, "hello")
    assert hello["routes"] == [site.routes["van-1"]]
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    other = await client.get(f"/live/events?day={tomorrow}")
    assert (await next_event(other, "hello"))["routes"] == []

    config = tmp_path / "hub.toml"
    config.write_text(CONFIG.format(zone=ZONE, url=db_url))
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "hub.cli",
            "route",
            "dispatch",
            str(plan),
            "--vehicle",
            "van-2",
            "--config",
            str(config),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"1 route(s) of plan {plan} dispatched" in done.stdout

    routes = await next_event(stream, "routes")
    van1, van2 = site.routes["van-1"], site.routes["van-2"]
    assert routes == {
        "day": today(),
        "routes": sorted([van1, van2]),
        "vehicles": ["van-1", "van-2"],
        "added": [van2],
    }
    await no_event(other, "routes")  # the other day's page was checked in the same round
    await no_event(stream, "routes")  # told once
    assert hello["vehicles"] == ["van-1"]  # what the page compares with its own
    stream.close()
    other.close()


async def test_a_re_planned_route_is_no_new_route_for_the_page_but_a_new_van_is(
    client: TestClient, site: Site
):
    from hub.core.planning import store_plan
    from hub.core.routedispatch import dispatch_and_tell
    from hub.routing import Plan, Route, Visit

    plan = later_van(site)
    await sign_in(client, "ada")
    stream = await client.get(f"/live/events?day={today()}")
    await next_event(stream, "hello")
    feed = client.app[API_KEY].extras[FEED_KEY]  # type: ignore[index]

    day = date.fromisoformat(today())
    at = phone_time(30)
    again = Route("van-1", day, (Visit("cash", at, at, at),), at, at, 1.0, 0, 0, 0)

    def replan(conn):  # type: ignore[no-untyped-def]
        members = {"cash": [int(site.orders["C1"])]}
        return store_plan(conn, day, 1, Plan((again,), (), "test"), members, [])

    replanned = site.hub.write(replan)
    dispatch_and_tell(site.hub, replanned)  # van-1 continues as a new route
    await feed.check_routes()  # a round after the re-plan: nothing for the page
    dispatch_and_tell(site.hub, plan, "van-2")  # van-2 leaves
    routes = await next_event(stream, "routes")  # the first routes event is van-2's
    r = planned_route_t.c
    new = site.hub.read(lambda c: c.scalar(sa.select(r.id).where(r.plan_id == replanned)))
    assert routes["added"] == [site.routes["van-2"]]
    assert routes["routes"] == sorted([new, site.routes["van-2"]])
    assert routes["vehicles"] == ["van-1", "van-2"]
    stream.close()
