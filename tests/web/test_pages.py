"""The order desk's pages without a browser (aiohttp's test client), on SQLite and
PostgreSQL: signing in, CSRF, roles, the dashboard's words, the order list's filters and
pages, the order form's errors beside their fields, release and cancel with history."""

from __future__ import annotations

import re
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from html import unescape

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from conftest import PASSWORD, csrf_of, desk_site, sign_in

from hub.core import desk, syncstate, users
from hub.core.desk import Actor, LineInput, NewOrder
from hub.core.status import ChannelStatus
from hub.core.sync import Sync
from hub.web.app import make_app
from hub.web.pages import auth
from hub.web.pages.auth import FAILED
from hub.web.pages.dashboard import channel_words
from hub.web.pages.orders import PAGE_SIZE

CLI = Actor("tester", "cli")


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    inline = re.sub(r"</?(a|strong|span|small|time|code|em)\b[^>]*>", "", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", inline))).strip()


def held_order(hub, reference: str = "HELD-1") -> desk.OrderView:
    """An unpaid order of CASH (no payment terms): held as unpaid."""
    view = desk.create_order(
        hub, NewOrder("CASH", (LineInput("CRATE", 2),), reference=reference), CLI
    )
    assert view.status == "on_hold" and [h.code for h in view.holds] == ["unpaid"]
    return view


async def test_every_page_needs_a_signed_in_user(client: TestClient):
    for path in ("/", "/orders", "/orders/new", "/stock", "/import", "/desk/skus.json?q=C"):
        answer = await client.get(path, allow_redirects=False)
        assert answer.status == 303, path
        assert answer.headers["Location"].startswith("/sign-in?next=")
    answer = await client.post("/orders/1/release", data={"note": "x"})
    assert answer.status == 403
    assert "sign in again" in text_of(await answer.text())
    sync_page = await client.get("/sync")  # the sync internals stay where scripts read them
    assert sync_page.status == 200 and "b2b" in await sync_page.text()
    assert (await client.get("/api/status")).status == 200


async def test_signing_in_lands_on_the_page_asked_for_and_signing_out_ends_it(client):
    form = await (await client.get("/orders?status=on_hold", allow_redirects=True)).text()
    assert "Sign in" in form and 'value="/orders?status=on_hold"' in unescape(form)
    answer = await client.post(
        "/sign-in",
        data={
            "username": "vic",
            "password": PASSWORD,
            "_csrf": csrf_of(form),
            "next": "/orders?status=on_hold",
        },
        allow_redirects=False,
    )
    assert answer.status == 303 and answer.headers["Location"] == "/orders?status=on_hold"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    orders = await client.get("/orders")
    assert orders.status == 200 and "Vic" in await orders.text()
    assert "frame-ancestors 'none'" in orders.headers["Content-Security-Policy"]
    assert orders.headers["Cache-Control"] == "no-store"
    page = await orders.text()
    out = await client.post("/sign-out", data={"_csrf": csrf_of(page)}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/orders", allow_redirects=False)).status == 303


async def test_a_wrong_password_an_unknown_name_and_a_disabled_user_get_one_message(client, site):
    site.write(lambda c: users.disable_user(c, "ada"))
    for username, password in (("sam", "wrong password"), ("nobody", PASSWORD), ("ada", PASSWORD)):
        form = await (await client.get("/sign-in")).text()
        answer = await client.post(
            "/sign-in",
            data={"username": username, "password": password, "_csrf": csrf_of(form)},
        )
        page = await answer.text()
        assert answer.status == 401 and FAILED in unescape(page), username
        assert 'name="password" type="password"' in page  # asked again, nothing else said
    assert (await client.get("/", allow_redirects=False)).status == 303
    assert site.read(lambda c: users.get_user(c, "sam")).last_login_at is None


async def test_a_post_without_the_sessions_csrf_token_is_refused(client, site):
    await sign_in(client, "sam")
    form = {"account": "ACME", "lines[0].sku": "CRATE", "lines[0].quantity": "1"}
    missing = await client.post("/orders/new", data=form)
    wrong = await client.post("/orders/new", data={**form, "_csrf": "not-the-token"})
    assert missing.status == 403 and wrong.status == 403
    assert "did not come from the desk" in text_of(await wrong.text())
    assert desk.list_orders(site).orders == []
    page = await (await client.get("/orders/new")).text()
    good = await client.post("/orders/new", data={**form, "_csrf": csrf_of(page)})
    assert good.status == 200 and len(desk.list_orders(site).orders) == 1


async def test_a_sign_in_without_the_forms_csrf_token_signs_no_one_in(client, site):
    await client.get("/sign-in")  # a session with a token exists; the post does not carry it
    for extra in ({}, {"_csrf": "not-the-token"}):
        answer = await client.post(
            "/sign-in", data={"username": "sam", "password": PASSWORD, **extra}
        )
        assert answer.status == 403 and "The form had expired" in text_of(await answer.text())
    assert (await client.get("/", allow_redirects=False)).status == 303
    assert site.read(lambda c: users.get_user(c, "sam")).last_login_at is None


async def test_a_viewer_reads_but_may_not_release_cancel_or_enter(client, site):
    held = held_order(site)
    dashboard = await sign_in(client, "vic")
    page = await (await client.get(f"/orders/{held.id}")).text()
    assert "HELD-1" in page and "payment is pending" in page
    assert "/release" not in page and "/cancel" not in page and "New order" not in page
    token = csrf_of(dashboard)
    release = await client.post(f"/orders/{held.id}/release", data={"_csrf": token, "note": "ok"})
    cancel = await client.post(f"/orders/{held.id}/cancel", data={"_csrf": token, "reason": "x"})
    assert release.status == 403 and cancel.status == 403
    assert "viewer" in text_of(await release.text())
    assert (await client.get("/orders/new")).status == 403
    assert (await client.get("/import")).status == 403
    assert desk.order_view(site, held.id).status == "on_hold"


async def test_sales_releases_with_a_note_and_history_says_who_from_where(client, site):
    held = held_order(site)
    await sign_in(client, "sam")
    page = await (await client.get(f"/orders/{held.id}")).text()
    blank = await client.post(
        f"/orders/{held.id}/release", data={"_csrf": csrf_of(page), "note": "  "}
    )
    assert blank.status == 400
    assert 'class="field-error"' in await blank.text()
    answer = await client.post(
        f"/orders/{held.id}/release",
        data={"_csrf": csrf_of(page), "note": "paid by bank transfer"},
    )
    assert answer.status == 200
    shown = text_of(await answer.text())
    assert "Order HELD-1 released; it is now open." in shown
    assert "paid by bank transfer" in shown and "by sam via web" in shown
    view = desk.order_view(site, held.id)
    assert view.status == "open"
    assert any(e.origin == "web" and e.actor == "web:sam" for e in view.history)


async def test_cancelling_needs_a_reason_and_frees_the_stock(client, site):
    order = desk.create_order(
        site, NewOrder("ACME", (LineInput("CRATE", 5),), reference="C-1"), CLI
    )
    await sign_in(client, "ada")
    page = await (await client.get(f"/orders/{order.id}")).text()
    refused = await client.post(f"/orders/{order.id}/cancel", data={"_csrf": csrf_of(page)})
    assert refused.status == 400 and "Cancel this order" in await refused.text()
    done = await client.post(
        f"/orders/{order.id}/cancel",
        data={"_csrf": csrf_of(page), "reason": "customer rang to cancel"},
    )
    assert "it is now cancelled" in text_of(await done.text())
    assert site.available("b2b", ["CRATE"]) == {"CRATE": 40}
    again = await client.post(
        f"/orders/{order.id}/cancel", data={"_csrf": csrf_of(page), "reason": "twice"}
    )
    assert again.status == 409 and "cancelled already" in text_of(await again.text())


async def test_the_dashboard_says_in_words_how_the_day_stands(client, site):
    held = held_order(site)
    desk.create_order(site, NewOrder("ACME", (LineInput("CRATE", 1),), reference="OK-1"), CLI)
    page = text_of(await sign_in(client, "vic"))
    assert "b2b: entered at the desk, last order just now" in page
    assert "Orders today" in page and "No orders yet today" not in page
    assert "Held for a person 1" in page
    assert "HELD-1 · Cash Customer" in page and "unpaid payment is pending" in page
    assert "LID: 3 left" in page and "CRATE" not in page.split("Low stock")[1]
    assert "Sync details" in page
    html = await (await client.get("/")).text()
    assert f'href="/orders/{held.id}"' in html


async def test_a_hub_without_channels_says_so(sqlite_url):
    with desk_site(sqlite_url) as hub:
        hub.settings.channels.clear()
        hub.channel_configs.clear()
        async with TestClient(TestServer(make_app(Sync(hub)))) as client:
            page = text_of(await sign_in(client, "sam"))
    assert "No channel is configured yet" in page


async def test_the_order_list_filters_by_status_channel_and_hold_and_pages(client, site):
    held = held_order(site)
    news = [
        NewOrder("ACME", (LineInput("CRATE", 1),), reference=f"P-{n:02}")
        for n in range(PAGE_SIZE + 1)
    ]
    desk.create_orders(site, news, CLI, views=False)
    await sign_in(client, "vic")
    on_hold = text_of(await (await client.get("/orders?status=on_hold")).text())
    assert "HELD-1" in on_hold and "P-00" not in on_hold
    unpaid = text_of(await (await client.get("/orders?hold=unpaid&channel=b2b")).text())
    assert "HELD-1" in unpaid and "P-03" not in unpaid
    assert "No order matches" in text_of(
        await (await client.get("/orders?hold=credit_limit")).text()
    )
    first = await (await client.get("/orders?status=open")).text()
    assert first.count('href="/orders/') - first.count('href="/orders/new"') == PAGE_SIZE
    assert "P-25" in first and "P-00" not in first and "HELD-1" not in first
    older = re.search(r'href="(/orders\?[^"]*before=\d+)"', first)
    assert older, "no link to the older orders"
    second = text_of(await (await client.get(unescape(older.group(1)))).text())
    assert "P-00" in second and "P-25" not in second and "Newest" in second
    bad = await client.get("/orders?status=lost")
    assert bad.status == 400 and "unknown status" in text_of(await bad.text())
    assert held.id


async def test_the_order_form_shows_each_error_beside_its_field_and_keeps_the_values(client, site):
    await sign_in(client, "sam")
    page = await (await client.get("/orders/new")).text()
    answer = await client.post(
        "/orders/new",
        data={
            "_csrf": csrf_of(page),
            "account": "ACME",
            "po_number": "PO-77",
            "lines[0].sku": "CRATE",
            "lines[0].quantity": "two",
            "lines[2].sku": "CRATE",
            "lines[2].quantity": "1",
            "lines[2].unit_price": "lots",
            "requested_date": "2026-13-01",
        },
    )
    html = await answer.text()
    assert answer.status == 400
    assert "&#39;two&#39; is not a whole number of units" in html
    assert "&#39;lots&#39; is not an amount" in html
    assert "is not a date" in html
    assert 'value="PO-77"' in html and 'name="lines[2].quantity" value="1"' in html
    unknown = await client.post(
        "/orders/new",
        data={
            "_csrf": csrf_of(page),
            "account": "ACME",
            "lines[1].sku": "CRATE",
            "lines[1].quantity": "1",
            "lines[3].sku": "NOPE",
            "lines[3].quantity": "1",
        },
    )
    html = await unknown.text()
    assert unknown.status == 400
    error = re.search(r'id="lines\[3\]\.sku-error">([^<]+)<', html)
    assert error and "NOPE" in unescape(error.group(1))
    nobody = await client.post(
        "/orders/new",
        data={
            "_csrf": csrf_of(page),
            "account": "ZZZ",
            "lines[0].sku": "CRATE",
            "lines[0].quantity": "1",
        },
    )
    assert nobody.status == 400
    assert re.search(r'id="account-error">[^<]*ZZZ', unescape(await nobody.text()))
    everything = await client.post(  # what the desk refuses is shown all at once
        "/orders/new",
        data={
            "_csrf": csrf_of(page),
            "account": "ZZZ",
            "lines[0].sku": "CRATE",
            "lines[0].quantity": "0",
            "lines[1].sku": "NOPE",
            "lines[1].quantity": "1",
        },
    )
    html = unescape(await everything.text())
    assert everything.status == 400
    assert re.search(r'id="account-error">[^<]*ZZZ', html)
    assert re.search(r'id="lines\[0\]\.quantity-error">[^<]*must be from 1', html)
    assert re.search(r'id="lines\[1\]\.sku-error">[^<]*NOPE', html)
    assert desk.list_orders(site).orders == []


async def test_searches_for_the_form_and_the_stock_page(client):
    await sign_in(client, "sam")
    skus = await (await client.get("/desk/skus.json?q=cra")).json()
    crate = next(s for s in skus["skus"] if s["sku"] == "CRATE")
    assert {(x["code"], x["free"]) for x in crate["locations"]} == {("north", 20), ("south", 20)}
    found = await (await client.get("/desk/customers.json?q=acme")).json()
    assert [a["number"] for a in found["accounts"]] == ["ACME"]
    assert found["accounts"][0]["addresses"][0]["text"] == "1 Strand, London, WC2N 5HR"
    stock = text_of(await (await client.get("/stock?search=LID")).text())
    assert "Edinburgh warehouse" in stock and "London warehouse" in stock
    assert "LID Crate lid 3 / 3" in stock and "CRATE" not in stock.split("Channels")[1]


GOOD_CSV = (
    "Order Ref,Account,SKU,Quantity,PO Number\n"
    "IMP-1,ACME,CRATE,2,PO-1\n"
    "IMP-1,ACME,LID,1,PO-1\n"
    "IMP-2,ACME,CRATE,1,PO-2\n"
)
BAD_CSV = (
    "order_ref,account,sku,quantity\n"
    "IMP-1,ACME,CRATE,2\n"
    "IMP-2,ACME,CRATE,2.5\n"
    "IMP-3,NOBODY,NOPE,1\n"
)


async def upload(client: TestClient, token: str, name: str, body: str):
    form = FormData()
    form.add_field("_csrf", token)
    form.add_field("file", body.encode(), filename=name, content_type="text/csv")
    return await client.post("/import", data=form)


async def test_the_import_page_lists_every_bad_row_or_what_it_imported(client, site):
    await sign_in(client, "sam")
    token = csrf_of(await (await client.get("/import")).text())
    bad = await upload(client, token, "bad.csv", BAD_CSV)
    page = text_of(await bad.text())
    assert bad.status == 400 and "Nothing was imported from bad.csv" in page
    assert "2 bad rows" in page
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td>', await bad.text())
    assert {r for r, _ in rows} == {"3", "4"} and len(rows) >= 3
    assert desk.list_orders(site).orders == []

    good = await upload(client, token, "day.csv", GOOD_CSV)
    page = text_of(await good.text())
    assert good.status == 200 and "Imported: day.csv" in page
    assert "3 rows, 2 orders: 2 new, 0 already there" in page
    again = text_of(await (await upload(client, token, "day.csv", GOOD_CSV)).text())
    assert "Already imported: day.csv" in again and "0 new, 2 already there" in again
    imported = desk.list_orders(site).orders
    assert sorted(o.external_id for o in imported) == ["IMP-1", "IMP-2"]
    assert all(e.origin == "import" for o in imported for e in o.history if e.actor)
    template = await client.get("/import/template.csv")
    assert template.status == 200 and (await template.text()).startswith("order_ref,")


async def test_a_failing_channel_is_said_to_fail_since_its_last_success(client, site):
    since = datetime.now(UTC) - timedelta(minutes=10, seconds=5)
    site.write(
        lambda c: [
            syncstate.save_state(c, "b2b", "pull", last_success_at=since),
            syncstate.record_failure(c, "b2b", "pull", "HTTP 503 from the shop"),
        ]
    )
    page = text_of(await sign_in(client, "vic"))
    assert "b2b: failing for 10 minutes: HTTP 503 from the shop" in page


def test_a_synced_channel_in_step_and_one_catching_up_in_words(sqlite_site):
    at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # summer: London is UTC+1
    synced = ChannelStatus("shop", last_pull=at - timedelta(seconds=30))
    words = channel_words(synced, "shopify", at - timedelta(minutes=2), sqlite_site, at)
    assert words.words == "in step, last order 2 minutes ago" and words.state == "ok"
    behind = ChannelStatus("woo", last_push=at - timedelta(hours=1), outbox=3, dead_letters=1)
    words = channel_words(behind, "woocommerce", at - timedelta(days=1, hours=2), sqlite_site, at)
    assert words.words == (
        "catching up (3 stock changes to send, 1 dead letter to look at), "
        "last order yesterday, 11:00"  # 10:00 UTC, in the merchant's zone
    )
    pushes_fail = ChannelStatus(
        "shop",
        last_pull=at - timedelta(seconds=30),  # pulling still works
        last_push=at - timedelta(hours=3),
        failures={"pull": 0, "push": 7},
        errors={"push": "HTTP 429"},
    )
    words = channel_words(pushes_fail, "shopify", None, sqlite_site, at)
    assert words.words == "failing for 3 hours: HTTP 429" and words.state == "failing"
    new = channel_words(ChannelStatus("new"), "shopify", None, sqlite_site, at)
    assert new.words == "not synced yet, no orders yet" and new.state == "idle"


async def test_repeated_failures_for_one_name_are_answered_ever_more_slowly(client):
    async def attempt(password: str) -> tuple[int, float]:
        form = await (await client.get("/sign-in")).text()
        began = time.monotonic()
        answer = await client.post(
            "/sign-in", data={"username": "ada", "password": password, "_csrf": csrf_of(form)}
        )
        return answer.status, time.monotonic() - began

    times = [await attempt(f"guess {n}") for n in range(4)]
    assert [status for status, _ in times] == [401] * 4
    assert times[3][1] >= 0.9 and times[3][1] > times[0][1]
    status, _ = await attempt(PASSWORD)  # the right password still works, only later
    assert status == 200


async def test_the_customer_may_be_named_by_number_in_any_case_or_by_name(client, site):
    await sign_in(client, "sam")
    token = csrf_of(await (await client.get("/orders/new")).text())
    made = []
    for typed in ("acme", "Acme Ltd", "CASH — Cash Customer"):
        answer = await client.post(
            "/orders/new",
            data={
                "_csrf": token,
                "account": typed,
                "lines[0].sku": "CRATE",
                "lines[0].quantity": "1",
                "paid": "yes",
            },
        )
        assert answer.status == 200, typed
        made.append(text_of(await answer.text()))
    assert "entered for Acme Ltd" in made[0] and "entered for Acme Ltd" in made[1]
    assert "entered for Cash Customer" in made[2]
    accounts = sorted(o.account_number for o in desk.list_orders(site).orders)
    assert accounts == ["ACME", "ACME", "CASH"]


async def test_an_order_no_single_warehouse_can_serve_shows_its_shipments(client, site):
    order = desk.create_order(
        site, NewOrder("ACME", (LineInput("CRATE", 25),), reference="BIG-1"), CLI
    )
    await sign_in(client, "vic")
    page = text_of(await (await client.get(f"/orders/{order.id}")).text())
    assert "Split into 2 shipments, from Edinburgh warehouse and London warehouse." in page
    assert "London warehouse south CRATE 20" in page
    assert "Edinburgh warehouse north CRATE 5" in page


async def test_disabling_a_user_ends_their_open_session(client, site):
    await sign_in(client, "sam")
    assert (await client.get("/orders", allow_redirects=False)).status == 200
    site.write(lambda c: users.disable_user(c, "sam"))
    answer = await client.get("/orders", allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"].startswith("/sign-in")


def test_the_sign_in_failures_kept_stay_bounded_and_forget_the_stale_first():
    at = time.monotonic()
    failures = {f"user:old{n}": deque([at - 2 * auth._WINDOW]) for n in range(auth._MOST_KEYS)}
    failures["user:ada"] = deque([at - 60.0] * 3)
    auth._failed(failures, ["user:new", "ip:10.0.0.1"])
    assert set(failures) == {"user:ada", "user:new", "ip:10.0.0.1"}
    assert len(failures["user:ada"]) == 3  # the name under attack keeps its count
    fresh = {f"ip:{n}": deque([at]) for n in range(auth._MOST_KEYS + 1)}
    auth._failed(fresh, ["user:x"])
    assert set(fresh) == {"user:x"}  # all recent: the table starts again rather than grow
