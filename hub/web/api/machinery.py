"""What every REST API request goes through: the route table's entries, bearer tokens and
roles, the 1 MiB body limit, validation against the pydantic models, idempotency keys,
and errors as JSON (``{"error": {"code", "message", "field"}}``), never a traceback.

Handlers are plain functions run in a worker thread (they read and write the database);
the event loop only parses headers and moves bytes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from hub.core import idempotency, tokens
from hub.core.db import is_sqlite
from hub.core.runtime import Hub
from hub.errors import Conflict, HubError, InvalidInput, NotFound, StockError
from hub.web.api.batching import Batcher, GroupWriter

log = logging.getLogger("hub.api")
T = TypeVar("T")

MAX_BODY = 1024 * 1024  # 1 MiB
ROLE_RANK = {"viewer": 0, "sales": 1, "admin": 2}
TOUCH_EVERY = 60.0  # seconds between writes of a token's last_used_at
IN_PROGRESS_RETRY_AFTER = 1  # seconds


@dataclass
class ApiConfig:
    """What the API's handlers share."""

    hub: Hub
    token_cache_seconds: float = 0.0  # 0: look the token up on every request
    _tokens: dict[str, tuple[float, tokens.TokenInfo | None]] = field(default_factory=dict)
    _touched: dict[int, float] = field(default_factory=dict)
    # what other route modules keep per API (the driver app's ping writer and sign-ins)
    extras: dict[str, Any] = field(default_factory=dict)
    batcher: Batcher = field(init=False)
    # Handlers wait on the database (and on a batch of orders): more threads than cores.
    executor: ThreadPoolExecutor = field(init=False)

    writer: GroupWriter = field(init=False)

    def __post_init__(self) -> None:
        # SQLite has one writer at a time: the API's threads take turns on a lock of their
        # own rather than sleeping in SQLite's busy handler. PostgreSQL needs none.
        lock = threading.Lock() if is_sqlite(self.hub.engine) else None
        self.batcher = Batcher(self.hub, lock)
        self.writer = GroupWriter(self.hub.engine, lock)
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="hub-api")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in one of the API's worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, work, *args)


API_KEY = web.AppKey("api", ApiConfig)


@dataclass
class Ctx:
    """One request as a handler sees it."""

    api: ApiConfig
    token: tokens.TokenInfo
    params: dict[str, str]
    query: Any = None
    body: Any = None
    data: Any = None  # the body as parsed JSON
    # (scope, key, method, path, request hash) for a batched route to claim itself
    claim: tuple[str, str, str, str, str] | None = None

    @property
    def hub(self) -> Hub:
        return self.api.hub


