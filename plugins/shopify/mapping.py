"""Shopify objects ↔ hub data classes.

Orders arrive two ways: as GraphQL ``Order`` nodes from the incremental pull, and as
REST-shaped JSON in webhooks. Both become the same :class:`hub.Order`. Money comes as
decimal strings in the shop's currency and becomes ``Decimal`` without passing through
float; times become aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub import (
    Address,
    Customer,
    Listing,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    money,
    utc,
)

Payload = Mapping[str, Any]

#: Shopify's financial status (GraphQL enum or lower-case REST value) → payment status.
PAYMENT = {
    "PENDING": PaymentStatus.PENDING,
    "AUTHORIZED": PaymentStatus.AUTHORIZED,
    "PARTIALLY_PAID": PaymentStatus.PARTIALLY_PAID,
    "PAID": PaymentStatus.PAID,
    "PARTIALLY_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "VOIDED": PaymentStatus.VOIDED,
    "EXPIRED": PaymentStatus.FAILED,
}
#: The highest risk level of an order's assessments, or its recommendation → risk level.
RISK = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}
RECOMMENDATION = {"CANCEL": "high", "INVESTIGATE": "medium", "ACCEPT": "low"}


def order_gid(order_id: str) -> str:
    """``gid://shopify/Order/1001`` for an order id as the hub keeps it (``1001``)."""
    return f"gid://shopify/Order/{numeric_id(order_id)}"


def available(level: Payload | None) -> int | None:
    """The ``available`` quantity of an ``InventoryLevel`` (None: not stocked there)."""
    if not level:
        return None
    return next((q["quantity"] for q in level["quantities"] if q["name"] == "available"), None)


def numeric_id(global_id: str) -> str:
    """``gid://shopify/Order/1001`` → ``1001``: the id merchants see in admin URLs."""
    return global_id.rsplit("/", 1)[-1].split("?", 1)[0]


def statuses(
    financial: str | None, cancelled: bool, fulfilled: bool
) -> tuple[OrderStatus, PaymentStatus]:
    """Hub order and payment status from Shopify's separate fields."""
    payment = PAYMENT.get((financial or "").upper(), PaymentStatus.UNKNOWN)
    if cancelled:
        return OrderStatus.CANCELLED, payment
    if payment is PaymentStatus.REFUNDED:
        return OrderStatus.REFUNDED, payment
    if fulfilled:
        return OrderStatus.FULFILLED, payment
    if payment in (PaymentStatus.VOIDED, PaymentStatus.FAILED):
        return OrderStatus.CANCELLED, payment
    return OrderStatus.OPEN, payment


# -- GraphQL nodes -------------------------------------------------------------------------


def _address(node: Payload | None) -> Address:
    if not node:
        return Address()
    return Address(
        name=node.get("name") or "",
        company=node.get("company") or "",
        line1=node.get("address1") or "",
        line2=node.get("address2") or "",
        city=node.get("city") or "",
        region=node.get("provinceCode") or node.get("province_code") or "",
        postcode=node.get("zip") or "",
        country=node.get("countryCodeV2") or node.get("country_code") or "",
        phone=node.get("phone") or "",
        latitude=node.get("latitude"),
        longitude=node.get("longitude"),
    )


def risk(node: Payload | None) -> str | None:
    """The highest assessed risk level ("low", "medium", "high"), else the recommendation's."""
    if not node:
        return None
    levels = [RISK[a["riskLevel"]] for a in node.get("assessments") or () if a["riskLevel"] in RISK]
    for level in ("high", "medium", "low"):
        if level in levels:
            return level
    return RECOMMENDATION.get(node.get("recommendation") or "")


#: Refund line items that put shipped units back into stock. RETURN: "restocking line
#: items that were fulfilled"; LEGACY_RESTOCK: "restocked, without specifically being
#: identified as a return or cancelation" (refunds made before the split), counted as a
#: return up to the shipped units refunded. CANCEL restocks units that never shipped,
#: NO_RESTOCK puts nothing back (RefundLineItemRestockType, Admin API 2026-04).
RESTOCKED = ("RETURN", "LEGACY_RESTOCK")


def restocked_units(refund_lines: Iterable[Payload]) -> dict[str, int]:
    """Units per line item id refunded with a restock of shipped units (:data:`RESTOCKED`).

    Takes GraphQL ``RefundLineItem`` nodes (``restockType``, ``lineItem { id }``) or the
    REST ``refund_line_items`` of a webhook body (``restock_type``, ``line_item_id``).
    """
    units: dict[str, int] = {}
    for item in refund_lines:
        kind = str(item.get("restockType") or item.get("restock_type") or "").upper()
        if kind not in RESTOCKED:
            continue
        owner = (item.get("lineItem") or {}).get("id") or item.get("line_item_id")
        key = numeric_id(str(owner))
        units[key] = units.get(key, 0) + int(item.get("quantity") or 0)
    return units


