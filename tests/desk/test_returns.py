"""Returns: shipped units back on hand at a location, or in quarantine when damaged, as
journal movements naming the order; never more than shipped and not yet returned."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from desk_fixtures import desk_hub

from hub.core import ledger
from hub.core.desk import Actor, LineInput, NewOrder, create_order, order_view, return_lines
from hub.core.models import location_t, movement_t
from hub.errors import Conflict, InvalidInput, NotFound

CAROL = Actor("carol", "web")


def shipped(hub, *lines: tuple[str, int]):  # type: ignore[no-untyped-def]
    view = create_order(
        hub,
        NewOrder("ACME", tuple(LineInput(s, q, Decimal("3")) for s, q in lines), paid=True),
        CAROL,
    )
    hub.ship(str(view.id), "DHL", "JD1")
    return view


def stock(hub, sku: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {lv.location: lv.on_hand for lv in hub.read(lambda c: ledger.levels(c, sku))}


def test_return_to_a_location_restocks_it_and_records_the_movement(desk):
    view = shipped(desk, ("MUG", 3), ("CUP", 1))
    assert stock(desk, "MUG") == {"main": 7}
    back = return_lines(desk, view.id, [("MUG", 2)], "store", False, CAROL)
    assert stock(desk, "MUG") == {"main": 7, "store": 2}
    assert [(ln.sku, ln.returned_quantity) for ln in back.lines] == [("MUG", 2), ("CUP", 0)]
    moves = desk.read(
        lambda c: c.execute(
            sa.select(movement_t.c.kind, movement_t.c.on_hand_delta, movement_t.c.reference).where(
                movement_t.c.order_id == view.id, movement_t.c.kind == "return"
            )
        ).all()
    )
    assert [tuple(m) for m in moves] == [("return", 2, view.external_id)]
    last = back.history[-1]
    assert (last.note, last.actor, last.origin) == ("returned 2 × MUG to store", "web:carol", "web")
    assert desk.read(ledger.verify) == []


def test_damaged_units_go_to_quarantine(desk):
    view = shipped(desk, ("MUG", 2))
    back = return_lines(desk, view.id, [("MUG", 1)], "", True, CAROL)
    assert stock(desk, "MUG") == {"main": 8, "quarantine": 1}
    kind = desk.read(
        lambda c: c.scalar(sa.select(location_t.c.kind).where(location_t.c.code == "quarantine"))
    )
    assert kind == "quarantine"
    assert back.history[-1].note == "returned 1 × MUG to quarantine (damaged)"
    # quarantine stock is not offered to a channel selling from its own locations
    assert desk.available("b2b", ["MUG"]) == {"MUG": 8}


def test_a_configured_quarantine_location_is_used(sqlite_url):
    with desk_hub(sqlite_url) as hub:
        hub.write(lambda c: ledger.ensure_location(c, "q-hold", kind="quarantine"))
        view = shipped(hub, ("MUG", 2))
        return_lines(hub, view.id, [("MUG", 2)], "", True, CAROL)
        assert stock(hub, "MUG") == {"main": 8, "q-hold": 2}


def test_never_more_than_shipped_minus_returned(desk):
    view = shipped(desk, ("MUG", 3))
    return_lines(desk, view.id, [("MUG", 2)], "main", False, CAROL)
    with pytest.raises(InvalidInput) as caught:
        return_lines(desk, view.id, [("MUG", 2)], "main", False, CAROL)
    assert caught.value.field == "lines[0]" and "(1)" in str(caught.value)
    with pytest.raises(InvalidInput, match="'CUP' is not a line of order"):
        return_lines(desk, view.id, [("CUP", 1)], "main", False, CAROL)
    with pytest.raises(InvalidInput) as zero:
        return_lines(desk, view.id, [("MUG", 0)], "main", False, CAROL)
    assert zero.value.field == "lines[0].quantity"
    with pytest.raises(NotFound):
        return_lines(desk, view.id, [("MUG", 1)], "nowhere", False, CAROL)
    assert order_view(desk, view.id).lines[0].returned_quantity == 2
    assert stock(desk, "MUG") == {"main": 9}


def test_an_order_that_has_not_shipped_cannot_be_returned(desk):
    view = create_order(desk, NewOrder("ACME", (LineInput("MUG", 1),), paid=True), CAROL)
    with pytest.raises(Conflict, match="has not shipped"):
        return_lines(desk, view.id, [("MUG", 1)], "main", False, CAROL)
