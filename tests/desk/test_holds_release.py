"""Holds people decide: release (refused for hard holds), cancel, credit limits, on
account, auto-cancel of unpaid orders; each with who, from where and why in history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from builders import order
from desk_fixtures import desk_hub

from hub.core import customers, ledger
from hub.core.desk import (
    Actor,
    LineInput,
    NewOrder,
    cancel_order,
    cancel_unpaid,
    create_order,
    edit_order,
    hold_order,
    order_view,
    release_order,
)
from hub.core.holds import parse_holds
from hub.core.models import now
from hub.errors import Conflict, InvalidInput

BOB = Actor("bob", "web")
TOKEN = Actor("erp-sync", "api")


def cash_account(hub, number="CASH", **fields):  # type: ignore[no-untyped-def]
    """An account without payment terms: its unpaid orders are held."""
    hub.write(lambda c: customers.create_account(c, number, f"{number} Ltd", **fields))


def b2b(*lines: tuple[str, int], account: str = "CASH", **fields: object) -> NewOrder:
    return NewOrder(
        account=account,
        lines=tuple(LineInput(sku, qty, Decimal("5")) for sku, qty in lines),
        **fields,  # type: ignore[arg-type]
    )


def reserved(hub, sku: str) -> int:  # type: ignore[no-untyped-def]
    return sum(lv.reserved for lv in hub.read(lambda c: ledger.levels(c, sku)))


def test_release_of_an_unpaid_hold_opens_the_order_and_records_who_and_why(desk):
    cash_account(desk)
    held = create_order(desk, b2b(("MUG", 2)), BOB)
    assert held.status == "on_hold" and [h.code for h in held.holds] == ["unpaid"]
    assert held.holds[0].overridable and reserved(desk, "MUG") == 2  # held, stock kept

    released = release_order(desk, held.id, "paid by bank transfer, checked", BOB)
    assert released.status == "open" and released.holds == []
    assert released.released_holds == ("unpaid",)
    assert reserved(desk, "MUG") == 2
    release = [e for e in released.history if e.note.startswith("released")]
    assert len(release) == 1
    assert release[0].note == "released unpaid: paid by bank transfer, checked"
    assert (release[0].actor, release[0].origin) == ("web:bob", "web")

    # a later version is not held again for what a person released
    edited = edit_order(desk, held.id, TOKEN, lines=[LineInput("MUG", 3)])
    assert edited.status == "open" and reserved(desk, "MUG") == 3
    assert edited.history[-1].actor == "api:erp-sync" and edited.history[-1].origin == "api"
    assert desk.recheck_holds() == {}


def test_a_persons_hold_stays_through_rechecks_until_released(desk):
    view = create_order(desk, b2b(("MUG", 2), account="ACME"), BOB)
    assert view.status == "open"
    with pytest.raises(InvalidInput) as no_reason:
        hold_order(desk, view.id, "  ", BOB)
    assert no_reason.value.field == "reason"

    held = hold_order(desk, view.id, "customer  asked\nto wait", TOKEN)
    assert held.status == "on_hold" and reserved(desk, "MUG") == 2  # stock kept
    assert [(h.code, h.reason, h.overridable) for h in held.holds] == [
        ("manual", "customer asked to wait", True)
    ]
    assert (held.history[-1].note, held.history[-1].actor, held.history[-1].origin) == (
        "held: customer asked to wait",
        "api:erp-sync",
        "api",
    )
    with pytest.raises(Conflict, match="held by a person already"):
        hold_order(desk, view.id, "twice", BOB)
    assert desk.recheck_holds() == {"on_hold": 1}  # deciding it again keeps the hold
    assert order_view(desk, view.id).status == "on_hold"

    released = release_order(desk, view.id, "customer is ready", BOB)
    assert released.status == "open" and released.holds == []
    assert released.history[-2].note == "released manual: customer is ready"

    cancel_order(desk, view.id, "changed mind", BOB)
    with pytest.raises(Conflict, match="cannot be held"):
        hold_order(desk, view.id, "too late", BOB)


def test_release_is_refused_while_stock_is_short(desk):
    view = create_order(desk, b2b(("MUG", 20), account="ACME"), BOB)
    assert view.status == "on_hold"
    assert [(h.code, h.overridable) for h in view.holds] == [("short_stock", False)]
    with pytest.raises(Conflict) as caught:
        release_order(desk, view.id, "customer is important", BOB)
    assert "short_stock" in str(caught.value) and "not enough stock" in str(caught.value)
    assert order_view(desk, view.id).status == "on_hold"


def test_release_is_refused_for_an_unknown_sku_of_a_channel_order(desk):
    desk.ingest("web", [order("W1", ("GHOST", 1))])
    view = order_view(desk, "web:W1")
    assert [h.code for h in view.holds] == ["unknown_sku"]
    with pytest.raises(Conflict) as caught:
        release_order(desk, "web:W1", "ship it", BOB)
    assert "unknown_sku: unknown SKU 'GHOST'" in str(caught.value)


def test_release_needs_a_note_and_a_held_order(desk):
    cash_account(desk)
    held = create_order(desk, b2b(("MUG", 1)), BOB)
    with pytest.raises(InvalidInput) as caught:
        release_order(desk, held.id, "  ", BOB)
    assert caught.value.field == "note"
    opened = create_order(desk, b2b(("MUG", 1), account="ACME"), BOB)
    with pytest.raises(Conflict, match="is open, not on hold"):
        release_order(desk, opened.id, "why not", BOB)


def test_cancel_frees_stock_and_records_the_reason(desk):
    view = create_order(desk, b2b(("MUG", 4), account="ACME"), BOB)
    assert reserved(desk, "MUG") == 4
    with pytest.raises(InvalidInput) as caught:
        cancel_order(desk, view.id, "", BOB)
    assert caught.value.field == "reason"
    cancelled = cancel_order(desk, view.id, "customer changed their mind", TOKEN)
    assert cancelled.status == "cancelled" and reserved(desk, "MUG") == 0
    last = cancelled.history[-1]
    assert (last.status, last.note, last.actor, last.origin) == (
        "cancelled",
        "customer changed their mind",
        "api:erp-sync",
        "api",
    )
    with pytest.raises(Conflict, match="cancelled already"):
        cancel_order(desk, view.id, "again", TOKEN)


def test_cancel_is_refused_once_shipped(desk):
    view = create_order(desk, b2b(("MUG", 1), account="ACME"), BOB)
    desk.ship(str(view.id), "DHL")
    with pytest.raises(Conflict, match="has shipped"):
        cancel_order(desk, view.id, "too late", BOB)


def test_credit_limit_holds_with_the_figures_and_can_be_released(desk):
    cash_account(desk, "TERMS", payment_terms_days=30, credit_limit="20")
    first = create_order(desk, b2b(("MUG", 3), account="TERMS"), BOB)  # 15.00 on account
    assert first.status == "open" and first.on_account
    second = create_order(desk, b2b(("CUP", 2), account="TERMS"), BOB)  # 10.00 > 5.00 left
    assert second.status == "on_hold"
    assert [h.code for h in second.holds] == ["credit_limit"]
    assert second.holds[0].reason == (
        "order total 10.00 is over the remaining credit 5.00 of account TERMS "
        "(limit 20.00, 15.00 outstanding)"
    )
    assert release_order(desk, second.id, "limit raised by phone", BOB).status == "open"
    # a paid order does not count against the credit
    third = create_order(desk, b2b(("CUP", 1), account="TERMS", paid=True), BOB)
    assert third.status == "open"


def test_credit_freed_by_a_cancellation(desk):
    cash_account(desk, "TERMS", payment_terms_days=30, credit_limit="20")
    first = create_order(desk, b2b(("MUG", 3), account="TERMS"), BOB)
    cancel_order(desk, first.id, "duplicate", BOB)
    assert create_order(desk, b2b(("CUP", 4), account="TERMS"), BOB).status == "open"


def test_on_account_can_be_switched_off_per_channel(sqlite_url):
    channels = {"b2b": {"type": "manual", "checks": {"accept_on_account": False}}}
    with desk_hub(sqlite_url, channels) as hub:
        view = create_order(hub, b2b(("MUG", 1), account="ACME"), BOB)
    assert [h.code for h in view.holds] == ["unpaid"] and not view.on_account


def test_unknown_check_settings_are_refused(sqlite_url):
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match="auto_cancel"):
        desk_hub(sqlite_url, {"b2b": {"type": "manual", "checks": {"auto_cancel": 3}}})


def test_unpaid_orders_are_cancelled_after_the_configured_days(db_url):
    channels = {"b2b": {"type": "manual", "checks": {"auto_cancel_unpaid_days": 3}}}
    with desk_hub(db_url, channels) as hub:
        cash_account(hub)
        unpaid = create_order(hub, b2b(("MUG", 2)), BOB)
        on_account = create_order(hub, b2b(("MUG", 1), account="ACME"), BOB)
        paid = create_order(hub, b2b(("CUP", 1), paid=True), BOB)
        assert cancel_unpaid(hub) == []  # not yet three days
        done = cancel_unpaid(hub, at=now() + timedelta(days=4))
        assert done == [unpaid.ref]
        view = order_view(hub, unpaid.id)
        assert view.status == "cancelled" and view.history[-1].note == "unpaid after 3 days"
        assert view.history[-1].actor == "auto-cancel"
        assert order_view(hub, on_account.id).status == "open"
        assert order_view(hub, paid.id).status == "open"


def test_parse_holds_tells_hard_from_plugin_holds():
    assert [(h.code, h.overridable) for h in parse_holds("unpaid: payment is pending")] == [
        ("unpaid", True)
    ]
    both = parse_holds("unpaid: payment is pending; fraud_screen: a; b (score 1)")
    assert [(h.code, h.reason) for h in both] == [
        ("unpaid", "payment is pending"),
        ("fraud_screen", "a; b (score 1)"),
    ]
    hard = parse_holds(
        "unknown SKU 'X': add it to the catalogue; line 2 'y' has no SKU: give it one"
    )
    assert [(h.code, h.overridable) for h in hard] == [
        ("unknown_sku", False),
        ("no_sku", False),
    ]
    assert parse_holds("shipped on the channel, but 'A' is short by 1: count the stock")[
        0
    ].code == ("shipped_short")
    assert parse_holds("") == []


def test_orders_of_one_batch_count_against_the_credit_of_the_next(desk):
    from hub.core.desk import create_orders

    cash_account(desk, "TERMS", payment_terms_days=30, credit_limit="20")
    views = create_orders(desk, [b2b(("MUG", 2), account="TERMS") for _ in range(3)], BOB)
    assert [v.status for v in views if v is not None] == ["open", "open", "on_hold"]
    assert views[2] is not None and "remaining credit 0.00" in views[2].hold_reason
