"""ORDER_CHANGE notifications through a real SQS endpoint (moto's server on 127.0.0.1):
published by the sandbox to the official schema, long-polled with boto3, stored once in
the hub's inbox, deleted only once stored, unreadable ones dead-lettered."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import sqlalchemy as sa

from hub.core.models import dead_letter_t, inbox_t

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "amazon"


def _inbox(world) -> list[tuple[str, str]]:
    rows = world.hub.read(
        lambda c: c.execute(sa.select(inbox_t.c.delivery_id, inbox_t.c.status)).all()
    )
    return [(str(d), str(s)) for d, s in rows]


def test_published_notifications_follow_the_official_schema(world_for, sqs):
    world = world_for(sqs=sqs)
    world.amazon.add_listing("MUG", quantity=5)
    world.amazon.sell("MUG", 1)
    world.amazon.publisher.deliver()

    message = sqs.client.receive_message(QueueUrl=sqs.queue_url, WaitTimeSeconds=1)["Messages"][0]

    official = json.loads((REFERENCE / "OrderChangeNotification.json").read_text())
    jsonschema.validate(json.loads(message["Body"]), official)


def test_duplicates_and_out_of_order_deliveries_land_once(world_for, sqs):
    world = world_for(sqs=sqs)
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    world.import_listings()
    order = world.amazon.sell("MUG", 3)
    world.amazon.store.set_status(order, "SHIPPED")
    world.amazon.faults.reorder_webhooks = 1  # the shipment arrives before the sale
    world.amazon.faults.duplicate_webhooks = 2  # and each notification twice
    assert world.amazon.publisher.deliver() == 4

    received = 0
    while (got := world.notifications()) or received < 4:
        received += got
        if not got:
            break

    assert received == 4
    assert world.orders() == {order: "fulfilled"}
    assert world.levels("MUG") == (7, 0)  # sold once, nothing left reserved
    assert sorted(s for _, s in _inbox(world)) == ["done", "done"]  # two notifications
    assert sqs.depth() == 0


def test_a_replayed_notification_fetches_the_order_as_it_stands(world_for, sqs):
    world = world_for(sqs=sqs)
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    world.import_listings()
    order = world.amazon.sell("MUG", 2)
    world.amazon.publisher.deliver()
    world.notifications()
    world.amazon.store.set_status(order, "CANCELLED")
    world.amazon.faults.replay_webhooks = 1  # the old "new order" notification comes again
    world.amazon.faults.rng.seed(1)
    assert world.amazon.publisher.deliver() == 2

    world.notifications()

    assert world.orders() == {order: "cancelled"}
    assert world.levels("MUG") == (10, 0)


def test_a_message_is_deleted_only_once_the_inbox_stored_it(world_for, sqs):
    world = world_for(sqs=sqs)
    world.amazon.add_listing("MUG", quantity=10)
    order = world.amazon.sell("MUG", 1)
    world.amazon.publisher.deliver()

    def refuse(headers, body):
        raise ConnectionError("database unreachable")

    assert world.channel.receive_notifications(refuse, wait_seconds=1) == 1
    assert sqs.depth() == 1  # still there: it comes back after the visibility timeout
    assert _inbox(world) == []

    received = 0
    for _ in range(5):
        received += world.notifications()
        if received:
            break
    assert received == 1
    assert order in world.orders()
    assert sqs.depth() == 0


def test_unreadable_messages_become_dead_letters(world_for, sqs):
    world = world_for(sqs=sqs)
    sqs.send("this is not a notification")
    sqs.send(json.dumps({"NotificationType": "ANY_OFFER_CHANGED", "Payload": {}}))

    assert world.notifications() == 2

    letters = world.hub.read(
        lambda c: c.execute(sa.select(dead_letter_t.c.kind, dead_letter_t.c.error)).all()
    )
    assert sorted(kind for kind, _ in letters) == ["inbox", "inbox"]
    errors = " | ".join(error for _, error in letters)
    assert "not valid JSON" in errors and "'ANY_OFFER_CHANGED' is not ORDER_CHANGE" in errors
    assert sqs.depth() == 0  # stored as dead letters, not left to loop in the queue


def test_a_notification_for_another_seller_is_refused(world_for, sqs):
    world = world_for(sqs=sqs)
    world.amazon.add_listing("MUG", quantity=10)
    world.amazon.sell("MUG", 1)
    world.amazon.publisher.deliver()
    message = sqs.client.receive_message(QueueUrl=sqs.queue_url, WaitTimeSeconds=1)["Messages"][0]
    sqs.client.delete_message(QueueUrl=sqs.queue_url, ReceiptHandle=message["ReceiptHandle"])
    body = json.loads(message["Body"])
    body["Payload"]["OrderChangeNotification"]["SellerId"] = "A9OTHERSELLER"
    body["NotificationMetadata"]["NotificationId"] = "another-seller-1"
    sqs.send(json.dumps(body))

    world.notifications()

    assert world.orders() == {}
    letters = world.hub.read(lambda c: c.execute(sa.select(dead_letter_t.c.error)).scalars().all())
    assert any("is for seller A9OTHERSELLER" in e for e in letters)


def test_without_a_queue_orders_come_by_polling_alone(world_for):
    world = world_for()  # the demo's case: no SQS anywhere
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    order = world.amazon.sell("MUG", 1)

    assert world.channel.sqs_poller() is None
    assert world.channel.receive_notifications(lambda h, b: True) is None
    world.sync.pull_orders("amazon")
    assert world.orders() == {order: "open"}


def test_a_throttled_get_order_is_waited_out_not_spent(world_for, sqs):
    world = world_for(sqs=sqs)
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    order = world.amazon.sell("MUG", 1)
    world.amazon.publisher.deliver()
    world.amazon.faults.rate_limited = 2  # getOrder answers QuotaExceeded twice

    assert world.notifications() == 1

    assert world.orders() == {order: "open"}
    assert world.amazon.operations("getOrder") == 1  # the throttled ones never got through
    assert [s for _, s in _inbox(world)] == ["done"]  # no try of the delivery was spent
    assert world.sync.caller("amazon").retries == 2
