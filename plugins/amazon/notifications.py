"""ORDER_CHANGE notifications: read from an SQS queue with boto3, handed to the hub's inbox.

Amazon sends SP-API notifications to an SQS queue (or EventBridge) the seller subscribes
to the ``ORDER_CHANGE`` type; each message body is one notification of
``OrderChangeNotification.json``. A notification only says which order changed
(``Payload.OrderChangeNotification.AmazonOrderId``): the adapter reads the order itself
(``getOrder``) when the hub works the delivery.

:class:`SqsPoller` long-polls the queue (``WaitTimeSeconds`` up to 20) and gives each
message to ``accept(headers, body)`` (the hub's ``Sync.accept_webhook``: verified and
stored in the inbox once per ``NotificationId``). The message is deleted from the queue
only after ``accept`` returned, so a crash in between delivers it again and the inbox
drops the copy. A message ``accept`` refuses stays in the queue and comes back after its
visibility timeout (the queue's own redrive policy moves it to an SQS dead-letter queue
after ``maxReceiveCount`` receipts); a body the hub cannot read is stored all the same
and becomes a hub dead letter when the inbox works it (``UnreadableWebhook``).

boto3 blocks: run :meth:`SqsPoller.poll` in a worker thread, never on the event loop.

The poller signs each body it hands over with the channel's ``webhook_secret``
(``X-Amz-Hub-Signature``, base64 HMAC-SHA256), so the hub's webhook endpoint accepts
only what a trusted reader of the queue handed in; the sandbox's HTTP relay signs the
same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub import UnreadableWebhook, utc
from hub.signing import header, hmac_base64, verify_hmac

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Amz-Hub-Signature"
DELIVERY_HEADER = "X-Delivery-Id"  # the hub's inbox keeps one delivery per id
TOPIC_HEADER = "X-Amz-Notification-Topic"
TOPIC = "ORDER_CHANGE"

Accept = Callable[[Mapping[str, str], bytes], bool]


@dataclass(frozen=True)
class Notification:
    """What the hub needs of one ORDER_CHANGE notification."""

    notification_id: str
    order_id: str
    seller_id: str
    status: str  # the v0 OrderStatus of the Summary ("Unshipped", "Canceled", ...)
    changed_at: datetime | None


def headers_for(secret: str, body: bytes) -> dict[str, str]:
    """The headers a delivery of ``body`` carries into the hub's inbox.

    The delivery id is the notification's ``NotificationId`` (the same for every copy
    Amazon or SQS delivers), or a digest of the body when it cannot be read.
    """
    try:
        delivery = str(json.loads(body)["NotificationMetadata"]["NotificationId"])
    except (ValueError, KeyError, TypeError):
        delivery = "sha256:" + hashlib.sha256(body).hexdigest()
    return {
        DELIVERY_HEADER: delivery,
        TOPIC_HEADER: TOPIC,
        SIGNATURE_HEADER: hmac_base64(secret, body),
        "Content-Type": "application/json",
    }


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when ``X-Amz-Hub-Signature`` signs ``body`` with ``secret`` (constant time)."""
    return verify_hmac(secret, headers, body, SIGNATURE_HEADER)


def parse(body: bytes) -> Notification:
    """Read one ORDER_CHANGE notification (OrderChangeNotification.json).

    Raises UnreadableWebhook naming what is missing: not JSON, another notification
    type, no ``AmazonOrderId`` or no ``NotificationId``.
    """
    try:
        data = json.loads(body)
    except ValueError as error:
        raise UnreadableWebhook("Amazon notification body is not valid JSON") from error
    if not isinstance(data, dict):
        raise UnreadableWebhook("Amazon notification body is not a JSON object")
    kind = data.get("NotificationType")
    if kind != TOPIC:
        raise UnreadableWebhook(f"Amazon notification type {kind!r} is not ORDER_CHANGE")
    payload = (data.get("Payload") or {}).get("OrderChangeNotification")
    metadata = data.get("NotificationMetadata") or {}
    if not isinstance(payload, dict) or not payload.get("AmazonOrderId"):
        raise UnreadableWebhook(
            "Amazon ORDER_CHANGE notification has no Payload.OrderChangeNotification.AmazonOrderId"
        )
    if not metadata.get("NotificationId"):
        raise UnreadableWebhook(
            "Amazon ORDER_CHANGE notification has no NotificationMetadata.NotificationId"
        )
    trigger = payload.get("OrderChangeTrigger") or {}
    try:
        changed = utc(trigger["TimeOfOrderChange"]) if trigger.get("TimeOfOrderChange") else None
    except ValueError as error:
        raise UnreadableWebhook("Amazon notification TimeOfOrderChange is not a time") from error
    return Notification(
        notification_id=str(metadata["NotificationId"]),
        order_id=str(payload["AmazonOrderId"]),
        seller_id=str(payload.get("SellerId") or ""),
        status=str((payload.get("Summary") or {}).get("OrderStatus") or ""),
        changed_at=changed,
    )


class SqsPoller:
    """Long-polls one SQS queue and hands its messages to the hub's inbox.

    ``client`` is a boto3 SQS client; ``wait_seconds`` is the long-poll wait (0 to 20,
    SQS's ``WaitTimeSeconds``); ``batch`` the most messages per receive (1 to 10).
    """

    def __init__(
        self, client: Any, queue_url: str, secret: str, *, wait_seconds: int = 20, batch: int = 10
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.secret = secret
        self.wait_seconds = wait_seconds
        self.batch = batch
        self.received = 0
        self.deleted = 0
        self.refused = 0

    def poll(self, accept: Accept, wait_seconds: int | None = None) -> int:
        """One long poll: store each message through ``accept``, then delete it.

        Returns how many messages were received. A message whose ``accept`` raised is
        left in the queue (logged) and comes back after its visibility timeout.
        """
        answer = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch,
            WaitTimeSeconds=self.wait_seconds if wait_seconds is None else wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = answer.get("Messages") or []
        self.received += len(messages)
        for message in messages:
            body = str(message.get("Body") or "").encode()
            try:
                accept(headers_for(self.secret, body), body)
            except Exception as error:  # left in the queue; SQS delivers it again
                self.refused += 1
                log.warning(
                    "SQS message %s not stored (%s: %s); it stays in the queue",
                    message.get("MessageId"),
                    type(error).__name__,
                    error,
                )
                continue
            self.client.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            self.deleted += 1
        return len(messages)


def delivery_id(headers: Mapping[str, str]) -> str:
    """The delivery id a delivery's headers carry (the notification id)."""
    return header(headers, DELIVERY_HEADER)
