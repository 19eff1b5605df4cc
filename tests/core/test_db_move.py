"""``hub db move --to postgresql://...``: a hub's SQLite database copied into an empty
PostgreSQL database, every row, in one transaction, and the hub works there afterwards.

Each test gets a PostgreSQL database of its own (``CREATE DATABASE move_<random>`` on the
test server, dropped afterwards): the move fills a whole database, as an operator's
would be, not a schema. The commands run in-process through :func:`hub.cli.main`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import ADDRESS, PG_URL, make_hub, order

from hub.cli import main
from hub.core import dbmove, inbox, ledger, migrate
from hub.core.customers import add_address, add_contact, create_account
from hub.core.db import make_engine
from hub.core.planning import store_plan
from hub.core.tokens import authenticate, create_token
from hub.core.users import create_user
from hub.errors import InvalidInput
from hub.orders import OrderStatus
from hub.routing import Plan, Route

CHANNELS = {"web": {"type": "manual"}, "b2b": {"type": "manual", "locations": ["main"]}}


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards."""
    name = f"move_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable (set HUB_TEST_DATABASE_URL): {error}")
    url = sa.make_url(PG_URL).set(database=name, query={})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def hub_cli(capsys, monkeypatch, tmp_path):
    """``hub_cli(*args)``: run ``hub`` in-process with wide output; a :class:`Ran`."""
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def write_config(path: Path, url: str) -> Path:
    path.write_text(
        f'[database]\nurl = "{url}"\n\n'
        '[locations.main]\nname = "Main warehouse"\nlatitude = 52.5\nlongitude = 13.4\n\n'
        '[locations.store]\nname = "City store"\nkind = "store"\n\n'
        '[channels.web]\ntype = "manual"\n\n'
        '[channels.b2b]\ntype = "manual"\nlocations = ["main"]\n'
    )
    return path


@pytest.fixture
def sqlite_hub_with_history(sqlite_url: str) -> str:
    """An SQLite hub that has been in use: receipts and transfers, open, held, shipped and
    cancelled orders (reservations and sales in the journal), customers with contacts
    and addresses, a route plan, API tokens, users, and a webhook in the inbox."""
    with make_hub(sqlite_url, channels=CHANNELS) as hub:
        for sku, quantity in [("MUG", 40), ("TEE", 12), ("CAP", 3)]:
            hub.write(lambda c, s=sku, q=quantity: ledger.receive(c, s, "main", q))
        hub.write(lambda c: ledger.receive(c, "MUG", "store", 5))
        hub.write(lambda c: ledger.transfer(c, "MUG", "main", "store", 4))
        orders = [order(f"W{n}", ("MUG", 2), ("TEE", 1), minutes=n) for n in range(1, 9)]
        orders.append(order("W-BIG", ("CAP", 9)))  # more than there is: held
        hub.ingest("web", orders)
        hub.ship("web:W1", "DHL", "JD0001")
        hub.ship("web:W2", "UPS", "1Z0002", "https://ups.example/1Z0002")
        hub.cancel("web", "W3", reason="customer asked")
        later = order("W4", ("MUG", 3), ("TEE", 1), minutes=30)  # an edit: one more mug
        hub.ingest("web", [later])
        hub.ingest("b2b", [order("B1", ("TEE", 2), channel="b2b", notes="pallet")])

        def people(conn: sa.Connection) -> None:
            create_account(
                conn, "C-100", "Café Central", credit_limit=Decimal("2500.50"), notes="ÄÖÜ"
            )
            add_contact(conn, "C-100", "Grete", "grete@example.com")
            add_address(conn, "C-100", ADDRESS, label="Warehouse")
            create_token(conn, "erp", "sales", created_by="ops")
            create_token(conn, "reports", "viewer")
            create_user(conn, "ada", "correct horse battery", "admin", "Ada L.")
            inbox.store(conn, "web", "d-1", "orders/updated", {"X-Test": "1"}, b'{"id": 1}')
            leave = datetime(2026, 12, 1, 8, tzinfo=UTC)
            route = Route("van", date(2026, 12, 1), (), leave, leave, 0.0, 0.0, 0.0, 0.0)
            store_plan(conn, date(2026, 12, 1), 1, Plan((route,), (), "test"), {}, [])

        hub.write(people)
    return sqlite_url


