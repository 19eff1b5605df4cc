"""hub.rest: the REST plumbing channel adapters share, against a real local HTTP server."""

from __future__ import annotations

import asyncio
import base64
import time
from email.utils import formatdate

import pytest
from aiohttp import web

from hub.errors import ChannelError
from hub.rest import (
    RestClient,
    answer_error,
    batches,
    decode_cursor,
    encode_cursor,
    paged,
    retry_after,
)
from hub.sandbox import Faults, SandboxServer, fault_middleware


@pytest.fixture
def service():
    faults = Faults()
    seen: list[dict] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append({"query": dict(request.query), "auth": request.headers.get("X-Key")})
        return web.json_response({"ok": True, "query": dict(request.query)})

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": "quantity must be >= 0"}, status=422)

    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    app = web.Application(middlewares=[fault_middleware(faults)])
    app.router.add_get("/echo", echo)
    app.router.add_post("/refuse", refuse)
    app.router.add_post("/empty", empty)
    app.router.add_get("/slow", slow)
    with SandboxServer(app) as server:
        yield server, faults, seen


def test_a_good_answer_is_decoded_and_none_params_left_out(service):
    server, _, seen = service
    client = RestClient(server.url + "/", service="Acme", headers={"X-Key": "k"})
    assert client.get("/echo", a="1", b=None)["query"] == {"a": "1"}
    assert seen == [{"query": {"a": "1"}, "auth": "k"}]
    assert client.post("/empty", {"x": 1}) is None
    assert client.calls == 2
    client.close()


def test_answers_are_classified_retryable_or_not(service):
    server, faults, _ = service
    client = RestClient(server.url, service="Acme")
    faults.retry_after = 3
    faults.rate_limited = 1
    with pytest.raises(ChannelError) as limited:
        client.get("/echo")
    assert (limited.value.retryable, limited.value.retry_after, limited.value.status) == (
        True,
        3.0,
        429,
    )
    faults.server_errors = 1
    with pytest.raises(ChannelError) as down:
        client.get("/echo")
    assert down.value.retryable and down.value.status == 503
    with pytest.raises(ChannelError) as refused:
        client.post("/refuse", {"quantity": -1})
    assert not refused.value.retryable and refused.value.status == 422
    assert "Acme answered 422 to POST /refuse" in str(refused.value)
    assert "quantity must be >= 0" in str(refused.value)
    faults.malformed = 1
    with pytest.raises(ChannelError, match="not JSON") as garbled:
        client.get("/echo")
    assert garbled.value.retryable


def test_a_time_out_and_a_closed_port_are_retryable(service):
    server, _, _ = service
    with pytest.raises(ChannelError, match="did not answer GET /slow within 0.2s") as late:
        RestClient(server.url, service="Acme", timeout=0.2).get("/slow")
    assert late.value.retryable
    with pytest.raises(ChannelError, match="cannot reach Acme") as gone:
        RestClient("http://127.0.0.1:9", service="Acme", timeout=2).get("/echo")
    assert gone.value.retryable


def test_credentials_refused_say_so():
    error = answer_error("Acme", "GET", "/v1/me", 401, {}, '{"error": "invalid API key"}')
    assert error is not None and not error.retryable
    assert "check the credentials" in str(error) and "invalid API key" in str(error)
    assert answer_error("Acme", "GET", "/", 200, {}, "") is None


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after("2.5") == 2.5
    assert retry_after(None) is None and retry_after("soon") is None
    now = time.time()
    assert retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_cursors_round_trip_and_a_foreign_one_is_refused():
    state = {"since": "2026-11-02T10:00:00+00:00", "after": "abc"}
    cursor = encode_cursor(state)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == state
    not_a_mapping = base64.urlsafe_b64encode(b"[1, 2]").decode()
    for foreign in ("not a cursor!", not_a_mapping):
        with pytest.raises(ChannelError, match="unreadable cursor") as refused:
            decode_cursor(foreign)
        assert not refused.value.retryable


def test_paged_walks_until_no_next_cursor_and_resumes():
    pages = {None: ([1, 2], "b"), "b": ([3, 4], "c"), "c": ([5], None)}
    asked: list[str | None] = []

    def fetch(after):
        asked.append(after)
        return pages[after]

    assert list(paged(fetch)) == [([1, 2], "b"), ([3, 4], "c"), ([5], None)]
    assert asked == [None, "b", "c"]
    assert list(paged(fetch, "c")) == [([5], None)]
    assert list(paged(lambda after: ([1], "same"), "same")) == [([1], None)]  # no endless loop


def test_batches_split_in_order():
    assert list(batches(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([], 3)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(batches([1], 0))
