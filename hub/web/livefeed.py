"""The live view's in-process broker: the driver endpoints publish, the open /live pages
listen.

After a ping batch is committed the ping endpoint publishes the driver's newest position
at once (event ``position``) and marks the route for an ETA recompute; the action
endpoint marks its routes after its commit. One task on the event loop recomputes every
marked route in a worker thread (:class:`hub.core.eta.EtaBoard`: what many requests
marked meanwhile is done in one go, and a short pause after each leaves the CPU to the
pings' writer under a flood) and publishes each route's progress (event ``eta``).

Each open page's server-sent events stream holds one :class:`Watcher`, a bounded queue
of the events of its day's routes; a stream that ends (the page closed) drops its
watcher, and a watcher that stops reading is dropped when its queue is full.

A route may be dispatched after a page opened, by this process or by another one (``hub
route dispatch`` against the same database). While pages are open, one more task reads
the live routes of every watched day every :data:`ROUTES_SECONDS` (one query in a worker
thread for all the days) and sends a page whose day now has a different set of vehicles
than the page shows the event ``routes`` (the day's route ids and vehicles, and the ids
of the routes it lacks); the page then reloads itself. A route a re-plan continued (a new
route of a vehicle the page shows) is not such a change: its events reach the page by
vehicle, so the watcher only takes note of its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.core.eta import EtaBoard, RouteEta, live_routes
from hub.errors import HubError
from hub.web.api.machinery import ApiConfig

log = logging.getLogger("hub.web.live")

FEED_KEY = "live"  # in ApiConfig.extras
QUEUE_SIZE = 500  # events a page may lag behind before it is dropped
#: seconds between two recomputes: under a flood of pings the routes marked meanwhile
#: are done together, and the recompute leaves the CPU to the pings' writer
RECOMPUTE_PAUSE = 0.05
#: seconds between two reads of the watched days' live routes (a route dispatched
#: meanwhile, perhaps by another process, reaches the open pages as event ``routes``)
ROUTES_SECONDS = 3.0


class Watcher:
    """One open page: the day it shows, its routes (ids) and their vehicles, and its
    queue of (event, JSON text). A route a re-plan during the day continued is a new
    route of the same vehicle: its events reach the page by vehicle and day."""

    def __init__(self, day: date, routes: dict[int, str]) -> None:
        self.day = day
        self.routes = frozenset(routes)
        self.vehicles = frozenset(routes.values())
        #: the vehicles the page shows (those it opened with, then those of its last
        #: ``routes`` event)
        self.shown = self.vehicles
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = False

    def wants(self, route: int, vehicle: str, day: date | None) -> bool:
        """Whether an event of ``route`` (of ``vehicle`` on ``day``, None: unknown) is
        for this page."""
        if route in self.routes:
            return True
        return vehicle in self.vehicles and (day is None or day == self.day)

    def changed(self, live: dict[int, str]) -> dict[str, Any] | None:
        """The ``routes`` event for this page when its day's live routes ``live`` (id ->
        vehicle) have vehicles other than those it shows, else None (a vehicle's route
        continued by a re-plan is no change: its id is only added to the watched ones)."""
        self.routes = self.routes | frozenset(live)
        self.vehicles = self.vehicles | frozenset(live.values())
        now = frozenset(live.values())
        if now == self.shown:
            return None
        added = sorted(k for k, v in live.items() if v not in self.shown)
        self.shown = now
        return {
            "day": self.day.isoformat(),
            "routes": sorted(live),
            "vehicles": sorted(now),
            "added": added,
        }


class LiveFeed:
    """Publishes drivers' positions and recomputed ETAs to the watching pages. Lives on
    one event loop; :meth:`touch_soon` may be called from any thread."""

    def __init__(self, api: ApiConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.loop = loop
        hub = api.hub
        self.board: EtaBoard | None = None
        try:
            self.board = EtaBoard(hub.engine, hub.settings, lock=api.writer.lock)
        except HubError as error:  # no routing plugin: positions only
            log.warning("no ETAs in the live view: %s", error)
        self.zone = ZoneInfo(hub.settings.hub.timezone)
        self.watchers: set[Watcher] = set()
        self.dirty: set[int] = set()
        self.task: asyncio.Task[None] | None = None
        self.checker: asyncio.Task[None] | None = None
        self.closed = False

    # -- pages ------------------------------------------------------------------------------

    def watch(self, day: date, routes: dict[int, str]) -> Watcher:
        """A new page watching ``day``'s ``routes`` (id -> vehicle)."""
        watcher = Watcher(day, routes)
        self.watchers.add(watcher)
        if not self.closed and (self.checker is None or self.checker.done()):
            self.checker = self.loop.create_task(self._check_routes())
        return watcher

    def drop(self, watcher: Watcher) -> None:
        """The page went away: no more events for it."""
        watcher.dropped = True
        self.watchers.discard(watcher)

    def publish(
        self, event: str, route: int, vehicle: str, day: date | None, data: dict[str, Any]
    ) -> None:
        """Queue ``data`` as JSON for every page showing ``route`` (or its vehicle on
        ``day``); a page whose queue is full has stopped reading and is dropped."""
        text = json.dumps(data, separators=(",", ":"))
        for watcher in list(self.watchers):
            if not watcher.wants(route, vehicle, day):
                continue
            try:
                watcher.queue.put_nowait((event, text))
            except asyncio.QueueFull:
                log.warning("a live page stopped reading its events: dropped")
                self.drop(watcher)

    # -- the driver endpoints -----------------------------------------------------------------

    def pinged(
        self, driver: str, vehicle: str, route: int, at: datetime, lat: float, lon: float
    ) -> None:
        """A ping batch of ``route`` was committed; its newest position is (``lat``,
        ``lon``) at phone time ``at``: tell the pages now, recompute the ETAs next."""
        self.publish(
            "position",
            route,
            vehicle,
            None,
            {
                "route": route,
                "driver": driver,
                "vehicle": vehicle,
                "latitude": lat,
                "longitude": lon,
                "at": at.astimezone(UTC).isoformat(),
                "at_local": at.astimezone(self.zone).strftime("%H:%M:%S"),
            },
        )
        self.touch([route])

    def touch(self, routes: Iterable[int]) -> None:
        """Recompute the ETAs of ``routes`` soon (on the loop's thread)."""
        if self.closed:
            return
        self.dirty.update(routes)
        if self.dirty and (self.task is None or self.task.done()):
            self.task = self.loop.create_task(self._drain())

    def touch_soon(self, routes: Iterable[int]) -> None:
        """:meth:`touch` from any thread (the action endpoint's worker)."""
        self.loop.call_soon_threadsafe(self.touch, list(routes))

    async def _drain(self) -> None:
        while self.dirty:
            routes, self.dirty = self.dirty, set()
            if self.board is None:
                continue
            try:
                etas = await self.api.run(self.board.refresh, routes)
            except Exception:  # the database is away: the next ping tries again
                log.exception("recomputing the ETAs of routes %s failed", sorted(routes))
                continue
            for route in etas:
                self.publish_eta(route)
            await asyncio.sleep(RECOMPUTE_PAUSE)

    # -- routes dispatched after a page opened ---------------------------------------------

    async def _check_routes(self) -> None:
        """Every :data:`ROUTES_SECONDS` while pages are open: read the watched days' live
        routes in a worker thread and tell each page whose vehicles changed."""
        while self.watchers and not self.closed:
            await asyncio.sleep(ROUTES_SECONDS)
            await self.check_routes()

    async def check_routes(self) -> None:
        """Read the watched days' live routes once and send ``routes`` to the pages whose
        day has vehicles other than they show."""
        watchers = list(self.watchers)  # a page opened meanwhile read its own routes
        if not watchers:
            return
        try:
            live = await self.api.run(
                self.api.hub.read, lambda c: live_routes(c, {w.day for w in watchers})
            )
        except Exception:  # the database is away: the next round tries again
            log.exception("reading the live routes failed")
            return
        for watcher in watchers:
            if watcher.dropped:
                continue
            event = watcher.changed(live.get(watcher.day, {}))
            if event is None:
                continue
            try:
                watcher.queue.put_nowait(("routes", json.dumps(event, separators=(",", ":"))))
            except asyncio.QueueFull:
                log.warning("a live page stopped reading its events: dropped")
                self.drop(watcher)

    async def close(self) -> None:
        """The app stops: end every page's stream and wait for a recompute under way."""
        self.closed = True
        self.dirty.clear()
        for watcher in list(self.watchers):
            with contextlib.suppress(asyncio.QueueFull):
                watcher.queue.put_nowait(("", ""))  # the end
            self.drop(watcher)
        if self.checker is not None:
            self.checker.cancel()
            await asyncio.gather(self.checker, return_exceptions=True)
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    def publish_eta(self, route: RouteEta) -> None:
        """Tell the pages a route's recomputed progress."""
        self.publish("eta", route.route_id, route.vehicle, route.day, route.as_event(self.zone))


def feed_of(api: ApiConfig) -> LiveFeed:
    """The API's live feed, made on first use. Call it on the event loop."""
    feed = api.extras.get(FEED_KEY)
    if feed is None:
        feed = api.extras[FEED_KEY] = LiveFeed(api, asyncio.get_running_loop())
    return feed  # type: ignore[no-any-return]


async def close_feed(api: ApiConfig) -> None:
    """Close the API's live feed, when it was made (the app's shutdown)."""
    feed = api.extras.get(FEED_KEY)
    if feed is not None:
        await feed.close()
