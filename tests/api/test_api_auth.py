"""API tokens: ``hub tokens create/list/revoke`` as a user runs them, bearer
authentication (401) and what each role may do (403)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import run_hub
from conftest import Api, serve, served_api

from hub.core import tokens
from hub.core.models import api_token_t, customer_account_t, order_t
from hub.core.runtime import Hub
from hub.errors import Conflict

HUB = [sys.executable, "-m", "hub.cli"]


def hub_cli(*args: str, cwd: Path, script: bool = False) -> subprocess.CompletedProcess:
    """``hub args`` in this process, or with ``script`` in a process of its own."""
    if not script:
        return run_hub(*args, cwd=cwd)
    return subprocess.run(
        [*HUB, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    done = hub_cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_tokens_create_prints_the_token_once_and_stores_only_its_hash(workdir):
    made = hub_cli("tokens", "create", "erp", "--role", "sales", cwd=workdir, script=True)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("hub_") and len(token) > 40
    assert "shown only now" in made.stderr

    listed = hub_cli("tokens", "list", cwd=workdir)
    assert listed.returncode == 0
    assert "erp" in listed.stdout and "sales" in listed.stdout and token[:12] in listed.stdout
    assert token not in listed.stdout
    with Hub.open(workdir / "config" / "hub.toml") as hub:
        (row,) = hub.read(lambda c: c.execute(sa.select(api_token_t)).mappings().all())
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["prefix"] == token[:12]
    assert token not in {str(v) for v in row.values()}


def test_tokens_create_refuses_a_taken_name_and_an_unknown_role_in_one_line(workdir):
    assert hub_cli("tokens", "create", "erp", cwd=workdir).returncode == 0
    again = hub_cli("tokens", "create", "erp", "--role", "admin", cwd=workdir)
    assert again.returncode == 1
    assert again.stderr.strip() == "error: a token named 'erp' exists; choose another name"
    role = hub_cli("tokens", "create", "shop", "--role", "boss", cwd=workdir)
    assert role.returncode == 1
    assert role.stderr.strip() == "error: role 'boss' is not one of admin, sales, viewer"
    unknown = hub_cli("tokens", "revoke", "nobody", cwd=workdir)
    assert unknown.returncode == 1
    assert "no API token named 'nobody'" in unknown.stderr


def test_a_taken_token_name_is_a_conflict_and_stores_nothing(hub: Hub):
    hub.write(lambda c: tokens.create_token(c, "erp", "sales"))

    def again_then_another(conn: sa.Connection) -> None:
        with pytest.raises(Conflict, match="a token named 'erp' exists"):
            tokens.create_token(conn, "erp", "admin")
        tokens.create_token(conn, "shop", "viewer")  # the transaction goes on

    hub.write(again_then_another)
    assert [(t.name, t.role) for t in hub.read(tokens.list_tokens)] == [
        ("erp", "sales"),
        ("shop", "viewer"),
    ]


def erp_row(workdir: Path) -> str:
    listed = hub_cli("tokens", "list", cwd=workdir).stdout.splitlines()
    return next(line for line in listed if " erp " in line)


def test_a_cli_token_opens_the_api_until_it_is_revoked(workdir):
    token = hub_cli("tokens", "create", "erp", "--role", "viewer", cwd=workdir).stdout.strip()
    hub = Hub.open(workdir / "config" / "hub.toml")
    server, api = serve(hub)
    try:
        api.tokens["erp"] = token
        assert api.call("GET", "/orders", as_="erp").status_code == 200
        assert erp_row(workdir).count("UTC") == 2  # created, last used

        revoked = hub_cli("tokens", "revoke", "erp", cwd=workdir)
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        refused = api.call("GET", "/orders", as_="erp")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "the API token is unknown or revoked"
        assert erp_row(workdir).count("UTC") == 3  # created, last used, revoked
    finally:
        server.stop()
        hub.close()


def test_with_the_token_cache_a_revoked_token_is_refused_within_its_seconds(sqlite_url):
    with served_api(sqlite_url, token_cache_seconds=3.0) as api:
        started = time.monotonic()
        assert api.call("GET", "/orders", as_="viewer").status_code == 200
        used = sa.select(api_token_t.c.last_used_at).where(api_token_t.c.name == "viewer-token")
        assert api.hub.read(lambda c: c.scalar(used)) is not None
        api.hub.write(lambda c: tokens.revoke_token(c, "viewer-token"))
        assert api.call("GET", "/orders", as_="viewer").status_code == 200  # from the cache
        while api.call("GET", "/orders", as_="viewer").status_code == 200:
            assert time.monotonic() - started < 3.5  # its 3 s, and a moment to answer
            time.sleep(0.05)
        assert api.call("GET", "/orders", as_="sales").status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer nonsense", "Bearer hub_" + "x" * 43],
)
def test_no_token_or_a_bad_one_is_401_naming_the_header(api: Api, header):
    headers = {} if header is None else {"Authorization": header}
    answer = api.call("GET", "/orders", as_="", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    error = answer.json()["error"]
    assert error["code"] == "unauthorized" and error["field"] == "Authorization"


def orders(api: Api) -> int:
    return api.hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_t)))


ORDER = {"account": "C-1", "lines": [{"sku": "MUG", "quantity": 1}]}


def test_a_viewer_reads_but_may_not_change_anything(api: Api):
    for path in ("/orders", "/stock", "/stock/availability/b2b", "/products", "/customers"):
        assert api.call("GET", path, as_="viewer").status_code == 200, path
    made = api.create(("MUG", 1))
    for method, path, body in [
        ("POST", "/orders", ORDER),
        ("PATCH", f"/orders/{made['id']}", {"notes": "x"}),
        ("POST", f"/orders/{made['id']}/hold", {"reason": "x"}),
        ("POST", f"/orders/{made['id']}/cancel", {"reason": "x"}),
        ("POST", "/customers", {"account_number": "C-9", "name": "Nine"}),
    ]:
        answer = api.call(method, path, body, as_="viewer")
        assert answer.status_code == 403, (method, path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and "'viewer-token' (viewer)" in error["message"]
    assert orders(api) == 1
    assert api.call("GET", f"/orders/{made['id']}", as_="viewer").json()["status"] == "open"


def test_sales_works_orders_but_only_an_admin_adds_customers(api: Api):
    assert api.call("POST", "/orders", ORDER, as_="sales").status_code == 201
    customer = {"account_number": "C-9", "name": "Nine Ltd"}
    refused = api.call("POST", "/customers", customer, as_="sales")
    assert refused.status_code == 403
    assert "may not create a customer" in refused.json()["error"]["message"]
    accounts = sa.select(sa.func.count()).select_from(customer_account_t)
    assert api.hub.read(lambda c: c.scalar(accounts)) == 1
    made = api.call("POST", "/customers", customer, as_="admin")
    assert made.status_code == 201 and made.json()["account_number"] == "C-9"
    assert api.call("POST", "/orders", ORDER, as_="admin").status_code == 201
    assert orders(api) == 2


def test_a_refused_role_does_not_use_up_the_idempotency_key(api: Api):
    key = uuid.uuid4().hex
    assert api.call("POST", "/orders", ORDER, as_="viewer", key=key).status_code == 403
    assert api.call("POST", "/orders", ORDER, as_="viewer", key=key).status_code == 403
    assert orders(api) == 0
