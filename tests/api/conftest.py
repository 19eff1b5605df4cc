"""A hub with a manual ``b2b`` channel, stock, a customer account and one API token per
role, served over real HTTP on loopback (the whole web app, the API under /api/v1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from builders import make_hub

from hub.core import customers, ledger, tokens
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.orders import Address
from hub.sandbox import SandboxServer
from hub.web.api.machinery import API_KEY
from hub.web.app import make_app

CHANNELS = {
    "b2b": {"type": "manual", "locations": ["main", "store"]},
    "till": {"type": "manual", "locations": ["store"]},
}


@dataclass
class Api:
    """The served API: ``call`` sends a request as one of the tokens."""

    hub: Hub
    url: str
    tokens: dict[str, str]
    session: requests.Session = field(default_factory=requests.Session)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str = "sales",
        key: str | None = "auto",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {self.tokens[as_]}"} if as_ else {}
        if key == "auto":
            key = uuid.uuid4().hex if method in ("POST", "PATCH", "DELETE") else None
        if key is not None:
            sent["Idempotency-Key"] = key
        sent.update(headers or {})
        return self.session.request(
            method,
            f"{self.url}/api/v1{path}",
            json=body if data is None else None,
            data=data,
            headers=sent,
            params=params,
            timeout=30,
        )

    def create(self, *lines: tuple[str, int], as_: str = "sales", **fields: Any) -> dict:
        """Create a B2B order of ``lines`` for account C-1; its 201 body."""
        body = {"account": "C-1", "lines": [{"sku": s, "quantity": q} for s, q in lines]}
        body.update(fields)
        answer = self.call("POST", "/orders", body, as_=as_)
        assert answer.status_code == 201, answer.text
        return answer.json()


def open_api_hub(db_url: str, plugins: tuple = (), **settings: Any) -> Hub:
    hub = make_hub(db_url, channels=CHANNELS, plugins=plugins)
    for name, value in settings.items():
        setattr(hub.settings.web, name, value)
    hub.write(
        lambda c: [
            ledger.ensure_product(c, "MUG", name="Mug"),
            ledger.ensure_product(c, "TEE", name="Tee"),
            ledger.receive(c, "MUG", "main", 50),
            ledger.receive(c, "TEE", "main", 10),
            ledger.receive(c, "TEE", "store", 5),
        ]
    )
    hub.write(lambda c: customers.create_account(c, "C-1", "Corner Café", payment_terms_days=30))
    hub.write(
        lambda c: customers.add_address(
            c,
            "C-1",
            Address(
                name="Corner Café",
                line1="1 High St",
                city="London",
                postcode="N1 1AA",
                country="GB",
            ),
            default=True,
        )
    )
    return hub


def made_tokens(hub: Hub) -> dict[str, str]:
    return {
        role: hub.write(lambda c, r=role: tokens.create_token(c, f"{r}-token", r))[0]
        for role in tokens.ROLES
    }


def serve(hub: Hub, token_cache_seconds: float = 0) -> tuple[SandboxServer, Api]:
    """The web app on loopback; without the token cache unless asked (a revoked token
    is refused at once)."""
    app = make_app(Sync(hub))
    app[API_KEY].token_cache_seconds = token_cache_seconds
    server = SandboxServer(app).start()
    return server, Api(hub, server.url, made_tokens(hub))


@contextmanager
def served_api(
    db_url: str, plugins: tuple = (), token_cache_seconds: float = 0, **settings: Any
) -> Iterator[Api]:
    """The API of a stocked hub (:func:`open_api_hub`), served until the block ends."""
    hub = open_api_hub(db_url, plugins, **settings)
    server, client = serve(hub, token_cache_seconds)
    try:
        yield client
    finally:
        server.stop()
        hub.close()


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    """The API of a stocked hub, on SQLite and on PostgreSQL."""
    with served_api(db_url) as client:
        yield client


@pytest.fixture
def sqlite_api(sqlite_url: str) -> Iterator[Api]:
    """The same on SQLite only, for what does not depend on the database."""
    with served_api(sqlite_url) as client:
        yield client
