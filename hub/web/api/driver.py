"""The driver app's REST endpoints under ``/api/v1/driver``: today's route, actions at
stops (arrive, deliver with proof of delivery, fail), position pings.

A driver signs in either with their token (``Authorization: Bearer drv_...``, from
``hub drivers add``) or with the session the driver page opened (``/driver``, by token
or one-time link); a POST on a session carries its CSRF token in ``X-CSRF-Token``. No
``Idempotency-Key``: each action carries the phone's own id (``client_id``), recorded
once however often it is sent, and a ping is kept once per phone time.

The rules are :mod:`hub.core.driving`'s; these handlers parse, authenticate and run
them in the API's worker threads. Pings from many requests share one transaction
(:class:`hub.web.api.batching.GroupWriter`), which is what makes 1,000 a second on
SQLite possible.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp_session import get_session
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hub.core import drivers, driving, positions
from hub.core.db import run_in_transaction
from hub.errors import HubError
from hub.web.api.machinery import (
    API_KEY,
    MAX_BODY,
    ApiConfig,
    ApiError,
    Ctx,
    Route,
    error_body,
    from_hub_error,
    from_validation,
    json_answer,
)
from hub.web.livefeed import feed_of

SESSION_KEY = "driver"  # the session's driver id (set by the driver page's sign-in)
SESSION_TOKEN_KEY = "driver_token"  # the prefix of the driver's token at sign-in
CSRF_HEADER = "X-CSRF-Token"
AUTH_CACHE_SECONDS = 2.0
MOST_ACTIONS = 50

# -- the bodies and answers --------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StopOrder(BaseModel):
    ref: str = Field(description="channel:external id")
    number: str
    name: str = Field(description="The recipient on the order.")
    status: str


class StopItem(BaseModel):
    sku: str
    title: str
    quantity: int = Field(description="Units to hand over.")


class DriverStop(BaseModel):
    seq: int = Field(description="The stop's place on the route, from 1; actions name it.")
    name: str
    address: str
    phone: str
    notes: str
    latitude: float | None
    longitude: float | None
    window_start: datetime | None = Field(description="Delivery time window, UTC.")
    window_end: datetime | None
    planned_arrival: datetime
    navigation_url: str = Field(description="Opens directions to the stop.")
    state: Literal["pending", "arrived", "delivered", "failed", "cancelled"]
    reason: str = Field(description="The failure reason's code when failed.")
    orders: list[StopOrder]
    items: list[StopItem]


class FailReason(BaseModel):
    code: str
    label: str


class DriverRoute(BaseModel):
    driver: str
    vehicle: str
    day: date
    route: int | None = Field(description="The route's id; None: no dispatched route that day.")
    departure: datetime | None
    ping_seconds: int = Field(description="How often to send the phone's position.")
    photo_max_bytes: int
    fail_reasons: list[FailReason]
    stops: list[DriverStop]


class RouteQuery(_In):
    day: date | None = Field(
        default=None, description="The day (YYYY-MM-DD); default: today in the routing zone."
    )


class ActionIn(_In):
    client_id: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The phone's id of this action (a UUID): sent again, it is kept once.",
    )
    route: int = Field(ge=1)
    stop: int = Field(ge=1, description="The stop's seq.")
    kind: Literal["arrive", "deliver", "fail"]
    at: AwareDatetime = Field(description="When it happened, by the phone's clock.")
    reason: str = Field(default="", max_length=32, description="A fail's reason code.")
    note: str = Field(default="", max_length=2000)
    recipient_name: str = Field(default="", max_length=128, description="Who took the goods.")
    signature: str | None = Field(
        default=None, description="The signature drawn: a PNG as a data: URL or base64."
    )
    photo: str | None = Field(
        default=None, description="A photo (JPEG, PNG or WebP) as a data: URL or base64."
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accuracy: float | None = Field(default=None, ge=0, description="Metres.")


class ActionsIn(_In):
    device_id: str = Field(default="", max_length=64, description="The phone's own id.")
    actions: Annotated[list[ActionIn], Field(min_length=1, max_length=MOST_ACTIONS)]


class ActionResult(BaseModel):
    client_id: str
    outcome: Literal["recorded", "duplicate"]


class ActionsOut(BaseModel):
    results: list[ActionResult]


class PingIn(_In):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy: float | None = Field(default=None, ge=0, description="Metres.")
    at: AwareDatetime = Field(description="When, by the phone's clock.")


class PingsIn(_In):
    device_id: str = Field(default="", max_length=64)
    route: int | None = Field(default=None, ge=1, description="The route driven; None: none.")
    pings: Annotated[list[PingIn], Field(min_length=1, max_length=positions.MAX_PINGS)]


class PingsOut(BaseModel):
    received: int
    recorded: int = Field(description="New positions; the rest were sent before.")


# -- handlers (worker threads) -----------------------------------------------------------------


def show_route(ctx: Ctx) -> tuple[int, DriverRoute]:
    """The driver's dispatched route of the day: stops in order with address, time
    window, what to hand over, a navigation link and how each stop went so far."""
    driver: drivers.DriverInfo = ctx.driver  # type: ignore[attr-defined]
    settings = ctx.hub.settings
    day = ctx.query.day or datetime.now(ZoneInfo(settings.routing.timezone)).date()
    route = ctx.hub.read(lambda c: driving.todays_route(c, driver, day))
    return 200, DriverRoute(
        driver=driver.name,
        vehicle=driver.vehicle,
        day=day,
        route=route.id if route else None,
        departure=route.departure if route else None,
        ping_seconds=settings.driver.ping_seconds,
        photo_max_bytes=settings.driver.photo_max_bytes,
        fail_reasons=[FailReason(code=k, label=v) for k, v in driving.FAIL_REASONS.items()],
        stops=[_stop_out(s) for s in (route.stops if route else [])],
    )


def _stop_out(stop: driving.StopView) -> DriverStop:
    return DriverStop(
        seq=stop.seq,
        name=stop.name,
        address=stop.address,
        phone=stop.phone,
        notes=stop.notes,
        latitude=stop.latitude,
        longitude=stop.longitude,
        window_start=stop.window_start,
        window_end=stop.window_end,
        planned_arrival=stop.arrival,
        navigation_url=stop.navigation_url,
        state=stop.state,  # type: ignore[arg-type]
        reason=stop.reason,
        orders=[StopOrder(**o) for o in stop.orders],
        items=[StopItem(**i) for i in stop.items],
    )


def _image(text: str | None, where: str) -> bytes | None:
    """The bytes of a data: URL or plain base64; InvalidInput naming ``where``."""
    if text is None or text == "":
        return None
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid", f"{where}: not base64 or a data: URL", where) from None


async def post_actions(ctx: Ctx) -> tuple[int, ActionsOut]:
    """Record what the driver did at stops, in the order it happened on the phone (by
    ``at``). All or nothing: a refused action (another driver's route, a cancelled
    order, a file that is not an image or is too large) refuses the batch, names it
    (``/actions/2/photo``) and records nothing. An action sent before is answered
    ``duplicate`` and recorded once. A delivery ships the stop's open orders with the
    own fleet and marks them delivered with the proof (recipient, signature, photo).
    Once committed, the routes' ETAs are recomputed for the live view."""
    results = await ctx.api.run(_record_actions, ctx)
    feed_of(ctx.api).touch({a.route for a in ctx.body.actions})
    return 200, ActionsOut(
        results=[ActionResult(client_id=k, outcome=v) for k, v in results.items()]  # type: ignore[arg-type]
    )


