"""Small builders for the data classes tests feed the hub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub import Address, Customer, Order, OrderLine, OrderStatus, PaymentStatus

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ADDRESS = Address(
    name="Ada Lovelace", line1="1 Analytical Row", city="London", postcode="N1 1AA", country="GB"
)


def order(
    external_id: str,
    *lines: tuple[str, int],
    channel: str = "web",
    minutes: int = 0,
    status: OrderStatus = OrderStatus.OPEN,
    payment: PaymentStatus = PaymentStatus.PAID,
    **fields: object,
) -> Order:
    """An order of ``lines`` (sku, quantity), version ``T0 + minutes``."""
    return Order(
        channel=channel,
        external_id=external_id,
        lines=tuple(OrderLine(sku, qty, unit_price=Decimal("9.99")) for sku, qty in lines),
        total=Decimal("9.99") * sum(q for _, q in lines),
        currency="EUR",
        status=status,
        payment_status=payment,
        customer=Customer(name="Ada", email="ada@example.com"),
        shipping_address=ADDRESS,
        placed_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )
