"""The ``hub`` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import run_hub

HUB = [sys.executable, "-m", "hub.cli"]


def hub(
    *args: str, cwd: Path, env: dict | None = None, script: bool = False
) -> subprocess.CompletedProcess:
    """``hub args`` in this process (quicker), or with ``script`` in a process of its own."""
    if not script:
        return run_hub(*args, cwd=cwd, env=env)
    return subprocess.run(
        [*HUB, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    done = hub("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_init_writes_a_config_and_creates_the_database(workdir):
    assert (workdir / "config" / "hub.toml").exists()
    assert (workdir / "config" / "hub.db").exists()
    again = hub("init", cwd=workdir, script=True)
    assert "exists; keeping it" in again.stdout


def test_stock_commands_and_one_line_errors(workdir):
    assert hub("stock", "receive", "MUG", "5", cwd=workdir).returncode == 0
    moved = hub("stock", "adjust", "MUG", "-2", "--reason", "broken", cwd=workdir)
    assert "on hand 3" in moved.stdout
    refused = hub("stock", "adjust", "MUG", "-9", "--reason", "x", cwd=workdir)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: not enough stock of 'MUG' at 'main': on hand 3, reserved 0; asked to change "
        "on hand by -9 and reserved by +0"
    ]
    levels = hub("stock", "levels", cwd=workdir)
    assert "MUG" in levels.stdout and "3" in levels.stdout
    assert hub("stock", "verify", cwd=workdir).returncode == 0


def test_count_import_is_all_or_nothing(workdir):
    bad = workdir / "bad.csv"
    bad.write_text("sku,location,quantity\nMUG,main,4\nTEE,main,lots\nCAP,main,-1\n")
    done = hub("stock", "import", str(bad), cwd=workdir)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {bad}: nothing imported, fix these 2 rows:",
        f"  {bad}: line 3, column quantity: 'lots' is not a whole number",
        f"  {bad}: line 4, column quantity: -1 is negative",
    ]
    good = workdir / "good.csv"
    good.write_text("sku,location,quantity,name\nMUG,main,4,Mug\nTEE,main,7,Tee\n")
    assert hub("stock", "import", str(good), cwd=workdir).returncode == 0
    assert "TEE" in hub("stock", "levels", cwd=workdir).stdout


def test_every_command_takes_config_and_hub_config(workdir, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    config = workdir / "config" / "hub.toml"
    assert (
        hub("stock", "receive", "MUG", "1", "--config", str(config), cwd=elsewhere).returncode == 0
    )
    listed = hub("stock", "levels", cwd=elsewhere, env={"HUB_CONFIG": str(config)})
    assert "MUG" in listed.stdout
    missing = hub("orders", "list", cwd=elsewhere)
    assert missing.returncode == 1
    assert "no such configuration file; create one with `hub init`" in missing.stderr


def test_plugins_lists_builtins_with_their_origin(workdir):
    listed = hub("plugins", cwd=workdir)
    assert "checks" in listed.stdout and "hub_plugins.checks" in listed.stdout
    assert "channel:manual" in listed.stdout
    assert "channel:shopify" in listed.stdout and "channel:woocommerce" in listed.stdout


def test_an_outdated_database_is_refused_with_the_fix(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text('[database]\nurl = "sqlite:///fresh.db"\n')
    done = hub("orders", "list", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1
    assert "run `hub db upgrade`" in done.stderr
    assert hub("db", "upgrade", "--config", str(config), cwd=tmp_path).returncode == 0
    assert hub("orders", "list", "--config", str(config), cwd=tmp_path).returncode == 0


def test_demo_tours_the_ledger_and_ends_verified(tmp_path):
    done = hub("demo", "--tour", "--folder", str(tmp_path / "demo"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "unchanged" in done.stdout  # the duplicate was recognised
    assert "not enough stock: 'MUG-RED' needs 2 more, 1 available" in done.stdout
    assert "every balance equals the sum of its journal" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    config = tmp_path / "demo" / "tour" / "hub.toml"
    shown = hub("orders", "show", "web:1001", "--config", str(config), cwd=tmp_path)
    assert "fulfilled" in shown.stdout and "shipped with DHL" in shown.stdout


def test_live_demo_keeps_the_sandbox_stores_in_step(tmp_path):
    # its own process: the demo serves the sandbox stores and the hub while shoppers shop
    done = hub(
        "demo", "--duration", "4", "--folder", str(tmp_path / "demo"), cwd=tmp_path, script=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "woocommerce-1" in done.stdout and "woocommerce-2" in done.stdout
    assert "till" in done.stdout
    assert "every store shows the hub's availability" in done.stdout
    assert "propagation of a sale to the other stores: p50" in done.stdout
    assert "every balance equals the sum of its journal" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    text = " ".join(done.stdout.split())  # rich wraps long lines
    assert "POST /api/v1/orders → 201, order b2b:B2B-000001 open, 3 × MUG-black at main" in text
    assert "same Idempotency-Key: the same answer, no second order" in text
    assert "imported b2b-orders.csv: 3 rows, 2 new orders on b2b" in text
    assert "the same file again: 0 new orders, 2 unchanged" in text
    assert "sign in as demo, password 'demo-desk'" in text
    desk = tmp_path / "demo" / "live" / "desk.toml"
    listed = hub("orders", "list", "--channel", "b2b", "--config", str(desk), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for ref in ("B2B-000001", "ACME-W1", "ACME-W2"):
        assert ref in listed.stdout
    journal = hub("stock", "journal", "MUG-black", "--config", str(desk), cwd=tmp_path)
    assert "b2b" in journal.stdout


def test_products_bundles_and_the_journal(workdir):
    assert (
        hub("stock", "product", "CUP", "--name", "Cup", "--weight", "350", cwd=workdir).returncode
        == 0
    )
    assert hub("stock", "receive", "CUP", "4", cwd=workdir).returncode == 0
    assert hub("stock", "receive", "SAUCER", "9", cwd=workdir).returncode == 0
    made = hub("stock", "bundle", "SET", "CUP=2", "SAUCER=1", cwd=workdir)
    assert "SET = 2 × CUP + 1 × SAUCER" in made.stdout
    bad = hub("stock", "bundle", "SET", "CUP=two", cwd=workdir)
    assert bad.returncode == 1 and "'two' is not a whole number" in bad.stderr
    journal = hub("stock", "journal", "CUP", cwd=workdir)
    assert "receipt" in journal.stdout and "+4" in journal.stdout


def test_hub_run_serves_and_stops_cleanly_on_sigterm(workdir):
    import signal
    import socket
    import time

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = workdir / "config" / "hub.toml"
    config.write_text(config.read_text() + '\n[channels.desk]\ntype = "manual"\n')
    process = subprocess.Popen(
        [*HUB, "run", "--port", str(port)],
        cwd=workdir,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.json()["channels"][0]["channel"] == "desk"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "stopping: letting running jobs finish" in output
    status = hub("status", "--json", cwd=workdir)
    assert status.returncode == 0
    assert [row["channel"] for row in __import__("json").loads(status.stdout)] == ["desk"]


def fleet_hub(workdir):
    """The workdir's hub with a depot at "main", a van, and 10 BOX in stock."""
    from hub.core import ledger
    from hub.core.runtime import Hub

    config = workdir / "config" / "hub.toml"
    text = config.read_text().replace(
        "# latitude = 52.52\n# longitude = 13.405", "latitude = 52.52\nlongitude = 13.405"
    )
    config.write_text(text + '\n[fleet.van]\ndepot = "main"\nweekdays = [0,1,2,3,4,5,6]\n')
    the_hub = Hub.open(config)
    the_hub.write(lambda c: ledger.receive(c, "BOX", "main", 10))
    return the_hub


