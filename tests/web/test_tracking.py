"""The customer's public tracking page: only the stage, the ETA window and the driver's
approach; notes and ratings stored; an unknown token answered 404 with nothing recorded.
Served by the whole web app (aiohttp's test client), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from builders import order

from hub.core import notify
from hub.core.models import notification_opt_out_t, tracking_feedback_t
from hub.core.notify import tracking
from hub.core.runtime import Hub
from hub.orders import Address, Customer

DST_DAY_ETA = datetime(2024, 3, 10, 19, 30, tzinfo=UTC)  # 14:30 in Chicago, CDT since 2:00
SECRET_BITS = ("Grace Hopper", "42 Harbour Lane", "grace@navy.example", "+13125550199", "CRATE")


def tracked(site: Hub, external_id: str = "T1") -> tuple[int, str]:
    """An order for Grace (name, address, e-mail, phone) with a tracking token."""
    made = order(
        external_id,
        ("CRATE", 1),
        channel="b2b",
        shipping_address=Address(
            name="Grace Hopper",
            line1="42 Harbour Lane",
            city="Chicago",
            country="US",
            phone="+13125550199",
        ),
    )
    made = replace(made, customer=Customer(name="Grace Hopper", email="grace@navy.example"))
    site.ingest("b2b", [made])

    def token(conn):  # type: ignore[no-untyped-def]
        order_id = notify.order_ids(conn, "b2b", [external_id])[external_id]
        return order_id, tracking.ensure_token(conn, order_id)

    return site.write(token)


def feedback_rows(site: Hub) -> list[dict]:
    return site.read(
        lambda c: [dict(r) for r in c.execute(sa.select(tracking_feedback_t)).mappings()]
    )


async def test_the_page_shows_stage_eta_window_and_approach_and_nothing_else(
    site: Hub, client: TestClient
):
    site.settings.notifications.timezone = "America/Chicago"
    order_id, token = tracked(site)
    site.write(
        lambda c: tracking.set_eta(
            c, order_id, DST_DAY_ETA - timedelta(minutes=30), DST_DAY_ETA + timedelta(minutes=30), 3
        )
    )
    site.ship("b2b:T1", "own-fleet")
    answer = await client.get(f"/track/{token}")
    assert answer.status == 200
    page = await answer.text()
    assert "On its way." in page
    assert "Sun, March 10, 2:00 PM CDT – 3:00 PM CDT" in page
    assert "Stops before yours: <strong>3</strong>" in page
    for bit in SECRET_BITS:
        assert bit not in page, f"the public page shows {bit!r}"
    assert "T1" not in page.replace(token, "")  # not even the order's number
    assert answer.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert answer.headers["Referrer-Policy"] == "same-origin"


async def test_the_page_speaks_the_customers_language(site: Hub, client: TestClient):
    made = order(
        "T2",
        ("CRATE", 1),
        channel="b2b",
        shipping_address=Address(name="Ute", city="Berlin", country="DE"),
    )
    site.ingest("b2b", [made])
    token = site.write(lambda c: tracking.ensure_token(c, notify.order_ids(c, "b2b", ["T2"])["T2"]))
    page = await (await client.get(f"/track/{token}")).text()
    assert "Ihre Lieferung" in page and '<html lang="de">' in page


async def test_an_unknown_token_is_a_404_and_nothing_is_recorded(site: Hub, client: TestClient):
    tracked(site)
    for method, path, data in (
        ("GET", "/track/not-a-token", None),
        ("POST", "/track/not-a-token/feedback", {"note": "leave it at the door", "rating": "5"}),
        ("GET", "/track/not-a-token/opt-out", None),
        ("POST", "/track/not-a-token/opt-out", {}),
        ("GET", "/track/" + "x" * 300, None),
    ):
        answer = await client.request(method, path, data=data)
        assert answer.status == 404, (method, path)
        assert "No order has this tracking link." in await answer.text()
    assert feedback_rows(site) == []
    assert (
        site.read(
            lambda c: c.scalar(sa.select(sa.func.count()).select_from(notification_opt_out_t))
        )
        == 0
    )


async def test_notes_and_a_rating_are_stored(site: Hub, client: TestClient):
    order_id, token = tracked(site)
    answer = await client.post(
        f"/track/{token}/feedback",
        data={"note": "  Please ring twice  ", "rating": ""},
        allow_redirects=False,
    )
    assert answer.status == 303 and answer.headers["Location"] == f"/track/{token}?thanks=1"
    thanks = await (await client.get(answer.headers["Location"])).text()
    assert "Thank you, we have your message." in thanks
    site.ship("b2b:T1", "own-fleet")
    site.deliver("b2b:T1")
    page = await (await client.get(f"/track/{token}")).text()
    assert "Delivered." in page and 'name="rating"' in page
    await client.post(f"/track/{token}/feedback", data={"rating": "4", "note": "friendly driver"})
    rows = feedback_rows(site)
    assert [(r["order_id"], r["note"], r["rating"]) for r in rows] == [
        (order_id, "Please ring twice", None),
        (order_id, "friendly driver", 4),
    ]
    assert site.read(lambda c: tracking.feedback(c, order_id))[1]["rating"] == 4


@pytest.mark.parametrize(
    "form, message",
    [
        ({"rating": "6"}, "a rating is 1 to 5 stars, not &#39;6&#39;"),
        ({"rating": "five"}, "a rating is 1 to 5 stars, not &#39;five&#39;"),
        ({"note": "x" * 1001}, "the note has 1001 characters; at most 1000 fit"),
        ({"note": "   "}, "write a note or choose a rating"),
    ],
)
async def test_bad_feedback_is_refused_naming_what_is_wrong(
    site: Hub, client: TestClient, form, message
):
    _, token = tracked(site)
    answer = await client.post(f"/track/{token}/feedback", data=form)
    assert answer.status == 400
    assert message in await answer.text()
    assert feedback_rows(site) == []


async def test_tokens_are_long_random_and_one_per_order(site: Hub):
    order_id, token = tracked(site)
    assert len(token) == 32 and token == site.write(lambda c: tracking.ensure_token(c, order_id))
    _, other = tracked(site, "T3")
    assert other != token


async def test_one_order_takes_a_bounded_number_of_notes(site: Hub, client: TestClient):
    _, token = tracked(site)
    for i in range(tracking.MAX_FEEDBACK):
        answer = await client.post(f"/track/{token}/feedback", data={"note": f"note {i}"})
        assert answer.status == 200
    refused = await client.post(f"/track/{token}/feedback", data={"note": "one more"})
    assert refused.status == 400
    assert "this delivery has 20 notes already" in await refused.text()
    assert len(feedback_rows(site)) == tracking.MAX_FEEDBACK
