"""Setting available quantities with ``inventorySetQuantities``, compare-and-set.

Each quantity carries ``changeFromQuantity``: the value the hub last confirmed. When
Shopify's own value moved in between (a sale on the storefront, an edit in the admin),
the whole mutation is refused with ``CHANGE_FROM_QUANTITY_STALE`` for those items. They
are read again and reported ``stale`` with the quantity Shopify holds, so the core
computes the next push from the truth; the other items are sent again without them.
The mutation carries the mandatory ``@idempotent(key:)``: a retry of the same call
after a time-out can never apply twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args

from hub import StockResult, StockUpdate

from .client import ShopifyClient

#: The reasons inventorySetQuantities accepts for a change (Shopify's documented list).
InventoryReason = Literal[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
]
INVENTORY_REASONS = frozenset(get_args(InventoryReason))

STALE = "CHANGE_FROM_QUANTITY_STALE"
ROUNDS = 3  # stale items are taken out and the rest re-sent, at most this many times


def quantities_input(
    updates: Sequence[StockUpdate], location: Callable[[StockUpdate], str]
) -> list:
    return [
        {
            "inventoryItemId": u.external_id,
            "locationId": location(u),
            "quantity": u.quantity,
            "changeFromQuantity": u.expected,
        }
        for u in updates
    ]


def _index(error: dict[str, Any]) -> int | None:
    field = error.get("field") or []
    if len(field) >= 3 and field[:2] == ["input", "quantities"] and str(field[2]).isdigit():
        return int(field[2])
    return None


def set_quantities(
    client: ShopifyClient,
    updates: Sequence[StockUpdate],
    location: Callable[[StockUpdate], str],
    read_available: Callable[[list[StockUpdate]], dict[str, int | None]],
    reason: str = "correction",
) -> dict[str, StockResult]:
    """Send ``updates`` (at most 250) and return a result per inventory item id."""
    results: dict[str, StockResult] = {}
    pending = list(updates)
    for _ in range(ROUNDS):
        if not pending:
            break
        reply = client.execute(
            "SetQuantities",
            {
                "input": {
                    "name": "available",
                    "reason": reason,
                    "referenceDocumentUri": "gid://hub/StockSync/" + uuid.uuid4().hex[:12],
                    "quantities": quantities_input(pending, location),
                },
                "key": str(uuid.uuid4()),
            },
        )
        payload = reply.get("inventorySetQuantities") or {}
        errors = payload.get("userErrors") or []
        if not errors:
            group = payload.get("inventoryAdjustmentGroup") or {}
            after = {
                c["item"]["id"]: c.get("quantityAfterChange")
                for c in group.get("changes") or ()
                if c.get("item")
            }
            for u in pending:
                confirmed = after.get(u.external_id)
                results[u.external_id] = StockResult(
                    u.sku, u.external_id, True, u.quantity if confirmed is None else confirmed
                )
            return results
        stale: list[StockUpdate] = []
        refused: set[int] = set()
        for error in errors:
            index = _index(error)
            if index is None or index >= len(pending):  # the whole call was refused
                text = f"Shopify refused the stock update: {error.get('message')}"
                for u in pending:
                    results[u.external_id] = StockResult(u.sku, u.external_id, False, error=text)
                return results
            refused.add(index)
            update = pending[index]
            if error.get("code") == STALE:
                stale.append(update)
            else:
                results[update.external_id] = StockResult(
                    update.sku,
                    update.external_id,
                    False,
                    error=f"Shopify refused SKU {update.sku!r}: {error.get('message')} "
                    f"({error.get('code')})",
                )
        if stale:
            actual = read_available(stale)
            for u in stale:
                results[u.external_id] = StockResult(
                    u.sku, u.external_id, False, confirmed=actual.get(u.external_id), stale=True
                )
        pending = [u for i, u in enumerate(pending) if i not in refused]
    for u in pending:  # still refused after ROUNDS: report them stale without a value
        results.setdefault(
            u.external_id,
            StockResult(u.sku, u.external_id, False, stale=True, error="changed again meanwhile"),
        )
    return results
