"""The state of the Shopify sandbox: products, variants, inventory per location, orders.

Objects are plain dicts keyed by their numeric id; the GraphQL layer
(:mod:`.sandbox_graphql`) turns them into Admin API objects and this module turns them
into the REST-shaped bodies Shopify posts as webhooks (``orders/create``,
``inventory_levels/update``, ...). Every change goes through a method here, under one
lock, and tells the listeners (the webhook dispatcher) what happened.
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
Listener = Callable[[str, JSON], None]


def gid(kind: str, number: int) -> str:
    """Shopify's global id of an object: ``gid://shopify/Order/1001``."""
    return f"gid://shopify/{kind}/{number}"


def number_of(global_id: str, kind: str) -> int | None:
    """The numeric id in ``gid://shopify/<kind>/<n>``; None when it is not one of ``kind``."""
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(global_id, str) or not global_id.startswith(prefix):
        return None
    tail = global_id[len(prefix) :].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def iso(moment: datetime) -> str:
    """A time as Shopify writes it in GraphQL: UTC with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreError(Exception):
    """A change the store refuses (no stock, unknown SKU)."""


@dataclass
class Line:
    """A line item of an order."""

    id: int
    sku: str
    title: str
    quantity: int
    price: Decimal
    variant_id: int | None
    product_id: int | None
    refunded: int = 0

    @property
    def current(self) -> int:
        return self.quantity - self.refunded


@dataclass
class FulfillmentOrder:
    """What one location has to ship of an order."""

    id: int
    lines: list[JSON]  # {"id", "line_id", "sku", "total", "remaining"}
    status: str = "OPEN"


@dataclass
class ShopOrder:
    """An order as the store keeps it."""

    id: int
    number: int
    lines: list[Line]
    created_at: datetime
    updated_at: datetime
    currency: str
    customer: JSON
    shipping_address: JSON | None
    email: str = ""
    phone: str = ""
    note: str = ""
    tags: list[str] = field(default_factory=list)
    financial_status: str = "PAID"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    risk: str = "LOW"
    test: bool = False
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[JSON] = field(default_factory=list)
    refunds: list[JSON] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def total(self) -> Decimal:
        return sum((ln.price * ln.quantity for ln in self.lines), Decimal("0"))

    def fulfillment_status(self) -> str:
        remaining = sum(fl["remaining"] for fo in self.fulfillment_orders for fl in fo.lines)
        total = sum(fl["total"] for fo in self.fulfillment_orders for fl in fo.lines)
        if total and remaining == 0:
            return "FULFILLED"
        if remaining < total:
            return "PARTIALLY_FULFILLED"
        return "UNFULFILLED"


class ShopStore:
    """Everything the emulated shop holds, safe to use from several threads."""

    def __init__(self, *, currency: str = "USD", domain: str = "hub-sandbox.myshopify.com"):
        self.lock = threading.RLock()
        self.currency = currency
        self.domain = domain
        self.name = "Hub sandbox"
        self.timezone = "America/New_York"
        self.listeners: list[Listener] = []
        self._ids = itertools.count(1001)
        self._numbers = itertools.count(1001)
        self._offset = timedelta(0)
        self.locations: dict[int, JSON] = {}
        self.products: dict[int, JSON] = {}
        self.variants: dict[int, JSON] = {}
        self.items: dict[int, JSON] = {}  # inventory items
        self.levels: dict[tuple[int, int], int] = {}  # (item, location) -> available
        self.orders: dict[int, ShopOrder] = {}
        self.sku_index: dict[str, list[int]] = {}  # SKU -> variant ids
        self.primary = self.add_location("Shop location")

    # -- time and ids -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The store's clock: real UTC time, moved on by :meth:`advance`, whole seconds."""
        return (datetime.now(UTC) + self._offset).replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        """Move the store's clock forward."""
        with self.lock:
            self._offset += timedelta(seconds=seconds)

    def next_id(self) -> int:
        return next(self._ids)

    def emit(self, topic: str, payload: JSON) -> None:
        for listener in self.listeners:
            listener(topic, payload)

    # -- catalogue --------------------------------------------------------------------------

    def add_location(self, name: str, *, active: bool = True, online: bool = True) -> int:
        with self.lock:
            number = self.next_id()
            self.locations[number] = {
                "id": number,
                "name": name,
                "isActive": active,
                "fulfillsOnlineOrders": online,
            }
            return number

    def add_product(self, title: str, variants: list[JSON], *, status: str = "ACTIVE") -> JSON:
        """Add a product; each variant: sku, price, stock (None: not tracked), option."""
        with self.lock:
            product_id = self.next_id()
            handle = "-".join(title.lower().split()) or f"product-{product_id}"
            self.products[product_id] = {
                "id": product_id,
                "title": title,
                "handle": handle,
                "status": status,
                "variant_ids": [],
            }
            for spec in variants:
                variant_id, item_id = self.next_id(), self.next_id()
                sku = spec.get("sku") or ""
                stock = spec.get("stock", 0)
                self.items[item_id] = {"id": item_id, "sku": sku, "tracked": stock is not None}
                self.levels[(item_id, self.primary)] = stock or 0
                self.variants[variant_id] = {
                    "id": variant_id,
                    "sku": sku,
                    "title": spec.get("option") or "Default Title",
                    "price": Decimal(str(spec.get("price", "10.00"))),
                    "product_id": product_id,
                    "item_id": item_id,
                    "updated_at": self.now(),
                }
                self.products[product_id]["variant_ids"].append(variant_id)
                if sku:
                    self.sku_index.setdefault(sku, []).append(variant_id)
            return self.products[product_id]

    def variant_by_sku(self, sku: str) -> JSON:
        ids = self.sku_index.get(sku)
        if not ids:
            raise StoreError(f"no variant has SKU {sku!r}")
        return self.variants[ids[0]]

    def display_name(self, variant: JSON) -> str:
        product = self.products[variant["product_id"]]
        if variant["title"] == "Default Title":
            return str(product["title"])
        return f"{product['title']} - {variant['title']}"

    def available(self, item_id: int, location_id: int | None = None) -> int | None:
        """Available units of an inventory item at a location (None: not stocked there)."""
        return self.levels.get((item_id, location_id or self.primary))

    def set_available(self, item_id: int, location_id: int, quantity: int) -> int:
        """Set the available quantity; returns the delta. Emits ``inventory_levels/update``."""
        with self.lock:
            before = self.levels.get((item_id, location_id), 0)
            self.levels[(item_id, location_id)] = quantity
            if before != quantity:
                self.emit("inventory_levels/update", self.level_payload(item_id, location_id))
            return quantity - before

    def level_payload(self, item_id: int, location_id: int) -> JSON:
        return {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": self.levels.get((item_id, location_id)),
            "updated_at": self.now().isoformat(),
            "admin_graphql_api_id": (
                f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"
            ),
        }

    # -- orders -----------------------------------------------------------------------------

    def create_order(
        self,
        lines: list[tuple[str, int]],
        *,
        customer: JSON,
        shipping_address: JSON | None,
        financial_status: str = "PAID",
        risk: str = "LOW",
        check_stock: bool = True,
        note: str = "",
        tags: list[str] | None = None,
    ) -> ShopOrder:
        """Check out ``[(sku, quantity), ...]``: stock goes down, ``orders/create`` is sent.

        With ``check_stock`` a tracked variant with too few units refuses the sale, as a
        storefront with inventory policy DENY does.
        """
        with self.lock:
            variants = [(self.variant_by_sku(sku), quantity) for sku, quantity in lines]
            if check_stock:
                for variant, quantity in variants:
                    item = self.items[variant["item_id"]]
                    have = self.levels.get((item["id"], self.primary), 0)
                    if item["tracked"] and have < quantity:
                        raise StoreError(f"only {have} of {variant['sku']} left")
            stamp = self.now()
            order = ShopOrder(
                id=self.next_id(),
                number=next(self._numbers),
                lines=[
                    Line(
                        self.next_id(),
                        variant["sku"],
                        self.display_name(variant),
                        quantity,
                        variant["price"],
                        variant["id"],
                        variant["product_id"],
                    )
                    for variant, quantity in variants
                ],
                created_at=stamp,
                updated_at=stamp,
                currency=self.currency,
                customer=customer,
                shipping_address=shipping_address,
                email=customer.get("email", ""),
                financial_status=financial_status,
                risk=risk,
                note=note,
                tags=list(tags or []),
            )
            order.fulfillment_orders.append(
                FulfillmentOrder(
                    self.next_id(),
                    [
                        {
                            "id": self.next_id(),
                            "line_id": ln.id,
                            "sku": ln.sku,
                            "total": ln.quantity,
                            "remaining": ln.quantity,
                        }
                        for ln in order.lines
                    ],
                )
            )
            self.orders[order.id] = order
            self.emit("orders/create", self.order_payload(order))
            for variant, quantity in variants:
                item = self.items[variant["item_id"]]
                if item["tracked"]:
                    have = self.levels.get((item["id"], self.primary), 0)
                    self.set_available(item["id"], self.primary, have - quantity)
            return order

    def order(self, order_id: int) -> ShopOrder:
        try:
            return self.orders[order_id]
        except KeyError:
            raise StoreError(f"no order {order_id}") from None

    def touch(self, order: ShopOrder) -> None:
        order.updated_at = max(self.now(), order.updated_at + timedelta(seconds=1))

    def update_order(self, order_id: int, **changes: Any) -> ShopOrder:
        """Edit an order as the admin would (note, tags, financial_status, risk, address)."""
        with self.lock:
            order = self.order(order_id)
            for key, value in changes.items():
                if not hasattr(order, key):
                    raise StoreError(f"orders have no field {key!r}")
                setattr(order, key, value)
            self.touch(order)
            self.emit("orders/updated", self.order_payload(order))
            return order

    def cancel_order(self, order_id: int, reason: str = "CUSTOMER", restock: bool = True) -> None:
        """Cancel an order: its stock comes back, ``orders/cancelled`` and ``orders/updated``."""
        with self.lock:
            order = self.order(order_id)
            if order.cancelled_at is not None:
                raise StoreError(f"order {order.name} is already cancelled")
            order.cancelled_at = self.now()
            order.cancel_reason = reason
            if order.financial_status == "PAID":
                order.financial_status = "REFUNDED"
            for fo in order.fulfillment_orders:
                if fo.status in ("OPEN", "IN_PROGRESS"):
                    fo.status = "CANCELLED"
            self.touch(order)
            self.emit("orders/cancelled", self.order_payload(order))
            self.emit("orders/updated", self.order_payload(order))
            if restock:
                for line in order.lines:
                    self._restock(line, line.current)

    def _restock(self, line: Line, quantity: int) -> None:
        if line.variant_id is None or quantity <= 0:
            return
        item = self.items[self.variants[line.variant_id]["item_id"]]
        if item["tracked"]:
            have = self.levels.get((item["id"], self.primary), 0)
            self.set_available(item["id"], self.primary, have + quantity)

    def refund(self, order_id: int, lines: list[tuple[str, int]], restock: bool = True) -> JSON:
        """Refund some units of some lines: ``refunds/create`` then ``orders/updated``."""
        with self.lock:
            order = self.order(order_id)
            refund_lines = []
            amount = Decimal("0")
            for sku, quantity in lines:
                line = next((ln for ln in order.lines if ln.sku == sku), None)
                if line is None or quantity > line.current:
                    raise StoreError(f"order {order.name} has no {quantity} of {sku} to refund")
                line.refunded += quantity
                amount += line.price * quantity
                refund_lines.append((line, quantity))
                if restock:
                    self._restock(line, quantity)
            refund_id = self.next_id()
            refund: JSON = {
                "id": refund_id,
                "order_id": order.id,
                "created_at": self.now().isoformat(),
                "note": "",
                "restock": restock,
                "admin_graphql_api_id": "",
                "refund_line_items": [
                    {
                        "id": self.next_id(),
                        "line_item_id": line.id,
                        "quantity": quantity,
                        "restock_type": "return" if restock else "no_restock",
                        "subtotal": str(line.price * quantity),
                        "line_item": self.line_payload(line),
                    }
                    for line, quantity in refund_lines
                ],
                "transactions": [{"kind": "refund", "status": "success", "amount": str(amount)}],
            }
            refund["admin_graphql_api_id"] = gid("Refund", refund_id)
            order.refunds.append(refund)
            fully = all(ln.current == 0 for ln in order.lines)
            order.financial_status = "REFUNDED" if fully else "PARTIALLY_REFUNDED"
            self.touch(order)
            self.emit("refunds/create", refund)
            self.emit("orders/updated", self.order_payload(order))
            return refund

    def fulfil(self, fulfillment_order_ids: list[int], tracking: JSON) -> JSON:
        """Ship everything left on these fulfillment orders (``fulfillmentCreate``)."""
        with self.lock:
            owners = [
                (order, fo)
                for order in self.orders.values()
                for fo in order.fulfillment_orders
                if fo.id in fulfillment_order_ids
            ]
            if len(owners) != len(set(fulfillment_order_ids)):
                raise StoreError("Fulfillment order does not exist.")
            if len({order.id for order, _ in owners}) > 1:
                raise StoreError("All fulfillment orders must belong to the same order.")
            for _, fo in owners:
                if fo.status not in ("OPEN", "IN_PROGRESS"):
                    raise StoreError(
                        f"Fulfillment order {gid('FulfillmentOrder', fo.id)} has an "
                        f"unfulfillable status= {fo.status.lower()}."
                    )
            order = owners[0][0]
            for _, fo in owners:
                for fl in fo.lines:
                    fl["remaining"] = 0
                fo.status = "CLOSED"
            fulfillment = {"id": self.next_id(), "status": "SUCCESS", "tracking": tracking}
            order.fulfillments.append(fulfillment)
            self.touch(order)
            self.emit("orders/updated", self.order_payload(order))
            return fulfillment

    # -- REST-shaped webhook bodies ---------------------------------------------------------

    def line_payload(self, line: Line) -> JSON:
        return {
            "id": line.id,
            "admin_graphql_api_id": gid("LineItem", line.id),
            "sku": line.sku,
            "title": line.title,
            "name": line.title,
            "quantity": line.quantity,
            "current_quantity": line.current,
            "price": str(line.price),
            "variant_id": line.variant_id,
            "product_id": line.product_id,
        }

    def order_payload(self, order: ShopOrder) -> JSON:
        """An order as Shopify's webhooks carry it (the REST resource's shape)."""
        address = order.shipping_address
        customer = order.customer
        return {
            "id": order.id,
            "admin_graphql_api_id": gid("Order", order.id),
            "name": order.name,
            "order_number": order.number,
            "email": order.email,
            "phone": order.phone or None,
            "created_at": order.created_at.isoformat(),
            "updated_at": order.updated_at.isoformat(),
            "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
            "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
            "financial_status": order.financial_status.lower(),
            "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(
                order.fulfillment_status()
            ),
            "currency": order.currency,
            "total_price": str(order.total),
            "note": order.note or None,
            "tags": ", ".join(order.tags),
            "test": order.test,
            "customer": {
                "id": customer.get("id"),
                "first_name": customer.get("first_name"),
                "last_name": customer.get("last_name"),
                "email": customer.get("email"),
                "phone": customer.get("phone"),
            },
            "shipping_address": dict(address) if address else None,
            "line_items": [self.line_payload(line) for line in order.lines],
            "refunds": [dict(r, refund_line_items=[]) for r in order.refunds],
        }
