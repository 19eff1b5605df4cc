"""The order desk's part of ``hub demo``: a sales rep's B2B order through the REST API and
an operations team's spreadsheet of orders, both landing in the same ledger as the stores'.

Everything goes through the public doors a merchant's people use: an API token of role
``sales`` and an ``Idempotency-Key`` (the request is sent twice, as a client retrying after
a time-out would, and makes one order), and :func:`hub.core.importer.import_file` for the
spreadsheet (imported twice: the second time creates nothing).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import aiohttp
from rich.console import Console

from hub.core import customers, desk, importer, tokens
from hub.core.runtime import Hub
from hub.orders import Address

#: the demo's B2B customer: 30 days' terms, a credit limit, one delivery address
ACCOUNT = "ACME-001"
CSV_NAME = "b2b-orders.csv"


@dataclass(frozen=True)
class DeskResult:
    """What the desk did: the API's order (hub id, status) and the import's counts."""

    api_order: int
    api_status: str
    replayed_same: bool
    imported: int
    reimported_new: int


def _prepare(hub: Hub) -> str:
    """Create the demo account and a sales token; returns the token (shown to no one)."""

    def work(conn):  # type: ignore[no-untyped-def]
        customers.create_account(
            conn,
            ACCOUNT,
            "Acme Catering Ltd",
            email="orders@acme.example",
            payment_terms_days=30,
            credit_limit="5000",
        )
        customers.add_address(
            conn,
            ACCOUNT,
            Address(
                name="Acme Catering",
                line1="4 Quay Street",
                city="Leith",
                postcode="EH6 6LX",
                country="GB",
                latitude=55.977,
                longitude=-3.170,
            ),
            label="kitchen",
        )
        token, _info = tokens.create_token(conn, "demo-sales", "sales", created_by="demo")
        return token

    return str(hub.write(work))


def _spreadsheet(folder: Path, day: date) -> Path:
    """Two orders of three lines, as an operations team would fill the template."""
    rows = [
        "order ref,account,sku,quantity,unit price,po number,requested date,window start,"
        "window end",
        f"ACME-W1,{ACCOUNT},POSTER,2,19.90,PO-2001,{day.isoformat()},09:00,12:00",
        f"ACME-W1,{ACCOUNT},TEE-XL,4,24.00,PO-2001,{day.isoformat()},09:00,12:00",
        f"ACME-W2,{ACCOUNT},MUG-black,2,12.50,PO-2002,{day.isoformat()},13:00,17:00",
    ]
    path = folder / CSV_NAME
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def run_desk(hub: Hub, url: str, folder: Path, console: Console) -> DeskResult:
    """Enter a B2B order through ``url``'s API and import a spreadsheet; print each step."""
    token = await asyncio.to_thread(_prepare, hub)
    day = date.today() + timedelta(days=1)
    body = {
        "account": ACCOUNT,
        "lines": [{"sku": "MUG-black", "quantity": 3, "unit_price": "12.50"}],
        "channel": "b2b",
        "po_number": "PO-1001",
        "requested_date": day.isoformat(),
        "window_start": "09:00",
        "window_end": "12:00",
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    async with aiohttp.ClientSession() as session:
        answers = []
        for _ in range(2):  # a client retrying after a lost answer: one order, same body
            async with session.post(f"{url}/api/v1/orders", json=body, headers=headers) as r:
                answers.append((r.status, await r.json()))
    (status, first), (_again, second) = answers
    if status != 201:
        raise RuntimeError(f"the API refused the demo order: {status} {first}")
    view = await asyncio.to_thread(desk.order_view, hub, first["id"])
    where = ", ".join(f"{a.quantity} × {a.sku} at {a.location}" for a in view.allocation)
    console.print(
        f"sales rep (API token 'demo-sales'): POST /api/v1/orders → 201, order "
        f"b2b:{view.external_id} {view.status}, {where or 'nothing reserved'}"
    )
    same = second == first
    console.print(
        "  the same request again with the same Idempotency-Key: "
        + ("the same answer, no second order" if same else "a DIFFERENT answer")
    )
    sheet = _spreadsheet(folder, day)
    actor = desk.Actor("operations", "import")
    report = await asyncio.to_thread(importer.import_file, hub, sheet, channel="b2b", actor=actor)
    console.print(
        f"operations: imported {sheet.name}: {report.rows} rows, "
        f"{report.orders_created} new orders on b2b"
    )
    again = await asyncio.to_thread(importer.import_file, hub, sheet, channel="b2b", actor=actor)
    console.print(
        f"  the same file again: {again.orders_created} new orders, "
        f"{again.orders_unchanged} unchanged"
    )
    return DeskResult(first["id"], view.status, same, report.orders_created, again.orders_created)


def desk_config(folder: Path, database: Path) -> Path:
    """A config for opening the demo's order desk again after the demo (no sandbox stores,
    which stop with the demo): the database, the location and the manual channels."""
    path = folder / "desk.toml"
    path.write_text(
        f'[hub]\nname = "Demo shop"\n\n[database]\nurl = "sqlite:///{database.name}"\n\n'
        '[locations.main]\nname = "Main warehouse"\n\n'
        '[channels.b2b]\ntype = "manual"\nlocations = ["main"]\n\n'
        '[channels.till]\ntype = "manual"\nlocations = ["main"]\n',
        encoding="utf-8",
    )
    return path
