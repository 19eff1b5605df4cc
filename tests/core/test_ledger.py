"""The stock ledger: movements, balances, availability and the journal check."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.core import ledger
from hub.core.models import balance_t
from hub.errors import InsufficientStock, InvalidInput, NotFound


def test_receipt_creates_the_sku_and_adds_on_hand(hub):
    changes = hub.write(lambda c: ledger.receive(c, "MUG", "main", 12, actor="ann"))
    assert [(ch.kind, ch.quantity, ch.on_hand, ch.reserved) for ch in changes] == [
        ("receipt", 12, 12, 0)
    ]
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].free == 12


def test_adjustment_needs_a_reason_and_cannot_go_below_zero(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 3))
    with pytest.raises(InvalidInput, match="reason"):
        hub.write(lambda c: ledger.adjust(c, "MUG", "main", -1, reason=" "))
    with pytest.raises(InsufficientStock, match="'MUG' at 'main': on hand 3"):
        hub.write(lambda c: ledger.adjust(c, "MUG", "main", -4, reason="broken"))
    hub.write(lambda c: ledger.adjust(c, "MUG", "main", -3, reason="broken"))
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 0


def test_reservation_takes_only_free_units(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 2))
    hub.write(lambda c: ledger.reserve(c, "MUG", "main", 2, channel="web"))
    with pytest.raises(InsufficientStock):
        hub.write(lambda c: ledger.reserve(c, "MUG", "main", 1, channel="web"))
    with pytest.raises(InsufficientStock):  # reserved units cannot be adjusted away
        hub.write(lambda c: ledger.adjust(c, "MUG", "main", -1, reason="lost"))
    hub.write(lambda c: ledger.release(c, "MUG", "main", 1))
    hub.write(lambda c: ledger.sell(c, "MUG", "main", 1, from_reserved=True))
    level = hub.read(lambda c: ledger.levels(c, "MUG"))[0]
    assert (level.on_hand, level.reserved) == (1, 0)


def test_transfer_moves_units_between_locations_and_refuses_nonsense(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    hub.write(lambda c: ledger.transfer(c, "MUG", "main", "store", 2))
    assert {lvl.location: lvl.on_hand for lvl in hub.read(lambda c: ledger.levels(c))} == {
        "main": 3,
        "store": 2,
    }
    with pytest.raises(InvalidInput, match="source and target"):
        hub.write(lambda c: ledger.transfer(c, "MUG", "main", "main", 1))
    with pytest.raises(NotFound, match="unknown location 'attic'"):
        hub.write(lambda c: ledger.transfer(c, "MUG", "main", "attic", 1))
    with pytest.raises(InvalidInput, match="above 0"):
        hub.write(lambda c: ledger.transfer(c, "MUG", "main", "store", 0))


def test_a_failed_movement_leaves_nothing_behind(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))

    def two_moves(conn):
        ledger.receive(conn, "MUG", "store", 5)
        ledger.reserve(conn, "MUG", "main", 2)  # fails: rolls back the receipt too

    with pytest.raises(InsufficientStock):
        hub.write(two_moves)
    assert [(lvl.location, lvl.on_hand) for lvl in hub.read(lambda c: ledger.levels(c))] == [
        ("main", 1)
    ]
    assert hub.read(ledger.verify) == []


def test_return_puts_units_back(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
    hub.write(lambda c: ledger.sell(c, "MUG", "main", 1))
    hub.write(lambda c: ledger.restock_return(c, "MUG", "main", 1, reason="unwanted"))
    assert hub.read(lambda c: ledger.levels(c, "MUG"))[0].on_hand == 1


def test_available_to_promise_applies_locations_buffer_and_cap(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
    hub.write(lambda c: ledger.receive(c, "MUG", "store", 4))
    hub.write(lambda c: ledger.reserve(c, "MUG", "main", 3))
    atp = lambda **kw: hub.read(lambda c: ledger.available_to_promise(c, ["MUG"], **kw))["MUG"]  # noqa: E731
    assert atp() == 11
    assert atp(locations=["store"]) == 4
    assert atp(safety_buffer=2) == 9
    assert atp(safety_buffer=50) == 0
    assert atp(cap=5) == 5


def test_bundle_availability_comes_from_its_components(hub):
    hub.write(lambda c: ledger.receive(c, "CUP", "main", 7))
    hub.write(lambda c: ledger.receive(c, "SAUCER", "main", 2))
    hub.write(lambda c: ledger.ensure_product(c, "SET", name="Cup and saucer set"))
    hub.write(lambda c: ledger.set_bundle(c, "SET", {"CUP": 2, "SAUCER": 1}))
    assert hub.read(lambda c: ledger.available_to_promise(c, ["SET"]))["SET"] == 2
    hub.write(lambda c: ledger.reserve(c, "SAUCER", "main", 1))
    assert hub.read(lambda c: ledger.available_to_promise(c, ["SET"]))["SET"] == 1
    with pytest.raises(InvalidInput, match="cannot contain itself"):
        hub.write(lambda c: ledger.set_bundle(c, "SET", {"SET": 1}))


def test_verify_reports_a_balance_that_drifted_from_the_journal(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 4))
    assert hub.read(ledger.verify) == []
    with hub.engine.begin() as conn:  # tamper behind the ledger's back
        conn.execute(balance_t.update().values(on_hand=balance_t.c.on_hand + 1))
    problems = hub.read(ledger.verify)
    assert [(p.sku, p.location, p.on_hand, p.journal_on_hand) for p in problems] == [
        ("MUG", "main", 5, 4)
    ]
    assert "journal says on hand 4" in str(problems[0])


def test_the_database_itself_refuses_overbooking(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 1))
    with pytest.raises(sa.exc.IntegrityError), hub.engine.begin() as conn:
        conn.execute(balance_t.update().values(reserved=2))


def test_empty_and_overlong_skus_are_refused(hub):
    with pytest.raises(InvalidInput, match="SKU is empty"):
        hub.write(lambda c: ledger.receive(c, " \u00a0\u200b", "main", 1))
    with pytest.raises(InvalidInput, match="longer than 128"):
        hub.write(lambda c: ledger.receive(c, "X" * 200, "main", 1))