def takes_stock(sku: str, requires_shipping: bool, tracked: bool | None) -> bool:
    """Whether a line moves stock: False when Shopify says it needs no shipping, or when a
    line without SKU sells nothing whose inventory Shopify tracks (a custom item, gift
    wrap, a service; ``tracked`` False). A line with a SKU, or one without whose
    variant's tracking is unknown (``tracked`` None), takes stock: without a SKU the core
    holds the order naming its title."""
    if not requires_shipping:
        return False
    return bool(sku) or tracked is not False


def _line_state(
    sku: str,
    ordered: int,
    current: int,
    kept: int,
    shipped: int,
    restocked: int,
    stocked: bool,
) -> dict[str, Any]:
    """The OrderLine quantities: ``kept`` units not removed before shipping, of which
    ``shipped`` shipped; the shipped units refunded are ``kept - current``, and of those
    the ``restocked`` ones came back."""
    kept = max(current, min(kept, ordered))
    shipped = max(0, min(shipped, kept))
    returned = max(0, min(restocked, kept - current, shipped))
    return {
        "sku": sku,
        "quantity": kept,
        "fulfilled_quantity": shipped,
        "returned_quantity": returned,
        "stocked": stocked,
    }


def line(node: Payload, restocked: int = 0, tracked: bool | None = None) -> OrderLine:
    """A GraphQL ``LineItem`` → OrderLine.

    ``quantity`` counts every unit, "including refunded and removed units";
    ``currentQuantity`` excludes them; ``nonFulfillableQuantity`` counts the units that
    can no longer ship because they were refunded or removed before shipping, so units
    kept = quantity - nonFulfillableQuantity. ``unfulfilledQuantity`` is currentQuantity
    less the units shipped (it goes negative when shipped units are refunded:
    community.shopify.dev/t/negative-order-line-item-quantity-field-s/27826), so units
    shipped = currentQuantity - unfulfilledQuantity. ``restocked``: units of this line
    refunded with RETURN or LEGACY_RESTOCK (:func:`restocked_units`); ``tracked``: for a
    line without SKU, whether it sells a variant whose inventory Shopify tracks (None:
    not asked).
    """
    price = ((node.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
    ordered = int(node.get("quantity", 0))
    current = int(node.get("currentQuantity", ordered))
    removed = node.get("nonFulfillableQuantity")
    sku = node.get("sku") or ""
    state = _line_state(
        sku,
        ordered,
        current,
        kept=current if removed is None else ordered - int(removed),
        shipped=current - int(node.get("unfulfilledQuantity", current)),
        restocked=restocked,
        stocked=takes_stock(sku, bool(node.get("requiresShipping", True)), tracked),
    )
    return OrderLine(
        **state,
        unit_price=money(price),
        title=node.get("title") or "",
        external_id=numeric_id(node["id"]),
    )


def needs_refunds(items: Iterable[Payload]) -> bool:
    """Whether some GraphQL line item has shipped units refunded: only then does it take
    the order's refunds to tell which came back to stock."""
    for node in items:
        ordered = int(node.get("quantity", 0))
        current = int(node.get("currentQuantity", ordered))
        removed = node.get("nonFulfillableQuantity")
        if removed is not None and ordered - int(removed) > current:
            return True
    return False


def needs_variant(node: Payload) -> bool:
    """Whether a GraphQL line item ships without a SKU: whether it sells a tracked variant
    decides if it takes stock (:func:`takes_stock`)."""
    return not node.get("sku") and bool(node.get("requiresShipping", True))


def tracked_variant(node: Payload | None) -> bool:
    """From a ``LineItem`` with ``variant { inventoryItem { tracked } }``: False for a
    custom item (no variant) or an untracked one."""
    variant = (node or {}).get("variant")
    return bool(variant and (variant.get("inventoryItem") or {}).get("tracked"))


def order(
    channel: str,
    node: Payload,
    lines: list[Payload] | None = None,
    refund_lines: Iterable[Payload] = (),
    tracked: Mapping[str, bool] | None = None,
) -> Order:
    """A GraphQL ``Order`` node (with all its line items in ``lines``) → Order.

    ``refund_lines``: the ``RefundLineItem`` nodes of its refunds (needed when
    :func:`needs_refunds`); ``tracked``: line item id → :func:`tracked_variant`, for
    lines without SKU (:func:`needs_variant`).
    """
    status, payment = statuses(
        node.get("displayFinancialStatus"),
        bool(node.get("cancelledAt")),
        node.get("displayFulfillmentStatus") == "FULFILLED",
    )
    customer = node.get("customer") or {}
    total = ((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount")
    items = lines if lines is not None else (node.get("lineItems") or {}).get("nodes") or []
    restocked = restocked_units(refund_lines)
    return Order(
        channel=channel,
        external_id=numeric_id(node["id"]),
        number=node.get("name") or "",
        lines=tuple(
            line(
                item,
                restocked.get(numeric_id(item["id"]), 0),
                (tracked or {}).get(item["id"]),
            )
            for item in items
        ),
        currency=node.get("currencyCode") or "USD",
        total=money(total),
        status=status,
        payment_status=payment,
        customer=Customer(
            external_id=numeric_id(customer["id"]) if customer.get("id") else "",
            name=customer.get("displayName") or "",
            email=customer.get("email") or node.get("email") or "",
            phone=customer.get("phone") or node.get("phone") or "",
        ),
        shipping_address=_address(node.get("shippingAddress")),
        placed_at=utc(node.get("createdAt")),
        updated_at=utc(node.get("updatedAt")),
        notes=node.get("note") or "",
        risk_level=risk(node.get("risk")),
        tags=tuple(node.get("tags") or ()),
    )


def listing(node: Payload, location_id: str) -> Listing:
    """A GraphQL ``ProductVariant`` with its inventory item → Listing at ``location_id``."""
    item = node["inventoryItem"]
    quantity = available(item.get("inventoryLevel")) if item.get("tracked") else None
    return Listing(
        sku=node.get("sku") or "",  # as the shop spells it: the core normalises and reports
        external_id=item["id"],
        parent_id=node["product"]["id"],
        title=node.get("displayName") or "",
        quantity=quantity,
        managed=bool(item.get("tracked")),
        location_id=location_id,
    )


# -- webhook bodies (REST shape) -----------------------------------------------------------


def shipped_units(payload: Payload) -> dict[str, int]:
    """Units per line item id in the order's successful ``fulfillments`` (REST shape);
    cancelled or failed fulfillments shipped nothing."""
    units: dict[str, int] = {}
    for made in payload.get("fulfillments") or ():
        if str(made.get("status") or "").lower() != "success":
            continue
        for item in made.get("line_items") or ():
            key = str(item["id"])
            units[key] = units.get(key, 0) + int(item.get("quantity") or 0)
    return units


def _webhook_tracked(item: Payload) -> bool | None:
    """Whether a REST line item sells a variant whose inventory Shopify tracks: no for a
    custom item (``variant_id`` null) or a deleted product (``product_exists`` false), else
    ``variant_inventory_management`` ("shopify" when tracked); None when not said."""
    if item.get("variant_id") is None or item.get("product_exists") is False:
        return False
    if "variant_inventory_management" not in item:
        return None
    return item["variant_inventory_management"] == "shopify"


def _webhook_line(
    item: Payload, shipped: Mapping[str, int], restocked: Mapping[str, int]
) -> OrderLine:
    """A REST line item → OrderLine. ``fulfillable_quantity`` is what is left to ship, so
    units kept = shipped (from the order's fulfillments) + fulfillable; without it, what
    is current is kept."""
    ordered = int(item.get("quantity") or 0)
    current = int(item.get("current_quantity", ordered))
    key = str(item["id"])
    left = item.get("fulfillable_quantity")
    sku = item.get("sku") or ""
    requires_shipping = bool(item.get("requires_shipping", True))
    state = _line_state(
        sku,
        ordered,
        current,
        kept=current if left is None else shipped.get(key, 0) + max(0, int(left)),
        shipped=shipped.get(key, 0),
        restocked=restocked.get(key, 0),
        stocked=takes_stock(sku, requires_shipping, _webhook_tracked(item)),
    )
    return OrderLine(
        **state,
        unit_price=money(item.get("price")),
        title=item.get("title") or item.get("name") or "",
        external_id=key,
    )


def order_from_webhook(channel: str, payload: Payload) -> Order:
    """An ``orders/*`` webhook body → Order (the same Order the pull makes)."""
    status, payment = statuses(
        payload.get("financial_status"),
        bool(payload.get("cancelled_at")),
        payload.get("fulfillment_status") == "fulfilled",
    )
    customer = payload.get("customer") or {}
    name = " ".join(filter(None, [customer.get("first_name"), customer.get("last_name")]))
    tags = [t.strip() for t in (payload.get("tags") or "").split(",") if t.strip()]
    shipped = shipped_units(payload)
    restocked = restocked_units(
        item
        for refund in payload.get("refunds") or ()
        for item in refund.get("refund_line_items") or ()
    )
    return Order(
        channel=channel,
        external_id=str(payload["id"]),
        number=payload.get("name") or "",
        lines=tuple(
            _webhook_line(item, shipped, restocked) for item in payload.get("line_items") or ()
        ),
        currency=payload.get("currency") or "USD",
        total=money(payload.get("total_price")),
        status=status,
        payment_status=payment,
        customer=Customer(
            external_id=str(customer["id"]) if customer.get("id") else "",
            name=name,
            email=customer.get("email") or payload.get("email") or "",
            phone=customer.get("phone") or payload.get("phone") or "",
        ),
        shipping_address=_address(payload.get("shipping_address")),
        placed_at=utc(payload.get("created_at")),
        updated_at=utc(payload.get("updated_at")),
        notes=payload.get("note") or "",
        tags=tuple(tags),
    )
