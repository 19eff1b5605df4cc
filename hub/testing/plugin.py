"""The ``hub.testing`` pytest plugin: the databases the channel contract suite runs on.

Installing ``hub`` registers this module through pytest's ``pytest11`` entry point, so a
plugin's tests need no ``conftest.py`` for the suite (:func:`hub.testing.channel_contract`).
It offers the fixture ``hub_database_url``: a migrated, empty database per test, once
per database configured, which the suite's rules run on:

- ``sqlite`` (the default): a SQLite file of the test's own in its ``tmp_path``, copied
  from one the session migrated once;
- a PostgreSQL URL (``postgresql+psycopg://user@host:5432/db``): a schema of the
  session's own in that database, migrated once and emptied (``DELETE``) before each
  test, dropped at the end. A server that cannot be reached fails the test (it is never
  skipped). Under pytest-xdist each worker has a schema of its own.

Configure them with ``--hub-database`` (repeatable) or the ini option ``hub_databases``
(one per line)::

    [tool.pytest.ini_options]
    hub_databases = ["sqlite", "postgresql+psycopg://postgres@127.0.0.1:5432/test"]

The environment variable ``HUB_TEST_DATABASE_URL``, when set, replaces every PostgreSQL
entry with its value (CI points the suite at its own server that way).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

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


class Databases:
    """The session's migrated databases: a SQLite file copied for each test, and one
    PostgreSQL schema per server, emptied before each test (migrating takes seconds,
    emptying a few milliseconds)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite_template: Path | None = None
        # entry -> (admin engine, schema, its tables children first)
        self.schemas: dict[str, tuple[Any, str, list[sa.Table]]] = {}

    def sqlite(self, target: Path) -> str:
        """A migrated SQLite database at ``target``; returns its URL."""
        from hub.core import migrate

        if self.sqlite_template is None:
            template = self.folder / "migrated.db"
            engine = sa.create_engine(f"sqlite:///{template}")
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()
            self.sqlite_template = template
        shutil.copyfile(self.sqlite_template, target)
        return f"sqlite:///{target}"

    def postgresql(self, entry: str) -> str:
        """The session's migrated schema on ``entry``'s server, emptied; returns its URL."""
        from hub.core import migrate

        separator = "&" if "?" in entry else "?"
        if entry not in self.schemas:
            schema = f"contract_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(entry)
            try:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            except sa.exc.OperationalError as error:
                admin.dispose()
                pytest.fail(f"hub_databases: PostgreSQL at {admin.url!r} is not reachable: {error}")
            engine = sa.create_engine(f"{entry}{separator}options=-csearch_path%3D{schema}")
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()
            found = sa.MetaData()
            found.reflect(admin, schema=schema)
            tables = [t for t in reversed(found.sorted_tables) if t.name != "alembic_version"]
            self.schemas[entry] = (admin, schema, tables)
        admin, schema, tables = self.schemas[entry]
        with admin.begin() as conn:  # children first: no foreign key is left dangling
            for table in tables:
                conn.execute(table.delete())
        return f"{entry}{separator}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        """Drop the session's schemas."""
        for admin, schema, _tables in self.schemas.values():
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="session")
def hub_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The session's migrated databases (see :class:`Databases`)."""
    made = Databases(tmp_path_factory.mktemp("hub-databases"))
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture
def hub_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, hub_databases: Databases
) -> str:
    """A migrated, empty database's URL for one test: a SQLite file of its own, or the
    session's PostgreSQL schema with every table emptied (``DELETE``) before the test."""
    entry = getattr(request, "param", "sqlite")
    if entry == "sqlite":
        return hub_databases.sqlite(tmp_path / "hub.db")
    return hub_databases.postgresql(entry)
