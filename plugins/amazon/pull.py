"""The order pull: ``searchOrders`` by ``lastUpdatedAfter``, page by page with
``paginationToken``, and a guard against paging that makes no progress.

The cursor is a small JSON text ``{"after": <lastUpdatedAfter>, "token": <paginationToken>}``:
``after`` names the window being read, ``token`` the next page of it. A page whose
orders were all seen earlier in the same pull brings nothing new; after
``stale_pages`` such pages in a row the pull gives up on the window: it hands the core
a cursor naming the window without a token (so the next run reads the window again from
its start), logs the window, and raises a non-retryable ChannelError, so the core does
not advance the channel's watermark past it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub import InvalidInput, utc

#: searchOrders "includedData" the hub needs: who bought, where it goes, what it cost and
#: who fulfils it (orders_2026-01-01.json, searchOrders parameters). Items always come.
INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT"]


def amazon_time(moment: datetime) -> str:
    """ISO 8601 UTC with ``Z``, as the Orders API takes times."""
    value = utc(moment)
    assert value is not None
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class OrderCursor:
    """Where a pull stands: the window's ``lastUpdatedAfter`` and the next page's token."""

    after: str
    token: str | None = None

    @classmethod
    def start(cls, updated_since: datetime | None, first_days: int) -> OrderCursor:
        """The first page of orders updated at or after ``updated_since`` (or of the last
        ``first_days`` days on a first pull)."""
        since = updated_since or datetime.now(UTC) - timedelta(days=first_days)
        return cls(after=amazon_time(since))

    @classmethod
    def decode(cls, cursor: str) -> OrderCursor:
        """Read a cursor written by :meth:`encode`; anything else is an InvalidInput."""
        try:
            data = json.loads(cursor)
            token = data.get("token")
            return cls(after=str(data["after"]), token=str(token) if token else None)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidInput(
                f"Amazon order cursor {cursor!r} was not written by this plugin; drop it "
                "to pull again from the last sync time",
                field="cursor",
            ) from error

    def encode(self) -> str:
        """The cursor as text for the core to store."""
        return json.dumps({"after": self.after, "token": self.token}, separators=(",", ":"))

    def params(self, marketplace_ids: list[str], page_size: int) -> dict[str, object]:
        """Query parameters of ``searchOrders`` for this page."""
        params: dict[str, object] = {
            "lastUpdatedAfter": self.after,
            "marketplaceIds": ",".join(marketplace_ids),
            "includedData": ",".join(INCLUDED_DATA),
            "maxResultsPerPage": page_size,
        }
        if self.token:
            params["paginationToken"] = self.token
        return params
