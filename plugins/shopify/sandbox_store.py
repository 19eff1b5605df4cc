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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]
OPEN_FOS = ("OPEN", "IN_PROGRESS")  # fulfillment orders with units left to ship
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
    """A line item of an order, with what became of its units.

    ``quantity`` counts every unit ever ordered on the line (Shopify's ``quantity``:
    "including refunded and removed units"); ``removed`` the units refunded or edited
    out before they shipped; ``shipped`` the units fulfilled; ``refunded_shipped`` the
    shipped units refunded since (returned to stock or not).
    """

    id: int
    sku: str
    title: str
    quantity: int
    price: Decimal
    variant_id: int | None  # None: a custom item, which has no variant and no inventory
    product_id: int | None
    requires_shipping: bool = True
    tracked: bool = False  # whether the variant's inventory item tracks stock
    shipped: int = 0
    removed: int = 0
    refunded_shipped: int = 0

    @property
    def current(self) -> int:
        """Units still on the order: Shopify's ``currentQuantity``."""
        return self.quantity - self.removed - self.refunded_shipped

    @property
    def unshipped(self) -> int:
        """Units still to ship (neither shipped nor removed)."""
        return self.quantity - self.shipped - self.removed

    @property
    def returnable(self) -> int:
        """Shipped units not refunded yet."""
        return self.shipped - self.refunded_shipped


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
        self._held: datetime | None = None  # hold_clock()
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
        if self._held is not None:
            return self._held
        return (datetime.now(UTC) + self._offset).replace(microsecond=0)

    def hold_clock(self, held: bool) -> None:
        """While ``held``, every change is stamped with the same second (see DemoStore)."""
        moment = (datetime.now(UTC) + self._offset).replace(microsecond=0) if held else None
        with self.lock:
            self._held = moment

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
        """Add a product; each variant: sku, price, stock (None: not tracked), option,
        requires_shipping (default True; False for a service or a digital good)."""
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
                self.items[item_id] = {
                    "id": item_id,
                    "sku": sku,
                    "tracked": stock is not None,
                    "requires_shipping": bool(spec.get("requires_shipping", True)),
                }
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

    def _new_line(self, spec: tuple[str, int] | JSON) -> tuple[Line, JSON | None]:
        """A line for ``(sku, quantity)``, ``{"variant_id", "quantity"}`` (a variant, with
        or without SKU) or a custom item ``{"title", "quantity", "price",
        "requires_shipping"}``; with the variant it sells, None for a custom item."""
        if isinstance(spec, tuple):
            sku, quantity = spec
            variant = self.variant_by_sku(sku)
        elif "variant_id" in spec:
            variant, quantity = self.variants[int(spec["variant_id"])], int(spec["quantity"])
        else:
            custom = Line(
                self.next_id(),
                "",
                str(spec["title"]),
                int(spec["quantity"]),
                Decimal(str(spec.get("price", "0.00"))),
                None,
                None,
                requires_shipping=bool(spec.get("requires_shipping", True)),
            )
            return custom, None
        item = self.items[variant["item_id"]]
        line = Line(
            self.next_id(),
            variant["sku"],
            self.display_name(variant),
            quantity,
            variant["price"],
            variant["id"],
            variant["product_id"],
            requires_shipping=item["requires_shipping"],
            tracked=item["tracked"],
        )
        return line, variant

    def _fulfillment_order(self, lines: list[Line]) -> FulfillmentOrder:
        entries = [
            {"id": self.next_id(), "line_id": ln.id, "sku": ln.sku, "total": ln.quantity}
            for ln in lines
        ]
        return FulfillmentOrder(self.next_id(), [{**e, "remaining": e["total"]} for e in entries])

    def _check_stock(self, made: list[tuple[Line, JSON | None]]) -> None:
        for line, variant in made:
            if variant is not None and line.tracked:
                have = self.levels.get((variant["item_id"], self.primary), 0)
                if have < line.quantity:
                    raise StoreError(f"only {have} of {line.sku or line.title} left")

    def _take_stock(self, made: list[tuple[Line, JSON | None]]) -> None:
        for line, variant in made:
            if variant is not None and line.tracked:
                have = self.levels.get((variant["item_id"], self.primary), 0)
                self.set_available(variant["item_id"], self.primary, have - line.quantity)

    def create_order(
        self,
        lines: list[tuple[str, int] | JSON],
        *,
        customer: JSON,
        shipping_address: JSON | None,
        financial_status: str = "PAID",
        risk: str = "LOW",
        check_stock: bool = True,
        note: str = "",
        tags: list[str] | None = None,
    ) -> ShopOrder:
        """Check out lines (see :meth:`_new_line`): stock goes down, ``orders/create``.

        With ``check_stock`` a tracked variant with too few units refuses the sale, as a
        storefront with inventory policy DENY does.
        """
        with self.lock:
            made = [self._new_line(spec) for spec in lines]
            if check_stock:
                self._check_stock(made)
            stamp = self.now()
            order = ShopOrder(
                id=self.next_id(),
                number=next(self._numbers),
                lines=[line for line, _ in made],
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
            order.fulfillment_orders.append(self._fulfillment_order(order.lines))
            self.orders[order.id] = order
            self.emit("orders/create", self.order_payload(order))
            self._take_stock(made)
            return order

    def order(self, order_id: int) -> ShopOrder:
        try:
            return self.orders[order_id]
        except KeyError:
            raise StoreError(f"no order {order_id}") from None

    def line_of(self, order: ShopOrder, key: str) -> Line:
        """The order's line with SKU ``key``, else with title ``key`` (custom items)."""
        for line in order.lines:
            if line.sku == key:
                return line
        for line in order.lines:
            if line.title == key:
                return line
        raise StoreError(f"order {order.name} has no line {key!r}")

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

    def _remove_unshipped(self, order: ShopOrder, line: Line, quantity: int) -> None:
        """Take ``quantity`` unshipped units off the line and its open fulfillment orders."""
        if quantity > line.unshipped:
            raise StoreError(
                f"order {order.name} has only {line.unshipped} unshipped of {line.title!r}"
            )
        line.removed += quantity
        left = quantity
        for fo in order.fulfillment_orders:
            for fl in fo.lines:
                if fl["line_id"] == line.id and left:
                    take = min(left, fl["remaining"])
                    fl["total"] -= take
                    fl["remaining"] -= take
                    left -= take
            if fo.status in OPEN_FOS and not any(fl["remaining"] for fl in fo.lines):
                shipped = any(fl["total"] for fl in fo.lines)
                fo.status = "CLOSED" if shipped else "CANCELLED"

    def _restock(self, line: Line, quantity: int) -> None:
        if line.variant_id is None or quantity <= 0 or not line.tracked:
            return
        item = self.items[self.variants[line.variant_id]["item_id"]]
        have = self.levels.get((item["id"], self.primary), 0)
        self.set_available(item["id"], self.primary, have + quantity)

    def _apply_refund_line(
        self, order: ShopOrder, line: Line, quantity: int, restock_type: str
    ) -> list[tuple[Line, int, str]]:
        """Refund ``quantity`` units of ``line`` the way ``restock_type`` says.

        RETURN takes shipped units back into stock, CANCEL removes unshipped ones and
        restocks them; NO_RESTOCK and LEGACY_RESTOCK take shipped units first, as Shopify
        applies a refund that does not say which units it means, then unshipped ones.
        Returns the refund line items made: ``(line, quantity, restock type)``.
        """
        if restock_type == "RETURN":
            if quantity > line.returnable:
                raise StoreError(f"only {line.returnable} shipped of {line.title!r} to return")
            line.refunded_shipped += quantity
            self._restock(line, quantity)
        elif restock_type == "CANCEL":
            self._remove_unshipped(order, line, quantity)
            self._restock(line, quantity)
        elif restock_type in ("NO_RESTOCK", "LEGACY_RESTOCK"):
            if quantity > line.returnable + line.unshipped:
                raise StoreError(f"order {order.name} has no {quantity} of {line.title!r}")
            shipped = min(quantity, line.returnable)
            line.refunded_shipped += shipped
            self._remove_unshipped(order, line, quantity - shipped)
            if restock_type == "LEGACY_RESTOCK":
                self._restock(line, quantity)
        else:
            raise StoreError(f"restock type {restock_type!r} is not one of Shopify's")
        return [(line, quantity, restock_type)]

    def refund(
        self,
        order_id: int,
        lines: list[tuple[str, int]],
        restock: bool = True,
        restock_type: str | None = None,
    ) -> JSON:
        """Refund units of lines (by SKU, or title for custom items): ``refunds/create`` then
        ``orders/updated``.

        ``restock_type`` (RETURN, CANCEL, NO_RESTOCK, LEGACY_RESTOCK) applies to every line;
        without it, ``restock`` cancels unshipped units first and returns shipped ones
        after (two refund line items when it takes both), and no restock is NO_RESTOCK.
        """
        with self.lock:
            order = self.order(order_id)
            made: list[tuple[Line, int, str]] = []
            for key, quantity in lines:
                line = self.line_of(order, key)
                if restock_type is not None:
                    made += self._apply_refund_line(order, line, quantity, restock_type)
                elif not restock:
                    made += self._apply_refund_line(order, line, quantity, "NO_RESTOCK")
                else:
                    cancel = min(quantity, line.unshipped)
                    if cancel:
                        made += self._apply_refund_line(order, line, cancel, "CANCEL")
                    if quantity - cancel:
                        made += self._apply_refund_line(order, line, quantity - cancel, "RETURN")
            refund = self._record_refund(order, made, paid=True)
            fully = all(ln.current == 0 for ln in order.lines)
            order.financial_status = "REFUNDED" if fully else "PARTIALLY_REFUNDED"
            self.touch(order)
            self.emit("refunds/create", refund)
            self.emit("orders/updated", self.order_payload(order))
            return refund

    def _record_refund(
        self, order: ShopOrder, made: list[tuple[Line, int, str]], *, paid: bool
    ) -> JSON:
        """Keep a refund (REST shape) with its refund line items; ``paid``: money went back."""
        amount = sum((line.price * quantity for line, quantity, _ in made), Decimal("0"))
        refund_id = self.next_id()
        refund: JSON = {
            "id": refund_id,
            "order_id": order.id,
            "created_at": self.now().isoformat(),
            "note": "",
            "restock": any(kind != "NO_RESTOCK" for _, _, kind in made),
            "admin_graphql_api_id": gid("Refund", refund_id),
            "refund_line_items": [
                {
                    "id": self.next_id(),
                    "line_item_id": line.id,
                    "quantity": quantity,
                    "restock_type": kind.lower(),
                    "location_id": self.primary if kind != "NO_RESTOCK" else None,
                    "subtotal": str(line.price * quantity),
                    "line_item": self.line_payload(line),
                }
                for line, quantity, kind in made
            ],
            "transactions": (
                [{"kind": "refund", "status": "success", "amount": str(amount)}] if paid else []
            ),
        }
        order.refunds.append(refund)
        return refund

    def cancel_order(self, order_id: int, reason: str = "CUSTOMER", restock: bool = True) -> None:
        """Cancel an order: what has not shipped is removed (restocked when ``restock``),
        shipped units stay with the customer; ``orders/cancelled`` and ``orders/updated``."""
        with self.lock:
            order = self.order(order_id)
            if order.cancelled_at is not None:
                raise StoreError(f"order {order.name} is already cancelled")
            order.cancelled_at = self.now()
            order.cancel_reason = reason
            kind = "CANCEL" if restock else "NO_RESTOCK"
            made = [(ln, ln.unshipped, kind) for ln in order.lines if ln.unshipped > 0]
            for line, quantity, _ in made:
                self._remove_unshipped(order, line, quantity)
                if restock:
                    self._restock(line, quantity)
            if made:
                self._record_refund(order, made, paid=order.financial_status == "PAID")
            if order.financial_status == "PAID":
                order.financial_status = "REFUNDED"
            for fo in order.fulfillment_orders:
                if fo.status in OPEN_FOS:
                    fo.status = "CANCELLED"
            self.touch(order)
            self.emit("orders/cancelled", self.order_payload(order))
            self.emit("orders/updated", self.order_payload(order))

    def edit_order(
        self,
        order_id: int,
        *,
        add: Sequence[tuple[str, int] | JSON] = (),
        remove: Sequence[tuple[str, int]] = (),
        restock: bool = True,
    ) -> ShopOrder:
        """Edit an order (``orderEditBegin`` ... ``orderEditCommit``): add lines (their stock
        goes down), remove unshipped units of lines (restocked when ``restock``). Removed
        units show in the order's refunds, without money; ``orders/updated``."""
        with self.lock:
            order = self.order(order_id)
            made = [self._new_line(spec) for spec in add]
            removed: list[tuple[Line, int, str]] = []
            for key, quantity in remove:
                line = self.line_of(order, key)
                self._remove_unshipped(order, line, quantity)
                if restock:
                    self._restock(line, quantity)
                removed.append((line, quantity, "CANCEL" if restock else "NO_RESTOCK"))
            if removed:
                self._record_refund(order, removed, paid=False)
            if made:
                order.lines.extend(line for line, _ in made)
                order.fulfillment_orders.append(self._fulfillment_order([ln for ln, _ in made]))
                self._take_stock(made)
            self.touch(order)
            self.emit("orders/updated", self.order_payload(order))
            return order

    def fulfil(
        self,
        fulfillment_order_ids: list[int],
        tracking: JSON,
        quantities: dict[int, int] | None = None,
    ) -> JSON:
        """Ship what is left on these fulfillment orders (``fulfillmentCreate``); of a
        fulfillment order with lines in ``quantities`` (fulfillment order line item id ->
        units), only those units."""
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
                if fo.status not in OPEN_FOS:
                    raise StoreError(
                        f"Fulfillment order {gid('FulfillmentOrder', fo.id)} has an "
                        f"unfulfillable status= {fo.status.lower()}."
                    )
            order = owners[0][0]
            lines = {ln.id: ln for ln in order.lines}
            shipped: list[JSON] = []
            wanted = quantities or {}
            for _, fo in owners:
                chosen = {fl["id"]: wanted[fl["id"]] for fl in fo.lines if wanted.get(fl["id"])}
                for fl in fo.lines:
                    count = chosen.get(fl["id"], 0) if chosen else fl["remaining"]
                    if count > fl["remaining"]:
                        raise StoreError(
                            f"Invalid quantity for fulfillment order line item {fl['id']}."
                        )
                    if count:
                        fl["remaining"] -= count
                        lines[fl["line_id"]].shipped += count
                        shipped.append({"line_id": fl["line_id"], "quantity": count})
                if not any(fl["remaining"] for fl in fo.lines):
                    fo.status = "CLOSED"
                elif any(fl["remaining"] < fl["total"] for fl in fo.lines):
                    fo.status = "IN_PROGRESS"
            fulfillment = {
                "id": self.next_id(),
                "status": "SUCCESS",
                "tracking": tracking,
                "lines": shipped,
                "created_at": self.now().isoformat(),
            }
            order.fulfillments.append(fulfillment)
            self.touch(order)
            self.emit("orders/updated", self.order_payload(order))
            return fulfillment

    # -- REST-shaped webhook bodies ---------------------------------------------------------

    def line_payload(self, line: Line) -> JSON:
        """A line item as the REST resource has it (``fulfillable_quantity``: units still
        to ship; ``variant_inventory_management``: "shopify" when the item tracks stock)."""
        status = None
        if line.shipped:
            status = "partial" if line.unshipped else "fulfilled"
        return {
            "id": line.id,
            "admin_graphql_api_id": gid("LineItem", line.id),
            "sku": line.sku or None,
            "title": line.title,
            "name": line.title,
            "quantity": line.quantity,
            "current_quantity": line.current,
            "fulfillable_quantity": line.unshipped,
            "fulfillment_status": status,
            "requires_shipping": line.requires_shipping,
            "product_exists": line.product_id is not None,
            "variant_inventory_management": "shopify" if line.tracked else None,
            "price": str(line.price),
            "variant_id": line.variant_id,
            "product_id": line.product_id,
        }

    def fulfillment_payload(self, order: ShopOrder, made: JSON) -> JSON:
        """A fulfillment as the REST order carries it, with the units of each line shipped."""
        lines = {ln.id: ln for ln in order.lines}
        tracking = made.get("tracking") or {}
        return {
            "id": made["id"],
            "order_id": order.id,
            "status": str(made["status"]).lower(),
            "created_at": made.get("created_at"),
            "tracking_company": tracking.get("company"),
            "tracking_number": tracking.get("number"),
            "tracking_url": tracking.get("url"),
            "line_items": [
                {**self.line_payload(lines[shipped["line_id"]]), "quantity": shipped["quantity"]}
                for shipped in made.get("lines") or ()
            ],
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
            "fulfillments": [self.fulfillment_payload(order, f) for f in order.fulfillments],
            "refunds": [dict(r) for r in order.refunds],
        }
