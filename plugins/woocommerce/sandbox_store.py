"""The sandbox's store: products, variations, orders and notes that change over time.

Objects are kept in the shape the ``wc/v3`` API returns them, so serving one is a
copy. The store behaves like WooCommerce where the hub can tell: stock goes down when
an order becomes processing/on-hold/completed and back up when it is cancelled or
set back to pending; a variation without a SKU shows its parent's SKU (the ``view``
context); every change moves ``date_modified``/``date_modified_gmt`` and is announced
to listeners (the webhook dispatcher) as ``(topic, payload)``.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .sandbox_catalogue import new_product, new_variation

JSON = dict[str, Any]
Listener = Callable[[str, JSON], None]

REDUCING = frozenset({"processing", "on-hold", "completed"})  # stock leaves the shelf
RESTORING = frozenset({"cancelled", "pending"})  # stock comes back (if it had left)
ORDER_STATUSES = frozenset(
    {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash"}
)


class StoreError(Exception):
    """A request the store refuses, in Woo's terms (``code``, ``message``, HTTP ``status``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def amount(value: Decimal) -> str:
    """Money as Woo writes it: a string with two decimals."""
    return f"{value.quantize(Decimal('0.01'))}"


class WooStore:
    """State of one emulated store; every public method is thread-safe."""

    def __init__(self, *, currency: str = "USD", utc_offset_hours: float = -3.0) -> None:
        self.lock = threading.RLock()
        self.currency = currency
        self.site_tz = timezone(timedelta(hours=utc_offset_hours))
        self.site_url = "http://sandbox.invalid/"
        self.products: dict[int, JSON] = {}
        self.variations: dict[int, JSON] = {}
        self.orders: dict[int, JSON] = {}
        self.notes: dict[int, list[JSON]] = {}
        self.refunds: dict[int, list[JSON]] = {}  # order id -> refund objects, newest first
        self.listeners: list[Listener] = []
        self._ids = itertools.count(101)
        self._offset = timedelta()
        self._held: datetime | None = None  # hold_clock()

    # -- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The store's clock (UTC, whole seconds as Woo stores them); see :meth:`advance`."""
        if self._held is not None:
            return self._held
        return (datetime.now(UTC) + self._offset).replace(microsecond=0)

    def hold_clock(self, held: bool) -> None:
        """While ``held``, every change is stamped with the same second (see DemoStore)."""
        moment = (datetime.now(UTC) + self._offset).replace(microsecond=0) if held else None
        with self.lock:
            self._held = moment

    def advance(self, seconds: float) -> None:
        """Move the store's clock forward, so later changes get later ``date_modified``."""
        with self.lock:
            self._offset += timedelta(seconds=seconds)

    def dates(self, prefix: str, when: datetime | None = None) -> JSON:
        """``{prefix: site-local time, prefix_gmt: GMT time}`` as Woo writes them."""
        when = when or self.now()
        local = when.astimezone(self.site_tz).replace(tzinfo=None)
        return {prefix: local.isoformat(), f"{prefix}_gmt": when.replace(tzinfo=None).isoformat()}

    def _touch(self, obj: JSON) -> None:
        obj.update(self.dates("date_modified"))

    def _emit(self, topic: str, payload: JSON) -> None:
        for listener in list(self.listeners):
            listener(topic, copy.deepcopy(payload))

    def new_id(self) -> int:
        """The next post id (products, variations and orders share one sequence, like WP)."""
        return next(self._ids)

    # -- catalogue ------------------------------------------------------------------------

    def item(self, item_id: int) -> JSON:
        """A product or variation by id, or StoreError 404."""
        found = self.products.get(item_id) or self.variations.get(item_id)
        if found is None:
            raise StoreError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return found

    def by_sku(self, sku: str) -> JSON:
        """The product or variation whose own SKU is ``sku``, or StoreError 404."""
        with self.lock:
            for obj in itertools.chain(self.products.values(), self.variations.values()):
                if obj.get("sku") == sku:
                    return obj
        raise StoreError(404, "woocommerce_rest_product_invalid_sku", f"No product with SKU {sku}.")

    def add_product(self, data: JSON) -> JSON:
        """Create a product from a REST create body (``stock_quantity`` set: managed)."""
        with self.lock:
            item_id = self.new_id()
            dates = {**self.dates("date_created"), **self.dates("date_modified")}
            product = new_product(item_id, data, dates)
            self.products[item_id] = product
            apply_stock(product, product["stock_quantity"])
            view = self.product_view(product)
        self._emit("product.created", view)
        return view

    def add_variation(self, parent_id: int, data: JSON) -> JSON:
        """Create a variation of a (variable) product from a REST create body."""
        with self.lock:
            parent = self.products.get(parent_id)
            if parent is None:
                raise StoreError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            item_id = self.new_id()
            dates = {**self.dates("date_created"), **self.dates("date_modified")}
            variation = new_variation(item_id, parent_id, data, dates)
            self.variations[item_id] = variation
            parent["variations"].append(item_id)
            apply_stock(variation, variation["stock_quantity"])
            view = self.product_view(variation)
        self._emit("product.created", view)
        return view

    def variation(self, parent_id: int, variation_id: int) -> JSON:
        """A variation that belongs to ``parent_id``, or StoreError 404."""
        found = self.variations.get(variation_id)
        if found is None or found["parent_id"] != parent_id:
            raise StoreError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        return found

    def product_view(self, obj: JSON, context: str = "view") -> JSON:
        """The JSON the API returns for a product or variation."""
        view = copy.deepcopy(obj)
        if obj.get("parent_id") and not view.get("sku") and context == "view":
            view["sku"] = self.products.get(obj["parent_id"], {}).get("sku", "")
        path = (
            f"products/{obj['parent_id']}/variations/{obj['id']}"
            if obj.get("parent_id")
            else f"products/{obj['id']}"
        )
        view["_links"] = {"self": [{"href": f"{self.site_url}wp-json/wc/v3/{path}"}]}
        return view

    def set_stock(
        self, obj: JSON, quantity: int | None = None, *, manage: bool | None = None, delta: int = 0
    ) -> None:
        """Change an item's stock like Woo: quantities only count when it manages stock."""
        with self.lock:
            apply_stock(obj, quantity, manage=manage, delta=delta)
            self._touch(obj)
            payload = self.product_view(obj)
        self._emit("product.updated", payload)

    def edit_item(self, obj: JSON, data: JSON) -> JSON:
        """Apply a REST update body to a product or variation; return its new view."""
        editable = {
            "name",
            "sku",
            "regular_price",
            "sale_price",
            "status",
            "backorders",
            "description",
            "meta_data",
        }
        with self.lock:
            for key in editable & data.keys():
                obj[key] = data[key]
            obj["price"] = obj.get("sale_price") or obj.get("regular_price") or ""
            manage = data.get("manage_stock")
            quantity = data.get("stock_quantity")
            if manage is not None or quantity is not None:
                self.set_stock(obj, quantity, manage=bool(manage) if manage is not None else None)
            else:
                self._touch(obj)
                self._emit("product.updated", self.product_view(obj))
            return self.product_view(obj)

    # -- orders -----------------------------------------------------------------------------

    def order(self, order_id: int) -> JSON:
        """An order by id, or StoreError 404."""
        found = self.orders.get(order_id)
        if found is None:
            raise StoreError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return found

    def order_view(self, order: JSON) -> JSON:
        """The JSON the API returns for an order."""
        view = {k: copy.deepcopy(v) for k, v in order.items() if not k.startswith("_")}
        view["_links"] = {"self": [{"href": f"{self.site_url}wp-json/wc/v3/orders/{order['id']}"}]}
        return view

    def _line(self, spec: JSON, line_id: int) -> JSON:
        """A line item for ``{"sku"|"product_id", "quantity", "price"?}``, or for an item not
        in the catalogue ``{"name", "quantity", "price"}`` (added in wp-admin: product_id 0,
        no SKU)."""
        if "sku" in spec:
            item: JSON | None = self.by_sku(spec["sku"])
        elif "product_id" in spec:
            item = self.item(int(spec["product_id"]))
        else:
            item = None
        found = item or {}
        quantity = int(spec.get("quantity", 1))
        price = Decimal(str(spec.get("price") or found.get("price") or "0"))
        parent = found.get("parent_id") or 0
        return {
            "id": line_id,
            "name": spec.get("name") or found.get("name", ""),
            "product_id": (parent or found["id"]) if item else 0,
            "variation_id": found["id"] if parent else 0,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": amount(price * quantity),
            "subtotal_tax": "0.00",
            "total": amount(price * quantity),
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
            "sku": self.product_view(item).get("sku", "") if item else "",
            "price": float(price),
        }

    def create_order(
        self,
        lines: Iterable[JSON],
        *,
        status: str = "processing",
        billing: JSON | None = None,
        shipping: JSON | None = None,
        shipping_total: str = "0.00",
        customer_note: str = "",
        customer_id: int = 0,
        currency: str | None = None,
    ) -> JSON:
        """Place an order; stock leaves the shelf if ``status`` says so. Emits order.created."""
        if status not in ORDER_STATUSES:
            raise StoreError(400, "rest_invalid_param", f"Invalid parameter(s): status {status}")
        with self.lock:
            order_id = self.new_id()
            items = [self._line(spec, order_id * 100 + n) for n, spec in enumerate(lines, 1)]
            total = sum((Decimal(i["total"]) for i in items), Decimal(0)) + Decimal(shipping_total)
            order = new_order(
                order_id,
                self.currency if currency is None else currency,
                billing or {},
                shipping or {},
            )
            order.update(self.dates("date_created"), **self.dates("date_modified"))
            order.update(
                line_items=items,
                total=amount(total),
                shipping_total=shipping_total,
                customer_note=customer_note,
                customer_id=customer_id,
                status="pending",
            )
            self.orders[order_id] = order
            self._set_status(order, status)
            view = self.order_view(order)
        self._emit("order.created", view)
        return view

    def _set_status(self, order: JSON, status: str) -> None:
        if status not in ORDER_STATUSES:
            raise StoreError(400, "rest_invalid_param", f"Invalid parameter(s): status {status}")
        order["status"] = status
        if status in ("processing", "completed") and not order.get("date_paid"):
            order.update(self.dates("date_paid"))
        if status == "completed":
            order.update(self.dates("date_completed"))
        if status in REDUCING and not order.get("_stock_reduced"):
            self._move_stock(order, -1)
            order["_stock_reduced"] = True
        elif status in RESTORING and order.get("_stock_reduced"):
            self._move_stock(order, +1)
            order["_stock_reduced"] = False

    def _stocked_item(self, line: JSON) -> JSON | None:
        """The product or variation whose stock a line moves (None: not managed, or gone)."""
        item_id = line["variation_id"] or line["product_id"]
        item = self.products.get(item_id) or self.variations.get(item_id)
        return item if item is not None and item.get("manage_stock") is True else None

    def _move_stock(self, order: JSON, sign: int) -> None:
        """Reduce (-1) or restore (+1) an order's stock as ``wc_reduce_stock_levels`` and
        ``wc_increase_stock_levels`` do: each line records what it took in its
        ``_reduced_stock`` meta, and a restore gives back only that (units a refund
        restocked already are not given back twice)."""
        for line in order["line_items"]:
            item = self._stocked_item(line)
            if item is None:
                continue
            if sign < 0:
                taken = line["quantity"] - int(item_meta(line, "_restock_refunded_items") or 0)
                set_item_meta(line, "_reduced_stock", taken, self.new_id)
                self.set_stock(item, delta=-taken)
            else:
                taken = int(item_meta(line, "_reduced_stock") or 0)
                drop_item_meta(line, "_reduced_stock")
                self.set_stock(item, delta=taken)

    def update_order(self, order_id: int, data: JSON) -> JSON:
        """Apply a REST update body (status, addresses, note, meta_data); emits order.updated."""
        with self.lock:
            order = self.order(order_id)
            for key in {"billing", "shipping"} & data.keys():
                order[key].update(data[key])
            if "customer_note" in data:
                order["customer_note"] = data["customer_note"]
            for meta in data.get("meta_data") or ():
                upsert_meta(order, meta, self.new_id)
            if "status" in data and data["status"] != order["status"]:
                self._set_status(order, str(data["status"]))
            self._touch(order)
            view = self.order_view(order)
        self._emit("order.updated", view)
        return view

    def refund_order(
        self,
        order_id: int,
        amount_text: str | None = None,
        reason: str = "",
        lines: Iterable[tuple[int, int]] = (),
        restock: bool = True,
    ) -> JSON:
        """Create a refund as ``POST orders/<id>/refunds`` does; emits order.updated.

        ``lines``: ``(line item id, units)``; with ``restock`` (``api_restock``, default
        true) their units go back to stock as ``wc_restock_refunded_items`` does (see
        :meth:`_restock_refunded`). A refund of the whole total sets the order
        ``refunded``.
        """
        with self.lock:
            order = self.order(order_id)
            by_id = {line["id"]: line for line in order["line_items"]}
            refund_id = self.new_id()
            items: list[JSON] = []
            for line_id, units in lines:
                line = by_id.get(int(line_id))
                if line is None:
                    raise StoreError(400, "woocommerce_rest_invalid_line_item", "Invalid ID.")
                refunded = -sum(
                    i["quantity"]
                    for r in self.refunds.get(order_id, ())
                    for i in r["line_items"]
                    if item_meta(i, "_refunded_item_id") == str(line["id"])
                )
                if units <= 0 or refunded + units > line["quantity"]:
                    raise StoreError(
                        400,
                        "woocommerce_rest_cannot_create_order_refund",
                        f"Invalid refund quantity for line item {line['id']}.",
                    )
                items.append(self._refund_item(line, units))
                if restock:
                    self._restock_refunded(order, line, units)
            lines_total = -sum((Decimal(i["total"]) for i in items), Decimal(0))
            value = Decimal(amount_text) if amount_text else lines_total or Decimal(order["total"])
            refund = {
                "id": refund_id,
                **self.dates("date_created"),
                "amount": amount(value),
                "reason": reason,
                "refunded_by": 1,
                "refunded_payment": False,
                "meta_data": [],
                "line_items": items,
            }
            self.refunds.setdefault(order_id, []).insert(0, refund)
            order["refunds"].insert(0, {"id": refund_id, "reason": reason, "total": amount(-value)})
            refunded_total = sum((-Decimal(r["total"]) for r in order["refunds"]), Decimal(0))
            status = "refunded" if refunded_total >= Decimal(order["total"]) else order["status"]
        self.update_order(order_id, {"status": status})
        return copy.deepcopy(refund)

    def _refund_item(self, line: JSON, units: int) -> JSON:
        """A refund's line item: the order's line with negative quantity and totals."""
        each = Decimal(line["total"]) / line["quantity"]
        return {
            "id": self.new_id(),
            "name": line["name"],
            "product_id": line["product_id"],
            "variation_id": line["variation_id"],
            "quantity": -units,
            "tax_class": "",
            "subtotal": amount(-each * units),
            "subtotal_tax": "0.00",
            "total": amount(-each * units),
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [
                {"id": self.new_id(), "key": "_refunded_item_id", "value": str(line["id"])}
            ],
            "sku": line["sku"],
            "price": -float(each),
        }

    def _restock_refunded(self, order: JSON, line: JSON, units: int) -> None:
        """``wc_restock_refunded_items`` for one line: nothing unless the line's stock was
        reduced and its product manages stock; else stock up, ``_reduced_stock`` down and
        ``_restock_refunded_items`` up by ``units``, and an order note."""
        reduced = item_meta(line, "_reduced_stock")
        item = self._stocked_item(line)
        if item is None or not reduced:
            return
        set_item_meta(line, "_reduced_stock", int(reduced) - units, self.new_id)
        before = int(item_meta(line, "_restock_refunded_items") or 0)
        set_item_meta(line, "_restock_refunded_items", before + units, self.new_id)
        old = item["stock_quantity"]
        self.set_stock(item, delta=units)
        self.add_note(
            order["id"], f"Item #{item['id']} stock increased from {old} to {old + units}."
        )

    def order_refunds(self, order_id: int) -> list[JSON]:
        """The refund objects of an order, newest first (``GET orders/<id>/refunds``)."""
        with self.lock:
            self.order(order_id)
            return copy.deepcopy(self.refunds.get(order_id, []))

    def delete_order(self, order_id: int, force: bool = False) -> JSON:
        """Trash an order (or delete it for good with ``force``); emits order.deleted."""
        with self.lock:
            order = self.order(order_id)
            view = self.order_view(order)
            if force:
                del self.orders[order_id]
            else:
                order["status"] = "trash"
                self._touch(order)
        self._emit("order.deleted", {"id": order_id})
        return view

    def add_note(
        self, order_id: int, note: str, customer_note: bool = False, added_by_user: bool = False
    ) -> JSON:
        """Add a note to an order, as ``POST orders/<id>/notes`` does."""
        if not note:
            raise StoreError(400, "rest_missing_callback_param", "Missing parameter(s): note")
        with self.lock:
            self.order(order_id)
            entry = {
                "id": self.new_id(),
                "author": "system" if not added_by_user else "admin",
                **self.dates("date_created"),
                "note": note,
                "customer_note": bool(customer_note),
            }
            self.notes.setdefault(order_id, []).insert(0, entry)
            return dict(entry)


