"""B2B orders entered at the desk: validation, creation through intake, views, edits."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from desk_fixtures import desk_hub

from hub.core import ledger
from hub.core.desk import (
    Actor,
    LineInput,
    NewOrder,
    build_orders,
    create_order,
    create_orders,
    edit_order,
    list_orders,
    order_view,
)
from hub.core.models import order_t
from hub.errors import Conflict, InvalidInput
from hub.orders import PaymentStatus

ALICE = Actor("alice", "cli")


def new(*lines: tuple[str, int], **fields: object) -> NewOrder:
    return NewOrder(
        account=str(fields.pop("account", "ACME")),
        lines=tuple(LineInput(sku, qty, Decimal("2.50")) for sku, qty in lines),
        **fields,  # type: ignore[arg-type]
    )


def levels(hub, sku):  # type: ignore[no-untyped-def]
    return {
        lv.location: (lv.on_hand, lv.reserved) for lv in hub.read(lambda c: ledger.levels(c, sku))
    }


def test_create_order_goes_through_intake_reserves_and_records_who(desk):
    view = create_order(
        desk,
        new(
            ("MUG", 3),
            ("CUP", 1),
            po_number="PO-7",
            requested_date=date(2026, 12, 3),
            window_start=time(9),
            window_end=time(12),
            notes="ring twice",
            paid=True,
        ),
        ALICE,
    )
    assert view.channel == "b2b" and view.external_id.startswith("B2B-")
    assert view.status == "open" and view.holds == []
    assert view.account_number == "ACME" and view.customer_name == "Acme Ltd"
    assert view.po_number == "PO-7" and view.requested_date == date(2026, 12, 3)
    assert view.window_start == datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert view.total == Decimal("10.00") and view.payment_status == "paid"
    assert [(ln.sku, ln.quantity) for ln in view.lines] == [("MUG", 3), ("CUP", 1)]
    assert {(a.sku, a.location, a.quantity) for a in view.allocation} == {
        ("MUG", "main", 3),
        ("CUP", "main", 1),
    }
    assert view.ship_line1 == "1 Dock Road"  # the account's default address
    assert [(e.actor, e.origin) for e in view.history] == [("cli:alice", "cli")]
    assert levels(desk, "MUG") == {"main": (10, 3)}
    assert order_view(desk, view.id) == order_view(desk, view.ref)


def test_window_is_read_in_the_merchants_zone(sqlite_url):
    with desk_hub(sqlite_url, timezone="Europe/Berlin") as hub:
        view = create_order(
            hub,
            new(
                ("MUG", 1),
                requested_date=date(2026, 7, 1),
                window_start=time(9),
                window_end=time(12),
            ),
            ALICE,
        )
    assert view.requested_date == date(2026, 7, 1)
    assert view.window_start == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert view.window_end == datetime(2026, 7, 1, 10, tzinfo=UTC)


def test_unpaid_order_of_an_account_with_terms_is_on_account(desk):
    view = create_order(desk, new(("MUG", 1)), ALICE)
    assert view.status == "open" and view.payment_status == PaymentStatus.PENDING.value
    assert view.on_account


def test_recreating_a_reference_changes_nothing(desk):
    first = create_orders(desk, [new(("MUG", 2), reference="PO-1")], ALICE)
    again = create_orders(desk, [new(("MUG", 5), reference="PO-1")], ALICE)
    assert first[0] is not None and again == [None]
    assert levels(desk, "MUG") == {"main": (10, 2)}
    with pytest.raises(Conflict) as caught:
        create_order(desk, new(("MUG", 5), reference="PO-1"), ALICE)
    assert caught.value.field == "reference"


def test_generated_references_are_unique(desk):
    views = create_orders(desk, [new(("MUG", 1)), new(("CUP", 1)), new(("CUP", 1))], ALICE)
    refs = [v.external_id for v in views if v is not None]
    assert len(set(refs)) == 3


@pytest.mark.parametrize(
    ("order", "field", "words"),
    [
        (new(("MUG", 1), account="NOPE"), "account", "no customer account 'NOPE'"),
        (new(("MUG", 1), ("GHOST", 1)), "lines[1].sku", "unknown SKU 'GHOST'"),
        (new(("MUG", 0)), "lines[0].quantity", "must be from 1"),
        (new(("MUG", -2)), "lines[0].quantity", "must be from 1"),
        (new(("MUG", ledger.MAX_QUANTITY + 1)), "lines[0].quantity", "must be from 1"),
        (
            new(
                ("MUG", 1),
                requested_date=date(2026, 12, 3),
                window_start=time(12),
                window_end=time(9),
            ),
            "window_end",
            "not after it starts",
        ),
        (new(("MUG", 1), window_start=time(9)), "window_end", "both ends"),
        (new(("MUG", 1), address_id=999), "address_id", "not one of account 'ACME'"),
        (new(("MUG", 1), channel="web"), "channel", "not a manual channel"),
        (new(), "lines", "at least one line"),
    ],
)
def test_bad_input_names_the_field(desk, order, field, words):
    with pytest.raises(InvalidInput) as caught:
        create_order(desk, order, ALICE)
    assert caught.value.field == field and words in str(caught.value)
    assert desk.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_t))) == 0


def test_build_orders_names_the_order_of_a_batch(desk):
    with pytest.raises(InvalidInput) as caught:
        desk.read(lambda c: build_orders(c, desk.settings, [new(("MUG", 1)), new(("GHOST", 1))]))
    assert caught.value.field == "orders[1].lines[0].sku"


def test_build_orders_is_fast_for_many_rows(sqlite_url):
    with desk_hub(sqlite_url) as hub:
        news = [new(("MUG", 1), ("CUP", 2), reference=f"R{i}") for i in range(50_000)]
        started = clock.perf_counter()
        orders = hub.read(lambda c: build_orders(c, hub.settings, news))
        took = clock.perf_counter() - started
    assert len(orders) == 50_000 and orders[-1].external_id == "R49999"
    assert orders[0].customer.external_id == "ACME" and orders[0].total == Decimal("7.50")
    assert took < 10, f"build_orders took {took:.1f} s for 50,000 orders"


def test_edit_lines_moves_the_reservation(desk):
    view = create_order(desk, new(("MUG", 3), ("CUP", 2), paid=True), ALICE)
    edited = edit_order(
        desk, view.id, Actor("bob", "web"), lines=[LineInput("MUG", 5)], po_number="PO-9"
    )
    assert [(ln.sku, ln.quantity) for ln in edited.lines] == [("MUG", 5)]
    assert edited.po_number == "PO-9" and edited.total == Decimal("0")
    assert levels(desk, "MUG") == {"main": (10, 5)}
    assert levels(desk, "CUP") == {"main": (10, 0)}
    last = edited.history[-1]
    assert last.note == "edited: lines 5 × MUG; PO PO-9"
    assert (last.actor, last.origin) == ("web:bob", "web")
    # more than there is: held for stock, nothing more reserved
    short = edit_order(desk, view.id, ALICE, lines=[LineInput("MUG", 50)])
    assert short.status == "on_hold" and short.holds[0].code == "short_stock"
    back = edit_order(desk, view.id, ALICE, lines=[LineInput("MUG", 1)])
    assert back.status == "open" and levels(desk, "MUG") == {"main": (10, 1)}


def test_edit_window_and_date_in_the_merchants_zone(desk):
    view = create_order(
        desk,
        new(
            ("MUG", 1), requested_date=date(2026, 12, 3), window_start=time(9), window_end=time(12)
        ),
        ALICE,
    )
    edited = edit_order(desk, view.id, ALICE, requested_date=date(2026, 12, 4))
    assert edited.requested_date == date(2026, 12, 4)
    assert edited.window_start == datetime(2026, 12, 4, 9, tzinfo=UTC)
    later = edit_order(desk, view.id, ALICE, window_end=time(15))
    assert later.window_end == datetime(2026, 12, 4, 15, tzinfo=UTC)
    with pytest.raises(InvalidInput) as caught:
        edit_order(desk, view.id, ALICE, window_start=time(16))
    assert caught.value.field == "window_end"


def test_edits_are_refused_after_shipping_and_for_channel_orders(desk):
    from builders import order

    view = create_order(desk, new(("MUG", 1), paid=True), ALICE)
    desk.ship(str(view.id), "DHL")
    with pytest.raises(Conflict, match="has shipped"):
        edit_order(desk, view.id, ALICE, lines=[LineInput("MUG", 2)])
    desk.ingest("web", [order("W1", ("MUG", 1))])
    with pytest.raises(Conflict, match="only orders of a manual channel"):
        edit_order(desk, "web:W1", ALICE, notes="x")
    fresh = create_order(desk, new(("MUG", 1), paid=True), ALICE)
    with pytest.raises(InvalidInput) as caught:
        edit_order(desk, fresh.id, ALICE, lines=[LineInput("GHOST", 1)])
    assert caught.value.field == "lines[0].sku"


def test_list_orders_filters_and_pages(desk):
    from hub.core import customers

    desk.write(lambda c: customers.create_account(c, "CASH", "Cash Co"))
    for i in range(5):
        create_order(desk, new(("MUG", 1), po_number=f"PO-{i}", paid=True), ALICE)
    held = create_order(desk, new(("MUG", 1), account="CASH"), ALICE)
    first = list_orders(desk, limit=4)
    assert len(first.orders) == 4 and first.orders[0].id == held.id
    second = list_orders(desk, limit=4, cursor=first.next_cursor)
    assert len(second.orders) == 2 and second.next_cursor is None
    assert [v.id for v in list_orders(desk, hold_code="unpaid").orders] == [held.id]
    assert list_orders(desk, hold_code="short_stock").orders == []
    assert [v.po_number for v in list_orders(desk, search="po-3").orders] == ["PO-3"]
    assert [v.id for v in list_orders(desk, account="CASH").orders] == [held.id]
    assert len(list_orders(desk, status="open", channel="b2b").orders) == 5
    with pytest.raises(InvalidInput) as caught:
        list_orders(desk, cursor="abc")
    assert caught.value.field == "cursor"


def test_a_hold_code_page_ends_where_the_orders_held_for_it_do(desk):
    from hub.core import customers

    desk.write(lambda c: customers.create_account(c, "CASH", "Cash Co"))
    short = create_order(desk, new(("MUG", 50), paid=True), ALICE)  # the oldest held
    assert [h.code for h in short.holds] == ["short_stock"]
    unpaid = [create_order(desk, new(("CUP", 1), account="CASH"), ALICE).id for _ in range(3)]
    first = list_orders(desk, hold_code="unpaid", limit=2)
    assert [v.id for v in first.orders] == unpaid[:0:-1] and first.next_cursor
    second = list_orders(desk, hold_code="unpaid", limit=2, cursor=first.next_cursor)
    assert [v.id for v in second.orders] == unpaid[:1] and second.next_cursor is None
    whole = list_orders(desk, hold_code="unpaid", limit=3)  # no page after the last
    assert [v.id for v in whole.orders] == unpaid[::-1] and whole.next_cursor is None


def test_check_orders_reports_every_problem_of_every_order(desk):
    from hub.core.desk import Problem, check_orders

    news = [
        new(("MUG", 1)),
        new(("GHOST", 1), ("MUG", 0), ("CUP", 2), ("PHANTOM", 1), account="NOPE"),
        new(("MUG", 1), address_id=999, window_start=time(9)),
        new(("CUP", 1)),
    ]
    problems = desk.read(lambda c: check_orders(c, desk.settings, news))
    assert [(p.index, p.field) for p in problems] == [
        (1, "lines[1].quantity"),
        (1, "account"),
        (1, "lines[0].sku"),
        (1, "lines[3].sku"),
        (2, "window_end"),
        (2, "address_id"),
    ]
    assert isinstance(problems[0], Problem)
    assert problems[2].message == "lines[0].sku: unknown SKU 'GHOST': add it to the catalogue"
    good = desk.read(lambda c: check_orders(c, desk.settings, [news[0], news[3]]))
    assert good == []


def test_concurrent_desks_get_distinct_generated_references(desk):
    from concurrent.futures import ThreadPoolExecutor

    def enter(n: int) -> list[str]:
        return [create_order(desk, new(("MUG", 1)), ALICE).external_id for _ in range(3)]

    with ThreadPoolExecutor(3) as pool:
        refs = [ref for batch in pool.map(enter, range(3)) for ref in batch]
    assert len(set(refs)) == 9
    assert levels(desk, "MUG") == {"main": (10, 9)}