Handler = Callable[[Ctx], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    """One operation: registered with aiohttp and described in the OpenAPI document."""

    method: str
    path: str  # below /api/v1, aiohttp placeholders: /orders/{ref}
    handler: Handler
    operation_id: str
    summary: str
    role: str  # the least role that may call it
    tag: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    params: dict[str, str] = field(default_factory=dict)  # path parameter: description
    errors: tuple[int, ...] = ()
    batched: bool = False  # claims its idempotency key with its batch (see Ctx.claim)
    # an endpoint of its own instead of :func:`endpoint`'s (the driver app's: signed in as
    # a driver, no Idempotency-Key); ``role`` is then "driver"
    custom: Callable[[Route], Callable[[web.Request], Awaitable[web.Response]]] | None = None

    @property
    def mutating(self) -> bool:
        return self.method in ("POST", "PATCH", "PUT", "DELETE")


class ApiError(Exception):
    """An answer other than success: status, code, message, field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    def body(self) -> str:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> str:
    return json.dumps({"error": {"code": code, "message": message, "field": field}})


def json_answer(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)


# -- cursors ------------------------------------------------------------------------------


def encode_cursor(value: Any) -> str:
    """An opaque cursor for ``value`` (JSON), for ``next_cursor``."""
    raw = json.dumps(["c1", value], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type, size: int | None = None) -> Any:
    """The value :func:`encode_cursor` wrapped, a ``kind`` (a list: of ``size`` items);
    400 naming ``cursor`` for anything else."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, value = json.loads(raw)
    except Exception:
        tag = value = None
    sized = size is None or (isinstance(value, list) and len(value) == size)
    if tag != "c1" or not isinstance(value, kind) or not sized:
        raise ApiError(
            400, "invalid", "cursor is not one this API gave (use next_cursor)", "cursor"
        )
    return value


def paged(rows: list[T], limit: int, key: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """The first ``limit`` of ``rows`` (read ``limit + 1``) and the cursor of the next
    page: ``key`` of the page's last row, or None when there is no more."""
    page = rows[:limit]
    return page, encode_cursor(key(page[-1])) if len(rows) > limit else None


# -- errors -------------------------------------------------------------------------------

_INDEXED = re.compile(r"\[(\d+)\]")


def pointer(field: str | None, data: Any = None, message: str = "") -> str | None:
    """A domain error's field as a JSON pointer into the request body where it is one.

    ``lines[0].quantity`` and ``lines.0.quantity`` are ``/lines/0/quantity``; ``sku``
    names the line whose SKU the message quotes; names of path parameters stay as they are.
    """
    if field is None or field.startswith("/"):
        return field
    if not isinstance(data, dict):
        return field
    name = _INDEXED.sub(r".\1", field).replace("/", ".")
    parts = [p for p in name.split(".") if p]
    if not parts:
        return field
    aliases = {
        "customer": "account",
        "account_number": "account",
        "window": "window_end",
        "to": "to_location",
        "location": "to_location",
    }
    if "account_number" in data:  # creating a customer: its own field
        aliases.pop("account_number")
    head = aliases.get(parts[0], parts[0])
    if head == "to_location" and "to_location" not in data:
        head = parts[0]
    lines = data.get("lines")
    if head in ("sku", "quantity") and isinstance(lines, list):
        for index, line in enumerate(lines):
            sku = line.get("sku") if isinstance(line, dict) else None
            if isinstance(sku, str) and sku and (sku in message or head == "quantity"):
                return f"/lines/{index}/{head}"
        return f"/lines/0/{head}" if len(lines) == 1 else field
    if head in data or head in ("account", "window_end", "lines", "address", "to_location"):
        return "/" + "/".join([head, *parts[1:]])
    return field


def from_validation(error: ValidationError, where: str) -> ApiError:
    """422 naming the first problem: a JSON pointer into the body, or a parameter name."""
    first = error.errors(include_url=False)[0]
    loc = [str(p) for p in first.get("loc", ())]
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        what = "unknown field"
    elif kind == "missing":
        what = "is required"
    else:
        what = first.get("msg", "is not valid")
        what = what.removeprefix("Value error, ")
        what = what[0].lower() + what[1:] if what else what
    if where == "body":
        name = "/" + "/".join(loc) if loc else "body"
        return ApiError(422, "invalid", f"{name}: {what}", name)
    name = loc[0] if loc else where
    return ApiError(400, "invalid", f"{name}: {what}", name)


def from_hub_error(error: HubError, data: Any = None) -> ApiError:
    """The answer for an error the hub raised on purpose."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    # "order" is the order the path names (its {ref}); other fields point into the body
    field = "ref" if error.field == "order" else pointer(error.field, data, message)
    if isinstance(error, NotFound):
        if error.field in (None, "order", "ref"):
            return ApiError(404, "not_found", message, error.field and "ref")
        return ApiError(422, "invalid", message, field)
    if isinstance(error, Conflict):
        return ApiError(409, "conflict", message, field)
    if isinstance(error, StockError):
        return ApiError(409, "conflict", message, field)
    if isinstance(error, InvalidInput):
        return ApiError(422, "invalid", message, field)
    return ApiError(400, "invalid", message, field)


# -- the request's way through -----------------------------------------------------------


async def read_body(request: web.Request) -> bytes:
    """The body, at most :data:`MAX_BODY` bytes; 413 beyond."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is over {MAX_BODY} bytes (1 MiB)", "body")
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "too_large", f"the body is over {MAX_BODY} bytes (1 MiB)", "body")
        chunks.append(chunk)
    return b"".join(chunks)


