"""Built-in order checks: unpaid orders, credit limits, fraud risk and incomplete addresses.

A plain plugin on the ``check_order`` hook, registered through the ``hub`` entry-point
group like any third-party plugin; disable it with ``HUB_DISABLE_PLUGINS=checks``.
Each channel tunes it in its ``checks`` table (:class:`hub.ChecksConfig`):

- ``unpaid``: payment pending, failed or voided, unless the order is on account (its
  customer account has payment terms and the channel accepts orders on account);
- ``credit_limit``: an order on account whose total is more than the account's credit
  limit minus the totals of its other unpaid orders not cancelled;
- ``fraud_risk``: the channel rates the order's fraud risk high;
- ``fraud_screen``: the weighted rules (billing/shipping country mismatch, a value far
  above the customer's average, many orders to one address in a short time) reach the
  channel's ``fraud_threshold``; the hold names each rule that fired with its figures;
- ``address_incomplete``: a shipping address without street, city/postcode or country.
"""

from __future__ import annotations

from hub import CheckContext, Hold, Order, OrderStatus, PaymentStatus, hookimpl

UNPAID = {PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.VOIDED}


@hookimpl
def check_order(order: Order, context: CheckContext) -> list[Hold]:
    """Hold orders that are unpaid (and not on account), over their credit, risky, or
    cannot be delivered as addressed."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return []
    context = context or CheckContext()
    settings = context.settings
    account = context.account
    holds = []
    on_account = settings.accept_on_account and account is not None and account.on_terms
    if order.payment_status in UNPAID:
        if not on_account:
            holds.append(Hold("unpaid", f"payment is {order.payment_status.value}"))
        elif settings.credit_limit and account is not None and account.credit_limit is not None:
            remaining = account.credit_limit - account.outstanding
            if order.total > remaining:
                holds.append(
                    Hold(
                        "credit_limit",
                        f"order total {order.total:,.2f} is over the remaining credit "
                        f"{remaining:,.2f} of account {account.number} (limit "
                        f"{account.credit_limit:,.2f}, {account.outstanding:,.2f} outstanding)",
                    )
                )
    if (order.risk_level or "").lower() == "high":
        holds.append(Hold("fraud_risk", "the channel rates this order's fraud risk high"))
    screen = fraud_screen(order, context)
    if screen:
        holds.append(screen)
    address = order.shipping_address
    given = any((address.line1, address.line2, address.city, address.postcode, address.country))
    if given and not address.is_complete():  # no address at all: collected, or told later
        holds.append(
            Hold("address_incomplete", "shipping address lacks street, city/postcode or country")
        )
    return holds


def fraud_screen(order: Order, context: CheckContext) -> Hold | None:
    """The ``fraud_screen`` hold when the weights of the rules that fire reach the
    channel's threshold, naming each rule with its figures; None otherwise."""
    rules = context.settings.fraud
    fired: list[tuple[float, str]] = []
    ship, bill = order.shipping_address.country.strip(), order.billing_address.country.strip()
    if rules.country_mismatch.weight > 0 and ship and bill and ship.upper() != bill.upper():
        fired.append(
            (
                rules.country_mismatch.weight,
                f"billing country {bill.upper()} differs from shipping country {ship.upper()}",
            )
        )
    spike, history = rules.value_spike, context.history
    if (
        spike.weight > 0
        and history is not None
        and history.count >= spike.min_orders
        and history.average_total > 0
    ):
        ratio = order.total / history.average_total
        if ratio > spike.factor:
            fired.append(
                (
                    spike.weight,
                    f"value {order.total:,.2f} is {ratio:.1f}× this customer's average "
                    f"{history.average_total:,.2f} over {history.count} orders",
                )
            )
    velocity = rules.address_velocity
    if velocity.weight > 0 and context.same_address >= velocity.orders:
        address = order.shipping_address
        fired.append(
            (
                velocity.weight,
                f"{context.same_address} orders to {address.line1}, {address.postcode} "
                f"within {velocity.hours:g} hours",
            )
        )
    score = sum(weight for weight, _ in fired)
    if not fired or score < context.settings.fraud_threshold:
        return None
    return Hold(
        "fraud_screen",
        "; ".join(text for _, text in fired)
        + f" (score {score:g}, threshold {context.settings.fraud_threshold:g})",
    )