def new_order(order_id: int, currency: str, billing: JSON, shipping: JSON) -> JSON:
    """An order with every documented field at its default."""
    blank = {
        k: ""
        for k in (
            "first_name",
            "last_name",
            "company",
            "address_1",
            "address_2",
            "city",
            "state",
            "postcode",
            "country",
        )
    }
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{secrets.token_hex(6)}",
        "created_via": "checkout",
        "version": "8.0.0",
        "status": "pending",
        "currency": currency,
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": "0.00",
        "total_tax": "0.00",
        "prices_include_tax": False,
        "customer_id": 0,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": "",
        "billing": {**blank, "email": "", "phone": "", **billing},
        "shipping": {**blank, "phone": "", **shipping},
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "transaction_id": "",
        "date_paid": None,
        "date_paid_gmt": None,
        "date_completed": None,
        "date_completed_gmt": None,
        "cart_hash": "",
        "meta_data": [],
        "line_items": [],
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }


def upsert_meta(obj: JSON, meta: JSON, new_id: Callable[[], int]) -> None:
    """Set a ``meta_data`` entry the way Woo does: by id if given, else by key."""
    entries: list[JSON] = obj.setdefault("meta_data", [])
    for entry in entries:
        if ("id" in meta and entry["id"] == meta["id"]) or (
            "id" not in meta and entry["key"] == meta.get("key")
        ):
            entry["value"] = meta.get("value")
            return
    entries.append({"id": new_id(), "key": meta.get("key"), "value": meta.get("value")})


