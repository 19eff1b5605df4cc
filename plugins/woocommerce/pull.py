"""The cursor of an incremental order pull, and the query it turns into.

Orders are read with ``modified_after`` (GMT, ``dates_are_gmt=true``) sorted by id
ascending, page by page until ``X-WP-TotalPages``. Sorting by id keeps the pages
stable while the pull runs: an order created meanwhile lands on the last page, and
an order modified meanwhile keeps its place (the next pull sees its new version).
The cursor is a small JSON text holding ``modified_after`` and the next page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hub import InvalidInput, utc

#: Woo compares ``modified_after`` strictly and to the second; one second earlier makes
#: the pull inclusive ("updated at or after"), the hub drops versions it already has.
INCLUSIVE_MARGIN = timedelta(seconds=1)


@dataclass(frozen=True)
class OrderCursor:
    """Where a pull stands: the ``modified_after`` bound (GMT text or "") and the next page."""

    modified_after: str = ""
    page: int = 1

    @classmethod
    def start(cls, updated_since: datetime | None) -> OrderCursor:
        """The first page of a pull of orders modified at or after ``updated_since``."""
        if updated_since is None:
            return cls()
        since = utc(updated_since)
        assert since is not None
        bound = (since - INCLUSIVE_MARGIN).replace(microsecond=0, tzinfo=None)
        return cls(modified_after=bound.isoformat())

    @classmethod
    def decode(cls, cursor: str) -> OrderCursor:
        """Read a cursor written by :meth:`encode`; anything else is an InvalidInput."""
        try:
            data = json.loads(cursor)
            return cls(modified_after=str(data.get("modified_after", "")), page=int(data["page"]))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidInput(
                f"WooCommerce order cursor {cursor!r} was not written by this "
                f"plugin; drop it to pull again from the last sync time",
                field="cursor",
            ) from error

    def encode(self) -> str:
        """The cursor as text for the core to store."""
        return json.dumps(
            {"modified_after": self.modified_after, "page": self.page}, separators=(",", ":")
        )

    def next_page(self) -> OrderCursor:
        """The same pull, one page further."""
        return replace(self, page=self.page + 1)

    def params(self, per_page: int) -> dict[str, str | int]:
        """Query parameters of ``GET orders`` for this page."""
        params: dict[str, str | int] = {
            "page": self.page,
            "per_page": per_page,
            "orderby": "id",
            "order": "asc",
        }
        if self.modified_after:
            params["modified_after"] = self.modified_after
            params["dates_are_gmt"] = "true"
        return params
