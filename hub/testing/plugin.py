"""The ``hub.testing`` pytest plugin: the databases the channel contract suite runs on.

Installing ``hub`` registers this module through pytest's ``pytest11`` entry point, so a
plugin's tests need no ``conftest.py`` for the suite (:func:`hub.testing.channel_contract`).
It offers the fixture ``hub_database_url``: a fresh, empty database per test, once per
database configured, which the suite's rules run on:

- ``sqlite`` (the default): a new SQLite file in the test's ``tmp_path``;
- a PostgreSQL URL (``postgresql+psycopg://user@host:5432/db``): a new schema in that
  database for the test, dropped afterwards. A server that cannot be reached fails the
  test (it is never skipped).

Configure them with ``--hub-database`` (repeatable) or the ini option ``hub_databases``
(one per line)::

    [tool.pytest.ini_options]
    hub_databases = ["sqlite", "postgresql+psycopg://postgres@127.0.0.1:5432/test"]

The environment variable ``HUB_TEST_DATABASE_URL``, when set, replaces every PostgreSQL
entry with its value (CI points the suite at its own server that way).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

OPTION = "hub_databases"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hub", "hub channel contract suite")
    group.addoption(
        "--hub-database",
        action="append",
        dest=OPTION,
        metavar="URL",
        help="database the channel contract suite runs on: 'sqlite' or a PostgreSQL URL "
        "(repeatable; default: the ini option hub_databases, else sqlite)",
    )
    parser.addini(
        OPTION,
        type="linelist",
        default=["sqlite"],
        help="databases the channel contract suite runs on: 'sqlite' or PostgreSQL URLs",
    )


def configured_databases(config: pytest.Config) -> list[str]:
    """The databases to run on: the command line's, else the ini option's, in order."""
    chosen = config.getoption(OPTION) or config.getini(OPTION) or ["sqlite"]
    override = os.environ.get("HUB_TEST_DATABASE_URL", "").strip()
    found: list[str] = []
    for entry in chosen:
        entry = entry.strip()
        if entry != "sqlite" and not entry.startswith("postgresql"):
            raise pytest.UsageError(
                f"hub_databases: {entry!r} is neither 'sqlite' nor a postgresql:// URL"
            )
        if entry != "sqlite" and override:
            entry = override
        if entry not in found:
            found.append(entry)
    return found


def _database_id(url: str) -> str:
    return "sqlite" if url == "sqlite" else "postgresql"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hub_database_url" in metafunc.fixturenames:
        databases = configured_databases(metafunc.config)
        ids: list[str] = []
        for url in databases:
            name = _database_id(url)
            ids.append(name if name not in ids else f"{name}{len(ids)}")
        metafunc.parametrize("hub_database_url", databases, indirect=True, ids=ids)


@pytest.fixture
def hub_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database's URL for one test: a SQLite file, or a PostgreSQL schema."""
    entry = getattr(request, "param", "sqlite")
    if entry == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    import sqlalchemy as sa

    schema = f"contract_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(entry)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.fail(f"hub_databases: PostgreSQL at {admin.url!r} is not reachable: {error}")
    separator = "&" if "?" in entry else "?"
    try:
        yield f"{entry}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
