"""What the machine refuses (an unreachable or read-only database, a port in use) is one
line saying what and where, with exit code 1: never a traceback, nothing half-written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import make_hub, run_hub

from hub.cli.common import one_line_errors
from hub.core import ledger
from hub.core.models import movement_t
from hub.errors import HubError

HUB = [sys.executable, "-m", "hub.cli"]


def hub(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HUB, *args, "--config", str(cwd / "hub.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


LOCATIONS = {"main": {}, "store": {"kind": "store"}}


def configure(folder: Path, url: str, port: int = 8080) -> None:
    (folder / "hub.toml").write_text(
        f'[database]\nurl = "{url}"\n[web]\nport = {port}\n'
        '[locations.main]\n[locations.store]\nkind = "store"\n'
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    """The error line of a command that failed the way the CLI promises."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_postgresql_is_one_line_with_host_and_port(tmp_path):
    port = closed_port()
    configure(tmp_path, f"postgresql+psycopg://hub:pw-never-shown@127.0.0.1:{port}/shop")
    expected = (
        f"error: cannot connect to the database at hub@127.0.0.1:{port}/shop: "
        "Connection refused; check database.url and that PostgreSQL runs there"
    )
    assert one_line(hub("stock", "receive", "MUG", "1", cwd=tmp_path)) == expected
    for command in (
        ["db", "upgrade"],
        ["init"],
        ["stock", "levels"],
        ["stock", "verify"],
        ["orders", "list"],
        ["sync", "pull", "web"],
        ["status"],
        ["retry"],
        ["route", "show", "1"],
        ["run"],
    ):
        assert one_line(run_hub(*command, config=tmp_path / "hub.toml")) == expected, command


def read_only(url: str) -> str:
    """The same database, opened so that it refuses every write."""
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url[len('sqlite:///') :]}?mode=ro&uri=true"
    return url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20")


def place(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    return "postgres@127.0.0.1:5432/test"


def journal_and_levels(url: str) -> tuple[int, list]:
    with make_hub(url, locations=LOCATIONS) as the_hub:
        assert the_hub.read(ledger.verify) == []
        moves = the_hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(movement_t)))
        return moves, the_hub.read(ledger.levels)


def test_a_read_only_database_refuses_writes_in_one_line_and_still_reads(db_url, tmp_path):
    with make_hub(db_url, locations=LOCATIONS) as before:
        before.write(lambda c: ledger.receive(c, "MUG", "main", 3))
    unchanged = journal_and_levels(db_url)
    configure(tmp_path, read_only(db_url))
    expected = (
        f"error: the database {place(db_url)} is read-only, so nothing was written: "
        "give the hub's user write access to it (and, for SQLite, to its folder)"
    )
    assert one_line(hub("stock", "receive", "MUG", "1", cwd=tmp_path)) == expected
    for command in (
        ["stock", "adjust", "MUG", "-1", "--reason", "broken"],
        ["stock", "transfer", "MUG", "1", "--from", "main", "--to", "store"],
        ["db", "upgrade"],
    ):
        done = run_hub(*command, config=tmp_path / "hub.toml")
        assert one_line(done) == expected, command
    levels = run_hub("stock", "levels", config=tmp_path / "hub.toml")
    assert levels.returncode == 0, levels.stderr
    assert "│ MUG │ main     │ 3 " in levels.stdout
    assert journal_and_levels(db_url) == unchanged


def test_an_sqlite_file_whose_folder_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "taken").write_text("a file where the database's folder should be")
    configure(tmp_path, f"sqlite:///{tmp_path / 'taken' / 'hub.db'}")
    assert one_line(hub("stock", "levels", cwd=tmp_path)) == (
        f"error: cannot create the SQLite database {tmp_path / 'taken' / 'hub.db'}: "
        f"{tmp_path / 'taken'} is a file, not a folder"
    )


