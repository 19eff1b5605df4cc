"""Worker side of the reservation race: runs in its own process."""

from __future__ import annotations

from builders import order

from hub.core.config import parse_settings
from hub.core.runtime import Hub


def place_orders(url: str, external_ids: list[str], page: int) -> int:
    """Ingest one-unit orders in pages of ``page``; returns how many were taken."""
    settings = parse_settings({"database": {"url": url}, "locations": {"main": {}}})
    with Hub.open(settings=settings, entry_points=False) as hub:
        for start in range(0, len(external_ids), page):
            batch = [order(i, ("LAST", 1)) for i in external_ids[start : start + page]]
            hub.ingest("web", batch)
    return len(external_ids)