def _cached_token(api: ApiConfig, presented: str) -> tuple[bool, tokens.TokenInfo | None]:
    """(True, the token or None for an unknown or revoked one) from the short cache,
    without leaving the event loop; (False, None) when the cache is off, does not know
    it, or its use is due to be recorded: then :func:`_token_of` looks it up."""
    if api.token_cache_seconds <= 0:
        return False, None
    clock = time.monotonic()
    cached = api._tokens.get(tokens.token_hash(presented))  # the cache keeps only hashes
    if cached is None or clock - cached[0] >= api.token_cache_seconds:
        return False, None
    info = cached[1]
    if info is not None and clock - api._touched.get(info.id, -TOUCH_EVERY) >= TOUCH_EVERY:
        return False, None
    return True, info


def _token_of(api: ApiConfig, presented: str) -> tokens.TokenInfo | None:
    """The token from the database (None: unknown or revoked), kept in the short cache
    when it is on; records its use at most once a minute. Runs in a worker thread."""
    clock = time.monotonic()
    info = api.hub.read(lambda c: tokens.authenticate(c, presented))
    if api.token_cache_seconds > 0:
        if len(api._tokens) > 1000:
            api._tokens.clear()
        api._tokens[tokens.token_hash(presented)] = (clock, info)
    if info is not None and clock - api._touched.get(info.id, -TOUCH_EVERY) >= TOUCH_EVERY:
        api._touched[info.id] = clock
        try:
            api.writer.run(lambda c: tokens.touch(c, info.id))
        except Exception:  # a read-only database still answers reads
            log.warning("could not record the use of token %s", info.name, exc_info=True)
    return info


async def authenticate(request: web.Request, api: ApiConfig) -> tokens.TokenInfo:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="hub"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send an API token as 'Authorization: Bearer <token>' (hub tokens create)",
            "Authorization",
            challenge,
        )
    known, info = _cached_token(api, presented.strip())
    if not known:
        info = await api.run(_token_of, api, presented.strip())
    if info is None:
        raise ApiError(
            401, "unauthorized", "the API token is unknown or revoked", "Authorization", challenge
        )
    return info


def _parse(route: Route, model: type[BaseModel] | None, data: Any, where: str) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation(error, where) from None


async def _prepare(request: web.Request, route: Route, api: ApiConfig) -> tuple[Ctx, str | None]:
    token = await authenticate(request, api)
    if ROLE_RANK.get(token.role, -1) < ROLE_RANK[route.role]:
        raise ApiError(
            403,
            "forbidden",
            f"the token {token.name!r} ({token.role}) may not {route.summary.lower()}",
            "Authorization",
        )
    params = dict(request.match_info)
    for name, value in params.items():
        if len(value) > 200:
            raise ApiError(404, "not_found", f"{name} is too long to name anything", name)
    query = _parse(route, route.query, dict(request.query), "query")
    ctx = Ctx(api, token, params, query)
    key = None
    if route.mutating:
        key = request.headers.get("Idempotency-Key")
        if key is None or not key.strip():
            raise ApiError(
                400,
                "invalid",
                "the Idempotency-Key header is required on every POST, PATCH and DELETE "
                "(a fresh random value per operation)",
                "Idempotency-Key",
            )
        if len(key) > idempotency.MAX_KEY_LENGTH:
            raise ApiError(
                400,
                "invalid",
                f"the Idempotency-Key header is over {idempotency.MAX_KEY_LENGTH} characters",
                "Idempotency-Key",
            )
        raw = await read_body(request)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise ApiError(400, "invalid", f"the body is not valid JSON: {error}", "body") from None
        ctx.data = data
        ctx.body = _parse(route, route.body, data, "body")
    return ctx, key


Answer = tuple[int, str, dict[str, str]]