@pytest.fixture
def port_in_use() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_hub_run_on_a_port_in_use_is_one_line_naming_it(tmp_path, port_in_use):
    make_hub(f"sqlite:///{tmp_path / 'hub.db'}", locations=LOCATIONS).close()
    configure(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", port=port_in_use)
    expected = (
        f"error: cannot listen on 127.0.0.1:{port_in_use}: address already in use; "
        "stop what listens there or choose another web.port (or --port)"
    )
    done = hub("run", cwd=tmp_path)  # web.port from the file
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == expected  # after what `hub run` logs
    again = run_hub("run", "--port", str(port_in_use), config=tmp_path / "hub.toml")
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1] == expected


@pytest.fixture
def reading_role(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` for a PostgreSQL role that may read the hub's tables, not write."""
    with make_hub(postgres_url, locations=LOCATIONS) as the_hub:
        the_hub.write(lambda c: ledger.receive(c, "MUG", "main", 3))
        schema = the_hub.read(lambda c: c.scalar(sa.text("SELECT current_schema()")))
        role = f"reader_{schema}"
        with the_hub.engine.begin() as conn:
            conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
            conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
        yield postgres_url.replace("postgres@", f"{role}@", 1)
        with the_hub.engine.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))


def test_a_postgresql_role_that_may_only_read_is_one_line(reading_role, tmp_path):
    configure(tmp_path, reading_role)
    role = reading_role.split("//", 1)[1].split("@", 1)[0]
    done = run_hub("stock", "receive", "MUG", "1", config=tmp_path / "hub.toml")
    assert one_line(done) == (
        f"error: the database {role}@127.0.0.1:5432/test refused: permission denied for "
        "table product, so nothing was written; grant the hub's role the privileges on its "
        "tables"
    )
    levels = run_hub("stock", "levels", config=tmp_path / "hub.toml")
    assert levels.returncode == 0, levels.stderr
    assert "│ MUG │ main     │ 3 " in levels.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db",
            "error: cannot connect to the database at postgres@127.0.0.1:5432/no_such_db: "
            'FATAL: database "no_such_db" does not exist; check database.url and that '
            "PostgreSQL runs there",
        ),
        (
            "postgresql+psycopg://no_such_role@127.0.0.1:5432/test",
            "error: cannot connect to the database at no_such_role@127.0.0.1:5432/test: "
            'FATAL: role "no_such_role" does not exist; check database.url and that '
            "PostgreSQL runs there",
        ),
    ],
)
def test_a_postgresql_that_refuses_the_connection_says_why(url, expected, tmp_path):
    configure(tmp_path, url)
    assert one_line(run_hub("stock", "levels", config=tmp_path / "hub.toml")) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (
            "192.0.2.1",  # TEST-NET-1: never an address of this machine
            "cannot listen on 192.0.2.1:{port}: cannot assign requested address; "
            "web.host is not an address of this machine",
        ),
        (
            "no-such-host.invalid",
            "cannot listen on no-such-host.invalid:{port}: ",
        ),
    ],
)
def test_hub_run_on_an_address_not_of_this_machine_is_one_line(host, expected, tmp_path):
    make_hub(f"sqlite:///{tmp_path / 'hub.db'}", locations=LOCATIONS).close()
    configure(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")
    port = closed_port()
    done = run_hub("run", "--host", host, "--port", str(port), config=tmp_path / "hub.toml")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {expected.format(port=port)}")


def test_any_file_the_system_refuses_is_one_line_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "counts.csv"
    with pytest.raises(HubError) as error, one_line_errors():
        missing.read_text()
    assert str(error.value) == f"no such file or directory: {missing}"


def test_a_database_error_that_is_a_bug_keeps_its_traceback(sqlite_url):
    the_hub = make_hub(sqlite_url, locations=LOCATIONS)
    insert = sa.text("INSERT INTO location (code) VALUES (NULL)")
    with the_hub, pytest.raises(sa.exc.IntegrityError), one_line_errors():
        the_hub.write(lambda c: c.execute(insert))