def _record_actions(ctx: Ctx) -> dict[str, str]:
    """The batch decoded and recorded (a worker thread: images are decoded and checked,
    the database written)."""
    driver: drivers.DriverInfo = ctx.driver  # type: ignore[attr-defined]
    body: ActionsIn = ctx.body
    actions = [
        driving.Action(
            client_id=a.client_id,
            route_id=a.route,
            stop_seq=a.stop,
            kind=a.kind,
            phone_at=a.at,
            reason=a.reason,
            note=a.note,
            recipient_name=a.recipient_name,
            signature=_image(a.signature, f"/actions/{i}/signature"),
            photo=_image(a.photo, f"/actions/{i}/photo"),
            latitude=a.latitude,
            longitude=a.longitude,
            accuracy_m=a.accuracy,
        )
        for i, a in enumerate(body.actions)
    ]
    return driving.submit_actions(ctx.hub, driver, body.device_id, actions, ctx.api.writer.lock)


async def post_pings(ctx: Ctx) -> tuple[int, PingsOut]:
    """Keep the phone's positions (a batch: what was queued while offline, or one).
    A ping sent before (same phone time) is kept once. 403 for another driver's route.
    Once committed, the newest position goes to the live view and the route's ETAs are
    recomputed."""
    driver: drivers.DriverInfo = ctx.driver  # type: ignore[attr-defined]
    body: PingsIn = ctx.body
    pings = [positions.Ping(p.latitude, p.longitude, p.at, p.accuracy) for p in body.pings]
    positions.check_pings(pings)
    writer = ctx.api.extras.get("pings")
    if writer is None:
        writer = ctx.api.extras["pings"] = PingWriter(ctx.api)
    recorded = await writer.write(driver, body.route, pings)
    if recorded and body.route is not None:  # committed: the live view hears it now
        newest = max(pings, key=lambda p: p.phone_at)
        feed_of(ctx.api).pinged(
            driver.name,
            driver.vehicle,
            body.route,
            newest.phone_at,
            newest.latitude,
            newest.longitude,
        )
    return 200, PingsOut(received=len(pings), recorded=recorded)