def _run(route: Route, ctx: Ctx) -> Answer:
    """The handler's answer as (status, JSON text, headers). Runs in a worker thread."""
    try:
        status, answer = route.handler(ctx)
    except ApiError as error:
        return error.status, error.body(), error.headers
    except HubError as error:
        failure = from_hub_error(error, ctx.data)
        return failure.status, failure.body(), failure.headers
    if isinstance(answer, Prepared):
        return answer.status, answer.text, answer.headers
    return status, answer.model_dump_json(), {}


@dataclass(frozen=True)
class Prepared:
    """An answer a handler made itself (a stored answer replayed, say)."""

    status: int
    text: str
    headers: dict[str, str]


def outcome_answer(outcome: idempotency.Outcome) -> Prepared | None:
    """The answer for a key claimed before (None when this request claimed it)."""
    if isinstance(outcome, idempotency.Replay):
        return Prepared(outcome.status, outcome.body, {"Idempotent-Replayed": "true"})
    if isinstance(outcome, idempotency.InProgress):
        error = ApiError(
            409,
            "in_progress",
            "a request with this key is in progress; retry after it finishes",
            "Idempotency-Key",
            {"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
        )
        return Prepared(error.status, error.body(), error.headers)
    if isinstance(outcome, idempotency.Mismatch):
        error = ApiError(
            422,
            "idempotency_mismatch",
            f"this Idempotency-Key was used for another request ({outcome.method} "
            f"{outcome.path} with another body); use a new key for a new request",
            "Idempotency-Key",
        )
        return Prepared(error.status, error.body(), error.headers)
    return None


def settle(conn: Connection, claim_id: int, status: int, text: str) -> None:
    """Store the answer under the claimed key, or give the key back after a 5xx."""
    if status >= 500:
        idempotency.release(conn, claim_id)
    else:
        idempotency.complete(conn, claim_id, status, text)


def _run_keyed(route: Route, ctx: Ctx, claim: tuple[str, str, str, str, str]) -> Answer:
    """Claim the request's key, run the handler and store its answer under the key; a
    5xx or an exception gives the key back. One worker thread from claim to answer, so
    nothing can stop between them and leave the key claimed."""
    outcome = ctx.api.writer.run(lambda c: idempotency.claim(c, *claim))
    earlier = outcome_answer(outcome)
    if earlier is not None:
        return earlier.status, earlier.text, earlier.headers
    assert isinstance(outcome, idempotency.Claimed)
    claim_id = outcome.id
    try:
        status, text, headers = _run(route, ctx)
    except BaseException:
        ctx.api.writer.run(lambda c: idempotency.release(c, claim_id))
        raise
    ctx.api.writer.run(lambda c: settle(c, claim_id, status, text))
    return status, text, headers


def endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of ``route``."""

    async def handle(request: web.Request) -> web.Response:
        api = request.app[API_KEY]
        try:
            ctx, key = await _prepare(request, route, api)
            if key is None:
                return json_answer(*await api.run(_run, route, ctx))
            digest = idempotency.request_hash(request.method, request.path, ctx.data)
            claim = (f"token:{ctx.token.id}", key, request.method, request.path, digest)
            if route.batched:  # the handler claims the key with its batch
                ctx.claim = claim
                return json_answer(*await api.run(_run, route, ctx))
            return json_answer(*await api.run(_run_keyed, route, ctx, claim))
        except ApiError as error:
            return json_answer(error.status, error.body(), error.headers)

    handle.__name__ = route.operation_id
    return handle


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Any error becomes a JSON answer: aiohttp's own (404, 405, 413) keep their status;
    anything unexpected is logged and answered 500 without internals."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        message = {
            404: f"no such API path: {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
            413: "the body is over 1 MiB",
        }.get(error.status, error.reason)
        kept = {k: v for k, v in error.headers.items() if k in ("Allow", "Retry-After")}
        return json_answer(
            error.status, error_body(codes.get(error.status, "invalid"), message), kept
        )
    except ApiError as error:
        return json_answer(error.status, error.body(), error.headers)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("API request %s %s failed", request.method, request.path)
        return json_answer(
            500,
            error_body("internal", "the hub failed to answer this request; its log says why"),
        )
