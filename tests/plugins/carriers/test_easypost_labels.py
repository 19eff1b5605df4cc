"""EasyPost labels over real HTTP to the sandbox with the official client: a label is
bought once whatever times out, repeats or is clicked twice; only "void and re-buy"
makes a second one, after asking for the first one's refund."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import World
from pypdf import PdfReader

from hub.core import labels
from hub.core.models import carrier_label_t, shipment_t
from hub.errors import InvalidInput, NotFound
from hub.shipping import AlreadyPurchased, CarrierError


def label_rows(world: World) -> list[dict]:
    return world.hub.read(
        lambda c: [
            dict(r)
            for r in c.execute(sa.select(carrier_label_t).order_by(carrier_label_t.c.id)).mappings()
        ]
    )


def test_a_label_is_bought_with_the_cheapest_rate_and_the_order_ships(world: World):
    ref = world.sell("B-1")

    outcome = labels.buy(world.hub, world.carriers, ref, actor="ops")

    label = outcome.label
    assert outcome.bought_now and label["state"] == "bought"
    assert label["service"] == "USPS GroundAdvantage"  # the cheapest; no promised date
    shipment = world.easypost.shipments[label["carrier_shipment_id"]]
    offered = [Decimal(r["rate"]) for r in shipment["rates"]]
    assert label["postage"] == Decimal(shipment["selected_rate"]["rate"]) == min(offered)
    assert shipment["parcel"]["weight"] == 17.6  # no product weights: 500 g, in ounces
    assert shipment["reference"] == label["reference"] == f"hub-{world.order(ref)['id']}-1"
    assert label["tracking_number"] == shipment["tracking_code"]
    assert label["tracking_url"].startswith("https://track.easypost.com/")
    text = PdfReader(label["label_path"]).pages[0].extract_text()
    assert shipment["tracking_code"] in text and "Grace Hopper" in text
    assert world.order(ref)["status"] == "fulfilled"
    rows = world.hub.read(lambda c: c.execute(sa.select(shipment_t)).mappings().all())
    assert [(r["carrier"], r["tracking_number"], r["id"]) for r in rows] == [
        ("USPS", label["tracking_number"], label["shipment_id"])
    ]


def test_a_lost_answer_a_retry_and_a_double_click_make_one_label_and_one_charge(world: World):
    ref = world.sell("B-2")
    world.easypost.faults.lost_buy_answers = 1  # the buy is carried out; its answer never comes

    clicks = [
        threading.Thread(target=labels.buy, args=(world.hub, world.carriers, ref)) for _ in range(2)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(30)
    again = labels.buy(world.hub, world.carriers, ref)  # a person clicks once more, later

    [row] = label_rows(world)
    assert row["state"] == "bought" and not again.bought_now
    assert again.label["tracking_number"] == row["tracking_number"] != ""
    bought = {k: v for k, v in world.easypost.charges.items() if v}
    assert bought == {row["carrier_shipment_id"]: 1}  # one postage charge, on one shipment
    rows = world.hub.read(lambda c: c.execute(sa.select(shipment_t)).mappings().all())
    assert len(rows) == 1 and rows[0]["tracking_number"] == row["tracking_number"]


def test_a_buy_answered_already_purchased_is_read_back_not_shown_as_a_failure(world: World):
    ref = world.sell("B-3")
    world.easypost.faults.already_purchased = 1  # bought, but answered 422 SHIPMENT.POSTAGE.EXISTS

    outcome = labels.buy(world.hub, world.carriers, ref)

    assert outcome.label["state"] == "bought" and outcome.label["last_error"] == ""
    assert world.easypost.charges[outcome.label["carrier_shipment_id"]] == 1


def test_the_client_reports_already_purchased_as_its_own_error(world: World):
    carrier = world.carriers.get("easypost")
    ref = world.sell("B-4")
    labels.buy(world.hub, world.carriers, ref)
    [row] = label_rows(world)

    with pytest.raises(AlreadyPurchased, match="SHIPMENT.POSTAGE.EXISTS"):
        carrier.buy(
            row["carrier_shipment_id"], labels.Rate("x", Decimal(1), "USD", rate_id=row["rate_id"])
        )


def test_void_and_rebuy_asks_the_refund_and_makes_the_second_label(world: World):
    ref = world.sell("B-5")
    first = labels.buy(world.hub, world.carriers, ref).label

    voided, outcome = labels.void(world.hub, world.carriers, ref, rebuy=True, actor="ops")

    assert voided["state"] == "refund_asked" and voided["refund_status"] == "submitted"
    assert world.easypost.shipments[first["carrier_shipment_id"]]["refund_status"] == "submitted"
    assert outcome is not None and outcome.bought_now
    second = outcome.label
    assert second["generation"] == 2 and second["tracking_number"] != first["tracking_number"]
    assert sorted(world.easypost.charges.values()) == [1, 1]
    shipment = world.hub.read(lambda c: c.execute(sa.select(shipment_t)).mappings().one())
    assert shipment["tracking_number"] == second["tracking_number"]  # told to the channel
    assert labels.buy(world.hub, world.carriers, ref).label["id"] == second["id"]


def test_a_refused_shipment_fails_with_the_reason_and_a_second_buy_resumes_it(world: World):
    ref = world.sell("B-6")
    world.easypost.faults.server_errors = 10  # down longer than the client's retries

    with pytest.raises(CarrierError, match="503"):
        labels.buy(world.hub, world.carriers, ref)
    [row] = label_rows(world)
    assert world.order(ref)["status"] == "open" and row["state"] == "failed"
    assert "503" in row["last_error"] and world.easypost.charges == {}

    world.easypost.faults.server_errors = 0
    outcome = labels.buy(world.hub, world.carriers, ref)
    assert outcome.label["state"] == "bought" and len(label_rows(world)) == 1


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ("unknown", NotFound, "no order"),
        ("cancelled", InvalidInput, "is cancelled; labels are bought for open orders only"),
        ("no_address", InvalidInput, "has no delivery address"),
        ("carrier", NotFound, "no carrier 'dhl'; configured: easypost"),
    ],
)
def test_bad_requests_are_refused_in_one_line_and_nothing_is_bought(
    world: World, change, error, message
):
    ref = world.sell("B-7")
    carrier = None
    if change == "unknown":
        ref = "desk:NOPE"
    elif change == "cancelled":
        world.hub.cancel("desk", "B-7", "customer changed their mind")
    elif change == "no_address":
        ref = world.sell("B-8", address=labels.Address())
    else:
        carrier = "dhl"

    with pytest.raises(error, match=message) as refused:
        labels.buy(world.hub, world.carriers, ref, carrier=carrier)

    assert "\n" not in str(refused.value)
    assert world.easypost.buy_calls == 0 and label_rows(world) == []
