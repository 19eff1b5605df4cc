"""The fraud screen of the ``checks`` plugin: each rule, weights and threshold, the hold
naming the rules and figures; e-mail matching of channel customers to accounts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from builders import ADDRESS, order
from desk_fixtures import desk_hub

from hub import Address, Customer, PaymentStatus
from hub.core import customers
from hub.core.desk import Actor, order_view, release_order
from hub.core.models import now

SHOP = "shop"


def shop(url: str, **checks: object):  # type: ignore[no-untyped-def]
    return desk_hub(url, {SHOP: {"type": "manual", "checks": checks}})


def sale(ext: str, total: str = "10", email: str = "eve@example.com", **fields: object):  # type: ignore[no-untyped-def]
    placed = fields.pop("placed_at", None) or now()
    built = order(ext, ("MUG", 1), channel=SHOP, **fields)
    return replace(
        built, total=Decimal(total), customer=Customer(name="Eve", email=email), placed_at=placed
    )


def holds(hub, ext: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {h.code: h.reason for h in order_view(hub, f"{SHOP}:{ext}").holds}


def test_country_mismatch_holds_with_both_countries(db_url):
    with shop(db_url, fraud={"country_mismatch": {"weight": 1}}) as hub:
        hub.ingest(SHOP, [sale("A", billing_address=Address(line1="x", country="US"))])
        hub.ingest(SHOP, [sale("B", billing_address=Address(line1="x", country="gb"))])
        assert holds(hub, "A") == {
            "fraud_screen": "billing country US differs from shipping country GB "
            "(score 1, threshold 1)"
        }
        assert holds(hub, "B") == {}
        released = release_order(hub, f"{SHOP}:A", "customer lives abroad", Actor("bob", "web"))
        assert released.status == "open"


def test_a_rule_below_the_threshold_alone_does_not_hold(sqlite_url):
    with shop(sqlite_url, fraud_threshold=1.0, fraud={"country_mismatch": {"weight": 0.5}}) as hub:
        hub.ingest(SHOP, [sale("A", billing_address=Address(line1="x", country="US"))])
        assert holds(hub, "A") == {}


def test_rules_are_off_by_default(sqlite_url):
    with shop(sqlite_url) as hub:
        hub.ingest(SHOP, [sale("A", billing_address=Address(line1="x", country="US"))])
        hub.ingest(SHOP, [sale(f"P{i}", "10") for i in range(3)])
        hub.ingest(SHOP, [sale("BIG", "1000")])
        assert holds(hub, "A") == {} and holds(hub, "BIG") == {}


def test_value_far_above_the_customers_average(db_url):
    rule = {"value_spike": {"weight": 1, "factor": 5, "min_orders": 3}}
    with shop(db_url, fraud=rule) as hub:
        hub.ingest(SHOP, [sale("P1", "100"), sale("P2", "200"), sale("P3", "300")])
        hub.ingest(SHOP, [sale("BIG", "2400")])
        hub.ingest(SHOP, [sale("OK", "900")])
        hub.ingest(SHOP, [sale("OTHER", "2400", email="new@example.com")])
        assert holds(hub, "BIG") == {
            "fraud_screen": "value 2,400.00 is 12.0× this customer's average 200.00 over 3 "
            "orders (score 1, threshold 1)"
        }
        assert holds(hub, "OK") == {}  # 900 / average of 4 orders (650) is below 5×
        assert holds(hub, "OTHER") == {}  # no history: nothing to compare with


def test_value_spike_needs_the_minimum_number_of_orders(sqlite_url):
    rule = {"value_spike": {"weight": 1, "factor": 5, "min_orders": 3}}
    with shop(sqlite_url, fraud=rule) as hub:
        hub.ingest(SHOP, [sale("P1", "100"), sale("P2", "100")])
        hub.ingest(SHOP, [sale("BIG", "5000")])
        assert holds(hub, "BIG") == {}


def test_many_orders_to_one_address_in_a_short_time(db_url):
    rule = {"address_velocity": {"weight": 1, "orders": 3, "hours": 24}}
    with shop(db_url, fraud=rule) as hub:
        old = now() - timedelta(hours=30)
        hub.ingest(SHOP, [sale("OLD", email="a@example.com", placed_at=old)])
        hub.ingest(SHOP, [sale("N1", email="b@example.com")])
        hub.ingest(SHOP, [sale("N2", email="c@example.com")])
        elsewhere = Address(line1="9 Other St", city="Leeds", postcode="LS1 1AA", country="GB")
        hub.ingest(SHOP, [sale("FAR", email="d@example.com", shipping_address=elsewhere)])
        # the same address written differently, arriving in one page
        respelled = Address(
            line1="1  analytical row", city="London", postcode="n11aa", country="GB"
        )
        hub.ingest(SHOP, [sale("N3", email="e@example.com", shipping_address=respelled)])
        assert holds(hub, "N2") == {}
        assert holds(hub, "FAR") == {}
        assert holds(hub, "N3") == {
            "fraud_screen": "3 orders to 1  analytical row, n11aa within 24 hours "
            "(score 1, threshold 1)"
        }
        assert ADDRESS.postcode == "N1 1AA"


def test_weights_add_up_and_the_hold_names_every_rule(sqlite_url):
    rules = {
        "country_mismatch": {"weight": 0.6},
        "address_velocity": {"weight": 0.6, "orders": 2, "hours": 1},
    }
    with shop(sqlite_url, fraud=rules) as hub:
        abroad = Address(line1="x", country="FR")
        hub.ingest(SHOP, [sale("A1", billing_address=abroad)])
        hub.ingest(SHOP, [sale("A2", billing_address=abroad)])
        assert holds(hub, "A1") == {}  # 0.6 < 1
        assert holds(hub, "A2") == {
            "fraud_screen": "billing country FR differs from shipping country GB; "
            "2 orders to 1 Analytical Row, N1 1AA within 1 hours (score 1.2, threshold 1)"
        }


def test_channel_customers_are_matched_to_accounts_by_email(db_url):
    channels = {SHOP: {"type": "manual", "match_customers_by_email": True}}
    with desk_hub(db_url, channels) as hub:
        hub.write(lambda c: customers.add_contact(c, "ACME", "Jo Buyer", email="Jo@Acme.example"))
        unpaid = PaymentStatus.PENDING
        hub.ingest(SHOP, [sale("M1", email="jo@acme.example", payment=unpaid)])
        hub.ingest(SHOP, [sale("M2", email="buyer@acme.example", payment=unpaid)])
        hub.ingest(SHOP, [sale("S1", email="stranger@example.com", payment=unpaid)])
        m1, m2 = order_view(hub, f"{SHOP}:M1"), order_view(hub, f"{SHOP}:M2")
        stranger = order_view(hub, f"{SHOP}:S1")
        assert (m1.account_number, m1.status, m1.on_account) == ("ACME", "open", True)
        assert m2.account_number == "ACME"
        assert (stranger.account_number, stranger.status) == ("", "on_hold")
        assert [h.code for h in stranger.holds] == ["unpaid"]


def test_without_matching_channel_customers_stay_unmatched(sqlite_url):
    with shop(sqlite_url) as hub:
        hub.ingest(SHOP, [sale("M1", email="buyer@acme.example")])
        assert order_view(hub, f"{SHOP}:M1").account_number == ""


def statements(hub, work) -> list[str]:  # type: ignore[no-untyped-def]
    """The SQL ``work()`` sends through the hub's engine."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    sa.event.listen(hub.engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        sa.event.remove(hub.engine, "before_cursor_execute", note)
    return seen


def test_check_contexts_query_only_for_enabled_rules_and_once_per_page(sqlite_url):
    rule = {"value_spike": {"weight": 1, "factor": 5, "min_orders": 3}}
    with shop(sqlite_url, fraud=rule) as hub:
        web = [order(f"W{i}", ("MUG", 1)) for i in range(5)]  # "web": no rule, not manual
        assert statements(hub, lambda: hub.check_contexts("web", web)) == []
        one = [sale("P1", email="a@example.com")]
        many = [sale(f"P{i}", email=f"{i}@example.com") for i in range(40)]
        for_one = statements(hub, lambda: hub.check_contexts(SHOP, one))
        for_many = statements(hub, lambda: hub.check_contexts(SHOP, many))
        assert for_one and len(for_many) == len(for_one)
