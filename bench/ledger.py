"""Ledger throughput: order intake per second and reservations per second.

Prints, for SQLite and PostgreSQL:
- order intakes per second: orders of 3 lines arriving as channel pages of 250;
- reservations per second with 8 processes reserving concurrently.
Target on a 2-core machine: at least 2,000 order intakes per second on each database.

    python bench/ledger.py [--orders 10000] [--seconds 5] [--pg URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from hub import Address, Customer, Order, OrderLine
from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.runtime import Hub

PAGE = 250
SKUS = 1000
WRITERS = 8
TARGET = 2000


def open_hub(url: str) -> Hub:
    settings = parse_settings({"database": {"url": url}, "locations": {"main": {}}})
    return Hub.open(settings=settings)


def seed(url: str) -> None:
    with open_hub(url) as hub:
        hub.upgrade()

        def work(conn):
            for n in range(SKUS):
                ledger.receive(conn, f"SKU-{n:04d}", "main", 1_000_000)

        hub.write(work)


def make_orders(count: int, offset: int = 0) -> list[Order]:
    rng = random.Random(offset)
    now = datetime.now(UTC)
    address = Address(name="Bench", line1="1 Road", city="Town", postcode="1000", country="DE")
    return [
        Order(
            channel="web",
            external_id=f"B{offset + n}",
            number=f"#{offset + n}",
            lines=tuple(
                OrderLine(f"SKU-{rng.randrange(SKUS):04d}", rng.randint(1, 3), Decimal("12.50"))
                for _ in range(3)
            ),
            total=Decimal("75.00"),
            currency="EUR",
            customer=Customer(name="Bench"),
            shipping_address=address,
            updated_at=now,
        )
        for n in range(count)
    ]


def intake_rate(url: str, count: int) -> float:
    orders = make_orders(count)
    with open_hub(url) as hub:
        hub.ingest("web", orders[:PAGE])  # warm up connections and caches
        start = time.perf_counter()
        for i in range(PAGE, count, PAGE):
            hub.ingest("web", orders[i : i + PAGE])
        elapsed = time.perf_counter() - start
        assert not hub.read(ledger.verify), "ledger drifted during the benchmark"
    return (count - PAGE) / elapsed


def reserve_worker(url: str, seconds: float, seed_: int) -> int:
    rng = random.Random(seed_)
    done = 0
    with open_hub(url) as hub:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            sku = f"SKU-{rng.randrange(SKUS):04d}"
            hub.write(lambda c, sku=sku: ledger.reserve(c, sku, "main", 1, channel="bench"))
            done += 1
    return done


def reservation_rate(url: str, seconds: float) -> float:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        start = time.perf_counter()
        counts = pool.starmap(reserve_worker, [(url, seconds, n) for n in range(WRITERS)])
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


def pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with sa.create_engine(base).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db", None)]
        pg_url, schema = pg_schema_url(args.pg)
        targets.append(("postgresql", pg_url, schema))
        for name, url, schema in targets:
            seed(url)
            intake = intake_rate(url, args.orders)
            reserve = reservation_rate(url, args.seconds)
            results[name] = (intake, reserve)
            print(
                f"{name:<10} order intake: {intake:8.0f} orders/s (3 lines, pages of {PAGE}); "
                f"reservations: {reserve:7.0f}/s with {WRITERS} writers",
                flush=True,
            )
            if schema:
                with sa.create_engine(args.pg).begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    ok = all(intake >= TARGET for intake, _ in results.values())
    print(
        "ledger: "
        + "; ".join(
            f"{n} {i:.0f} intakes/s, {r:.0f} reservations/s" for n, (i, r) in results.items()
        )
        + f" (target {TARGET} intakes/s: {'met' if ok else 'NOT met'})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
