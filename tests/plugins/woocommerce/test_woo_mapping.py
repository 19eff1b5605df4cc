"""Payload mapping details that the end-to-end tests do not reach."""

from __future__ import annotations

from decimal import Decimal

from hub import OrderStatus, PaymentStatus, StockUpdate
from hub_plugins.woocommerce import WooCommerceChannel, mapping


def test_amounts_never_pass_through_binary_floats() -> None:
    assert mapping.money("29.35") == Decimal("29.35")
    assert mapping.money(12.3) == Decimal("12.3")  # a JSON number, as line "price" comes
    assert mapping.money(None) == Decimal("0")


def test_unit_price_is_subtotal_over_quantity_when_exact() -> None:
    exact = {"quantity": 4, "subtotal": "10.00", "price": 2.5}
    uneven = {"quantity": 3, "subtotal": "10.00", "price": 3.3333333333333335}

    assert mapping.unit_price(exact) == Decimal("2.5")
    assert mapping.unit_price(uneven) == Decimal("3.3333333333333335")


def test_unknown_status_is_pending_with_unknown_payment() -> None:
    assert mapping.order_statuses({"status": "checkout-draft"}) == (
        OrderStatus.PENDING,
        PaymentStatus.UNKNOWN,
    )
    assert mapping.order_statuses({"status": "trash"})[0] is OrderStatus.CANCELLED


def test_billing_address_stands_in_when_shipping_is_empty() -> None:
    payload = {
        "billing": {
            "first_name": "Ada",
            "address_1": "1 Main St",
            "city": "Oslo",
            "country": "NO",
            "phone": "123",
        },
        "shipping": {"address_1": ""},
    }

    address = mapping.shipping_address(payload)

    assert (address.name, address.line1, address.phone) == ("Ada", "1 Main St", "123")


def test_updates_with_ids_woo_cannot_have_fail_without_a_call(
    channel: WooCommerceChannel, sandbox
) -> None:  # type: ignore[no-untyped-def]
    [result] = channel.push_stock([StockUpdate("X", "gid://shopify/1", 3)])

    assert not result.ok and "not a WooCommerce" in result.error
    assert sandbox.calls == []
