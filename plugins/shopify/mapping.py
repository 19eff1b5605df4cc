"""Shopify objects ↔ hub data classes.

Orders arrive two ways: as GraphQL ``Order`` nodes from the incremental pull, and as
REST-shaped JSON in webhooks. Both become the same :class:`hub.Order`. Money comes as
decimal strings in the shop's currency and becomes ``Decimal`` without passing through
float; times become aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def line(node: Payload) -> OrderLine:
    """A GraphQL ``LineItem`` → OrderLine, counting what is still on the order."""
    price = ((node.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
    return OrderLine(
        sku=node.get("sku") or "",
        quantity=int(node.get("currentQuantity", node.get("quantity", 0))),
        unit_price=money(price),
        title=node.get("title") or "",
        external_id=numeric_id(node["id"]),
    )


def order(channel: str, node: Payload, lines: list[Payload] | None = None) -> Order:
    """A GraphQL ``Order`` node (with all its line items in ``lines``) → Order."""
    status, payment = statuses(
        node.get("displayFinancialStatus"),
        bool(node.get("cancelledAt")),
        node.get("displayFulfillmentStatus") == "FULFILLED",
    )
    customer = node.get("customer") or {}
    total = ((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount")
    items = lines if lines is not None else (node.get("lineItems") or {}).get("nodes") or []
    return Order(
        channel=channel,
        external_id=numeric_id(node["id"]),
        number=node.get("name") or "",
        lines=tuple(line(item) for item in items),
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


def _webhook_line(item: Payload) -> OrderLine:
    return OrderLine(
        sku=item.get("sku") or "",
        quantity=int(item.get("current_quantity", item.get("quantity", 0))),
        unit_price=money(item.get("price")),
        title=item.get("title") or item.get("name") or "",
        external_id=str(item["id"]),
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
    return Order(
        channel=channel,
        external_id=str(payload["id"]),
        number=payload.get("name") or "",
        lines=tuple(_webhook_line(item) for item in payload.get("line_items") or ()),
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
