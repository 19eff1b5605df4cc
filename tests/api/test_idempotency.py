"""Idempotency keys: a retry gets the first answer and creates nothing; another body
with the key is a 422; two requests racing with one key make one order; a first attempt
that fails with a 5xx leaves the key usable; keys belong to one token; a probable
duplicate PO is flagged. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from conftest import Api, served_api

from hub import Order, hookimpl
from hub.core import idempotency
from hub.core.db import is_sqlite, run_in_transaction
from hub.core.models import idempotency_key_t, order_t

BODY = {"account": "C-1", "lines": [{"sku": "MUG", "quantity": 3}]}


def orders(api: Api) -> list[dict]:
    query = sa.select(order_t.c.id, order_t.c.po_number)
    return [dict(r) for r in api.hub.read(lambda c: c.execute(query).mappings().all())]


def reserved(api: Api, sku: str = "MUG") -> int:
    levels = api.call("GET", "/stock", params={"sku": sku}).json()["levels"]
    return sum(row["reserved"] for row in levels)


def keys(api: Api) -> list[dict]:
    query = sa.select(idempotency_key_t)
    return [dict(r) for r in api.hub.read(lambda c: c.execute(query).mappings().all())]


def test_the_same_key_twice_answers_the_same_and_creates_one_order(api: Api):
    key = uuid.uuid4().hex
    first = api.call("POST", "/orders", BODY, key=key)
    second = api.call("POST", "/orders", BODY, key=key)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(orders(api)) == 1 and reserved(api) == 3
    (row,) = keys(api)
    assert (row["state"], row["response_status"], row["method"]) == ("done", 201, "POST")
    assert row["path"] == "/api/v1/orders"


def test_the_same_key_with_another_body_is_422_and_creates_nothing(api: Api):
    key = uuid.uuid4().hex
    assert api.call("POST", "/orders", BODY, key=key).status_code == 201
    other = {"account": "C-1", "lines": [{"sku": "MUG", "quantity": 4}]}
    answer = api.call("POST", "/orders", other, key=key)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "idempotency_mismatch" and error["field"] == "Idempotency-Key"
    elsewhere = api.call("POST", f"/orders/{orders(api)[0]['id']}/hold", {"reason": "x"}, key=key)
    assert elsewhere.status_code == 422
    assert len(orders(api)) == 1 and reserved(api) == 3
    assert api.call("GET", f"/orders/{orders(api)[0]['id']}").json()["status"] == "open"


def test_a_body_that_differs_only_in_spacing_and_key_order_is_the_same_request(api: Api):
    key = uuid.uuid4().hex
    first = api.call(
        "POST", "/orders", data=b'{"account":"C-1","lines":[{"sku":"MUG","quantity":3}]}', key=key
    )
    again = api.call(
        "POST",
        "/orders",
        data=b'{ "lines": [ {"quantity": 3, "sku": "MUG"} ],\n "account": "C-1" }',
        key=key,
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and len(orders(api)) == 1


class SlowCheck:
    """A check_order plugin that takes two seconds over orders whose notes say "slow"."""

    def __init__(self) -> None:
        self.started = threading.Event()

    @hookimpl
    def check_order(self, order: Order) -> None:
        if order.notes == "slow":
            self.started.set()
            time.sleep(2.0)


@pytest.fixture
def slow_api(db_url: str) -> Iterator[tuple[Api, SlowCheck]]:
    check = SlowCheck()
    with served_api(db_url, plugins=(check,)) as client:
        yield client, check


def test_two_requests_with_one_key_20_ms_apart_make_one_order(slow_api):
    api, check = slow_api
    key = uuid.uuid4().hex
    body = {**BODY, "notes": "slow"}
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(api.call, "POST", "/orders", body, key=key)
        assert check.started.wait(10)  # the first is inside intake, taking its 2 s
        time.sleep(0.02)
        started = time.monotonic()
        second = api.call("POST", "/orders", body, key=key)
        waited = time.monotonic() - started
        first_answer = first.result(30)
    assert first_answer.status_code == 201, first_answer.text
    if second.status_code == 409:
        error = second.json()["error"]
        assert error["code"] == "in_progress" and "in progress" in error["message"]
        assert int(second.headers["Retry-After"]) >= 1
        retried = api.call("POST", "/orders", body, key=key)
        assert retried.status_code == 201 and retried.json() == first_answer.json()
    else:
        assert second.status_code == 201 and second.json() == first_answer.json()
        assert waited > 1.0  # it waited for the first rather than running again
    assert len(orders(api)) == 1 and reserved(api) == 3


def test_an_edit_racing_with_itself_on_one_key_answers_409_in_progress(slow_api):
    api, check = slow_api
    made = api.create(("MUG", 1))
    key = uuid.uuid4().hex
    edit = {"lines": [{"sku": "MUG", "quantity": 2}], "notes": "slow"}
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(api.call, "PATCH", f"/orders/{made['id']}", edit, key=key)
        assert check.started.wait(10)
        time.sleep(0.02)
        second = api.call("PATCH", f"/orders/{made['id']}", edit, key=key)
        assert first.result(30).status_code == 200
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "in_progress"
    assert second.headers["Retry-After"] == "1"
    assert reserved(api) == 2


def install_failure(api: Api) -> None:
    """Orders with PO number BOOM fail inside the database, before intake commits."""

    def work(conn: sa.Connection) -> None:
        if is_sqlite(conn):
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON sales_order WHEN NEW.po_number = 'BOOM' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                "IF NEW.po_number = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON sales_order "
                "FOR EACH ROW EXECUTE FUNCTION boom()"
            )

    run_in_transaction(api.hub.engine, work)


def test_a_first_attempt_failing_with_a_5xx_leaves_the_key_usable(api: Api):
    install_failure(api)
    key = uuid.uuid4().hex
    body = {**BODY, "po_number": "BOOM"}
    failed = api.call("POST", "/orders", body, key=key)
    assert failed.status_code == 500
    error = failed.json()["error"]
    assert error["code"] == "internal" and "boom" not in failed.text.lower()
    assert "Traceback" not in failed.text and "sqlalchemy" not in failed.text.lower()
    assert keys(api) == [] and orders(api) == [] and reserved(api) == 0

    drop = "DROP TRIGGER boom" + ("" if is_sqlite(api.hub.engine) else " ON sales_order")
    run_in_transaction(api.hub.engine, lambda c: c.exec_driver_sql(drop))
    again = api.call("POST", "/orders", body, key=key)
    assert again.status_code == 201, again.text
    assert len(orders(api)) == 1 and reserved(api) == 3


def test_a_failing_order_in_a_batch_fails_alone(api: Api):
    install_failure(api)
    bodies = [{**BODY, "po_number": "BOOM" if n == 3 else f"PO-{n}"} for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: api.call("POST", "/orders", b), bodies))
    assert [a.status_code for a in answers] == [500 if n == 3 else 201 for n in range(8)]
    assert sorted(o["po_number"] for o in orders(api)) == [f"PO-{n}" for n in range(8) if n != 3]
    assert reserved(api) == 21
    assert len(keys(api)) == 7 and {k["state"] for k in keys(api)} == {"done"}


def test_keys_belong_to_one_token(api: Api):
    key = uuid.uuid4().hex
    by_sales = api.call("POST", "/orders", BODY, key=key, as_="sales")
    by_admin = api.call("POST", "/orders", BODY, key=key, as_="admin")
    assert by_sales.status_code == by_admin.status_code == 201
    assert by_sales.json()["id"] != by_admin.json()["id"]
    assert by_admin.json()["history"][0]["actor"] == "api:admin-token"
    assert len(orders(api)) == 2 and reserved(api) == 6
    assert api.call("POST", "/orders", BODY, key=key, as_="admin").json() == by_admin.json()
    assert len(orders(api)) == 2


def test_a_new_key_with_the_same_customer_and_po_is_a_probable_duplicate(api: Api):
    first = api.create(("MUG", 1), po_number="PO-42")
    second = api.create(("MUG", 1), po_number="PO-42")
    (warning,) = second["warnings"]
    assert "probable duplicate PO" in warning and f"order {first['id']}" in warning
    assert f"b2b:{first['external_id']}" in warning
    assert api.create(("MUG", 1), po_number="PO-43")["warnings"] == []
    assert len(orders(api)) == 3


@pytest.fixture
def refusing_api(db_url: str) -> Iterator[Api]:
    with served_api(db_url, duplicate_po="refuse") as client:
        yield client


def test_duplicate_po_refused_when_the_hub_is_set_to(refusing_api: Api):
    api = refusing_api
    first = api.create(("MUG", 1), po_number="PO-42")
    key = uuid.uuid4().hex
    body = {**BODY, "po_number": "PO-42"}
    refused = api.call("POST", "/orders", body, key=key)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["field"] == "/po_number" and f"order {first['id']}" in error["message"]
    assert api.call("POST", "/orders", body, key=key).json() == refused.json()  # stored
    assert len(orders(api)) == 1 and reserved(api) == 1
    api.call("POST", f"/orders/{first['id']}/cancel", {"reason": "entered twice"})
    assert api.call("POST", "/orders", body).status_code == 201  # the first is cancelled


def test_claiming_a_key_is_race_free(hub):
    """Eight claims of one key at the same moment, each in its own transaction: one wins."""
    gate = threading.Barrier(8)

    def claim(n: int) -> idempotency.Outcome:
        def work(conn: sa.Connection) -> idempotency.Outcome:
            gate.wait(10)
            outcome = idempotency.claim(conn, "token:1", "k", "POST", "/api/v1/orders", "h" * 64)
            time.sleep(0.05)  # hold the transaction open while the others insert
            return outcome

        return run_in_transaction(hub.engine, work)

    if is_sqlite(hub.engine):  # one writer at a time: the barrier would wait forever
        gate = threading.Barrier(1)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(claim, range(8)))
    assert sum(isinstance(o, idempotency.Claimed) for o in outcomes) == 1
    assert sum(isinstance(o, idempotency.InProgress) for o in outcomes) == 7
    other = run_in_transaction(
        hub.engine,
        lambda c: idempotency.claim(c, "token:1", "k", "POST", "/api/v1/orders", "x" * 64),
    )
    assert isinstance(other, idempotency.Mismatch)
