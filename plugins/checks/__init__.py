"""Built-in order checks: hold unpaid orders, high fraud risk and incomplete addresses.

A plain plugin on the ``check_order`` hook, registered through the ``hub`` entry-point
group like any third-party plugin; disable it with ``HUB_DISABLE_PLUGINS=checks``.
"""

from __future__ import annotations

from hub import Hold, Order, OrderStatus, PaymentStatus, hookimpl

UNPAID = {PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.VOIDED}


@hookimpl
def check_order(order: Order) -> list[Hold]:
    """Hold orders that are unpaid, risky, or cannot be delivered as addressed."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return []
    holds = []
    if order.payment_status in UNPAID:
        holds.append(Hold("unpaid", f"payment is {order.payment_status.value}"))
    if (order.risk_level or "").lower() == "high":
        holds.append(Hold("fraud_risk", "the channel rates this order's fraud risk high"))
    if (
        order.shipping_address != type(order.shipping_address)()
        and not order.shipping_address.is_complete()
    ):
        holds.append(
            Hold("address_incomplete", "shipping address lacks street, city/postcode or country")
        )
    return holds
