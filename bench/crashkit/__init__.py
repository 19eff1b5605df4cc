"""The crash harness: kill ``hub run`` with SIGKILL mid-work while stores sell, then judge.

One run starts a sandbox store per channel plugin (Shopify, WooCommerce) with about 20%
of API requests failing and webhooks duplicated, reordered and replayed; starts one or
two real ``hub run`` processes on SQLite or PostgreSQL; lets shoppers buy, race for the
last units, cancel and ship; kills a worker at random points during pulls, pushes and
webhook processing (and anywhere), and restarts it. Then the shoppers stop, the stores'
outage ends, the hub settles on its own (no manual command), and the verdict counts
orders missing, duplicated, in the wrong state, units oversold, balances off their
journal and store quantities that differ from the hub's available-to-promise.

``bench/crash.py`` runs it at full size; ``tests/sync/test_crash.py`` with a few kills.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.listings import import_listings
from hub.core.models import order_t
from hub.core.runtime import Hub

from .checks import Settled, Verdict, judge, settle
from .stores import CATALOGUE, Balancer, Shoppers, Stores, Tally, Wire
from .workers import Kill, Killer, Worker, write_config

PG_URL = os.environ.get(
    "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PHASES = ("pull", "push", "webhook", "anywhere")
#: What the hub is told: pull and push every second, reconcile every 3 s, 2 s time-outs.
SCHEDULE = {"poll_interval": 1.0, "push_interval": 1.0, "reconcile_interval": 3.0}


@dataclass(frozen=True)
class Mode:
    name: str
    database: str  # sqlite or postgresql
    workers: int = 1


MODES = {
    "sqlite": Mode("sqlite", "sqlite"),
    "postgresql": Mode("postgresql", "postgresql"),
    "two-workers": Mode("two workers on postgresql", "postgresql", 2),
}


@dataclass
class Run:
    """What one crash run did and found."""

    mode: Mode
    kills: list[Kill]
    tally: Tally
    settled: Settled
    verdict: Verdict
    deliveries: Counter
    refusals: list[str]
    reactivated: int
    seconds: float
    startup: list[float]
    folder: Path

    def report(self) -> list[str]:
        """The run's figures, a few lines, then one line per problem found."""
        v, t = self.verdict, self.tally
        lines = [self._headline(), self._traffic(), self._settling(), self._figures()]
        dead = [f"dead letter: {d}" for d in v.dead_letters[:10]]
        refused = [f"webhook answered {r}" for r in sorted(set(self.refusals))[:10]]
        return lines + [f"  - {d}" for d in v.details + t.errors + dead + refused]

    def _headline(self) -> str:
        phases = Counter(k.phase.split(" ")[0] for k in self.kills)
        kinds = ", ".join(f"{n} {p}" for p, n in sorted(phases.items()))
        return (
            f"{self.mode.name}: {len(self.kills)} kills ({kinds}) in {self.seconds:.0f} s; "
            f"hub run answered {self._startup()} after a start"
        )

    def _traffic(self) -> str:
        t = self.tally
        answers = ", ".join(f"{s}: {n}" for s, n in sorted(self.deliveries.items()))
        return (
            f"  shoppers: {t.sold} orders ({t.refused} refused by a sold-out store, {t.races} "
            f"races), {t.cancelled} cancelled, {t.fulfilled} shipped, {t.annotated} annotated, "
            f"{t.received} deliveries from the supplier; webhook answers {answers} (502: no "
            f"worker up); subscriptions re-enabled {self.reactivated}"
        )

    def _settling(self) -> str:
        unmet = self.settled.unmet
        verdict = ": NOT settled: " + "; ".join(unmet) if unmet else ""
        return (
            f"  settled in {self.settled.seconds:.1f} s{verdict}; waited on: "
            f"{self.settled.slowest() or 'nothing'}"
        )

    def _figures(self) -> str:
        v = self.verdict
        return (
            f"  orders in the stores {v.store_orders}, in the hub {v.hub_orders} ({v.held} "
            f"held); missing {v.missing}, duplicated {v.duplicated}, wrong state "
            f"{v.wrong_state}, oversold {v.oversold} (beside them {v.oversells_recorded} "
            f"recorded as final sales past the stock), verify {v.verify}, store-versus-hub "
            f"differences {v.differences}; dead letters {len(v.dead_letters)}"
        )

    def _startup(self) -> str:
        if not self.startup:
            return "never"
        ordered = sorted(self.startup)
        return f"in {ordered[len(ordered) // 2]:.1f} s (median), {ordered[-1]:.1f} s at worst"


@contextmanager
def postgres_schema(base_url: str = PG_URL) -> Iterator[str]:
    """A fresh schema in the PostgreSQL database, dropped afterwards; yields its URL."""
    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database(mode: Mode, folder: Path) -> Iterator[str]:
    """The database URL for a run of ``mode``: a file in ``folder`` or a fresh schema."""
    if mode.database == "sqlite":
        yield f"sqlite:///{folder / 'hub.db'}"
    else:
        with postgres_schema() as url:
            yield url


def crash_run(
    mode: Mode,
    kill_points: int,
    *,
    database_url: str,
    folder: Path,
    seed: int = 1,
    settle_deadline: float = 90.0,
) -> Run:
    """Sell, kill and restart ``kill_points`` times, settle, and judge."""
    started = time.monotonic()
    wire = Wire()
    probe = Hub.open(settings=parse_settings({"database": {"url": "sqlite:///:memory:"}}))
    stores = Stores(probe, wire)
    probe.close()
    balancer = Balancer(wire, seed)
    hub, config = _open_hub(folder, database_url, stores)
    workers = [Worker(n + 1, config, folder / f"worker-{n + 1}.log") for n in range(mode.workers)]
    balancer.ports = [w.port for w in workers]
    killer = Killer(seed)
    wire.listeners.append(killer.notice)
    shoppers = Shoppers(
        stores, lambda c, o: _reserved(hub, c, o), lambda s, n: _receive(hub, s, n), seed
    )
    try:
        _open_shop(hub, stores, balancer.url)
        stores.faults_on(seed)
        for worker in workers:
            _start(worker)
        shoppers.start()
        reactivated = _kill_points(killer, workers, stores, kill_points, random.Random(seed))
        shoppers.finish()
        stores.api_faults_off()
        settled = settle(hub, stores, settle_deadline)
        verdict = judge(hub, stores, wire, killer.kills)
        _verify_command(config, verdict)
    finally:
        shoppers.finish()
        for worker in workers:
            worker.stop()
        balancer.stop()
        stores.stop()
        hub.close()
    return Run(
        mode,
        killer.kills,
        shoppers.tally,
        settled,
        verdict,
        Counter(str(d[3]) for d in wire.deliveries),
        wire.refusals,
        reactivated,
        time.monotonic() - started,
        [s for worker in workers for s in worker.startup],
        folder,
    )


def run_mode(mode: Mode, kill_points: int, *, seed: int = 1, keep: Path | None = None) -> Run:
    """A crash run of ``mode`` in a fresh folder and database."""
    with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
        folder = Path(keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with database(mode, folder) as url:
            return crash_run(mode, kill_points, database_url=url, folder=folder, seed=seed)


def _open_hub(folder: Path, database_url: str, stores: Stores) -> tuple[Hub, Path]:
    """The hub's configuration file for the workers, and the harness's own hub on it."""
    channels = stores.channel_sections(locations=["main"], timeout=2.0, **SCHEDULE)
    raw = {
        "database": {"url": database_url},
        "locations": {"main": {"name": "Main warehouse"}},
        "channels": channels,
    }
    config = write_config(folder / "hub.toml", database_url, channels)
    hub = Hub.open(settings=parse_settings(raw, config))
    hub.upgrade()
    return hub, config


def _open_shop(hub: Hub, stores: Stores, webhooks: str) -> None:
    """The hub holds the catalogue's stock and knows every store's listings; the stores
    send their webhooks to ``webhooks`` (the balancer)."""
    hub.write(
        lambda c: [
            ledger.receive(c, item.sku, "main", item.quantity, reason="opening stock")
            for item in CATALOGUE
            if item.quantity
        ]
    )
    for name in stores.stores:
        items = list(hub.channel(name).fetch_listings())
        hub.write(lambda c, n=name, i=items: import_listings(c, n, i, create_products=True))
    for name, store in stores.stores.items():
        store.subscribe(f"{webhooks}/webhooks/{name}")


def _start(worker: Worker) -> None:
    worker.start()
    if not worker.wait_ready():
        tail = worker.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"hub run (worker {worker.index}) did not come up:\n{tail}")


def _kill_points(
    killer: Killer, workers: list[Worker], stores: Stores, count: int, rng: random.Random
) -> int:
    """Kill a random worker ``count`` times, each at a phase in turn; restart it."""
    reactivated = 0
    for point in range(count):
        victim = rng.choice(workers)
        phase = PHASES[point % len(PHASES)]
        time.sleep(rng.uniform(0.3, 2.0))  # up for a while: webhooks land, jobs run
        if phase == "anywhere":
            time.sleep(rng.uniform(0.0, 1.5))
            killer.now(victim, phase)
        else:
            fired = killer.arm(phase, victim)
            if not fired.wait(8.0):
                killer.disarm()
                if not fired.wait(0.5):  # a kill already on its timer wins
                    killer.now(victim, f"anywhere (no {phase} came in 8 s)")
        time.sleep(rng.uniform(0.0, 1.0))  # down: webhooks to it fail meanwhile
        _start(victim)
        # A store disables a subscription after failed deliveries; the merchant turns it
        # back on (orders sent meanwhile reach the hub by its pulls).
        reactivated += sum(s.reactivate_webhooks() for s in stores.stores.values())
    return reactivated


def _reserved(hub: Hub, channel: str, order_id: str) -> bool:
    """Whether the hub holds the order open (reserved): only such orders are shipped."""
    status = hub.read(
        lambda c: c.execute(
            sa.select(order_t.c.status).where(
                order_t.c.channel == channel, order_t.c.external_id == order_id
            )
        ).scalar()
    )
    return status == "open"


def _receive(hub: Hub, sku: str, units: int) -> None:
    hub.write(lambda c: ledger.receive(c, sku, "main", units, reason="from the supplier"))


def _verify_command(config: Path, verdict: Verdict) -> None:
    """``hub stock verify`` itself, as an operator runs it."""
    hub = Path(sys.executable).with_name("hub")
    done = subprocess.run(
        [str(hub), "stock", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0 and not verdict.verify:
        verdict.verify = 1
        verdict.details.append(f"hub stock verify failed: {done.stdout[-500:]}{done.stderr[-500:]}")


def summary(
    runs: list[Run], wanted_kills: dict[str, int], broken: dict[str, str] | None = None
) -> str:
    """One line: each figure beside its target, ending with ': met' or ': not met'.

    ``wanted_kills`` maps each mode's name to the kill points it needs at least;
    ``broken`` the modes that could not finish to why.
    """
    parts = [f"{name} did not finish ({why})" for name, why in (broken or {}).items()]
    ok = {r.mode.name for r in runs} >= set(wanted_kills)
    for run in runs:
        wanted = wanted_kills.get(run.mode.name, 0)
        v = run.verdict
        figures = {
            "missing": v.missing,
            "duplicated": v.duplicated,
            "oversold": v.oversold,
            "wrong state": v.wrong_state,
            "verify": v.verify,
            "store-vs-hub differences": v.differences,
        }
        enough = len(run.kills) >= wanted
        ok = ok and v.zero() and enough and not run.settled.unmet
        parts.append(
            f"{run.mode.name} {len(run.kills)} kills (target >= {wanted})"
            + ": "
            + ", ".join(f"{name} {n}" for name, n in figures.items())
            + ("" if not run.settled.unmet else ", NOT settled")
        )
    return "crash: " + "; ".join(parts) + f" (target 0 each): {'met' if ok else 'not met'}"


__all__ = ["MODES", "Mode", "Run", "crash_run", "run_mode", "summary", "postgres_schema"]
