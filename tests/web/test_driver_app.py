"""The driver app's REST endpoints (``/api/v1/driver/...``) on SQLite and PostgreSQL:
a driver sees and changes only their own route; an offline batch replayed twice is
recorded once and in the phone's time order; bad input gets a 4xx naming what was
wrong and records nothing."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from conftest import csrf_of, sign_in
from driver_site import PHOTO_LIMIT, Site, driver_site, jpeg, phone_time, png

from hub.core import drivers, driving, positions
from hub.core.models import (
    notification_message_t,
    order_event_t,
    order_t,
    position_ping_t,
    route_action_t,
    shipment_t,
)
from hub.core.sync import Sync
from hub.web.app import make_app


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    made = driver_site(db_url, tmp_path / "media")
    with made.hub:
        yield made


@pytest.fixture
async def client(site: Site) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(Sync(site.hub)))) as the_client:
        yield the_client


def auth(site: Site, name: str = "Dora") -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[name]}"}


def data_url(image: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(image).decode()


def action(route: int, stop: int, kind: str, minutes: int, **extra: Any) -> dict[str, Any]:
    at = phone_time(minutes)
    return {
        "client_id": str(uuid.uuid4()),
        "route": route,
        "stop": stop,
        "kind": kind,
        "at": at.isoformat(),
        **extra,
    }


def delivery(route: int, stop: int, minutes: int) -> dict[str, Any]:
    return action(
        route,
        stop,
        "deliver",
        minutes,
        recipient_name="Jo Bloggs",
        signature=data_url(png()),
        photo=data_url(jpeg(), "jpeg"),
    )


def counts(site: Site) -> tuple[int, int, int]:
    """Actions, pings and order history rows stored."""

    def read(conn: sa.Connection) -> tuple[int, int, int]:
        return (
            conn.scalar(sa.select(sa.func.count()).select_from(route_action_t)),
            conn.scalar(sa.select(sa.func.count()).select_from(position_ping_t)),
            conn.scalar(sa.select(sa.func.count()).select_from(order_event_t)),
        )

    return site.hub.read(read)  # type: ignore[no-any-return]


def status(site: Site, ref: str) -> str:
    found = site.hub.read(
        lambda c: c.scalar(sa.select(order_t.c.status).where(order_t.c.id == int(ref)))
    )
    return str(found)


async def post(client: TestClient, site: Site, path: str, body: Any, who: str = "Dora") -> Any:
    return await client.post(f"/api/v1/driver/{path}", json=body, headers=auth(site, who))


# -- the route ---------------------------------------------------------------------------------


async def test_a_driver_sees_their_own_route_in_order(client, site):
    answer = await client.get("/api/v1/driver/route", headers=auth(site))
    assert answer.status == 200, await answer.text()
    route = await answer.json()
    assert (route["driver"], route["vehicle"], route["route"]) == (
        "Dora",
        "van-1",
        site.routes["van-1"],
    )
    assert route["ping_seconds"] == 10
    first, second = route["stops"]
    assert (first["seq"], second["seq"]) == (1, 2)
    assert [o["number"] for o in first["orders"]] == ["A1", "A2"]  # two orders, one drop
    assert first["address"] == "1 Strand, WC2N 5HR London" and first["state"] == "pending"
    assert [(i["sku"], i["title"], i["quantity"]) for i in first["items"]] == [
        ("CRATE", "Oak crate", 3),  # both orders' crates: what to hand over at the door
        ("LID", "Crate lid", 2),
    ]
    assert first["navigation_url"].endswith("destination=51.507000,-0.127000")
    assert [o["number"] for o in second["orders"]] == ["C1"]
    assert "not_home" in {r["code"] for r in route["fail_reasons"]}

    other = await (await client.get("/api/v1/driver/route", headers=auth(site, "Vic"))).json()
    assert [o["number"] for s in other["stops"] for o in s["orders"]] == ["V1"]


async def test_the_customers_delivery_notes_reach_the_driver(client, site):
    from hub.core.notify import tracking

    def leave(conn: sa.Connection) -> None:  # as the tracking page does
        token = tracking.ensure_token(conn, int(site.orders["C1"]))
        tracking.leave_feedback(conn, token, "ring twice, side door", None)

    site.hub.write(leave)
    route = await (await client.get("/api/v1/driver/route", headers=auth(site))).json()
    assert route["stops"][1]["notes"] == "customer: ring twice, side door"
    assert route["stops"][0]["notes"] == ""


async def test_without_a_driver_token_the_route_is_refused(client, site):
    assert (await client.get("/api/v1/driver/route")).status == 401
    answer = await client.get(
        "/api/v1/driver/route", headers={"Authorization": "Bearer drv_not-a-token"}
    )
    assert answer.status == 401
    assert "unknown or disabled" in (await answer.json())["error"]["message"]


# -- deliveries, failures and the offline batch -------------------------------------------------


async def test_deliver_with_signature_and_photo_marks_the_orders_delivered(client, site):
    route = site.routes["van-1"]
    answer = await post(client, site, "actions", {"actions": [delivery(route, 1, 25)]})
    assert answer.status == 200, await answer.text()
    assert [r["outcome"] for r in (await answer.json())["results"]] == ["recorded"]
    assert status(site, site.orders["A1"]) == status(site, site.orders["A2"]) == "delivered"
    assert status(site, site.orders["C1"]) == "open"  # the next stop is untouched

    (stored,) = site.hub.read(lambda c: driving.stop_actions(c, route))
    assert stored["recipient_name"] == "Jo Bloggs" and stored["driver"] == "Dora"
    assert (site.media / stored["signature_path"]).read_bytes() == png()
    assert (site.media / stored["photo_path"]).read_bytes() == jpeg()
    shipped = site.hub.read(
        lambda c: c.execute(sa.select(shipment_t.c.carrier, shipment_t.c.tracking_number)).all()
    )
    assert sorted(shipped) == [("fleet", "van-1"), ("fleet", "van-1")]
    page = await (await client.get("/api/v1/driver/route", headers=auth(site))).json()
    assert [s["state"] for s in page["stops"]] == ["delivered", "pending"]


async def test_the_office_sees_the_proof_and_nobody_else(client, site):
    route = site.routes["van-1"]
    assert (
        await post(client, site, "actions", {"actions": [delivery(route, 1, 25)]})
    ).status == 200
    (stored,) = site.hub.read(lambda c: driving.stop_actions(c, route))
    path = f"/driver/proof/{stored['id']}/signature"
    anonymous = await client.get(path, allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/sign-in")
    await sign_in(client, "ada")
    signature = await client.get(path)
    assert signature.status == 200 and signature.headers["Content-Type"] == "image/png"
    assert await signature.read() == png()
    photo = await client.get(f"/driver/proof/{stored['id']}/photo")
    assert photo.headers["Content-Type"] == "image/jpeg" and await photo.read() == jpeg()
    assert (await client.get(f"/driver/proof/{stored['id']}/passport")).status == 404
    assert (await client.get("/driver/proof/999/photo")).status == 404


async def test_fail_records_the_reason_in_the_orders_history(client, site):
    route = site.routes["van-1"]
    failed = action(route, 2, "fail", 45, reason="not_home", note="left a card")
    answer = await post(client, site, "actions", {"actions": [failed]})
    assert answer.status == 200, await answer.text()
    assert status(site, site.orders["C1"]) == "open"
    notes = site.hub.read(
        lambda c: list(
            c.scalars(
                sa.select(order_event_t.c.note).where(
                    order_event_t.c.order_id == int(site.orders["C1"])
                )
            )
        )
    )
    assert "delivery failed: Nobody at home (left a card)" in notes
    page = await (await client.get("/api/v1/driver/route", headers=auth(site))).json()
    assert (page["stops"][1]["state"], page["stops"][1]["reason"]) == ("failed", "not_home")


async def test_an_offline_batch_replayed_twice_is_recorded_once_in_phone_time_order(client, site):
    route = site.routes["van-1"]
    # queued on the phone while offline, sent in the order the queue happened to keep
    batch = [
        delivery(route, 2, 50),
        action(route, 1, "arrive", 18, latitude=51.507, longitude=-0.127, accuracy=8.0),
        action(route, 2, "fail", 44, reason="closed"),
        action(route, 2, "arrive", 41),
        delivery(route, 1, 22),
    ]
    body = {"device_id": "phone-1", "actions": batch}
    first = await post(client, site, "actions", body)
    assert first.status == 200, await first.text()
    assert [r["outcome"] for r in (await first.json())["results"]] == ["recorded"] * 5
    stored_once = counts(site)

    again = await post(client, site, "actions", body)
    assert again.status == 200, await again.text()
    results = (await again.json())["results"]
    assert [r["client_id"] for r in results] == [a["client_id"] for a in batch]
    assert [r["outcome"] for r in results] == ["duplicate"] * 5
    assert counts(site) == stored_once

    stored = site.hub.read(lambda c: driving.stop_actions(c, route))
    assert [(a["stop_seq"], a["kind"]) for a in stored] == [
        (1, "arrive"),
        (1, "deliver"),
        (2, "arrive"),
        (2, "fail"),
        (2, "deliver"),
    ]
    assert [a["id"] for a in stored] == sorted(a["id"] for a in stored)  # taken in that order
    assert stored[0]["device_id"] == "phone-1" and stored[0]["accuracy_m"] == 8.0
    for ref in ("A1", "A2", "C1"):  # failed at 10:44, delivered at the second try
        assert status(site, site.orders[ref]) == "delivered"


async def test_a_late_failure_before_the_delivery_is_kept_but_changes_nothing(client, site):
    route = site.routes["van-1"]
    assert (
        await post(client, site, "actions", {"actions": [delivery(route, 2, 50)]})
    ).status == 200
    earlier = action(route, 2, "fail", 40, reason="not_home")  # queued offline, arrives late
    answer = await post(client, site, "actions", {"actions": [earlier]})
    assert answer.status == 200, await answer.text()
    page = await (await client.get("/api/v1/driver/route", headers=auth(site))).json()
    assert page["stops"][1]["state"] == "delivered"

    later = action(route, 2, "fail", 55, reason="not_home")
    refused = await post(client, site, "actions", {"actions": [later]})
    assert refused.status == 409
    assert "cannot fail after that" in (await refused.json())["error"]["message"]


def messages(site: Site) -> list[tuple[str, int]]:
    """The customers' messages the driver's actions queued: (event, order id), in the
    order written (intake's "confirmed" left out)."""
    m = notification_message_t.c
    query = sa.select(m.event, m.order_id).where(m.event != "confirmed").order_by(m.id)
    rows = site.hub.read(lambda c: c.execute(query).all())
    return [tuple(r) for r in rows]


async def test_customers_are_told_once_of_delivery_and_failure(client, site):
    route = site.routes["van-1"]
    a1, a2, c1 = (int(site.orders[k]) for k in ("A1", "A2", "C1"))
    batch = [
        delivery(route, 1, 22),
        action(route, 2, "fail", 44, reason="closed"),
        delivery(route, 2, 50),
    ]
    for _ in range(2):  # the phone sends its queue twice
        answer = await post(client, site, "actions", {"actions": batch})
        assert answer.status == 200, await answer.text()
    assert messages(site) == [
        ("delivered", a1),
        ("delivered", a2),
        ("failed", c1),
        ("delivered", c1),
    ]


async def test_leaving_a_stop_tells_the_next_stops_customer_they_are_next(client, site):
    route = site.routes["van-1"]
    now_ = phone_time(119)  # a minute ago: the driver is on the road now
    fresh = {**delivery(route, 1, 0), "at": now_.isoformat()}
    answer = await post(client, site, "actions", {"actions": [fresh]})
    assert answer.status == 200, await answer.text()
    c1 = int(site.orders["C1"])
    assert ("next_stop", c1) in messages(site)


# -- pings ---------------------------------------------------------------------------------------


async def test_pings_in_a_batch_are_kept_once_each(client, site):
    route = site.routes["van-1"]
    start = phone_time()
    pings = [
        {
            "latitude": 51.5 + i / 1000,
            "longitude": -0.13,
            "accuracy": 5,
            "at": (start + timedelta(seconds=10 * i)).isoformat(),
        }
        for i in range(20)
    ]
    body = {"route": route, "device_id": "phone-1", "pings": pings}
    answer = await post(client, site, "pings", body)
    assert answer.status == 200, await answer.text()
    assert await answer.json() == {"received": 20, "recorded": 20}
    replay = await post(client, site, "pings", body)
    assert await replay.json() == {"received": 20, "recorded": 0}
    kept = site.hub.read(lambda c: positions.route_pings(c, route))
    assert len(kept) == 20 and kept[0]["latitude"] == 51.5 and kept[-1]["accuracy_m"] == 5


# -- refused, nothing recorded ---------------------------------------------------------------------


async def assert_refused(
    answer: Any, status_code: int, words: str, field: str | None = None
) -> None:
    assert answer.status == status_code, await answer.text()
    error = (await answer.json())["error"]
    assert words in error["message"], error
    if field is not None:
        assert error["field"] == field, error


@pytest.mark.parametrize("path", ["actions", "pings"])
async def test_another_drivers_route_is_refused(client, site, path):
    theirs = site.routes["van-2"]
    before = counts(site)
    if path == "actions":
        body: dict[str, Any] = {"actions": [delivery(theirs, 1, 30)]}
    else:
        body = {
            "route": theirs,
            "pings": [{"latitude": 51.5, "longitude": -0.1, "at": phone_time().isoformat()}],
        }
    answer = await post(client, site, path, body)
    await assert_refused(answer, 403, f"route {theirs} is not a dispatched route of your vehicle")
    assert counts(site) == before
    assert status(site, site.orders["V1"]) == "open"


async def test_one_bad_action_refuses_the_whole_batch(client, site):
    route, theirs = site.routes["van-1"], site.routes["van-2"]
    batch = [delivery(route, 1, 20), action(theirs, 1, "arrive", 21)]
    before = counts(site)
    answer = await post(client, site, "actions", {"actions": batch})
    await assert_refused(answer, 403, "actions[1]: route", "/actions/1/route")
    assert counts(site) == before
    assert status(site, site.orders["A1"]) == "open"
    assert not list(site.media.rglob("*.png")), "no file of a refused batch stays"


async def test_a_delivery_on_a_cancelled_order_is_refused(client, site):
    site.hub.cancel("b2b", "C1", "customer rang", actor="office")
    before = counts(site)
    answer = await post(
        client, site, "actions", {"actions": [delivery(site.routes["van-1"], 2, 40)]}
    )
    await assert_refused(answer, 409, "order b2b:C1 at stop 2 is cancelled", "/actions/0/stop")
    assert counts(site) == before and status(site, site.orders["C1"]) == "cancelled"
    assert not list(site.media.rglob("*.*"))


async def test_a_delivery_of_an_order_the_office_delivered_is_refused(client, site):
    site.hub.ship(site.orders["C1"], "fleet")
    site.hub.deliver(site.orders["C1"], "fleet", actor="office")
    before = counts(site)
    answer = await post(
        client, site, "actions", {"actions": [delivery(site.routes["van-1"], 2, 40)]}
    )
    await assert_refused(
        answer, 409, "order b2b:C1 at stop 2 is delivered already", "/actions/0/stop"
    )
    assert counts(site) == before


async def test_a_photo_that_is_not_an_image_is_refused(client, site):
    bad = delivery(site.routes["van-1"], 1, 20)
    bad["photo"] = data_url(b"%PDF-1.7 this is no picture", "jpeg")
    before = counts(site)
    answer = await post(client, site, "actions", {"actions": [bad]})
    await assert_refused(answer, 422, "not an image", "/actions/0/photo")
    assert counts(site) == before and status(site, site.orders["A1"]) == "open"


async def test_a_photo_over_the_size_limit_is_refused(client, site):
    big = jpeg(400, 300, noise=True)
    assert len(big) > PHOTO_LIMIT
    bad = delivery(site.routes["van-1"], 1, 20)
    bad["photo"] = data_url(big, "jpeg")
    before = counts(site)
    answer = await post(client, site, "actions", {"actions": [bad]})
    await assert_refused(answer, 422, f"over the limit of {PHOTO_LIMIT:,}", "/actions/0/photo")
    assert counts(site) == before and status(site, site.orders["A1"]) == "open"


@pytest.mark.parametrize(
    ("change", "words", "field"),
    [
        ({"kind": "fail", "reason": "bored"}, "'bored' is not one of", "/actions/0/reason"),
        ({"stop": 9}, "has no stop 9", "/actions/0/stop"),
        ({"recipient_name": ""}, "who took the goods", "/actions/0/recipient_name"),
        ({"at": "2026-12-01T10:00:00"}, "timezone", "/actions/0/at"),
        ({"signature": "not base64!"}, "not base64", "/actions/0/signature"),
    ],
)
async def test_malformed_actions_are_refused_naming_the_field(client, site, change, words, field):
    bad = {**delivery(site.routes["van-1"], 1, 20), **change}
    if change.get("kind") == "fail":
        for key in ("signature", "photo", "recipient_name"):
            bad.pop(key)
    before = counts(site)
    answer = await post(client, site, "actions", {"actions": [bad]})
    assert answer.status in (404, 422), await answer.text()
    error = (await answer.json())["error"]
    assert words in error["message"] and error["field"] == field, error
    assert counts(site) == before


async def test_a_ping_off_the_globe_is_refused(client, site):
    before = counts(site)
    body = {"pings": [{"latitude": 91, "longitude": 0, "at": phone_time().isoformat()}]}
    answer = await post(client, site, "pings", body)
    await assert_refused(answer, 422, "less than or equal to 90", "/pings/0/latitude")
    assert counts(site) == before


async def test_a_disabled_driver_is_refused(client, site):
    site.hub.write(lambda c: drivers.set_disabled(c, "Dora"))
    answer = await client.get("/api/v1/driver/route", headers=auth(site))
    assert answer.status == 401


# -- the page's session ------------------------------------------------------------------------


async def test_a_session_post_needs_the_pages_csrf_token(client, site):
    form = await (await client.get("/driver")).text()
    signed_in = await client.post(
        "/driver/sign-in", data={"token": site.tokens["Dora"], "_csrf": csrf_of(form)}
    )
    assert signed_in.status == 200 and "Dora · van-1" in await signed_in.text()
    token = re.search(r'name="csrf-token" content="([^"]+)"', await signed_in.text())
    assert token
    body = {"actions": [action(site.routes["van-1"], 1, "arrive", 10)]}
    before = counts(site)
    refused = await client.post("/api/v1/driver/actions", json=body)
    await assert_refused(refused, 403, "X-CSRF-Token header does not match", "X-CSRF-Token")
    assert counts(site) == before
    accepted = await client.post(
        "/api/v1/driver/actions", json=body, headers={"X-CSRF-Token": token.group(1)}
    )
    assert accepted.status == 200, await accepted.text()
    route = await (await client.get("/api/v1/driver/route")).json()  # GET needs no token
    assert route["driver"] == "Dora" and route["stops"][0]["state"] == "arrived"


async def test_a_new_token_ends_the_old_token_and_its_sessions(client, site):
    form = await (await client.get("/driver")).text()
    await client.post(
        "/driver/sign-in", data={"token": site.tokens["Dora"], "_csrf": csrf_of(form)}
    )
    assert "Dora · van-1" in await (await client.get("/driver")).text()

    token, _ = site.hub.write(lambda c: drivers.new_token(c, "Dora"))  # the phone was lost

    page = await (await client.get("/driver")).text()
    assert "Driver sign-in" in page and "Dora · van-1" not in page
    old = await client.get("/api/v1/driver/route", headers=auth(site))
    assert old.status == 401
    new = await client.get("/api/v1/driver/route", headers={"Authorization": f"Bearer {token}"})
    assert new.status == 200 and (await new.json())["driver"] == "Dora"