def item_meta(obj: JSON, key: str) -> Any:
    """The value of ``key`` in an object's ``meta_data``, None when absent."""
    return next((m["value"] for m in obj.get("meta_data") or () if m["key"] == key), None)


def set_item_meta(obj: JSON, key: str, value: Any, new_id: Callable[[], int]) -> None:
    """Set ``key`` in an object's ``meta_data`` (Woo stores item meta values as text)."""
    upsert_meta(obj, {"key": key, "value": str(value)}, new_id)


def drop_item_meta(obj: JSON, key: str) -> None:
    """Remove ``key`` from an object's ``meta_data``."""
    obj["meta_data"] = [m for m in obj.get("meta_data") or () if m["key"] != key]


def apply_stock(
    obj: JSON, quantity: int | None = None, *, manage: bool | None = None, delta: int = 0
) -> None:
    """Set ``manage_stock``, ``stock_quantity`` and ``stock_status`` together, as Woo does."""
    if manage is not None:
        obj["manage_stock"] = manage
    if obj["manage_stock"] is not True:
        obj["stock_quantity"] = None
        obj["stock_status"] = obj.get("stock_status") or "instock"
        return
    base = obj.get("stock_quantity") or 0
    obj["stock_quantity"] = (base if quantity is None else int(quantity)) + delta
    backorders = obj.get("backorders", "no") != "no"
    obj["stock_status"] = (
        "instock" if obj["stock_quantity"] > 0 else "onbackorder" if backorders else "outofstock"
    )
