"""Order checks: the per-channel settings and the context ``check_order`` hooks receive.

Plugins import these from ``hub`` (never ``hub.core``). A channel section configures its
checks in a ``checks`` table::

    [channels.web.checks]
    accept_on_account = true        # unpaid orders of accounts with payment terms pass
    auto_cancel_unpaid_days = 7     # cancel orders still unpaid after 7 days (0: never)
    fraud_threshold = 1.0           # hold when the rules' weighted score reaches this

    [channels.web.checks.fraud.value_spike]
    weight = 1.0                    # 0 switches the rule off
    factor = 5.0
    min_orders = 3

The core computes a :class:`CheckContext` per order (one query per kind for a whole page,
and none at all for what no enabled rule needs) and passes it to ``check_order``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountryMismatchRule(_Strict):
    """Billing and shipping countries differ (both given). Needs no history."""

    weight: float = Field(default=0.0, ge=0)


class ValueSpikeRule(_Strict):
    """The order's total is more than ``factor`` times the customer's average over at least
    ``min_orders`` previous orders (by account, else by e-mail)."""

    weight: float = Field(default=0.0, ge=0)
    factor: float = Field(default=5.0, gt=1)
    min_orders: int = Field(default=3, ge=1)


class AddressVelocityRule(_Strict):
    """At least ``orders`` orders (this one included) to the same postcode and street line
    within ``hours`` hours."""

    weight: float = Field(default=0.0, ge=0)
    orders: int = Field(default=3, ge=2)
    hours: float = Field(default=24.0, gt=0)


class FraudRules(_Strict):
    """The fraud screen's rules; a rule with weight 0 (the default) is off."""

    country_mismatch: CountryMismatchRule = CountryMismatchRule()
    value_spike: ValueSpikeRule = ValueSpikeRule()
    address_velocity: AddressVelocityRule = AddressVelocityRule()


class ChecksConfig(_Strict):
    """A channel's ``checks`` table; unknown keys are errors.

    ``accept_on_account``: an unpaid order of an account with payment terms is not held
    as unpaid (it is "on account"). ``auto_cancel_unpaid_days``: orders still unpaid (and
    not on account) this many days after they were placed are cancelled by the recheck
    job and ``hub orders cancel-unpaid``; 0 never. ``credit_limit``: hold orders on
    account beyond the account's remaining credit. ``fraud_threshold``: the fraud screen
    holds an order (code ``fraud_screen``) when the weights of the rules it triggers add
    up to at least this.
    """

    accept_on_account: bool = True
    auto_cancel_unpaid_days: int = Field(default=0, ge=0)
    credit_limit: bool = True
    fraud_threshold: float = Field(default=1.0, gt=0)
    fraud: FraudRules = FraudRules()

    def needs_history(self) -> bool:
        """Whether a rule needs the customer's previous orders."""
        return self.fraud.value_spike.weight > 0

    def needs_address(self) -> bool:
        """Whether a rule needs recent orders to the same address."""
        return self.fraud.address_velocity.weight > 0


@dataclass(frozen=True)
class AccountInfo:
    """The B2B account an order is charged to. Money in the hub's currency.

    ``payment_terms_days`` None: pays before delivery. ``credit_limit`` None: no limit.
    ``outstanding``: totals of the account's other unpaid orders not cancelled.
    """

    id: int
    number: str
    name: str
    payment_terms_days: int | None = None
    credit_limit: Decimal | None = None
    outstanding: Decimal = Decimal("0")

    @property
    def on_terms(self) -> bool:
        """True when the customer may pay after delivery."""
        return self.payment_terms_days is not None


@dataclass(frozen=True)
class CustomerHistory:
    """The customer's previous orders (not cancelled, this one excluded)."""

    count: int = 0
    average_total: Decimal = Decimal("0")


@dataclass(frozen=True)
class CheckContext:
    """What the core knows around one order, for ``check_order``.

    ``settings``: the channel's :class:`ChecksConfig`. ``account``: the matched account
    or None. ``history``: None when no enabled rule needs it (not computed).
    ``same_address``: orders to the same postcode and street line within the velocity
    rule's hours, this one included; 0 when not computed.
    """

    settings: ChecksConfig = field(default_factory=ChecksConfig)
    account: AccountInfo | None = None
    history: CustomerHistory | None = None
    same_address: int = 0