class PingWriter:
    """Pings of every request waiting at a moment written in one transaction.

    A request hands its pings over and awaits the answer; one task on the event loop
    writes what waits in a worker thread, batch after batch, so under load one thread
    hop and one commit serve a hundred requests. A batch that fails (one request named
    another driver's route) is written again request by request, so each gets its own
    answer and no request fails for another's.
    """

    MOST = 200  # requests in one transaction

    def __init__(self, api: ApiConfig) -> None:
        self.api = api
        self.waiting: list[tuple[Any, int | None, list[positions.Ping], asyncio.Future[int]]] = []
        self.task: asyncio.Task[None] | None = None

    async def write(self, driver: Any, route: int | None, pings: list[positions.Ping]) -> int:
        """How many of ``pings`` were new, once they are committed."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting.append((driver, route, pings, done))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[: self.MOST], self.waiting[self.MOST :]
            jobs = [(driver, route, pings) for driver, route, pings, _ in batch]
            try:
                results = await self.api.run(self._write, jobs)
            except Exception as error:  # the database is gone: every request hears it
                results = [error] * len(batch)
            for (*_, done), result in zip(batch, results, strict=True):
                if done.done():  # the request went away meanwhile
                    continue
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    def _write(self, jobs: list[tuple[Any, int | None, list[positions.Ping]]]) -> list[Any]:
        engine, lock = self.api.hub.engine, self.api.writer.lock
        with lock or nullcontext():
            try:
                return run_in_transaction(  # type: ignore[no-any-return]
                    engine, lambda c: [positions.record_pings(c, *job) for job in jobs]
                )
            except Exception:
                if len(jobs) == 1:
                    raise
            out: list[Any] = []
            for driver, route, pings in jobs:

                def one(c: Any, d: Any = driver, r: Any = route, p: Any = pings) -> int:
                    return positions.record_pings(c, d, r, p)

                try:
                    out.append(run_in_transaction(engine, one))
                except Exception as error:
                    out.append(error)
            return out


# -- signing in, and the way through ------------------------------------------------------------


#: per API: drivers signed in lately, by "t:<token hash>" or "s:<driver id>"
DRIVERS_KEY = "driver_cache"


async def _remembered(api: ApiConfig, key: str, load: Callable[[], Any]) -> Any:
    """``load()`` (a driver or None) run in a worker thread, remembered for a moment:
    pings come every few seconds from every phone, and a hit costs no thread at all; a
    disabled driver is refused within :data:`AUTH_CACHE_SECONDS`."""
    cache: dict[str, tuple[float, Any]] = api.extras.setdefault(DRIVERS_KEY, {})
    clock = time.monotonic()
    hit = cache.get(key)
    if hit is not None and clock - hit[0] < AUTH_CACHE_SECONDS:
        return hit[1]
    found = await api.run(load)
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (clock, found)
    return found


async def _driver_of(request: web.Request, api: ApiConfig) -> drivers.DriverInfo:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() == "bearer" and presented:
        digest = drivers.token_hash(presented)  # the cache keeps only hashes
        driver = await _remembered(
            api, "t:" + digest, lambda: api.hub.read(lambda c: drivers.authenticate(c, presented))
        )
        if driver is None:
            raise ApiError(
                401, "unauthorized", "the driver token is unknown or disabled", "Authorization"
            )
        return driver  # type: ignore[no-any-return]
    session = await get_session(request)
    driver_id = session.get(SESSION_KEY)
    if not isinstance(driver_id, int):
        raise ApiError(
            401,
            "unauthorized",
            "sign in at /driver, or send a driver token as 'Authorization: Bearer drv_...'",
            "Authorization",
        )
    if request.method != "GET":
        expected, sent = session.get("csrf"), request.headers.get(CSRF_HEADER, "")
        if not isinstance(expected, str) or not hmac.compare_digest(
            expected.encode(), sent.encode()
        ):
            raise ApiError(
                403, "forbidden", f"the {CSRF_HEADER} header does not match the page", CSRF_HEADER
            )
    key = str(session.get(SESSION_TOKEN_KEY, ""))
    driver = await _remembered(
        api,
        f"s:{driver_id}:{key}",
        lambda: api.hub.read(lambda c: drivers.session_driver(c, driver_id, key)),
    )
    if driver is None:
        session.invalidate()
        raise ApiError(
            401, "unauthorized", "your sign-in has ended: sign in again", "Authorization"
        )
    return driver  # type: ignore[no-any-return]


def body_limit(api: ApiConfig) -> int:
    """The largest body a driver request may have: a few deliveries with full-size
    photos and signatures, base64-encoded, or 1 MiB, whichever is more."""
    per_action = (api.hub.settings.driver.photo_max_bytes + driving.SIGNATURE_MAX_BYTES) * 4 // 3
    return max(MAX_BODY, 4 * per_action + 64 * 1024)


async def _body(request: web.Request, limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"the body is over {limit:,} bytes", "body")
    raw = bytearray()
    while chunk := await request.content.read(65536):
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, "too_large", f"the body is over {limit:,} bytes", "body")
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ApiError(400, "invalid", f"the body is not valid JSON: {error}", "body") from None


async def _answer(work: Awaitable[tuple[int, BaseModel]], ctx: DriverCtx) -> tuple[int, str]:
    try:
        status, answer = await work
    except (ApiError, HubError) as error:
        return _failure(error, ctx)
    return status, answer.model_dump_json()


def _failure(error: ApiError | HubError, ctx: DriverCtx) -> tuple[int, str]:
    """The answer for a refusal: 403 for another's route, the API's 4xx for the rest."""
    if isinstance(error, ApiError):
        return error.status, error.body()
    if isinstance(error, driving.NotYourRoute):
        return 403, error_body("forbidden", str(error), from_hub_error(error, ctx.data).field)
    failure = from_hub_error(error, ctx.data)
    return failure.status, failure.body()


def _run(route: Route, ctx: DriverCtx) -> tuple[int, str]:
    try:
        status, answer = route.handler(ctx)
    except ApiError as error:
        return error.status, error.body()
    except driving.NotYourRoute as error:
        return 403, error_body("forbidden", str(error), from_hub_error(error, ctx.data).field)
    except HubError as error:
        failure = from_hub_error(error, ctx.data)
        return failure.status, failure.body()
    return status, answer.model_dump_json()


def endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of a driver ``route``: sign-in by driver token or session."""

    async def handle(request: web.Request) -> web.Response:
        api = request.app[API_KEY]
        try:
            driver = await _driver_of(request, api)
            ctx = DriverCtx(api, None, dict(request.match_info), driver=driver)  # type: ignore[arg-type]
            if route.query is not None:
                ctx.query = _parse(route.query, dict(request.query), "query")
            if route.body is not None:
                ctx.data = await _body(request, body_limit(api))
                ctx.body = _parse(route.body, ctx.data, "body")
            if inspect.iscoroutinefunction(route.handler):  # waits on the loop, no thread
                status, text = await _answer(route.handler(ctx), ctx)  # type: ignore[arg-type]
            else:
                status, text = await api.run(_run, route, ctx)
            return json_answer(status, text)
        except ApiError as error:
            return json_answer(error.status, error.body(), error.headers)

    handle.__name__ = route.operation_id
    return handle


@dataclass
class DriverCtx(Ctx):
    """A driver request: ``driver`` signed in; ``data`` the body as parsed JSON (for
    error pointers); there is no API token."""

    driver: Any = None


def _parse(model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation(error, where) from None


DRIVER_ROUTES = (
    Route(
        "GET",
        "/driver/route",
        show_route,
        "driverRoute",
        "Show the driver's route of the day",
        "driver",
        "driver",
        DriverRoute,
        query=RouteQuery,
        custom=endpoint,
    ),
    Route(
        "POST",
        "/driver/actions",
        post_actions,  # type: ignore[arg-type]  # awaited on the loop
        "driverActions",
        "Record actions at stops",
        "driver",
        "driver",
        ActionsOut,
        body=ActionsIn,
        errors=(403, 404, 409, 413, 422),
        custom=endpoint,
    ),
    Route(
        "POST",
        "/driver/pings",
        post_pings,  # type: ignore[arg-type]  # awaited on the loop
        "driverPings",
        "Record the phone's positions",
        "driver",
        "driver",
        PingsOut,
        body=PingsIn,
        errors=(403, 413, 422),
        custom=endpoint,
    ),
)
