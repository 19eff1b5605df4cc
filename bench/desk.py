"""Order desk benchmark.

- API: B2B orders created per second through the REST API by 20 concurrent clients on
  loopback, each request with its own ``Idempotency-Key`` (target: at least 300/s on
  SQLite). The hub's web app runs in a process of its own, as ``hub run`` would; the
  clients (aiohttp) in this one.

- Import: rows per second, seconds and peak memory importing a 10,000-row XLSX and a
  100,000-row CSV (1 to 5 lines per order over 3,000 SKUs and 300 accounts), each into a
  fresh SQLite hub, each in a process of its own so its peak resident memory is the
  import's (targets: XLSX under 3 s, CSV under 10 s, memory under 500 MB).

    python bench/desk.py [--orders 3000] [--clients 20] [--xlsx-rows 10000]
        [--csv-rows 100000] [--quick] [--only api|import]

``--quick``: a small run of each (300 API orders, 1,000 XLSX and 5,000 CSV rows), for CI;
its figures are not compared with the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from hub.core import customers, ledger, tokens
from hub.core.config import parse_settings
from hub.core.runtime import Hub, order_count

API_TARGET = 300.0  # orders per second


def open_hub(folder: Path) -> Hub:
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{folder / 'hub.db'}"},
            "locations": {"main": {}, "store": {}},
            "channels": {"b2b": {"type": "manual", "locations": ["main", "store"]}},
        }
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    return hub


def _serve(folder: str, port: Any, ready: Any) -> None:
    """The hub's web app, in a process of its own."""
    from aiohttp import web

    from hub.core.sync import Sync
    from hub.web.app import make_app

    hub = open_hub(Path(folder))

    async def start() -> None:
        runner = web.AppRunner(make_app(Sync(hub)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.value = runner.addresses[0][1]
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(start())


async def _clients(url: str, token: str, orders: int, clients: int, skus: int) -> list[int]:
    statuses: list[int] = []
    queue = iter(range(orders))
    headers = {"Authorization": f"Bearer {token}"}

    async def client(session: aiohttp.ClientSession) -> None:
        for n in queue:
            body = {
                "account": "C-1",
                "lines": [
                    {"sku": f"SKU-{n % skus:03d}", "quantity": 1},
                    {"sku": f"SKU-{(n * 7 + 3) % skus:03d}", "quantity": 2},
                ],
                "po_number": f"PO-{n}",
            }
            async with session.post(
                f"{url}/api/v1/orders",
                json=body,
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            ) as answer:
                await answer.read()
                statuses.append(answer.status)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return statuses


def bench_api(orders: int = 3000, clients: int = 20, skus: int = 100) -> dict[str, float]:
    """Orders per second created through the API by ``clients`` concurrent clients."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub = open_hub(folder)
        hub.write(
            lambda c: [ledger.receive(c, f"SKU-{n:03d}", "main", 1_000_000) for n in range(skus)]
        )
        hub.write(lambda c: customers.create_account(c, "C-1", "Bench Ltd", payment_terms_days=30))
        token, _ = hub.write(lambda c: tokens.create_token(c, "bench", "sales"))
        hub.close()
        context = multiprocessing.get_context("spawn")
        port, ready = context.Value("i", 0), context.Event()
        server = context.Process(target=_serve, args=(tmp, port, ready), daemon=True)
        server.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the hub's web app did not start")
            url = f"http://127.0.0.1:{port.value}"
            asyncio.run(_clients(url, token, 50, clients, skus))  # warm up
            started = time.perf_counter()
            statuses = asyncio.run(_clients(url, token, orders, clients, skus))
            seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.join(10)
        hub = open_hub(folder)
        stored = hub.read(order_count)
        hub.close()
    created = sum(1 for s in statuses if s == 201)
    if created != orders or stored != orders + 50:
        others = sorted({s for s in statuses if s != 201})
        raise RuntimeError(
            f"{created} of {orders} answered 201 (others: {others}), {stored} stored"
        )
    return {"orders": orders, "clients": clients, "seconds": seconds, "rate": orders / seconds}


IMPORT_SKUS = 3000
IMPORT_ACCOUNTS = 300
XLSX_TARGET = 3.0  # seconds for the XLSX file
CSV_TARGET = 10.0  # seconds for the CSV file
MEMORY_TARGET = 500.0  # MB peak (resident) of the importing process


def _import_rows(rows: int, seed: int) -> list[list[object]]:
    """``rows`` order lines, 1 to 5 per order, over IMPORT_SKUS SKUs and
    IMPORT_ACCOUNTS accounts; every third order has a requested date and window."""
    rng = random.Random(seed)
    out: list[list[object]] = []
    n = 0
    while len(out) < rows:
        n += 1
        account = f"AC-{rng.randrange(IMPORT_ACCOUNTS):04d}"
        dated = n % 3 == 0
        for _ in range(min(rng.randint(1, 5), rows - len(out))):
            out.append(
                [
                    f"IMP-{seed}-{n:07d}",
                    account,
                    f"{rng.randrange(IMPORT_SKUS):05d}",  # leading zeros: text
                    rng.randint(1, 4),
                    f"{rng.randint(100, 9999) / 100:.2f}",
                    f"PO-{n}",
                    "2026-12-03" if dated else "",
                    "09:00" if dated else "",
                    "12:00" if dated else "",
                ]
            )
    return out


_IMPORT_HEADER = [
    "order_ref",
    "account",
    "sku",
    "quantity",
    "unit_price",
    "po_number",
    "requested_date",
    "window_start",
    "window_end",
]


def _write_import_files(folder: Path, xlsx_rows: int, csv_rows: int) -> tuple[Path, Path]:
    import csv

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    sheet.append(_IMPORT_HEADER)
    day = date(2026, 12, 3)
    for row in _import_rows(xlsx_rows, 1):
        row[3] = int(row[3])  # type: ignore[call-overload]
        row[4] = float(row[4])  # type: ignore[arg-type]
        row[6] = day if row[6] else None
        sheet.append(row)
    xlsx = folder / "orders.xlsx"
    book.save(xlsx)
    path = folder / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(_IMPORT_HEADER)
        writer.writerows(_import_rows(csv_rows, 2))
    return xlsx, path


def _seed_import_hub(folder: Path) -> None:
    hub = open_hub(folder)

    def seed(conn: Any) -> None:
        for n in range(IMPORT_SKUS):
            ledger.receive(conn, f"{n:05d}", "main", 1_000_000)
        for n in range(IMPORT_ACCOUNTS):
            customers.create_account(conn, f"AC-{n:04d}", f"Account {n}", payment_terms_days=30)

    hub.write(seed)
    hub.close()


def _import_child(folder: str, file: str, answer: Any) -> None:
    """Import ``file`` into the hub in ``folder`` (in a process of its own, so its peak
    memory is the import's)."""
    import resource

    from hub.core import desk, importer

    hub = open_hub(Path(folder))
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    report = importer.import_file(hub, Path(file), actor=desk.Actor("bench", "import"))
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    hub.close()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak = after.ru_maxrss / 1024  # KiB on Linux
    answer.put((seconds, cpu, peak, report.rows, report.orders_created))


def bench_import(xlsx_rows: int = 10_000, csv_rows: int = 100_000) -> dict[str, float]:
    """Seconds, rows per second and peak memory importing an XLSX and a CSV file, each
    into a fresh SQLite hub."""
    import shutil

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seeded = folder / "seeded"
        seeded.mkdir()
        _seed_import_hub(seeded)
        files = _write_import_files(folder, xlsx_rows, csv_rows)
        context = multiprocessing.get_context("spawn")
        for kind, file in zip(("xlsx", "csv"), files, strict=True):
            run = folder / kind
            shutil.copytree(seeded, run)
            answer = context.Queue()
            child = context.Process(target=_import_child, args=(str(run), str(file), answer))
            child.start()
            seconds, cpu, peak, rows, created = answer.get(timeout=600)
            child.join(60)
            out[f"{kind}_rows"] = rows
            out[f"{kind}_orders"] = created
            out[f"{kind}_seconds"] = seconds
            out[f"{kind}_cpu_seconds"] = cpu
            out[f"{kind}_rate"] = rows / seconds
            out[f"{kind}_peak_mb"] = peak
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000, help="API orders to create")
    parser.add_argument("--clients", type=int, default=20, help="concurrent API clients")
    parser.add_argument("--xlsx-rows", type=int, default=10_000, help="rows of the XLSX file")
    parser.add_argument("--csv-rows", type=int, default=100_000, help="rows of the CSV file")
    parser.add_argument("--quick", action="store_true", help="a small run, for CI")
    parser.add_argument("--only", choices=("api", "import"), help="run one part only")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.xlsx_rows, args.csv_rows = 300, 1_000, 5_000
    figures: list[tuple[str, bool]] = []
    if args.only != "import":
        api = bench_api(args.orders, args.clients)
        print(
            f"API: {api['orders']:.0f} orders by {api['clients']:.0f} concurrent clients in "
            f"{api['seconds']:.1f} s",
            flush=True,
        )
        figures.append(
            (
                f"API orders {api['rate']:.0f}/s (target >= {API_TARGET:.0f}/s)",
                api["rate"] >= API_TARGET or args.quick,
            )
        )
    if args.only != "api":
        imp = bench_import(args.xlsx_rows, args.csv_rows)
        for kind, target in (("xlsx", XLSX_TARGET), ("csv", CSV_TARGET)):
            print(
                f"import {kind.upper()}: {imp[kind + '_rows']:.0f} rows, "
                f"{imp[kind + '_orders']:.0f} orders in {imp[kind + '_seconds']:.2f} s "
                f"(CPU {imp[kind + '_cpu_seconds']:.2f} s; load average "
                f"{os.getloadavg()[0]:.1f}), "
                f"{imp[kind + '_rate']:.0f} rows/s, peak memory {imp[kind + '_peak_mb']:.0f} MB",
                flush=True,
            )
            figures.append(
                (
                    f"import {kind.upper()} {imp[kind + '_rate']:.0f} rows/s "
                    f"{imp[kind + '_seconds']:.1f} s (target < {target:.0f} s) "
                    f"{imp[kind + '_peak_mb']:.0f} MB (target < {MEMORY_TARGET:.0f} MB)",
                    args.quick
                    or (imp[kind + "_seconds"] < target and imp[kind + "_peak_mb"] < MEMORY_TARGET),
                )
            )
    ok = all(met for _, met in figures)
    print(f"desk: {', '.join(text for text, _ in figures)}: {'met' if ok else 'not met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
