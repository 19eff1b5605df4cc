"""Fixtures of the order-desk tests, on SQLite and on PostgreSQL (through the shared
``db_url`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from desk_fixtures import desk_hub

from hub.core.runtime import Hub


@pytest.fixture
def desk(db_url: str) -> Iterator[Hub]:
    """:func:`desk_hub` on SQLite and on PostgreSQL."""
    with desk_hub(db_url) as the_hub:
        yield the_hub
