"""The webhook deliveries of the WooCommerce sandbox, shaped as WooCommerce sends them.

The queueing and posting is :class:`hub.sandbox.WebhookDispatcher`; this module gives it
Woo's headers: the topic split into resource and event, the site as source, and the
base64 HMAC-SHA256 of the body as ``X-WC-Webhook-Signature``. Like Woo, a subscription
is disabled after 5 failed deliveries in a row.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.sandbox import Delivery, Faults, Subscription, WebhookDispatcher

from .webhook import signature

__all__ = ["Delivery", "Subscription", "WebhookDispatcher", "woo_dispatcher"]


def woo_dispatcher(faults: Faults, site_url: Callable[[], str]) -> WebhookDispatcher:
    """A dispatcher posting deliveries with the headers WooCommerce sends."""

    def headers(sub: Subscription, topic: str, body: bytes, delivery_id: int) -> dict[str, str]:
        resource, _, event = topic.partition(".")
        return {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/8.0.0 Hookshot (WordPress/6.4.0)",
            "X-WC-Webhook-Source": site_url(),
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(sub.secret, body),
            "X-WC-Webhook-ID": str(sub.id),
            "X-WC-Webhook-Delivery-ID": str(delivery_id),
        }

    return WebhookDispatcher(faults, headers, max_failures=5, name="woo-webhooks")
