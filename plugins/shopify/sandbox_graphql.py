"""The Admin API objects of the sandbox: the store's dicts as GraphQL values.

graphql-core runs the documents against :data:`SCHEMA` (the subset of the 2026-04
schema in ``sandbox_schema.graphql``). Its default resolver reads dict keys and calls
callables with the field's arguments, so each view below is a dict whose connection
fields are functions of ``first``/``after``. Connections paginate by opaque cursors
over a stable sort key, as Shopify's do; a connection asked without ``first`` or
``last`` is an error, as it is on Shopify.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, build_schema

from .auth import has_scope
from .sandbox_store import JSON, Line, ShopOrder, ShopStore, StoreError, gid, iso, number_of
from .stock import INVENTORY_REASONS

SCHEMA = build_schema(resources.files(__package__).joinpath("sandbox_schema.graphql").read_text())
MAX_PAGE = 250
MAX_INPUT = 250

#: The access scope each root field needs (write scopes include the read ones).
ROOT_SCOPES = {
    "locations": "read_locations",
    "productVariants": "read_products",
    "orders": "read_orders",
    "order": "read_orders",
    "refund": "read_orders",
    "inventorySetQuantities": "write_inventory",
    "fulfillmentCreate": "write_merchant_managed_fulfillment_orders",
}


def _cursor(key: Sequence[Any]) -> str:
    return base64.b64encode(json.dumps(list(key)).encode()).decode()


def _uncursor(cursor: str) -> list[Any]:
    try:
        return list(json.loads(base64.b64decode(cursor.encode(), validate=True)))
    except ValueError:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from None


def connection(
    info: GraphQLResolveInfo,
    items: Sequence[Any],
    view: Callable[[Any], JSON],
    sort_key: Callable[[Any], Sequence[Any]],
    args: JSON,
) -> JSON:
    """A Relay connection over ``items`` (already sorted by ``sort_key``)."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last", path=info.path.as_list())
    size = first if first is not None else last
    assert size is not None
    if size < 0 or size > MAX_PAGE:
        raise GraphQLError(
            f"The page size of {info.field_name} must be between 0 and {MAX_PAGE}.",
            path=info.path.as_list(),
        )
    keyed = [(list(sort_key(item)), item) for item in items]
    if args.get("reverse"):
        keyed.reverse()
    if args.get("after"):
        mark = _uncursor(args["after"])
        keyed = [(k, i) for k, i in keyed if (k < mark if args.get("reverse") else k > mark)]
    if args.get("before"):
        mark = _uncursor(args["before"])
        keyed = [(k, i) for k, i in keyed if (k > mark if args.get("reverse") else k < mark)]
    page = keyed[:size] if first is not None else keyed[-size:] if size else []
    nodes = [view(item) for _, item in page]
    more = len(keyed) > len(page)
    return {
        "nodes": nodes,
        "edges": [{"cursor": _cursor(k), "node": n} for (k, _), n in zip(page, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": more if first is not None else False,
            "hasPreviousPage": more if last is not None else bool(args.get("after")),
            "startCursor": _cursor(page[0][0]) if page else None,
            "endCursor": _cursor(page[-1][0]) if page else None,
        },
    }


def pager(items: Callable[[], Sequence[Any]], view: Callable[[Any], JSON], key: Callable) -> Any:
    """A connection field: a function of the field's pagination arguments."""

    def resolve(info: GraphQLResolveInfo, **args: Any) -> JSON:
        return connection(info, items(), view, key, args)

    return resolve


# -- search syntax -------------------------------------------------------------------------

COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_TERM = re.compile(r"(\w+):(<=|>=|<|>)?'?\"?([^'\"\s]+)'?\"?")


def order_filter(query: str | None) -> Callable[[ShopOrder], bool]:
    """The subset of Shopify's search syntax the sandbox understands for orders.

    ``updated_at:>=2026-11-25T10:00:00Z`` (also ``>``, ``<``, ``<=``; quotes allowed),
    the same for ``created_at``, and ``status:any|open|cancelled``.
    """
    tests: list[Callable[[ShopOrder], bool]] = []
    for name, op, raw in _TERM.findall(query or ""):
        if name in ("updated_at", "created_at"):
            try:
                moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise GraphQLError(f"Invalid search query: {name}:{op}{raw}") from None
            if moment.tzinfo is None:
                raise GraphQLError(f"Invalid search query: {raw} has no time zone")

            def compare(order: ShopOrder, n: str = name, o: str = op, m: datetime = moment) -> bool:
                value = getattr(order, n)
                return COMPARE[o](value, m) if o else value.date() == m.date()

            tests.append(compare)
        elif name == "status" and raw == "cancelled":
            tests.append(lambda order: order.cancelled_at is not None)
        elif name == "status" and raw == "open":
            tests.append(lambda order: order.cancelled_at is None)
    return lambda order: all(test(order) for test in tests)


# -- views ---------------------------------------------------------------------------------


class Views:
    """Turn the store's objects into GraphQL values; the store's lock is held by the caller."""

    def __init__(self, store: ShopStore) -> None:
        self.store = store

    def money(self, amount: Any) -> JSON:
        money = {"amount": str(amount), "currencyCode": self.store.currency}
        return {"shopMoney": money, "presentmentMoney": money}

    def location(self, number: int) -> JSON:
        loc = self.store.locations[number]
        return {**loc, "id": gid("Location", number), "__typename": "Location"}

    def level(self, item_id: int, location_id: int) -> JSON | None:
        quantity = self.store.levels.get((item_id, location_id))
        if quantity is None:
            return None

        def quantities(info: GraphQLResolveInfo, names: list[str]) -> list[JSON]:
            values = {"available": quantity, "on_hand": quantity}
            return [
                {
                    "id": f"gid://shopify/InventoryQuantity/{item_id}?name={name}",
                    "name": name,
                    "quantity": values.get(name, 0),
                    "updatedAt": None,
                }
                for name in names
            ]

        return {
            "id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
            "location": self.location(location_id),
            "quantities": quantities,
        }

    def item(self, number: int) -> JSON:
        item = self.store.items[number]

        def inventory_level(
            info: GraphQLResolveInfo, locationId: str, includeInactive: bool = False
        ) -> JSON | None:
            location = number_of(locationId, "Location")
            if location is None or location not in self.store.locations:
                return None
            return self.level(number, location)

        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", number),
            "sku": item["sku"] or None,
            "tracked": item["tracked"],
            "inventoryLevel": inventory_level,
        }

    def product(self, number: int) -> JSON:
        product = self.store.products[number]
        return {
            "__typename": "Product",
            "id": gid("Product", number),
            "title": product["title"],
            "handle": product["handle"],
            "status": product["status"],
        }

    def variant(self, variant: JSON) -> JSON:
        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant["id"]),
            "sku": variant["sku"] or None,
            "title": variant["title"],
            "displayName": self.store.display_name(variant),
            "updatedAt": iso(variant["updated_at"]),
            "product": self.product(variant["product_id"]),
            "inventoryItem": self.item(variant["item_id"]),
        }

    def line(self, line: Line) -> JSON:
        """A ``LineItem``. ``unfulfilledQuantity`` is ``currentQuantity`` less the units
        shipped, so it goes below zero once shipped units are refunded, as Shopify's does
        (community.shopify.dev/t/negative-order-line-item-quantity-field-s/27826);
        ``nonFulfillableQuantity`` counts the units refunded or removed before shipping."""
        variant = self.store.variants.get(line.variant_id) if line.variant_id else None
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line.id),
            "sku": line.sku or None,
            "title": line.title,
            "name": line.title,
            "quantity": line.quantity,
            "currentQuantity": line.current,
            "refundableQuantity": line.current,
            "unfulfilledQuantity": line.current - line.shipped,
            "nonFulfillableQuantity": line.removed,
            "requiresShipping": line.requires_shipping,
            "variant": self.variant(variant) if variant else None,
            "originalUnitPriceSet": self.money(line.price),
        }

    def refund(self, order: ShopOrder, refund: JSON) -> JSON:
        """A ``Refund`` of ``order`` from the REST-shaped record the store keeps."""
        lines = {ln.id: ln for ln in order.lines}
        return {
            "__typename": "Refund",
            "id": gid("Refund", refund["id"]),
            "createdAt": iso(datetime.fromisoformat(refund["created_at"])),
            "note": refund.get("note") or None,
            "refundLineItems": pager(
                lambda: refund["refund_line_items"],
                lambda item: {
                    "id": gid("RefundLineItem", item["id"]),
                    "quantity": item["quantity"],
                    "restockType": item["restock_type"].upper(),
                    "restocked": item["restock_type"] != "no_restock",
                    "lineItem": self.line(lines[item["line_item_id"]]),
                },
                lambda item: [item["id"]],
            ),
        }

    def address(self, address: JSON | None) -> JSON | None:
        if not address:
            return None
        return {
            "id": "gid://shopify/MailingAddress/1?model_name=Address",
            "name": address.get("name"),
            "firstName": address.get("first_name"),
            "lastName": address.get("last_name"),
            "company": address.get("company"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "city": address.get("city"),
            "province": address.get("province"),
            "provinceCode": address.get("province_code"),
            "zip": address.get("zip"),
            "countryCodeV2": address.get("country_code"),
            "phone": address.get("phone"),
            "latitude": address.get("latitude"),
            "longitude": address.get("longitude"),
        }

    def fulfillment_order(self, fo: Any) -> JSON:
        actions = {  # a partly shipped order (IN_PROGRESS) can still ship the rest
            "OPEN": ["CREATE_FULFILLMENT", "HOLD", "MOVE"],
            "IN_PROGRESS": ["CREATE_FULFILLMENT"],
        }.get(fo.status, [])
        return {
            "__typename": "FulfillmentOrder",
            "id": gid("FulfillmentOrder", fo.id),
            "status": fo.status,
            "supportedActions": [{"action": a} for a in actions],
            "lineItems": pager(
                lambda: fo.lines,
                lambda fl: {
                    "id": gid("FulfillmentOrderLineItem", fl["id"]),
                    "sku": fl["sku"] or None,
                    "totalQuantity": fl["total"],
                    "remainingQuantity": fl["remaining"],
                },
                lambda fl: [fl["id"]],
            ),
        }

    def order(self, order: ShopOrder) -> JSON:
        customer = order.customer
        name = " ".join(filter(None, [customer.get("first_name"), customer.get("last_name")]))
        level = {"LOW": "LOW", "MEDIUM": "MEDIUM", "HIGH": "HIGH"}.get(order.risk, "NONE")
        recommendation = {"HIGH": "CANCEL", "MEDIUM": "INVESTIGATE"}.get(order.risk, "ACCEPT")
        return {
            "__typename": "Order",
            "id": gid("Order", order.id),
            "name": order.name,
            "createdAt": iso(order.created_at),
            "updatedAt": iso(order.updated_at),
            "cancelledAt": iso(order.cancelled_at) if order.cancelled_at else None,
            "cancelReason": order.cancel_reason,
            "closed": order.fulfillment_status() == "FULFILLED" or order.cancelled_at is not None,
            "test": order.test,
            "displayFinancialStatus": order.financial_status,
            "displayFulfillmentStatus": order.fulfillment_status(),
            "currencyCode": order.currency,
            "totalPriceSet": self.money(order.total),
            "email": order.email or None,
            "phone": order.phone or None,
            "note": order.note or None,
            "tags": list(order.tags),
            "customer": (
                {
                    "id": gid("Customer", int(customer["id"])),
                    "displayName": name or customer.get("email") or "",
                    "email": customer.get("email"),
                    "phone": customer.get("phone"),
                }
                if customer.get("id")
                else None
            ),
            "shippingAddress": self.address(order.shipping_address),
            "risk": {
                "recommendation": recommendation,
                "assessments": [{"riskLevel": level}],
            },
            "lineItems": pager(lambda: order.lines, self.line, lambda ln: [ln.id]),
            "fulfillmentOrders": pager(
                lambda: order.fulfillment_orders, self.fulfillment_order, lambda fo: [fo.id]
            ),
            "refunds": lambda info, first=None: [
                self.refund(order, r) for r in order.refunds[: first or None]
            ],
            "fulfillments": lambda info, first=None: [
                self.fulfillment(f) for f in order.fulfillments[: first or None]
            ],
        }

    def fulfillment(self, made: JSON) -> JSON:
        tracking = made.get("tracking") or {}
        return {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", made["id"]),
            "status": made["status"],
            "trackingInfo": lambda info, first=None: [
                {
                    "company": tracking.get("company"),
                    "number": tracking.get("number"),
                    "url": tracking.get("url"),
                }
            ],
        }

    def node(self, global_id: str) -> JSON | None:
        """Any object by its global id (``nodes``), None when there is none."""
        for kind, table, view in (
            ("InventoryItem", self.store.items, self.item),
            ("Location", self.store.locations, self.location),
            ("Product", self.store.products, self.product),
            ("ProductVariant", self.store.variants, lambda n: self.variant(self.store.variants[n])),
            ("Order", self.store.orders, lambda n: self.order(self.store.orders[n])),
        ):
            number = number_of(global_id, kind)
            if number is not None:
                return view(number) if number in table else None
        number = number_of(global_id, "LineItem")
        if number is not None:
            line = next(
                (ln for o in self.store.orders.values() for ln in o.lines if ln.id == number),
                None,
            )
            return self.line(line) if line else None
        return None

    def refund_by_id(self, global_id: str) -> JSON | None:
        """A ``Refund`` by its global id, None when there is none."""
        number = number_of(global_id, "Refund")
        for order in self.store.orders.values():
            for refund in order.refunds:
                if refund["id"] == number:
                    return self.refund(order, refund)
        return None


# -- roots ---------------------------------------------------------------------------------


class Roots:
    """The query and mutation roots of one request, run under the store's lock."""

    def __init__(self, store: ShopStore, scopes: Sequence[str], idempotency: dict) -> None:
        self.store = store
        self.views = Views(store)
        self.scopes = list(scopes)
        self.idempotency = idempotency

    def check_scope(self, info: GraphQLResolveInfo) -> None:
        needed = ROOT_SCOPES.get(info.field_name)
        if needed and not has_scope(self.scopes, needed):
            raise GraphQLError(
                f"Access denied for {info.field_name} field. Required access: `{needed}` "
                "access scope.",
                path=info.path.as_list(),
                extensions={
                    "code": "ACCESS_DENIED",
                    "documentation": "https://shopify.dev/api/usage/access-scopes",
                    "requiredAccess": f"`{needed}` access scope.",
                },
            )

    def query(self) -> JSON:
        store, views = self.store, self.views

        def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
            def run(info: GraphQLResolveInfo, **args: Any) -> Any:
                self.check_scope(info)
                return fn(info, **args)

            return run

        def orders(info: GraphQLResolveInfo, **args: Any) -> JSON:
            keep = order_filter(args.get("query"))
            sort = args.get("sortKey") or "ID"
            key = {  # epoch seconds: cheap to compare, and JSON for the cursors
                "UPDATED_AT": lambda o: [o.updated_at.timestamp(), o.id],
                "CREATED_AT": lambda o: [o.created_at.timestamp(), o.id],
                "PROCESSED_AT": lambda o: [o.created_at.timestamp(), o.id],
                "ORDER_NUMBER": lambda o: [o.number, o.id],
            }.get(sort, lambda o: [o.id])
            chosen = sorted((o for o in store.orders.values() if keep(o)), key=key)
            return connection(info, chosen, views.order, key, args)

        def variants(info: GraphQLResolveInfo, **args: Any) -> JSON:
            sort = args.get("sortKey") or "ID"
            key = {"SKU": lambda v: [v["sku"], v["id"]]}.get(sort, lambda v: [v["id"]])
            chosen = sorted(store.variants.values(), key=key)
            return connection(info, chosen, views.variant, key, args)

        def locations(info: GraphQLResolveInfo, **args: Any) -> JSON:
            chosen = sorted(n for n, loc in store.locations.items() if loc["isActive"])
            return connection(info, chosen, views.location, lambda n: [n], args)

        def order(info: GraphQLResolveInfo, id: str) -> JSON | None:
            number = number_of(id, "Order")
            return views.order(store.orders[number]) if number in store.orders else None

        def refund(info: GraphQLResolveInfo, id: str) -> JSON | None:
            return views.refund_by_id(id)

        def nodes(info: GraphQLResolveInfo, ids: list[str]) -> list[JSON | None]:
            if len(ids) > MAX_INPUT:
                raise GraphQLError(
                    f"The input array size of {len(ids)} is greater than the maximum "
                    f"allowed of {MAX_INPUT}.",
                    path=info.path.as_list(),
                    extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
                )
            return [views.node(i) for i in ids]

        return {
            "currentAppInstallation": {
                "id": "gid://shopify/AppInstallation/1",
                "accessScopes": [{"handle": s, "description": s} for s in self.scopes],
            },
            "shop": {
                "id": "gid://shopify/Shop/1",
                "name": store.name,
                "myshopifyDomain": store.domain,
                "currencyCode": store.currency,
                "ianaTimezone": store.timezone,
            },
            "locations": guarded(locations),
            "productVariants": guarded(variants),
            "orders": guarded(orders),
            "order": guarded(order),
            "refund": guarded(refund),
            "nodes": nodes,
        }

    def mutation(self) -> JSON:
        def set_quantities(info: GraphQLResolveInfo, input: JSON) -> JSON:
            self.check_scope(info)
            key = idempotency_key(info)
            fingerprint = json.dumps(input, sort_keys=True)
            if key in self.idempotency:
                seen, answer = self.idempotency[key]
                if seen != fingerprint:
                    return {
                        "inventoryAdjustmentGroup": None,
                        "userErrors": [
                            {
                                "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                                "field": None,
                                "message": "The same idempotency key was used with "
                                "different parameters.",
                            }
                        ],
                    }
                return answer
            answer = self.apply_quantities(info, input)
            self.idempotency[key] = (fingerprint, answer)
            return answer

        def fulfillment_create(info: GraphQLResolveInfo, fulfillment: JSON, message: Any = None):
            self.check_scope(info)
            ids = []
            quantities: dict[int, int] = {}  # partial: fulfillmentOrderLineItems given
            for index, group in enumerate(fulfillment["lineItemsByFulfillmentOrder"]):
                number = number_of(group["fulfillmentOrderId"], "FulfillmentOrder")
                if number is None:
                    return _user_error(
                        ["fulfillment", "lineItemsByFulfillmentOrder", str(index)],
                        "Invalid fulfillment order id.",
                    )
                ids.append(number)
                for item in group.get("fulfillmentOrderLineItems") or ():
                    line = number_of(item["id"], "FulfillmentOrderLineItem")
                    if line is None or item["quantity"] < 1:
                        return _user_error(
                            ["fulfillment", "lineItemsByFulfillmentOrder", str(index)],
                            "Invalid fulfillment order line item.",
                        )
                    quantities[line] = item["quantity"]
            tracking = fulfillment.get("trackingInfo") or {}
            try:
                made = self.store.fulfil(ids, tracking, quantities)
            except StoreError as error:
                return _user_error(["fulfillment"], str(error))
            return {"fulfillment": self.views.fulfillment(made), "userErrors": []}

        return {
            "inventorySetQuantities": set_quantities,
            "fulfillmentCreate": fulfillment_create,
        }

    def apply_quantities(self, info: GraphQLResolveInfo, data: JSON) -> JSON:
        """``inventorySetQuantities``: all quantities change, or none when any is refused."""
        store = self.store
        rows = data["quantities"]
        if len(rows) > MAX_INPUT:
            raise GraphQLError(
                f"The input array size of {len(rows)} is greater than the maximum allowed "
                f"of {MAX_INPUT}.",
                path=[*info.path.as_list(), "input", "quantities"],
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        errors: list[JSON] = []
        if data["name"] not in ("available", "on_hand"):
            errors.append(_set_error("INVALID_NAME", ["input", "name"], "Invalid name."))
        if data["reason"] not in INVENTORY_REASONS:
            errors.append(_set_error("INVALID_REASON", ["input", "reason"], "Invalid reason."))
        seen: set[tuple[int, int]] = set()
        changes: list[tuple[int, int, int]] = []
        for index, row in enumerate(rows):
            at = ["input", "quantities", str(index)]
            item = number_of(row["inventoryItemId"], "InventoryItem")
            location = number_of(row["locationId"], "Location")
            if item is None or item not in store.items:
                errors.append(
                    _set_error(
                        "INVALID_INVENTORY_ITEM",
                        [*at, "inventoryItemId"],
                        "The specified inventory item could not be found.",
                    )
                )
                continue
            if location is None or location not in store.locations:
                errors.append(
                    _set_error(
                        "INVALID_LOCATION",
                        [*at, "locationId"],
                        "The specified location could not be found.",
                    )
                )
                continue
            if (item, location) in seen:
                errors.append(
                    _set_error(
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        [*at],
                        "The combination of inventoryItemId and locationId must be unique.",
                    )
                )
                continue
            seen.add((item, location))
            current = store.levels.get((item, location))
            if current is None:
                errors.append(
                    _set_error(
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                        [*at, "locationId"],
                        "The specified inventory item is not stocked at the location.",
                    )
                )
                continue
            if not store.items[item]["tracked"]:
                errors.append(
                    _set_error(
                        "NON_MUTABLE_INVENTORY_ITEM",
                        [*at, "inventoryItemId"],
                        "The inventory item does not track inventory.",
                    )
                )
                continue
            if row["quantity"] > 1_000_000_000:
                errors.append(
                    _set_error(
                        "INVALID_QUANTITY_TOO_HIGH",
                        [*at, "quantity"],
                        "The quantity can't be higher than 1,000,000,000.",
                    )
                )
                continue
            if "changeFromQuantity" not in row:
                errors.append(
                    _set_error(
                        "COMPARE_QUANTITY_REQUIRED",
                        [*at, "changeFromQuantity"],
                        "changeFromQuantity is required; pass null to skip the check.",
                    )
                )
                continue
            expected = row["changeFromQuantity"]
            if expected is not None and expected != current:
                errors.append(
                    _set_error(
                        "CHANGE_FROM_QUANTITY_STALE",
                        [*at, "changeFromQuantity"],
                        "The quantity couldn't be updated because the changeFromQuantity "
                        "value doesn't match the current quantity.",
                    )
                )
                continue
            changes.append((item, location, row["quantity"]))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        applied = []
        for item, location, quantity in changes:
            delta = store.set_available(item, location, quantity)
            applied.append((item, location, delta, quantity))
        group_id = store.next_id()

        def group_changes(info: GraphQLResolveInfo, **filters: Any) -> list[JSON]:
            names = filters.get("quantityNames")
            if names is not None and data["name"] not in names:
                return []
            return [
                {
                    "name": data["name"],
                    "delta": delta,
                    "quantityAfterChange": after,
                    "item": self.views.item(item),
                    "location": self.views.location(location),
                }
                for item, location, delta, after in applied
            ]

        return {
            "inventoryAdjustmentGroup": {
                "id": gid("InventoryAdjustmentGroup", group_id),
                "createdAt": iso(store.now()),
                "reason": data["reason"],
                "changes": group_changes,
            },
            "userErrors": [],
        }


def idempotency_key(info: GraphQLResolveInfo) -> str:
    """The ``@idempotent(key:)`` of the mutation field; Shopify refuses the call without it."""
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value == "idempotent":
            for argument in directive.arguments or ():
                value: Any = argument.value
                if value.kind == "variable":
                    values: Any = info.variable_values  # a dict in graphql-core 3.2
                    values = getattr(values, "coerced", values)  # VariableValues in 3.3
                    return str(values.get(value.name.value, ""))
                return str(getattr(value, "value", ""))
    raise GraphQLError(
        f"The @idempotent directive is required for the {info.field_name} mutation.",
        path=info.path.as_list(),
        extensions={"code": "BAD_REQUEST"},
    )


def _set_error(code: str, field: list[str], message: str) -> JSON:
    return {"code": code, "field": field, "message": message}


def _user_error(field: list[str], message: str) -> JSON:
    return {"fulfillment": None, "userErrors": [{"field": field, "message": message}]}