def every_row(url: str) -> dict[str, list[tuple]]:
    """Every row of every hub table, read through the same types on either database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    engine = make_engine(url)
    metadata = sa.MetaData()
    try:
        with engine.connect() as conn:
            metadata.reflect(conn, only=sorted(names))
            return {
                t.name: sorted((_plain(row) for row in conn.execute(sa.select(t))), key=repr)
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _plain(row: sa.Row) -> tuple:
    """A row with times in UTC and numbers as Decimal, whatever the database returned."""
    out = []
    for value in row:
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        elif isinstance(value, float | Decimal) and not isinstance(value, bool):
            value = Decimal(str(value)).normalize()
        elif isinstance(value, memoryview):
            value = bytes(value)
        out.append(value)
    return tuple(out)


def test_a_used_hub_moves_to_postgresql_and_works_there(
    sqlite_hub_with_history, pg_database, hub_cli, tmp_path
):
    config = write_config(tmp_path / "hub.toml", sqlite_hub_with_history)
    before = every_row(sqlite_hub_with_history)
    assert before["sales_order"] and before["movement"] and before["api_token"]

    moved = hub_cli("db", "move", "--to", pg_database, "--config", str(config))
    assert moved.code == 0, moved.err
    assert moved.err == ""
    lines = moved.out.splitlines()
    for table, rows in before.items():  # the summary names every table with its rows
        assert any(f"│ {table} " in ln and f"│ {len(rows)} " in ln for ln in lines), table
    total = sum(len(rows) for rows in before.values())
    assert f"moved {total:,} rows in {len(before)} tables at revision" in moved.out
    assert "balances equal the journal" in moved.out
    assert f"-> postgres@127.0.0.1:5432/{_name(pg_database)}" in moved.out

    assert every_row(pg_database) == before  # every row, value for value
    assert every_row(sqlite_hub_with_history) == before  # the source is only read
    target = make_engine(pg_database)
    assert migrate.current_revision(target) == migrate.head_revision(target)
    target.dispose()

    # the hub works on PostgreSQL: status, the journal, a new order, new rows' ids
    pg_config = write_config(tmp_path / "pg.toml", pg_database)
    status = hub_cli("status", "--config", str(pg_config))
    assert status.code == 0, status.err
    assert hub_cli("stock", "verify", "--config", str(pg_config)).code == 0
    with make_hub(pg_database, channels=CHANNELS) as hub:
        largest = {
            t: max(row[0] for row in before[t]) for t in ("sales_order", "movement", "api_token")
        }
        report = hub.ingest("web", [order("W-NEW", ("MUG", 1))])
        assert [o.status for o in report.outcomes] == [OrderStatus.OPEN.value]
        token, info = hub.write(lambda c: create_token(c, "new", "sales"))
        assert info.id == largest["api_token"] + 1
        assert hub.read(lambda c: authenticate(c, token)) is not None
        assert hub.read(lambda c: authenticate(c, "wrong")) is None
        with hub.engine.connect() as conn:
            new_order = conn.execute(
                sa.text("SELECT id FROM sales_order WHERE external_id = 'W-NEW'")
            ).scalar_one()
            newest_move = conn.execute(sa.text("SELECT max(id) FROM movement")).scalar_one()
        assert new_order == largest["sales_order"] + 1
        assert newest_move > largest["movement"]
        hub.ship("web:W-NEW", "DHL", "JD0099")
        assert hub.read(ledger.verify) == []
    shown = hub_cli("orders", "show", "web:W2", "--config", str(pg_config))
    assert shown.code == 0 and "1Z0002" in shown.out


def test_small_batches_copy_the_same_rows(sqlite_hub_with_history, pg_database):
    report = dbmove.move(sqlite_hub_with_history, pg_database, batch_size=3)
    assert report.rows == sum(len(r) for r in every_row(sqlite_hub_with_history).values())
    assert {t.name: t.rows for t in report.tables}["movement"] > 3  # several batches
    assert every_row(pg_database) == every_row(sqlite_hub_with_history)


def test_tables_are_copied_parents_first(sqlite_hub_with_history, pg_database):
    report = dbmove.move(sqlite_hub_with_history, pg_database)
    order_ = [t.name for t in report.tables]
    for parent, child in [
        ("product", "movement"),
        ("sales_order", "sales_order_line"),
        ("sales_order", "shipment"),
        ("shipment", "shipment_line"),
        ("customer_account", "customer_contact"),
        ("route_plan", "planned_route"),
    ]:
        assert order_.index(parent) < order_.index(child)


def test_a_target_that_holds_hub_data_is_refused_and_left_alone(
    sqlite_hub_with_history, pg_database, hub_cli, tmp_path
):
    dbmove.move(sqlite_hub_with_history, pg_database)
    before = every_row(pg_database)
    again = hub_cli("db", "move", "--from", sqlite_hub_with_history, "--to", pg_database)
    assert again.code == 1
    name = pg_database.rsplit("/", 1)[1]
    assert again.err.splitlines() == [
        f"error: the PostgreSQL database postgres@127.0.0.1:5432/{name} already holds hub "
        "data (table 'api_token' has rows): give an empty database"
    ]
    assert every_row(pg_database) == before


def test_a_target_where_only_hub_db_upgrade_ran_is_accepted(
    sqlite_hub_with_history, pg_database, hub_cli, tmp_path
):
    pg_config = write_config(tmp_path / "pg.toml", pg_database)
    assert hub_cli("db", "upgrade", "--config", str(pg_config)).code == 0  # adds locations
    assert _tables(pg_database) != []
    report = dbmove.move(sqlite_hub_with_history, pg_database)
    assert report.rows > 0
    assert every_row(pg_database) == every_row(sqlite_hub_with_history)


def test_a_source_behind_the_latest_revision_is_refused_naming_the_command(
    tmp_path, pg_database, hub_cli
):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "0009")
    engine.dispose()
    ran = hub_cli("db", "move", "--from", url, "--to", pg_database)
    head = migrate.head_revision(make_engine(pg_database))
    assert (ran.code, ran.err.splitlines()) == (
        1,
        [
            f"error: the SQLite database {tmp_path / 'old.db'} is at revision 0009, not the "
            f"latest {head}: run `hub db upgrade` on it first (with the config that points "
            "at it)"
        ],
    )
    assert _tables(pg_database) == []


def test_an_unreachable_target_is_refused_in_one_line(sqlite_hub_with_history, hub_cli):
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    target = f"postgresql://hub:s3cret-pw@127.0.0.1:{port}/hub"
    ran = hub_cli("db", "move", "--from", sqlite_hub_with_history, "--to", target)
    assert ran.code == 1
    (line,) = ran.err.splitlines()
    assert line.startswith(f"error: cannot connect to the database at hub@127.0.0.1:{port}/hub")
    assert line.endswith("check --to and that PostgreSQL runs there")
    assert "s3cret" not in ran.err + ran.out


def test_a_hub_still_running_on_the_source_is_refused(sqlite_hub_with_history, pg_database):
    worker = f"{socket.gethostname()}:{os.getpid()}"  # this process: alive
    engine = make_engine(sqlite_hub_with_history)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE inbox SET claimed_by = :w, claimed_until = :t"),
            {"w": worker, "t": datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)},
        )
    with pytest.raises(InvalidInput, match=f"worker {worker} holds a lease") as refused:
        dbmove.move(sqlite_hub_with_history, pg_database)
    assert "stop every `hub run` on it, then move" in str(refused.value)
    # a lease that has not run out, held by a worker of another machine, counts too
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE inbox SET claimed_by = 'elsewhere:1', claimed_until = :t"),
            {"t": datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=50)},
        )
    with pytest.raises(InvalidInput, match="worker elsewhere:1 holds a lease"):
        dbmove.move(sqlite_hub_with_history, pg_database)
    # a dead worker's lease that ran out is no hub running: the move goes ahead
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE inbox SET claimed_until = :t"),
            {"t": datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)},
        )
    engine.dispose()
    assert dbmove.move(sqlite_hub_with_history, pg_database).rows > 0


def test_a_source_another_process_has_open_is_refused_naming_it(
    sqlite_hub_with_history, pg_database
):
    path = sqlite_hub_with_history.split("///", 1)[1]
    holder = subprocess.Popen(  # a hub command, sqlite3, `hub run` on an idle hub...
        [sys.executable, "-c", OPEN_AND_WAIT, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
        with pytest.raises(InvalidInput) as refused:
            dbmove.move(sqlite_hub_with_history, pg_database)
        assert str(refused.value).startswith(f"another process has {path} open (pid {holder.pid}: ")
        assert "\n" not in str(refused.value)
    finally:
        holder.communicate(b"done\n", timeout=30)
    assert _tables(pg_database) == []
    assert dbmove.move(sqlite_hub_with_history, pg_database).rows > 0  # closed: it moves


OPEN_AND_WAIT = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM product").fetchone()
print("open", flush=True)
sys.stdin.readline()
"""


