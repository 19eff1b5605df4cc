"""Shared fixtures: a hub on SQLite and on the real PostgreSQL, plugins of our choosing.

PostgreSQL comes from ``HUB_TEST_DATABASE_URL`` (default: the local server's ``test``
database). Each test gets a schema of its own, so test runs never see each other's rows;
a PostgreSQL that cannot be reached fails the test rather than skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import PG_URL, make_hub

from hub.core.runtime import Hub

# Wide tables for the CLI's output, in every worker, before any console is made: under
# pytest-xdist a worker's console would otherwise be 80 columns wide and wrap the rows
# the CLI tests read.
os.environ.setdefault("COLUMNS", "250")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable (set HUB_TEST_DATABASE_URL): {error}")
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    """A migrated hub with the installed plugins, on SQLite and on PostgreSQL."""
    with make_hub(db_url) as the_hub:
        yield the_hub


@pytest.fixture
def sqlite_hub(sqlite_url: str) -> Iterator[Hub]:
    """A migrated hub on SQLite only, for tests that do not depend on the database."""
    with make_hub(sqlite_url) as the_hub:
        yield the_hub
