"""Setting the merchant's quantities: ``patchListingsItem`` per SKU, or one
``JSON_LISTINGS_FEED`` for many, whichever takes fewer calls.

A patch sets one SKU in one call (patchListingsItem, listingsItems_2021-08-01.json). A
feed sets any number (up to the schema's 25,000 messages) in :data:`FEED_CALLS` SP-API
calls at least: createFeedDocument, createFeed, getFeed (once or more, until DONE) and
getFeedDocument for the processing report (feeds_2021-06-30.json), plus the upload to and
the download from the URLs those hand out. So ``n`` updates go by patch while
``n <= FEED_CALLS`` and by feed above.

Every message and patch carries exactly one ``fulfillment_availability`` entry,
``fulfillment_channel_code`` DEFAULT: Amazon's own fulfilment network (``AMAZON_*``)
is Amazon's to count. The feed payload is validated against the official
``listings-feed-schema-v2.json`` (shipped in ``schemas/``) before it is uploaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema_rs

from hub import StockUpdate

from .mapping import availability

FEED_CALLS = 4  # createFeedDocument + createFeed + getFeed + getFeedDocument, at the least
FEED_LIMIT = 25_000  # messages per feed: "maxItems" of listings-feed-schema-v2.json
PRODUCT_TYPE = "PRODUCT"  # a patch of offer attributes needs no specific product type
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def use_feed(count: int, feed_wait: float = 0.0, patch_wait: float = 0.0) -> bool:
    """True when ``count`` updates take fewer calls as one feed than as patches.

    ``feed_wait`` is how long createFeed's usage plan (0.0083/s, burst 15) makes the next
    feed wait, ``patch_wait`` how long patchListingsItem's (5/s, burst 5) makes ``count``
    patches take, in seconds: when the feed would wait longer than all the patches take,
    the patches go (so a busy account does not queue each small push for minutes).
    """
    return count > FEED_CALLS and feed_wait <= patch_wait


def patch_body(quantity: int) -> dict[str, Any]:
    """The ListingsItemPatchRequest setting the merchant's quantity."""
    return {
        "productType": PRODUCT_TYPE,
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": availability(quantity),
            }
        ],
    }


def feed_payload(seller_id: str, updates: Sequence[StockUpdate]) -> dict[str, Any]:
    """A JSON_LISTINGS_FEED with one PATCH message per update; ``messageId`` is the
    update's position plus one. Raises jsonschema_rs.ValidationError if it breaks the schema."""
    payload = {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": [
            {
                "messageId": n,
                "sku": update.external_id or update.sku,
                "operationType": "PATCH",
                "productType": PRODUCT_TYPE,
                "patches": patch_body(update.quantity)["patches"],
            }
            for n, update in enumerate(updates, start=1)
        ],
    }
    feed_validator().validate(payload)
    return payload


_SCHEMA: dict[str, Any] = {}


def feed_validator() -> Any:
    """A validator of the official listings feed schema, built once (jsonschema-rs: a
    25,000-message feed validates in milliseconds, where pure-Python validation took
    seconds)."""
    if not _VALIDATOR:
        _VALIDATOR.append(jsonschema_rs.validator_for(feed_schema()))
    return _VALIDATOR[0]


_VALIDATOR: list[Any] = []


def feed_schema() -> dict[str, Any]:
    """The official listings feed schema (read once)."""
    if not _SCHEMA:
        _SCHEMA.update(json.loads((SCHEMAS / "listings-feed-schema-v2.json").read_text()))
    return _SCHEMA


def report_errors(report: dict[str, Any]) -> dict[int, str]:
    """The ERROR issues of a processing report by ``messageId`` (messages joined by "; ")."""
    errors: dict[int, list[str]] = {}
    for issue in report.get("issues") or ():
        if issue.get("severity") == "ERROR" and isinstance(issue.get("messageId"), int):
            text = f"{issue.get('code', '')}: {issue.get('message', '')}".strip(": ")
            errors.setdefault(issue["messageId"], []).append(text)
    return {k: "; ".join(v) for k, v in errors.items()}
