"""Collection queries of the sandbox: Woo's filters, sorting and pagination headers.

Supported parameters (the ones ``wc/v3`` documents for products and orders that a
client is likely to send): ``page``, ``per_page`` (1–100, default 10), ``offset``,
``order``, ``orderby`` (date, id, title, slug, modified), ``include``, ``status``,
``type``, ``sku``, ``parent``, ``search``, ``after``/``before`` (created),
``modified_after``/``modified_before`` and ``dates_are_gmt``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .sandbox_store import StoreError

JSON = dict[str, Any]
SORT_KEYS: dict[str, Callable[[JSON], Any]] = {
    "date": lambda o: (o.get("date_created_gmt") or "", o["id"]),
    "modified": lambda o: (o.get("date_modified_gmt") or "", o["id"]),
    "id": lambda o: o["id"],
    "title": lambda o: (str(o.get("name", "")), o["id"]),
    "slug": lambda o: (str(o.get("slug", "")), o["id"]),
}


def invalid(name: str, reason: str) -> StoreError:
    """Woo's answer to a bad query parameter."""
    return StoreError(400, "rest_invalid_param", f"Invalid parameter(s): {name} ({reason})")


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise invalid(name, f"{name} is not of type integer.") from None
    if not low <= value <= high:
        raise invalid(name, f"{name} must be between {low} (inclusive) and {high} (inclusive)")
    return value


def _date_filter(query: Mapping[str, str], name: str, field: str) -> Callable[[JSON], bool]:
    value = query.get(name)
    if not value:
        return lambda obj: True
    try:
        bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "Invalid date.") from None
    gmt = query.get("dates_are_gmt", "").lower() in ("1", "true") or bound.tzinfo is not None
    if bound.tzinfo is not None:
        bound = bound.astimezone(UTC).replace(tzinfo=None)
    key = f"{field}_gmt" if gmt else field
    after = name.endswith("after")

    def keep(obj: JSON) -> bool:
        stamp = obj.get(key)
        if not stamp:
            return False
        moment = datetime.fromisoformat(stamp)
        return moment > bound if after else moment < bound

    return keep


def _listed(query: Mapping[str, str], name: str) -> set[str]:
    return {v for v in query.get(name, "").split(",") if v}


def _field_in(field: str, wanted: set[str]) -> Callable[[JSON], bool]:
    return lambda obj: str(obj.get(field)) in wanted


def select(items: Sequence[JSON], query: Mapping[str, str]) -> list[JSON]:
    """Filter and sort ``items`` (stored objects) as the query asks."""
    statuses = _listed(query, "status") - {"any"}
    checks: list[Callable[[JSON], bool]] = [
        (lambda o: o.get("status") in statuses)
        if statuses
        else (lambda o: o.get("status") != "trash"),
        _date_filter(query, "modified_after", "date_modified"),
        _date_filter(query, "modified_before", "date_modified"),
        _date_filter(query, "after", "date_created"),
        _date_filter(query, "before", "date_created"),
    ]
    for name, field in (
        ("include", "id"),
        ("type", "type"),
        ("sku", "sku"),
        ("parent", "parent_id"),
    ):
        wanted = _listed(query, name)
        if wanted:
            checks.append(_field_in(field, wanted))
    if query.get("search"):
        text = query["search"].lower()
        checks.append(lambda o: text in str(o.get("name", "")).lower())
    orderby = query.get("orderby", "date")
    if orderby not in SORT_KEYS:
        raise invalid("orderby", f"orderby is not one of {', '.join(SORT_KEYS)}.")
    chosen = [o for o in items if all(check(o) for check in checks)]
    return sorted(chosen, key=SORT_KEYS[orderby], reverse=query.get("order", "desc") != "asc")


def paginate(
    request: web.Request, items: Sequence[JSON], view: Callable[[JSON], JSON]
) -> web.Response:
    """One page of ``items`` with X-WP-Total, X-WP-TotalPages and Link headers."""
    query = request.query
    per_page = _int(query, "per_page", 10, 1, 100)
    page = _int(query, "page", 1, 1, 10**6)
    offset = _int(query, "offset", (page - 1) * per_page, 0, 10**9)
    total = len(items)
    pages = math.ceil(total / per_page) if total else 0
    body = [view(obj) for obj in items[offset : offset + per_page]]
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = _links(request, page, pages)
    if links:
        headers["Link"] = links
    return web.json_response(body, headers=headers)


def _links(request: web.Request, page: int, pages: int) -> str:
    base = f"{request.scheme}://{request.host}{request.path}"
    kept = {k: v for k, v in request.query.items() if k != "page" and not k.startswith("oauth_")}

    def link(number: int, rel: str) -> str:
        return f'<{base}?{urlencode({**kept, "page": number})}>; rel="{rel}"'

    parts = []
    if page > 1:
        parts.append(link(page - 1, "prev"))
    if page < pages:
        parts.append(link(page + 1, "next"))
    return ", ".join(parts)
