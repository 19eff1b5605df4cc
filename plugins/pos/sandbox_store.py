"""The state of an emulated Square seller account: locations, catalogue, inventory, orders.

Everything is kept as Square's JSON (field names of the Connect API v2) so the HTTP layer
(:mod:`.sandbox`) serves it as it is. Inventory is a history of changes per catalogue
object and location, replayed in ``occurred_at`` order as Square does ("changes are applied
based on the client-supplied timestamp and may be sent out of order", BatchChangeInventory
in Square's OpenAPI): a physical count sets the ``IN_STOCK`` quantity at its time, a sale
moves units from ``IN_STOCK`` to ``SOLD`` at its time.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]

#: States a count row may be in (InventoryState); only IN_STOCK is sellable.
UNTRACKED = ("NONE", "SOLD", "UNLINKED_RETURN")


class SquareError(Exception):
    """An API error as Square reports it: HTTP status, category, code, detail, field."""

    def __init__(
        self, status: int, category: str, code: str, detail: str, field: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.category, self.code, self.detail, self.field = (
            status,
            category,
            code,
            detail,
            field,
        )

    def body(self) -> JSON:
        """``{"errors": [{"category", "code", "detail", "field"?}]}``."""
        error = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        return {"errors": [error]}


def bad_request(code: str, detail: str, field: str | None = None) -> SquareError:
    """A 400 INVALID_REQUEST_ERROR."""
    return SquareError(400, "INVALID_REQUEST_ERROR", code, detail, field)


def stamp(moment: datetime) -> str:
    """RFC 3339 with milliseconds and Z, as Square writes times."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_time(text: str, field: str) -> datetime:
    """An RFC 3339 time from a request; 400 INVALID_VALUE naming ``field`` otherwise."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise bad_request("INVALID_VALUE", f"Invalid timestamp {text!r}.", field) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Change:
    """One inventory change of a (catalogue object, location)."""

    occurred_at: datetime
    seq: int
    kind: str  # PHYSICAL_COUNT or ADJUSTMENT
    state: str  # the state a count sets, or an adjustment's to_state
    quantity: int
    from_state: str = ""


@dataclass
class SquareStore:
    """One seller: locations, item variations, inventory history, orders, idempotency."""

    currency: str = "USD"
    merchant_id: str = "MLSANDBOX0001"
    lock: threading.RLock = field(default_factory=threading.RLock)
    locations: dict[str, JSON] = field(default_factory=dict)
    variations: dict[str, JSON] = field(default_factory=dict)
    history: dict[tuple[str, str], list[Change]] = field(default_factory=dict)
    orders: dict[str, JSON] = field(default_factory=dict)
    order_keys: dict[str, str] = field(default_factory=dict)
    change_keys: dict[str, tuple[Any, JSON]] = field(default_factory=dict)
    listeners: list[Callable[[str, JSON], None]] = field(default_factory=list)
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    count_clock: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    held: datetime | None = None  # hold_clock()
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- time and ids ---------------------------------------------------------------------

    def now(self) -> datetime:
        """The store's clock: real time, but never twice the same millisecond."""
        with self.lock:
            real = self.held or datetime.now(UTC)
            self.clock = max(real, self.clock + timedelta(milliseconds=1))
            return self.clock

    def count_now(self) -> datetime:
        """The time of a count the merchant records in the dashboard: real time, a
        microsecond on per count. (The order clock steps a millisecond per change and runs
        ahead of real time in a burst; a client's count stamped a moment later would then
        sort before the merchant's and be overruled.)"""
        with self.lock:
            real = self.held or datetime.now(UTC)
            self.count_clock = max(real, self.count_clock + timedelta(microseconds=1))
            return self.count_clock

    def hold_clock(self, held: bool) -> None:
        """While ``held``, the clock stays in the second it was held at, one millisecond on
        per change (Square's times give milliseconds)."""
        with self.lock:
            self.held = max(datetime.now(UTC), self.clock) if held else None

    def new_id(self, prefix: str) -> str:
        """An id in Square's style: upper-case letters and digits."""
        return f"{prefix}{next(self._ids):08d}SBX"

    def emit(self, topic: str, payload: JSON) -> None:
        """Tell listeners (the webhook dispatcher) of a change."""
        for listener in list(self.listeners):
            listener(topic, payload)

    # -- locations and catalogue ----------------------------------------------------------

    def add_location(self, name: str, location_id: str | None = None) -> JSON:
        """A physical location (a shop) of the seller."""
        with self.lock:
            lid = location_id or self.new_id("L")
            self.locations[lid] = {
                "id": lid,
                "name": name,
                "status": "ACTIVE",
                "type": "PHYSICAL",
                "merchant_id": self.merchant_id,
                "country": "US",
                "currency": self.currency,
                "timezone": "UTC",
                "business_name": "Sandbox Shop",
                "created_at": stamp(self.now()),
            }
            return self.locations[lid]

    def add_variation(
        self, sku: str, name: str = "", price: str = "0", *, track_inventory: bool = True
    ) -> JSON:
        """An ITEM_VARIATION catalogue object with ``sku`` and a price (major units)."""
        with self.lock:
            vid = self.new_id("V")
            item_id = self.new_id("I")
            self.variations[vid] = {
                "type": "ITEM_VARIATION",
                "id": vid,
                "updated_at": stamp(self.now()),
                "version": 1,
                "is_deleted": False,
                "present_at_all_locations": True,
                "item_variation_data": {
                    "item_id": item_id,
                    "name": name or sku,
                    "sku": sku,
                    "ordinal": len(self.variations),
                    "pricing_type": "FIXED_PRICING",
                    "price_money": {"amount": minor(price), "currency": self.currency},
                    "track_inventory": track_inventory,
                    "sellable": True,
                    "stockable": True,
                },
            }
            return self.variations[vid]

    def variation(self, sku_or_id: str) -> JSON:
        """A variation by id or SKU; KeyError when there is none."""
        with self.lock:
            if sku_or_id in self.variations:
                return self.variations[sku_or_id]
            for item in self.variations.values():
                if item["item_variation_data"].get("sku") == sku_or_id:
                    return item
        raise KeyError(sku_or_id)

    # -- inventory ------------------------------------------------------------------------

    def counts(self, vid: str, lid: str) -> dict[str, tuple[int, datetime]]:
        """Quantity per state of one variation at one location, with the time of the
        newest change behind it (replaying the history in occurred_at order)."""
        out: dict[str, tuple[int, datetime]] = {}
        for change in sorted(
            self.history.get((vid, lid), []), key=lambda c: (c.occurred_at, c.seq)
        ):
            if change.kind == "PHYSICAL_COUNT":
                out[change.state] = (change.quantity, change.occurred_at)
            else:
                if change.from_state:
                    held = out.get(change.from_state, (0, change.occurred_at))[0]
                    out[change.from_state] = (held - change.quantity, change.occurred_at)
                held = out.get(change.state, (0, change.occurred_at))[0]
                out[change.state] = (held + change.quantity, change.occurred_at)
        return out

    def count_rows(self, vid: str, lid: str) -> list[JSON]:
        """InventoryCount objects of tracked states (no row at all: never counted there)."""
        rows = []
        for state, (quantity, at) in sorted(self.counts(vid, lid).items()):
            if state in UNTRACKED:
                continue
            rows.append(
                {
                    "catalog_object_id": vid,
                    "catalog_object_type": "ITEM_VARIATION",
                    "state": state,
                    "location_id": lid,
                    "quantity": str(quantity),
                    "calculated_at": stamp(at),
                    "is_estimated": False,
                }
            )
        return rows

    def in_stock(self, vid: str, lid: str) -> int | None:
        """The IN_STOCK quantity, None when the variation was never counted there."""
        found = self.counts(vid, lid).get("IN_STOCK")
        return None if found is None else found[0]

    def record(self, vid: str, lid: str, change: Change) -> None:
        """Append a change and tell listeners the new counts (inventory.count.updated)."""
        self.history.setdefault((vid, lid), []).append(change)
        self.emit("inventory.count.updated", {"counts": self.count_rows(vid, lid)})

    def physical_count(self, vid: str, lid: str, quantity: int, at: datetime | None = None) -> None:
        """A PHYSICAL_COUNT of ``quantity`` in IN_STOCK at ``at`` (now by default)."""
        with self.lock:
            self.record(
                vid,
                lid,
                Change(
                    at or self.count_now(), next(self._ids), "PHYSICAL_COUNT", "IN_STOCK", quantity
                ),
            )

    def set_state(self, vid: str, lid: str, state: str, quantity: int) -> None:
        """Put ``quantity`` units in a non-sellable ``state`` (e.g. ORDERED_FROM_VENDOR)."""
        with self.lock:
            self.record(
                vid,
                lid,
                Change(self.count_now(), next(self._ids), "PHYSICAL_COUNT", state, quantity),
            )

    def adjust(
        self, vid: str, lid: str, from_state: str, to_state: str, quantity: int, at: datetime
    ) -> None:
        """An ADJUSTMENT of ``quantity`` units from one state to another at ``at``."""
        with self.lock:
            self.record(
                vid, lid, Change(at, next(self._ids), "ADJUSTMENT", to_state, quantity, from_state)
            )

    # -- orders ---------------------------------------------------------------------------

    def create_order(
        self,
        location_id: str,
        lines: list[tuple[str, int] | JSON],
        *,
        idempotency_key: str | None = None,
        state: str = "COMPLETED",
        source: str = "Square Point of Sale",
        sold_at: datetime | None = None,
    ) -> JSON:
        """A sale at a location: lines of (SKU or variation id, units), or an ad-hoc item
        ``{"name", "quantity", "price"}`` (cents) keyed in at the till (no catalog object:
        Square's CUSTOM_AMOUNT line, which moves no stock).

        A COMPLETED sale is paid with one card tender and moves its units from IN_STOCK
        to SOLD at ``sold_at`` (the till's time; an offline till submits it later). The
        same ``idempotency_key`` again returns the first order, changing nothing.
        """
        with self.lock:
            if idempotency_key and idempotency_key in self.order_keys:
                return self.orders[self.order_keys[idempotency_key]]
            if location_id not in self.locations:
                raise SquareError(
                    404,
                    "INVALID_REQUEST_ERROR",
                    "NOT_FOUND",
                    f"Location `{location_id}` not found.",
                    "order.location_id",
                )
            moment = self.now()
            oid = self.new_id("O")
            items = []
            total = 0
            for n, spec in enumerate(lines):
                if isinstance(spec, dict):
                    items.append(self._custom_line(n, oid, spec))
                    total += int(spec["price"]) * int(spec["quantity"])
                    continue
                ref, units = spec
                variation = self.variation(ref)
                data = variation["item_variation_data"]
                price = data["price_money"]["amount"]
                total += price * units
                items.append(
                    {
                        "uid": f"LI{n + 1}{oid[-6:]}",
                        "name": data["name"],
                        "quantity": str(units),
                        "catalog_object_id": variation["id"],
                        "catalog_version": variation["version"],
                        "variation_name": data["name"],
                        "item_type": "ITEM",
                        "base_price_money": {"amount": price, "currency": self.currency},
                        "gross_sales_money": {"amount": price * units, "currency": self.currency},
                        "total_tax_money": {"amount": 0, "currency": self.currency},
                        "total_discount_money": {"amount": 0, "currency": self.currency},
                        "total_money": {"amount": price * units, "currency": self.currency},
                    }
                )
            order: JSON = {
                "id": oid,
                "location_id": location_id,
                "source": {"name": source},
                "line_items": items,
                "created_at": stamp(moment),
                "updated_at": stamp(moment),
                "state": state,
                "version": 1,
                "total_money": {"amount": total, "currency": self.currency},
                "total_tax_money": {"amount": 0, "currency": self.currency},
                "total_discount_money": {"amount": 0, "currency": self.currency},
                "net_amount_due_money": {"amount": 0, "currency": self.currency},
            }
            if state == "COMPLETED":
                order["closed_at"] = stamp(moment)
                order["tenders"] = [
                    {
                        "id": self.new_id("T"),
                        "location_id": location_id,
                        "transaction_id": oid,
                        "created_at": stamp(moment),
                        "amount_money": {"amount": total, "currency": self.currency},
                        "type": "CARD",
                    }
                ]
            self.orders[oid] = order
            if idempotency_key:
                self.order_keys[idempotency_key] = oid
            self.emit("order.created", order)
            if state == "COMPLETED":
                for item in (i for i in items if "catalog_object_id" in i):
                    self.adjust(
                        item["catalog_object_id"],
                        location_id,
                        "IN_STOCK",
                        "SOLD",
                        int(item["quantity"]),
                        sold_at or moment,
                    )
            return order

    def _custom_line(self, n: int, oid: str, spec: JSON) -> JSON:
        """An ad-hoc line (CUSTOM_AMOUNT): a name and a price, no catalog object."""
        price, units = int(spec["price"]), int(spec["quantity"])
        return {
            "uid": f"LI{n + 1}{oid[-6:]}",
            "name": str(spec["name"]),
            "quantity": str(units),
            "item_type": "CUSTOM_AMOUNT",
            "base_price_money": {"amount": price, "currency": self.currency},
            "gross_sales_money": {"amount": price * units, "currency": self.currency},
            "total_tax_money": {"amount": 0, "currency": self.currency},
            "total_discount_money": {"amount": 0, "currency": self.currency},
            "total_money": {"amount": price * units, "currency": self.currency},
        }

    def touch(self, order: JSON) -> None:
        """A new version of an order: updated_at and version move, order.updated is sent."""
        order["updated_at"] = stamp(self.now())
        order["version"] += 1
        self.emit("order.updated", order)

    def cancel(self, order_id: str) -> JSON:
        """The seller cancels an OPEN order (units it reserved nothing in Square)."""
        with self.lock:
            order = self.orders[order_id]
            order["state"] = "CANCELED"
            order["closed_at"] = stamp(self.now())
            self.touch(order)
            return order

    def complete(self, order_id: str) -> JSON:
        """An OPEN order is handed over: COMPLETED, its units leave IN_STOCK."""
        with self.lock:
            order = self.orders[order_id]
            order["state"] = "COMPLETED"
            moment = self.now()
            order["closed_at"] = stamp(moment)
            self.touch(order)
            for item in order["line_items"]:
                self.adjust(
                    item["catalog_object_id"],
                    order["location_id"],
                    "IN_STOCK",
                    "SOLD",
                    int(item["quantity"]),
                    moment,
                )
            return order

    def refund(self, order_id: str, lines: list[tuple[str, int]], *, restock: bool = True) -> JSON:
        """A customer brings units back to the shop: a return order referencing the sale
        (``returns[].source_order_id``), the units back IN_STOCK when restocked. The sale
        itself gets a new version with its ``refunds``."""
        with self.lock:
            source = self.orders[order_id]
            moment = self.now()
            rid = self.new_id("O")
            by_ref = {i["catalog_object_id"]: i for i in source["line_items"]}
            returned = []
            amount = 0
            for n, (ref, units) in enumerate(lines):
                vid = self.variation(ref)["id"]
                item = by_ref[vid]
                price = item["base_price_money"]["amount"]
                amount += price * units
                returned.append(
                    {
                        "uid": f"RL{n + 1}{rid[-6:]}",
                        "source_line_item_uid": item["uid"],
                        "name": item["name"],
                        "quantity": str(units),
                        "catalog_object_id": vid,
                        "item_type": "ITEM",
                        "base_price_money": {"amount": price, "currency": self.currency},
                        "total_money": {"amount": price * units, "currency": self.currency},
                    }
                )
            money = {"amount": amount, "currency": self.currency}
            order: JSON = {
                "id": rid,
                "location_id": source["location_id"],
                "source": {"name": "Square Point of Sale"},
                "returns": [
                    {
                        "uid": f"RT{rid[-6:]}",
                        "source_order_id": order_id,
                        "return_line_items": returned,
                    }
                ],
                "return_amounts": {"total_money": money},
                "created_at": stamp(moment),
                "updated_at": stamp(moment),
                "closed_at": stamp(moment),
                "state": "COMPLETED",
                "version": 1,
                "total_money": {"amount": 0, "currency": self.currency},
            }
            self.orders[rid] = order
            source.setdefault("refunds", []).append(
                {
                    "id": self.new_id("R"),
                    "location_id": source["location_id"],
                    "transaction_id": order_id,
                    "tender_id": source.get("tenders", [{}])[0].get("id", ""),
                    "created_at": stamp(moment),
                    "reason": "Returned at the shop",
                    "amount_money": money,
                    "status": "COMPLETED",
                }
            )
            self.emit("order.created", order)
            self.touch(source)
            if restock:
                for line in returned:
                    self.adjust(
                        line["catalog_object_id"],
                        source["location_id"],
                        "SOLD",
                        "IN_STOCK",
                        int(line["quantity"]),
                        moment,
                    )
            return order


def minor(amount: str | int | Decimal, exponent: int = 2) -> int:
    """Major units ("12.50") in the currency's smallest unit (1250)."""
    return int((Decimal(str(amount)) * (10**exponent)).to_integral_value())
