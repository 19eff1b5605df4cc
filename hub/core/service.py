"""``hub run``: the web app and the scheduler on one event loop.

Scheduled jobs (order pulls, stock pushes, shipments told to channels, reconciliation)
and the webhook inbox worker run their blocking work in threads; a shipment recorded in
this process wakes its channel's shipment push at once. Each channel job takes a job lock
first, so with PostgreSQL any number of ``hub run`` processes share the work and a job
never runs twice at once. SIGTERM stops the scheduler, lets running jobs reach a safe
point, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.core import notify, secrets
from hub.core.desk import cancel_unpaid
from hub.core.locks import job_lock
from hub.core.ratelimit import Priority
from hub.core.runtime import Hub
from hub.core.secrets import secret_values
from hub.core.shipments import ShipmentPushResult, push_shipments
from hub.core.sync import PullResult, PushResult, Sync
from hub.errors import HubError
from hub.web.app import make_app

log = logging.getLogger("hub.service")
#: APScheduler logs every run of every job at INFO ("Running job", "executed
#: successfully"): several lines a second while nothing happens. Its warnings (a run
#: missed, a job that raised) still show.
SCHEDULER_LOGGERS = ("apscheduler.executors", "apscheduler.scheduler")
#: Seconds between looks for claims of dead workers of this host (another may go on).
RECOVER_INTERVAL = 10.0
NOTIFY_INTERVAL = 2.0  # seconds between sends of due customer messages
#: Seconds to wait after a failed read of a channel's notification queue.
NOTIFICATION_PAUSE = 5.0
#: Threads for blocking work, per channel: its pull, push, shipment push and
#: reconciliation may all run at once, each mostly waiting (for its rate limit, for the
#: service to answer). asyncio's default pool (cores + 4 threads) let a few channels'
#: rate-limit waits hold every thread while a sale waited to be pushed elsewhere.
THREADS_PER_CHANNEL = 4
#: Threads beside the channels': the webhook inbox, the web app's database work, and the
#: hub-wide jobs (notifications, recovery, holds).
SPARE_THREADS = 8
#: What a job run returns when its lock is held elsewhere (it did not run).
BUSY = object()
#: Seconds between tries of a job woken for a new change while its lock is held.
BUSY_RETRY = 0.05
BUSY_RETRY_MAX = 1.0  # doubling from BUSY_RETRY: another worker's run may be long


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """One line for a port the system refused: which address, why, and what to change."""
    # asyncio words errno's text at length; a host that does not resolve has a negative
    # (getaddrinfo) errno whose text only the error itself carries
    code = error.errno if error.errno is not None and error.errno > 0 else None
    known = code is not None
    reason = (os.strerror(code) if code is not None else error.strerror or str(error)).lower()
    hint = "stop what listens there or choose another web.port (or --port)"
    if not known:
        hint = "web.host is not a name or address of this machine"
    elif error.errno == errno.EACCES:
        hint = "ports below 1024 need privileges; choose web.port 1024 or above"
    elif error.errno == errno.EADDRNOTAVAIL:
        hint = "web.host is not an address of this machine"
    return f"cannot listen on {host}:{port}: {reason}; {hint}"


class Service:
    """One worker of the hub: serves webhooks and the API, runs the sync jobs."""

    def __init__(
        self,
        hub: Hub,
        *,
        host: str | None = None,
        port: int | None = None,
        inbox_interval: float = 1.0,
        backoff: float = 0.5,
    ) -> None:
        self.hub = hub
        self.sync = Sync(hub, backoff=backoff)
        self.host = host or hub.settings.web.host
        self.port = hub.settings.web.port if port is None else port
        self.inbox_interval = inbox_interval
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        for name in SCHEDULER_LOGGERS:
            scheduler_log = logging.getLogger(name)
            if scheduler_log.level == logging.NOTSET:  # an operator's own setting wins
                scheduler_log.setLevel(logging.WARNING)
        self._inflight: set[asyncio.Future] = set()
        self._inbox_wake = asyncio.Event()
        self._push_wake: dict[str, asyncio.Event] = {}
        self._ship_wake: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._runner: web.AppRunner | None = None
        self._unmask: Callable[[], None] = lambda: None
        self._polls: ThreadPoolExecutor | None = None
        self.url = ""

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving and scheduling; check the channels' connections meanwhile."""
        # Whatever a plugin writes in a message, the log shows no configured secret.
        self._unmask = secrets.install(secret_values(self.hub.channel_configs.values()))
        channels = self._channels()
        loop = asyncio.get_running_loop()
        # Blocking work (jobs, inbox, the web app's database calls) runs on a pool sized
        # for the channels; notification queues' long polls on one of their own, so a
        # 20-second poll never holds a thread a sale's push waits for.
        loop.set_default_executor(
            ThreadPoolExecutor(
                SPARE_THREADS + THREADS_PER_CHANNEL * len(channels), thread_name_prefix="hub"
            )
        )
        self._polls = ThreadPoolExecutor(max(1, len(channels)), thread_name_prefix="hub-poll")
        # A worker of this host killed mid-job left claims, leases and pushes in doubt.
        await asyncio.to_thread(self.sync.recover, at_start=True)
        self._runner = web.AppRunner(make_app(self.sync, wake=self.wake), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self._unmask()
            raise HubError(_cannot_listen(self.host, self.port, error)) from None
        server: Any = site._server
        port = server.sockets[0].getsockname()[1] if server and server.sockets else self.port
        self.url = f"http://{self.host}:{port}"
        self._schedule()
        self.scheduler.start()
        # Checked once serving: webhooks are stored while a slow store answers (it only logs).
        self._tasks.append(asyncio.create_task(self._check_channels()))
        self._tasks.append(asyncio.create_task(self._inbox_loop()))
        self._inbox_wake.set()  # deliveries stored before a restart are worked at once
        for channel in self._channels():
            self._tasks.append(asyncio.create_task(self._notification_loop(channel)))
            self._push_wake[channel] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._push_loop(channel)))
            self._ship_wake[channel] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._ship_loop(channel)))
        self._loop = asyncio.get_running_loop()
        self.hub.on_shipped.append(self._shipped)
        log.info("hub serving on %s with channels %s", self.url, ", ".join(self._channels()))

    async def stop(self) -> None:
        """Stop taking work, let running jobs reach a safe point, close the server."""
        self.sync.stopping.set()
        if self._shipped in self.hub.on_shipped:
            self.hub.on_shipped.remove(self._shipped)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._polls is None:
            self._unmask()
            return
        # A poll in flight ends within its wait (<= 20 s), and is not waited for; until it
        # has, what it logs (a client library's debug lines carry credentials) stays masked.
        polls, unmask = self._polls, self._unmask
        polls.shutdown(wait=False, cancel_futures=True)

        def unmask_after_polls() -> None:
            polls.shutdown(wait=True)
            unmask()

        threading.Thread(target=unmask_after_polls, name="hub-poll-end", daemon=True).start()

    async def run_until_signalled(self) -> None:
        """Start, wait for SIGTERM or SIGINT, stop."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        log.info("stopping: letting running jobs finish")
        await self.stop()

    # -- jobs ---------------------------------------------------------------------------

    def _channels(self) -> list[str]:
        return [n for n, c in self.hub.channel_configs.items() if getattr(c, "enabled", True)]

    async def _check_channels(self) -> None:
        for channel in self._channels():
            try:
                check = self.hub.channel(channel).check_connection
                caller = self.sync.caller(channel)  # paced with the channel's other calls
                problems = await asyncio.to_thread(caller.once, check, Priority.CATALOGUE)
            except Exception as error:
                problems = [f"{type(error).__name__}: {error}"]
            for problem in problems:
                log.warning("channel %s: %s", channel, problem)

    def _schedule(self) -> None:
        now = datetime.now(UTC)
        for channel in self._channels():
            config = self.hub.channel_configs[channel]
            jobs: list[tuple[str, Callable, float]] = [
                ("pull", self.sync.pull_orders, config.poll_interval),
                ("push", self.sync.push_stock, config.push_interval),
                ("ship", partial(push_shipments, self.sync), config.push_interval),
                ("reconcile", self.sync.reconcile, config.reconcile_interval),
            ]
            for job, fn, every in jobs:
                self.scheduler.add_job(
                    self.run_job,
                    "interval",
                    seconds=every,
                    args=[f"{job}:{channel}", fn, channel],
                    id=f"{job}:{channel}",
                    max_instances=1,
                    coalesce=True,
                    # Every job runs once at start (None would mean paused in APScheduler
                    # 3): the reconciliation sees what stores changed while the hub was
                    # down, whose webhooks may never come.
                    next_run_time=now,
                )
        self.scheduler.add_job(
            self.run_job,
            "interval",
            seconds=60,
            args=["recheck-holds", self.hub.recheck_holds],
            id="recheck-holds",
            max_instances=1,
            coalesce=True,
        )
        if any(self.hub.checks_config(c).auto_cancel_unpaid_days for c in self.hub.channel_configs):
            self.scheduler.add_job(
                self.run_job,
                "interval",
                seconds=3600,
                args=["cancel-unpaid", cancel_unpaid, self.hub],
                id="cancel-unpaid",
                max_instances=1,
                coalesce=True,
            )
        if self.hub.notifier_configs:  # customer messages (hub.core.notify)
            self.scheduler.add_job(
                self.run_job,
                "interval",
                seconds=NOTIFY_INTERVAL,
                args=["notify", partial(notify.send_due, self.hub, self.sync.worker)],
                id="notify",
                max_instances=1,
                coalesce=True,
            )
            self.scheduler.add_job(
                self.run_job,
                "interval",
                seconds=RECOVER_INTERVAL,
                args=["notify-recover", notify.recover, self.hub],
                id="notify-recover",
                max_instances=1,
                coalesce=True,
            )
        self.scheduler.add_job(
            self.run_job,
            "interval",
            seconds=RECOVER_INTERVAL,
            args=["recover", self.sync.recover],
            id="recover",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._nudge_inbox,
            "interval",
            seconds=self.inbox_interval,
            id="inbox",
            max_instances=1,
            coalesce=True,
        )

    async def run_job(self, name: str | None, fn: Callable, *args: Any) -> Any:
        """Run ``fn(*args)`` in a thread, holding the job lock ``name`` when one is given;
        :data:`BUSY` when that lock is held elsewhere (the job did not run)."""
        future = asyncio.ensure_future(asyncio.to_thread(self._locked, name, fn, *args))
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        try:
            # Shielded: when the service stops, the job's thread runs to its safe point and
            # stop() waits for it, rather than the job being abandoned half-way.
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            return None
        except Exception as error:
            log.error("job %s failed: %s", name, error)
            return None
        if result is BUSY:
            return BUSY
        change = changed(name or "", result)
        if change:
            log.info("%s: %s", name, change)
        return result

    async def _run_now(self, name: str, fn: Callable, *args: Any) -> None:
        """Run a job for a change just committed, even when its run is already under way.

        A run that is under way (the scheduled one, or another worker's) may have read
        its work before the change committed; returning then would leave the change to
        the next scheduled run, seconds later. So a busy job is tried again until this
        process runs it once."""
        pause = BUSY_RETRY
        while not self.sync.stopping.is_set():
            if await self.run_job(name, fn, *args) is not BUSY:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, BUSY_RETRY_MAX)

    def _locked(self, name: str | None, fn: Callable, *args: Any) -> Any:
        if name is None:
            return fn(*args)
        with job_lock(self.hub.engine, name) as taken:
            if not taken:
                return BUSY  # the scheduled run, or another worker, runs it now
            return fn(*args)

    def wake(self, channel: str = "") -> None:
        """A webhook arrived: work the inbox now rather than at the next tick."""
        self._inbox_wake.set()

    async def _nudge_inbox(self) -> None:
        # A coroutine, so APScheduler runs it on the loop: asyncio.Event is not thread-safe,
        # and a thread still queued at shutdown was logged as an error with a traceback.
        self._inbox_wake.set()

    async def _inbox_loop(self) -> None:
        while not self.sync.stopping.is_set():
            await self._inbox_wake.wait()
            self._inbox_wake.clear()
            # No job lock: inbox rows are leased, so every worker may work the inbox at once.
            handled = await self.run_job(None, self.sync.process_inbox)
            if handled:
                log.info("inbox: %s worked", _count(handled, "webhook delivery", "deliveries"))
                for event in self._push_wake.values():
                    event.set()

    async def _notification_loop(self, channel: str) -> None:
        """Read a channel's own notification queue into the webhook inbox, in a thread.

        :meth:`hub.Channel.receive_notifications` is one blocking long poll handing each
        message to ``accept(headers, body)`` (:meth:`Sync.accept_webhook`: verified and
        stored once); None means the channel has no queue (the loop ends). A failing poll
        is logged and tried again after a pause.
        """
        try:
            receive = self.hub.channel(channel).receive_notifications
        except Exception as error:  # the channel's other jobs report it too
            log.warning("channel %s: no notifications read: %s", channel, error)
            return
        accept = partial(self.sync.accept_webhook, channel)
        loop = asyncio.get_running_loop()
        while not self.sync.stopping.is_set():
            try:
                received = await loop.run_in_executor(self._polls, receive, accept)
            except Exception as error:
                log.warning("channel %s: reading notifications failed: %s", channel, error)
                await asyncio.sleep(NOTIFICATION_PAUSE)
                continue
            if received is None:
                return
            if received:
                self._inbox_wake.set()

    async def _push_loop(self, channel: str) -> None:
        event = self._push_wake[channel]
        while not self.sync.stopping.is_set():
            await event.wait()
            event.clear()
            await self._run_now(f"push:{channel}", self.sync.push_stock, channel)

    def _shipped(self, channel: str) -> None:
        """A shipment was committed (in any thread): wake that channel's shipment push."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_ship, channel)

    def _wake_ship(self, channel: str) -> None:
        if channel in self._ship_wake:
            self._ship_wake[channel].set()

    async def _ship_loop(self, channel: str) -> None:
        """Send a channel its shipments as soon as one is recorded in this process."""
        event = self._ship_wake[channel]
        while not self.sync.stopping.is_set():
            await event.wait()
            event.clear()
            await self._run_now(f"ship:{channel}", push_shipments, self.sync, channel)


def changed(job: str, result: Any) -> str:
    """What a job's run changed, in a few words; empty when it changed nothing."""
    if isinstance(result, PullResult) and (result.created or result.updated):
        return f"orders: {result.created} new, {result.updated} updated"
    if isinstance(result, PushResult) and (result.sent or result.stale or result.failed):
        # a SKU queued again while its push ran is pushed again in the same job: named once
        skus = list(dict.fromkeys(result.skus))
        pushed = f"{_count(len(skus) or result.sent, 'SKU')} pushed" + (
            f" ({_some(skus)})" if skus else ""
        )
        if result.stale or result.failed:
            pushed += f", {result.stale} stale, {result.failed} refused"
        return pushed
    if isinstance(result, ShipmentPushResult) and (result.confirmed or result.failed):
        sent = f"{_count(len(result.confirmed), 'shipment')} sent"
        return sent + (f", {len(result.failed)} refused" if result.failed else "")
    if job.startswith("reconcile:") and isinstance(result, list) and result:
        drift = [f"{sku} {theirs} -> {ours}" for sku, theirs, ours in result]
        return f"drift corrected on {_count(len(drift), 'SKU')} ({_some(drift)})"
    if isinstance(result, notify.SendReport) and result:
        return (
            f"customer messages: {len(result.sent)} sent, {len(result.retrying)} to retry, "
            f"{len(result.failed)} failed"
        )
    if job == "cancel-unpaid" and isinstance(result, list) and result:
        return f"cancelled {_count(len(result), 'unpaid order')} ({_some(result)})"
    if job == "recheck-holds" and isinstance(result, dict):
        decided = {k: v for k, v in result.items() if k not in ("on_hold", "failed") and v}
        if decided:
            return "held orders decided again: " + ", ".join(
                f"{count} {status}" for status, count in sorted(decided.items())
            )
    return ""


def _count(number: int, noun: str, plural: str = "") -> str:
    """``1 SKU``, ``2 SKUs``; ``plural`` replaces the noun's last word when it is irregular."""
    if number == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    return f"{number} {head + ' ' if head else ''}{plural or last + 's'}"


def _some(items: list[str], shown: int = 10) -> str:
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")