def test_a_row_postgresql_refuses_midway_leaves_the_target_empty(
    sqlite_hub_with_history, pg_database, hub_cli
):
    engine = make_engine(sqlite_hub_with_history)
    with engine.begin() as conn:  # SQLite keeps a NUL character in a text; PostgreSQL never
        conn.execute(sa.text("UPDATE web_user SET full_name = 'Ada' || char(0)"))
    engine.dispose()
    ran = hub_cli("db", "move", "--from", sqlite_hub_with_history, "--to", pg_database)
    assert ran.code == 1
    (line,) = ran.err.splitlines()
    assert line.startswith("error: copying table 'web_user' failed: ")
    assert line.endswith(f"nothing was written to postgres@127.0.0.1:5432/{_name(pg_database)}")
    assert _tables(pg_database) == []  # no schema, no rows: as empty as it was


def test_wrong_kinds_of_database_are_refused(sqlite_hub_with_history, pg_database, tmp_path):
    with pytest.raises(InvalidInput, match=r"--to must be a PostgreSQL URL .*not 'sqlite'"):
        dbmove.move(sqlite_hub_with_history, f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(InvalidInput, match="the source must be an SQLite database"):
        dbmove.move(pg_database, pg_database)
    with pytest.raises(InvalidInput, match="no SQLite database at"):
        dbmove.move(f"sqlite:///{tmp_path / 'missing.db'}", pg_database)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(InvalidInput, match="--batch-size must be at least 1"):
        dbmove.move(sqlite_hub_with_history, pg_database, batch_size=0)
    assert _tables(pg_database) == []


def test_the_configured_database_is_the_default_source(
    sqlite_hub_with_history, pg_database, hub_cli, tmp_path
):
    config = write_config(tmp_path / "hub.toml", sqlite_hub_with_history)
    moved = hub_cli("db", "move", "--config", str(config), "--to", pg_database)
    assert moved.code == 0, moved.err
    assert f"copied {sqlite_hub_with_history.split('///')[1]} -> " in moved.out


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