def test_route_plan_show_and_dispatch(workdir):
    from builders import order

    from hub import Address

    with fleet_hub(workdir) as the_hub:
        for n in range(3):
            address = Address(
                line1=f"{n} Street",
                city="Berlin",
                country="DE",
                latitude=52.50 + n / 100,
                longitude=13.40,
            )
            the_hub.ingest("web", [order(f"B{n}", ("BOX", 1), shipping_address=address)])
    planned = hub(
        "route",
        "plan",
        "--date",
        "2026-12-01",
        "--allow-past",  # the orders' day: in the past once the calendar passes it
        "--time-limit",
        "1",
        "--router",
        "pyvrp",
        cwd=workdir,
    )
    assert planned.returncode == 0, planned.stderr
    assert "plan 1: 3 orders in 3 stops, solved by pyvrp" in planned.stdout
    rows = hub("route", "show", "1", "--csv", cwd=workdir).stdout.strip().splitlines()
    assert rows[0].startswith("day,vehicle,seq,order") and len(rows) == 4
    assert "1 route(s) of plan 1 dispatched" in hub("route", "dispatch", "1", cwd=workdir).stdout
    bad = hub("route", "plan", "--date", "tomorrow", cwd=workdir)
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == ["error: --date 'tomorrow' is not a date like 2026-12-01"]


def test_route_plan_and_show_draw_svg_maps(workdir):
    import json
    import xml.etree.ElementTree as ET
    from datetime import UTC, datetime

    from builders import order

    from hub import Address, DeliveryWindow

    with fleet_hub(workdir) as the_hub:
        for n in range(4):  # B3 only on the second day: two routes
            day = 2 if n == 3 else 1
            window = DeliveryWindow(
                datetime(2026, 12, day, 9, tzinfo=UTC), datetime(2026, 12, day, 16, tzinfo=UTC)
            )
            address = Address(
                line1=f"{n} Street",
                city="Berlin",
                country="DE",
                latitude=52.50 + n / 100,
                longitude=13.40 + n / 200,
            )
            the_hub.ingest(
                "web",
                [order(f"B{n}", ("BOX", 1), shipping_address=address, delivery_window=window)],
            )
    planned = hub(
        "route", "plan", "--date", "2026-12-01", "--allow-past", "--days", "2", "--time-limit", "1",
        "--router", "pyvrp", "--svg", "plan.svg", cwd=workdir,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    assert "map of plan 1 written to plan.svg" in planned.stdout
    routes = json.loads(hub("route", "show", "1", "--json", cwd=workdir).stdout)["routes"]
    assert len(routes) == 2
    shown = hub("route", "show", "1", "--svg", "shown.svg", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    for name in ("plan.svg", "shown.svg"):
        root = ET.parse(workdir / name).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        lines = root.findall("{http://www.w3.org/2000/svg}polyline")
        assert len(lines) == len(routes), name
        assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 4, name
        assert sorted(len(line.get("points").split()) for line in lines) == [3, 5], name
    missing = hub("route", "show", "7", "--svg", "none.svg", cwd=workdir)
    assert missing.returncode == 1 and "no route plan 7" in missing.stderr
    assert not (workdir / "none.svg").exists()
