"""Orders created through the API at the same moment go through intake together.

Intake takes pages of orders: one transaction, a few queries for the whole page. A
request that finds no batch running starts one with every order waiting then (group
commit): nobody waits for a timer, and under load each intake call carries many orders.
When a batch fails (one order names an unknown SKU, say), each of its orders is created
on its own, so every request gets its own answer and no request fails for another's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from hub.core.db import run_in_transaction
from hub.core.runtime import Hub

MAX_BATCH = 100
GATHER = 0.002  # seconds
GATHER_MOST = 0.02
T = TypeVar("T")


@dataclass
class Creation:
    """One order to create in a batch, with the request's own steps around it.

    ``before(connection)`` runs in the batch's first transaction (claiming the request's
    idempotency key, say) and says whether to create the order; ``after(view, error)``
    makes the request's answer from the created order or the error; ``finish(connection)``
    runs in the batch's last transaction (storing that answer under the key).
    """

    new: Any
    actor: Any
    before: Callable[[Connection], bool] = lambda connection: True
    after: Callable[[Any, BaseException | None], None] = lambda view, error: None
    finish: Callable[[Connection], None] = lambda connection: None
    done: threading.Event = field(default_factory=threading.Event)
    go: bool = False
    view: Any = None
    error: BaseException | None = None


class Batcher:
    """Orders created together: ``create(creation)`` returns once its batch is done
    (``creation.view`` or ``creation.error`` tell how it went)."""

    def __init__(self, hub: Hub, lock: threading.Lock | None = None) -> None:
        self.hub = hub
        self.lock = lock
        self._guard = threading.Lock()
        self._waiting: list[Creation] = []
        self._running = False

    def create(self, creation: Creation) -> Creation:
        with self._guard:
            self._waiting.append(creation)
            lead = not self._running
            if lead:
                self._running = True
        if lead:
            self._lead()
        creation.done.wait()
        return creation

    def _lead(self) -> None:
        """Run batches until nobody waits; then the next request leads."""
        while True:
            self._gather()
            with self._guard:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                if not batch:
                    self._running = False
                    return
            try:
                with self.lock or nullcontext():
                    self._run(batch)
            except BaseException as error:  # never leave a request waiting
                for entry in batch:
                    if entry.error is None and entry.view is None:
                        entry.error = error
            finally:
                for entry in batch:
                    entry.done.set()

    def _gather(self) -> None:
        """Give orders on their way a moment to join: while they keep arriving (each
        within GATHER seconds of the last), at most GATHER_MOST seconds."""
        deadline = time.monotonic() + GATHER_MOST
        seen = len(self._waiting)
        while seen < MAX_BATCH and time.monotonic() < deadline:
            time.sleep(GATHER)
            now = len(self._waiting)
            if now == seen:
                return
            seen = now

    def _each(self, batch: list[Creation], step: Callable[[Creation, Connection], None]) -> None:
        """``step`` for every entry in one transaction; one by one when that fails."""

        def all_of(conn: Connection) -> None:
            for entry in batch:
                step(entry, conn)

        try:
            run_in_transaction(self.hub.engine, all_of)
        except Exception:
            for entry in batch:

                def one(conn: Connection, entry: Creation = entry) -> None:
                    step(entry, conn)

                try:
                    run_in_transaction(self.hub.engine, one)
                except Exception as error:
                    entry.error = entry.error or error
                    entry.go = False

    def _run(self, batch: list[Creation]) -> None:
        def before(entry: Creation, conn: Connection) -> None:
            entry.go = entry.before(conn)

        self._each(batch, before)
        todo = [e for e in batch if e.go and e.error is None]
        try:
            self._create(todo)
        finally:  # whatever happened, each request's answer is made and stored
            for entry in todo:
                if entry.view is None and entry.error is None:
                    entry.error = RuntimeError("the order batch stopped before this order")
                try:
                    entry.after(entry.view, entry.error)
                except Exception as error:  # its request answers 500; the others go on
                    entry.error = entry.error or error
            self._each(batch, lambda e, c: e.finish(c))

    def _create(self, entries: list[Creation]) -> None:
        from hub.core import desk

        # One channel per call: its intake is one transaction, all or nothing.
        groups: dict[tuple[Any, str], list[Creation]] = {}
        for entry in entries:
            groups.setdefault((entry.actor, entry.new.channel), []).append(entry)
        for (actor, _channel), group in groups.items():
            if len(group) > 1:
                try:
                    views = desk.create_orders(self.hub, [e.new for e in group], actor)
                except Exception:  # intake's one transaction rolled back: each on its own
                    pass
                else:
                    for entry, view in zip(group, views, strict=True):
                        if view is None:  # its reference exists: as create_order says it
                            self._one(entry)
                        else:
                            entry.view = view
                    continue
            for entry in group:
                self._one(entry)

    def _one(self, entry: Creation) -> None:
        from hub.core import desk

        try:
            entry.view = desk.create_order(self.hub, entry.new, entry.actor)
        except Exception as error:
            entry.error = error


@dataclass
class _Job:
    work: Callable[[Connection], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupWriter:
    """Small writes of many requests (idempotency claims and answers) in one transaction.

    ``run(work)`` returns ``work(connection)`` once the transaction it ran in committed.
    The first request finding no transaction running writes every job waiting then; a
    transaction that fails is run again job by job, so each gets its own result or error.
    On SQLite the writes of the API's threads take turns on ``lock`` (shared with the
    order batches) instead of sleeping in SQLite's busy handler.
    """

    def __init__(self, engine: Engine, lock: threading.Lock | None) -> None:
        self.engine = engine
        self.lock = lock
        self._guard = threading.Lock()
        self._waiting: list[_Job] = []
        self._running = False

    def run(self, work: Callable[[Connection], T]) -> T:
        job = _Job(work)
        with self._guard:
            self._waiting.append(job)
            lead = not self._running
            if lead:
                self._running = True
        if lead:
            self._lead()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _lead(self) -> None:
        while True:
            with self._guard:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                if not batch:
                    self._running = False
                    return
            try:
                with self.lock or nullcontext():
                    self._write(batch)
            except BaseException as error:  # never leave a request waiting
                for job in batch:
                    if not job.done.is_set():
                        job.error = error
                        job.done.set()

    def _write(self, batch: list[_Job]) -> None:
        if len(batch) > 1:
            try:
                results = run_in_transaction(self.engine, lambda c: [j.work(c) for j in batch])
            except Exception:
                pass  # one of them failed: each on its own below
            else:
                for job, result in zip(batch, results, strict=True):
                    job.result = result
                    job.done.set()
                return
        for job in batch:
            try:
                job.result = run_in_transaction(self.engine, job.work)
            except BaseException as error:
                job.error = error
            job.done.set()
