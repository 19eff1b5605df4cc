"""Customer accounts (module and ``hub customers``), and the desk's ``hub orders``
commands run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from builders import run_hub

from hub.core import customers
from hub.errors import Conflict, InvalidInput, NotFound
from hub.orders import Address


def test_accounts_contacts_and_addresses(hub):
    def work(conn):  # type: ignore[no-untyped-def]
        customers.create_account(
            conn,
            "ACME",
            "Acme Ltd",
            vat_id="GB123",
            email="Buyer@Acme.example",
            payment_terms_days=30,
            credit_limit="5000",
        )
        customers.add_contact(conn, "ACME", "Jo", email="jo@acme.example", role="buyer")
        first = customers.add_address(
            conn,
            "ACME",
            Address(line1="1 Dock Rd", city="Hull", country="gb", latitude=53.7, longitude=-0.3),
            label="dock",
        )
        second = customers.add_address(
            conn, "ACME", Address(line1="2 Mill Ln", city="York", country="GB"), default=True
        )
        return first, second

    first, second = hub.write(work)
    account = hub.read(lambda c: customers.get_account(c, "ACME"))
    assert (account.email, account.payment_terms_days, account.credit_limit) == (
        "buyer@acme.example",
        30,
        Decimal("5000"),
    )
    assert [c.email for c in account.contacts] == ["jo@acme.example"]
    assert [(a.id, a.is_default) for a in account.addresses] == [
        (first.id, False),
        (second.id, True),
    ]
    assert account.addresses[0].address.country == "GB"
    assert account.addresses[0].address.latitude == 53.7
    changed = hub.write(
        lambda c: customers.update_account(c, "ACME", credit_limit=None, name="Acme plc")
    )
    assert changed.credit_limit is None and changed.name == "Acme plc"
    assert [a.number for a in hub.read(lambda c: customers.list_accounts(c, "acme"))] == ["ACME"]
    assert hub.read(lambda c: customers.list_accounts(c, "nothing")) == []


def test_account_errors_name_the_field(hub):
    hub.write(lambda c: customers.create_account(c, "ACME", "Acme"))
    with pytest.raises(Conflict) as taken:
        hub.write(lambda c: customers.create_account(c, "ACME", "Other"))
    assert taken.value.field == "account_number"
    with pytest.raises(InvalidInput) as bad:
        hub.write(lambda c: customers.create_account(c, "B", "B", credit_limit="lots"))
    assert bad.value.field == "credit_limit"
    with pytest.raises(InvalidInput) as terms:
        hub.write(lambda c: customers.create_account(c, "C", "C", payment_terms_days=-1))
    assert terms.value.field == "payment_terms_days"
    with pytest.raises(NotFound) as missing:
        hub.read(lambda c: customers.get_account(c, "NOPE"))
    assert missing.value.field == "account"
    with pytest.raises(InvalidInput) as address:
        hub.write(lambda c: customers.add_address(c, "ACME", Address(city="Hull")))
    assert address.value.field == "address"


def test_an_email_shared_by_two_accounts_matches_neither(hub):
    def work(conn):  # type: ignore[no-untyped-def]
        customers.create_account(conn, "A", "A", email="shared@example.com")
        customers.create_account(conn, "B", "B")
        customers.add_contact(conn, "B", "x", email="shared@example.com")
        customers.create_account(conn, "C", "C", email="c@example.com")
        return customers.accounts_by_email(conn, ["Shared@example.com", "c@example.com"])

    found = hub.write(work)
    assert {e: r.account_number for e, r in found.items()} == {"c@example.com": "C"}


# -- the commands --------------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """In this process (``hub init`` in :func:`workdir` runs the real script)."""
    return run_hub(
        *args, config=cwd / "hub.toml", cwd=cwd, env={"USER": "alice", "LOGNAME": "alice"}
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "hub.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        '[locations.main]\nname = "Main"\n\n[locations.store]\nname = "Store"\n\n'
        '[channels.b2b]\ntype = "manual"\nlocations = ["main"]\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "init", "--config", str(tmp_path / "hub.toml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_customer_and_order_desk_commands(workdir):
    assert run("stock", "receive", "MUG", "10", cwd=workdir).returncode == 0
    added = run("customers", "add", "ACME", "--name", "Acme Ltd", "--terms", "30", cwd=workdir)
    assert added.returncode == 0, added.stderr
    assert run("customers", "add", "CASH", "--name", "Cash Co", cwd=workdir).returncode == 0
    address = run(
        "customers",
        "add-address",
        "ACME",
        "--line1",
        "1 Dock Rd",
        "--city",
        "Hull",
        "--country",
        "GB",
        cwd=workdir,
    )
    assert address.stdout.strip() == "added address 1 to ACME"
    contact = run(
        "customers", "add-contact", "ACME", "--name", "Jo", "--email", "jo@a.example", cwd=workdir
    )
    assert contact.returncode == 0
    shown = run("customers", "show", "ACME", cwd=workdir).stdout
    assert (
        "terms 30 days" in shown and "address 1 (default)" in shown and "Jo <jo@a.example>" in shown
    )
    assert "ACME" in run("customers", "list", cwd=workdir).stdout

    created = run(
        "orders",
        "create",
        "--account",
        "ACME",
        "--line",
        "MUG:3:2.50",
        "--po",
        "PO-1",
        "--date",
        "2026-12-03",
        "--window",
        "09:00-12:00",
        "--reference",
        "R1",
        cwd=workdir,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("b2b:R1 (hub id 1): open; total 7.50")

    held = run(
        "orders", "create", "--account", "CASH", "--line", "MUG:1", "--reference", "R2", cwd=workdir
    )
    assert "on_hold (unpaid: payment is pending)" in held.stdout
    listed = run("orders", "list", "--hold", "unpaid", cwd=workdir).stdout
    assert "R2" in listed and "R1" not in listed
    released = run("orders", "release", "b2b:R2", "--note", "paid cash", cwd=workdir)
    assert released.returncode == 0 and "open" in released.stdout

    edited = run("orders", "edit", "b2b:R1", "--line", "MUG:5", cwd=workdir)
    assert edited.returncode == 0 and "open" in edited.stdout
    assert run("orders", "ship", "b2b:R1", "--carrier", "DHL", cwd=workdir).returncode == 0
    back = run("orders", "return", "b2b:R1", "--line", "MUG:2", "--to", "store", cwd=workdir)
    assert back.returncode == 0, back.stderr
    damaged = run("orders", "return", "b2b:R1", "--line", "MUG:1", "--damaged", cwd=workdir)
    assert damaged.returncode == 0, damaged.stderr

    show = run("orders", "show", "b2b:R2", cwd=workdir).stdout
    assert "released unpaid: paid cash (cli:alice, from cli)" in show
    assert "shipment 1 from main: 1 × MUG" in show
    cancelled = run("orders", "cancel", "b2b:R2", "--reason", "no longer needed", cwd=workdir)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    assert "cancelled 0 unpaid order(s)" in run("orders", "cancel-unpaid", cwd=workdir).stdout


BAD = [
    (
        ("orders", "create", "--account", "ACME", "--line", "MUG"),
        "error: --line 'MUG' is not SKU:QTY[:PRICE], e.g. MUG:3",
    ),
    (
        ("orders", "create", "--account", "NOPE", "--line", "MUG:1"),
        "error: account: no customer account 'NOPE'",
    ),
    (
        (
            "orders",
            "create",
            "--account",
            "ACME",
            "--line",
            "MUG:1",
            "--window",
            "12:00-09:00",
            "--date",
            "2026-12-03",
        ),
        "error: window_end: the window ends at 09:00, not after it starts at 12:00",
    ),
    (
        ("orders", "create", "--account", "ACME", "--line", "MUG:0"),
        "error: lines[0].quantity: 0 must be from 1 to 1,000,000,000",
    ),
    (
        ("orders", "create", "--account", "ACME", "--line", "MUG:-2"),
        "error: lines[0].quantity: -2 must be from 1 to 1,000,000,000",
    ),
    (
        ("orders", "release", "b2b:NOPE", "--note", "x"),
        "error: no order 'NOPE' on channel 'b2b'",
    ),
    (
        ("orders", "cancel", "b2b:NOPE", "--reason", " "),
        "error: reason: say why the order is cancelled",
    ),
    (("customers", "show", "NOPE"), "error: no customer account 'NOPE'"),
]


def test_bad_input_is_one_line_and_exit_1(workdir):
    run("stock", "receive", "MUG", "1", cwd=workdir)
    run("customers", "add", "ACME", "--name", "Acme", cwd=workdir)
    for args, message in BAD:
        done = run(*args, cwd=workdir)
        assert done.returncode == 1, args
        assert done.stderr.strip().splitlines() == [message]
