"""The REST API's orders, stock, products and customers, and every bad input answered
4xx naming the field (never a 500); on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import Api

from hub.core import customers
from hub.core.models import order_t


def count_orders(api: Api) -> int:
    return api.hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_t)))


def level(api: Api, sku: str, location: str = "main") -> dict:
    answer = api.call("GET", "/stock", params={"sku": sku, "location": location})
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["levels"]
    return row


def test_creating_a_b2b_order_reserves_its_stock_and_records_who(api: Api):
    made = api.create(
        ("MUG", 3),
        ("TEE", 2),
        po_number="PO-77",
        requested_date="2026-12-03",
        window_start="09:00",
        window_end="12:00",
        notes="ring twice",
    )
    assert made["status"] == "open" and made["channel"] == "b2b"
    assert made["account_number"] == "C-1" and made["customer_name"] == "Corner Café"
    assert made["po_number"] == "PO-77" and made["requested_date"] == "2026-12-03"
    assert made["window_start"] and made["window_end"] > made["window_start"]
    assert [(line["sku"], line["quantity"]) for line in made["lines"]] == [("MUG", 3), ("TEE", 2)]
    assert sum(a["quantity"] for a in made["allocation"] if a["sku"] == "MUG") == 3
    assert made["warnings"] == []
    (event,) = made["history"]
    assert (event["actor"], event["origin"]) == ("api:sales-token", "api")
    assert level(api, "MUG")["reserved"] == 3
    shown = api.call("GET", f"/orders/{made['id']}").json()
    assert shown == {k: v for k, v in made.items() if k != "warnings"}
    by_ref = api.call("GET", f"/orders/b2b:{made['external_id']}")
    assert by_ref.status_code == 200 and by_ref.json()["id"] == made["id"]


def test_orders_list_filters_and_pages_with_a_cursor(api: Api):
    api.hub.write(lambda c: customers.create_account(c, "C-2", "Other Ltd", payment_terms_days=14))
    ids = [api.create(("MUG", 1))["id"] for _ in range(5)]
    other = api.create(("MUG", 1), account="C-2")["id"]
    till = api.create(("TEE", 1), channel="till")["id"]
    assert api.call("POST", f"/orders/{ids[1]}/hold", {"reason": "check credit"}).ok
    assert api.call("POST", f"/orders/{ids[2]}/cancel", {"reason": "by phone"}).ok

    seen, cursor, pages = [], None, 0
    while True:
        page = api.call(
            "GET", "/orders", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [o["id"] for o in body["orders"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([*ids, other, till], reverse=True) and pages == 3

    def found(**params: str) -> list[int]:
        answer = api.call("GET", "/orders", params=params)
        assert answer.status_code == 200, answer.text
        return [o["id"] for o in answer.json()["orders"]]

    assert found(status="on_hold") == [ids[1]]
    assert found(status="cancelled") == [ids[2]]
    assert found(hold="CREDIT") == [ids[1]]
    assert found(channel="till") == [till]
    assert found(account="C-2") == [other]
    assert found(account="C-2", status="cancelled") == []


def test_an_unknown_order_is_404(api: Api):
    for ref in ("999999", "b2b:NOPE"):
        answer = api.call("GET", f"/orders/{ref}")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    missing = api.call("POST", "/orders/999999/cancel", {"reason": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "ref"


def test_editing_an_order_moves_its_reservation(api: Api):
    made = api.create(("MUG", 2))
    edited = api.call(
        "PATCH",
        f"/orders/{made['id']}",
        {
            "lines": [{"sku": "MUG", "quantity": 5}, {"sku": "TEE", "quantity": 1}],
            "po_number": "PO-9",
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert [(x["sku"], x["quantity"]) for x in body["lines"]] == [("MUG", 5), ("TEE", 1)]
    assert body["po_number"] == "PO-9"
    assert level(api, "MUG")["reserved"] == 5
    assert body["history"][-1]["origin"] == "api"


def test_hold_release_and_cancel_are_in_the_history_with_who_and_why(api: Api):
    made = api.create(("MUG", 2))
    ref = made["id"]
    held = api.call("POST", f"/orders/{ref}/hold", {"reason": "customer asked to wait"})
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "on_hold"
    assert held.json()["holds"] == [
        {"code": "manual", "reason": "customer asked to wait", "overridable": True}
    ]
    again = api.call("POST", f"/orders/{ref}/hold", {"reason": "twice"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    released = api.call("POST", f"/orders/{ref}/release", {"note": "customer is ready"})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "open"
    not_held = api.call("POST", f"/orders/{ref}/release", {"note": "again"})
    assert not_held.status_code == 409 and "not on hold" in not_held.json()["error"]["message"]

    cancelled = api.call("POST", f"/orders/{ref}/cancel", {"reason": "customer changed mind"})
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert level(api, "MUG")["reserved"] == 0
    notes = [(e["status"], e["actor"], e["origin"]) for e in body["history"]]
    assert notes[1:] == [
        ("on_hold", "api:sales-token", "api"),
        *[(s, "api:sales-token", "api") for s, _, _ in notes[2:-1]],
        ("cancelled", "api:sales-token", "api"),
    ]
    text = " ".join(e["note"] for e in body["history"])
    assert "customer asked to wait" in text and "customer is ready" in text
    assert "customer changed mind" in text


def test_returns_restock_or_quarantine_shipped_units(api: Api):
    made = api.create(("MUG", 4))
    api.hub.ship(str(made["id"]), "dhl", "T1")
    assert level(api, "MUG")["on_hand"] == 46
    back = api.call(
        "POST",
        f"/orders/{made['id']}/returns",
        {"lines": [{"sku": "MUG", "quantity": 1}], "to_location": "store"},
    )
    assert back.status_code == 200, back.text
    assert back.json()["lines"][0]["returned_quantity"] == 1
    assert level(api, "MUG", "store")["on_hand"] == 1
    broken = api.call(
        "POST",
        f"/orders/{made['id']}/returns",
        {"lines": [{"sku": "MUG", "quantity": 2}], "to_location": "main", "damaged": True},
    )
    assert broken.status_code == 200, broken.text
    assert level(api, "MUG", "quarantine")["on_hand"] == 2
    too_many = api.call(
        "POST",
        f"/orders/{made['id']}/returns",
        {"lines": [{"sku": "MUG", "quantity": 5}], "to_location": "main"},
    )
    assert too_many.status_code == 422 and too_many.json()["error"]["field"].startswith("/lines/0")
    nowhere = api.call(
        "POST",
        f"/orders/{made['id']}/returns",
        {"lines": [{"sku": "MUG", "quantity": 1}], "to_location": "nowhere"},
    )
    assert 400 <= nowhere.status_code < 500, nowhere.text
    assert nowhere.json()["error"]["field"] == "/to_location"


def test_stock_levels_and_availability_per_channel(api: Api):
    api.create(("TEE", 2), channel="till")  # the till sells from the store only
    levels = api.call("GET", "/stock", params={"limit": 2})
    body = levels.json()
    assert [(r["sku"], r["location"]) for r in body["levels"]] == [("MUG", "main"), ("TEE", "main")]
    rest = api.call("GET", "/stock", params={"limit": 2, "cursor": body["next_cursor"]}).json()
    assert (
        rest["levels"]
        == [{"sku": "TEE", "location": "store", "on_hand": 5, "reserved": 2, "free": 3}]
        and rest["next_cursor"] is None
    )
    b2b = api.call("GET", "/stock/availability/b2b").json()["availability"]
    assert b2b == [{"sku": "MUG", "available": 50}, {"sku": "TEE", "available": 13}]
    till = api.call("GET", "/stock/availability/till", params={"sku": "TEE"}).json()
    assert till["availability"] == [{"sku": "TEE", "available": 3}]
    unknown = api.call("GET", "/stock/availability/nowhere")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "channel"


def test_products_and_customers(api: Api):
    products = api.call("GET", "/products", params={"limit": 1}).json()
    assert [p["sku"] for p in products["products"]] == ["MUG"]
    more = api.call("GET", "/products", params={"cursor": products["next_cursor"]}).json()
    assert [p["sku"] for p in more["products"]] == ["TEE"] and more["next_cursor"] is None
    assert [
        p["sku"] for p in api.call("GET", "/products", params={"search": "te"}).json()["products"]
    ] == ["TEE"]
    assert api.call("GET", "/products/MUG").json()["name"] == "Mug"
    assert api.call("GET", "/products/NOPE").status_code == 404

    listed = api.call("GET", "/customers").json()["customers"]
    assert [c["account_number"] for c in listed] == ["C-1"]
    shown = api.call("GET", "/customers/C-1").json()
    assert shown["payment_terms_days"] == 30 and shown["addresses"][0]["postcode"] == "N1 1AA"
    assert api.call("GET", "/customers/C-404").status_code == 404
    made = api.call(
        "POST",
        "/customers",
        {"account_number": "C-2", "name": "Two Ltd", "credit_limit": "500.00"},
        as_="admin",
    )
    assert made.status_code == 201 and made.json()["credit_limit"] == "500.0000"
    taken = api.call("POST", "/customers", {"account_number": "C-2", "name": "Again"}, as_="admin")
    assert taken.status_code == 409 and taken.json()["error"]["field"] == "/account_number"
    api.hub.write(lambda c: customers.add_contact(c, "C-1", "Ann", email="ann@example.com"))
    api.hub.write(lambda c: customers.add_contact(c, "C-2", "Bob", role="buyer"))
    listed = api.call("GET", "/customers").json()["customers"]
    assert listed == [api.call("GET", f"/customers/{n}").json() for n in ("C-1", "C-2")]
    assert [[x["name"] for x in c["contacts"]] for c in listed] == [["Ann"], ["Bob"]]
    assert [len(c["addresses"]) for c in listed] == [1, 0]


GOOD = {"account": "C-1", "lines": [{"sku": "MUG", "quantity": 1}, {"sku": "TEE", "quantity": 1}]}


def with_(**changes: object) -> dict:
    body = json.loads(json.dumps(GOOD))
    body.update(changes)
    return body


def line(n: int, **changes: object) -> dict:
    body = with_()
    body["lines"][n].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        (line(0, quantity=0), 422, "/lines/0/quantity", "greater than 0"),
        (line(1, quantity=-2), 422, "/lines/1/quantity", "greater than 0"),
        (line(0, quantity="lots"), 422, "/lines/0/quantity", "integer"),
        (line(0, quantity=2.5), 422, "/lines/0/quantity", "integer"),
        (line(1, sku="NOPE"), 422, "/lines/1/sku", "NOPE"),
        (line(0, unit_price="abc"), 422, "/lines/0/unit_price", "decimal"),
        (with_(lines=[]), 422, "/lines", "at least 1"),
        (with_(account="C-404"), 422, "/account", "C-404"),
        (with_(bogus=1), 422, "/bogus", "unknown field"),
        (line(0, colour="red"), 422, "/lines/0/colour", "unknown field"),
        (
            with_(requested_date="2026-12-03", window_start="12:00", window_end="09:00"),
            422,
            "/window_end",
            "before it starts",
        ),
        (with_(requested_date="2026-02-30"), 422, "/requested_date", "date"),
        ({"lines": GOOD["lines"]}, 422, "/account", "required"),
        ([1, 2], 422, "body", "valid"),
    ],
)
def test_bad_order_bodies_are_4xx_naming_the_field(api: Api, body, status, field, words):
    answer = api.call("POST", "/orders", body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field, error
    assert words.lower() in error["message"].lower(), error
    assert count_orders(api) == 0


@pytest.mark.parametrize(
    ("data", "headers", "status", "field"),
    [
        (b'{"account": "C-1", "lines": [', {}, 400, "body"),
        (b"\xff\xfe not text", {}, 400, "body"),
        (b"{}" + b" " * (1024 * 1024), {}, 413, "body"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "body"),
    ],
)
def test_bodies_that_are_not_json_or_too_big_are_4xx(api: Api, data, headers, status, field):
    answer = api.call("POST", "/orders", data=data, headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field
    assert count_orders(api) == 0


def test_the_idempotency_key_header_is_required_and_bounded(api: Api):
    missing = api.call("POST", "/orders", GOOD, key=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "Idempotency-Key"
    assert "Idempotency-Key header is required" in missing.json()["error"]["message"]
    long = api.call("POST", "/orders", GOOD, key="k" * 256)
    assert long.status_code == 400 and "over 255" in long.json()["error"]["message"]
    assert api.call("POST", "/orders", GOOD, key="k" * 255).status_code == 201


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 500}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"status": "lost"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_list_parameters_are_400_naming_them(api: Api, params, field):
    answer = api.call("GET", "/orders", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_bad_action_bodies_are_4xx(api: Api):
    made = api.create(("MUG", 1))
    ref = made["id"]
    cases = [
        ("POST", f"/orders/{ref}/hold", {}, "/reason"),
        ("POST", f"/orders/{ref}/cancel", {"reason": ""}, "/reason"),
        ("POST", f"/orders/{ref}/returns", {"lines": [], "to_location": "main"}, "/lines"),
        (
            "PATCH",
            f"/orders/{ref}",
            {"lines": [{"sku": "MUG", "quantity": 0}]},
            "/lines/0/quantity",
        ),
        ("PATCH", f"/orders/{ref}", {"lines": [{"sku": "GHOST", "quantity": 1}]}, "/lines/0/sku"),
        (
            "PATCH",
            f"/orders/{ref}",
            {"window_start": "10:00", "window_end": "08:00"},
            "/window_end",
        ),
    ]
    for method, path, body, field in cases:
        answer = api.call(method, path, body)
        assert 400 <= answer.status_code < 500, (path, body, answer.text)
        assert answer.json()["error"]["field"] == field, (path, body, answer.text)
    assert api.call("GET", f"/orders/{ref}").json()["status"] == "open"


def test_unknown_paths_and_methods_are_json_4xx(api: Api):
    nowhere = api.call("GET", "/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"
    wrong = api.call("DELETE", "/orders")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_a_persons_hold_stays_when_held_orders_are_decided_again(api: Api):
    made = api.create(("MUG", 2))
    assert api.call("POST", f"/orders/{made['id']}/hold", {"reason": "wait"}).ok
    assert api.hub.recheck_holds(actor="test") == {"on_hold": 1}
    shown = api.call("GET", f"/orders/{made['id']}").json()
    assert (shown["status"], shown["hold_reason"]) == ("on_hold", "manual: wait")
    assert level(api, "MUG")["reserved"] == 2  # a held order keeps its stock
    released = api.call("POST", f"/orders/{made['id']}/release", {"note": "go"})
    assert released.json()["status"] == "open"
    assert api.hub.recheck_holds(actor="test") == {}
    assert api.call("GET", f"/orders/{made['id']}").json()["status"] == "open"


def test_a_taken_reference_is_409_and_a_channel_that_is_not_manual_422(api: Api):
    api.create(("MUG", 1), reference="R-1")
    again = api.call("POST", "/orders", with_(reference="R-1"))
    assert again.status_code == 409, again.text
    assert again.json()["error"]["field"] == "/reference"
    elsewhere = api.call("POST", "/orders", with_(channel="shopify"))
    assert elsewhere.status_code == 422, elsewhere.text
    assert elsewhere.json()["error"]["field"] == "/channel"
    assert "not a manual channel" in elsewhere.json()["error"]["message"]
    assert count_orders(api) == 1
