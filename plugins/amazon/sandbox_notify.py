"""ORDER_CHANGE notifications of the sandbox: built to the official schema, published to an
SQS queue (a real one: moto's server in tests) and/or posted to HTTP subscribers.

Each notification is validated against ``schemas/OrderChangeNotification.json`` before it
leaves. The fault knobs ``duplicate_webhooks`` (the next notification is published twice:
same ``NotificationId``, two SQS messages), ``reorder_webhooks`` (the next pending batch
goes newest first) and ``replay_webhooks`` (an earlier notification is published again)
apply to both ways out.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import jsonschema_rs
import requests

from hub.sandbox import Faults
from hub.signing import hmac_base64

from .notifications import DELIVERY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER
from .sandbox_store import AmazonStore, schema, stamp

#: v0 order statuses, as the notification's Summary spells them.
V0_STATUS = {
    "PENDING": "Pending",
    "PENDING_AVAILABILITY": "PendingAvailability",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}


def order_change(store: AmazonStore, order_id: str, change: str) -> dict[str, Any]:
    """The ORDER_CHANGE notification of ``order_id`` as it stands (OrderChangeNotification.json)."""
    with store.lock:
        order = store.order(order_id)
        moment = stamp(store.now())
        items = order["orderItems"]
        shipped = sum(i["fulfillment"]["quantityFulfilled"] for i in items)
        ordered = sum(i["quantityOrdered"] for i in items)
        status = V0_STATUS[order["fulfillment"]["fulfillmentStatus"]]
        return {
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0",
            "EventTime": moment,
            "Payload": {
                "OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": store.seller_id,
                    "AmazonOrderId": order_id,
                    "OrderChangeType": change,
                    "OrderChangeTrigger": {
                        "TimeOfOrderChange": order["lastUpdatedTime"],
                        "ChangeReason": change,
                    },
                    "Summary": {
                        "MarketplaceId": store.marketplace_id,
                        "OrderStatus": status,
                        "PurchaseDate": order["createdTime"],
                        "DestinationPostalCode": order["recipient"]["deliveryAddress"][
                            "postalCode"
                        ],
                        "FulfillmentType": (
                            "AFN" if order["fulfillment"]["fulfilledBy"] == "AMAZON" else "MFN"
                        ),
                        "OrderType": "StandardOrder",
                        "NumberOfItemsShipped": shipped,
                        "NumberOfItemsUnshipped": ordered - shipped,
                        "OrderItems": [
                            {
                                "OrderItemId": i["orderItemId"],
                                "SellerSKU": i["product"]["sellerSku"],
                                "SupplySourceId": None,
                                "OrderItemStatus": (
                                    "Shipped"
                                    if i["fulfillment"]["quantityUnfulfilled"] == 0
                                    else "Unshipped"
                                ),
                                "Quantity": i["quantityOrdered"],
                                "QuantityShipped": i["fulfillment"]["quantityFulfilled"],
                            }
                            for i in items
                        ],
                    },
                }
            },
            "NotificationMetadata": {
                "ApplicationId": "amzn1.sp.solution.sandbox-hub",
                "SubscriptionId": "sandbox-subscription",
                "PublishTime": moment,
                "NotificationId": str(uuid.uuid4()),
            },
        }


class Publisher:
    """Queues the store's notifications and sends them to SQS and HTTP subscribers."""

    def __init__(self, store: AmazonStore, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self.secret = "sandbox-relay-secret"
        self.queue_url = ""
        self._sqs: Any = None
        self.urls: list[str] = []
        self.pending: list[bytes] = []
        self.sent: list[bytes] = []  # every body that went out, in order
        self._lock = threading.Lock()
        self._validator = jsonschema_rs.validator_for(schema("OrderChangeNotification.json"))
        store.listeners.append(self.enqueue)

    def to_queue(
        self, queue_url: str, *, endpoint_url: str, region: str = "us-east-1", **keys: str
    ) -> None:
        """Publish to the SQS queue at ``queue_url`` (its service at ``endpoint_url``)."""
        import boto3

        self._sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region, **keys)
        self.queue_url = queue_url

    def enqueue(self, order_id: str, change: str) -> None:
        """A store listener: one notification per change, if anybody listens."""
        if not self.queue_url and not self.urls:
            return
        body = order_change(self.store, order_id, change)
        self._validator.validate(body)  # built once: every change of every order passes here
        with self._lock:
            self.pending.append(json.dumps(body, separators=(",", ":")).encode())

    def deliver(self) -> int:
        """Send what is pending now, faults applied; returns how many sends were made."""
        with self._lock:
            batch, self.pending = self.pending, []
        if batch and self.faults.take("reorder_webhooks"):
            batch.reverse()
        sends = 0
        for body in batch:
            sends += self._send(body)
            if self.faults.take("duplicate_webhooks"):
                sends += self._send(body)
            if self.sent and self.faults.take("replay_webhooks"):
                sends += self._send(self.faults.rng.choice(self.sent))
        return sends

    def post_unreadable(
        self, body: bytes = b'{"NotificationType": "ORDER_CHANGE", "Payload"'
    ) -> int:
        """Post ``body`` (by default JSON cut off halfway), signed, to every HTTP subscriber;
        returns how many were posted (hub.sandbox.DemoStore.deliver_unreadable)."""
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: f"unreadable-{len(self.sent)}",
            TOPIC_HEADER: "ORDER_CHANGE",
            SIGNATURE_HEADER: hmac_base64(self.secret, body),
        }
        posted = 0
        for url in self.urls:
            try:
                requests.post(url, data=body, headers=headers, timeout=5)
                posted += 1
            except requests.RequestException:
                continue
        return posted

    def _send(self, body: bytes) -> int:
        self.sent.append(body)
        sends = 0
        if self._sqs is not None:
            self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=body.decode())
            sends += 1
        notification = json.loads(body)["NotificationMetadata"]["NotificationId"]
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: notification,
            TOPIC_HEADER: "ORDER_CHANGE",
            SIGNATURE_HEADER: hmac_base64(self.secret, body),
        }
        for url in self.urls:
            try:
                requests.post(url, data=body, headers=headers, timeout=5)
                sends += 1
            except requests.RequestException:
                continue
        return sends
