"""Splitting stock updates into the fewest batch calls WooCommerce accepts.

Simple products are set through ``POST products/batch``; variations only through
``POST products/<parent>/variations/batch``, one parent per call. Each call carries
at most ``batch_size`` (100) updates. So the number of calls for a set of updates is

    ceil(simple / 100) + sum over parents of ceil(variations of that parent / 100)

which is the least possible: no call can mix parents, and none can exceed 100 items.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hub import StockUpdate

Indexed = tuple[int, StockUpdate]


def endpoint_for(parent_id: str) -> str:
    """The batch endpoint for updates of ``parent_id``'s variations ("" for products)."""
    return f"products/{parent_id}/variations/batch" if parent_id else "products/batch"


def stock_requests(
    updates: Sequence[StockUpdate], batch_size: int
) -> Iterator[tuple[str, list[Indexed]]]:
    """Yield (endpoint, [(index in ``updates``, update)]) per call; groups in first-seen order."""
    groups: dict[str, list[Indexed]] = {}
    for index, update in enumerate(updates):
        groups.setdefault(update.parent_id, []).append((index, update))
    for parent_id, group in groups.items():
        for start in range(0, len(group), batch_size):
            yield endpoint_for(parent_id), group[start : start + batch_size]
