"""Reading an order's hold reason back as holds with codes, and which a person may release.

``sales_order.hold_reason`` holds either intake's own problem (free text, kept as it has
always read: "not enough stock: 'MUG' needs 2 more, 1 available") or the plugin holds
joined as ``"code: reason; code: reason"``. Intake's problems are hard holds: no person
can release them, the stock or the catalogue has to change. Plugin holds (``unpaid``,
``fraud_*``, ``credit_limit``, ``address_incomplete``, ...) can be released.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: intake's own hold codes: a person cannot release these
HARD = ("unknown_sku", "no_sku", "bad_sku", "too_many", "short_stock", "shipped_short")

_PLUGIN = re.compile(r"[a-z][a-z0-9_]*: ")
_SPLIT = re.compile(r"; (?=[a-z][a-z0-9_]*: )")


@dataclass(frozen=True)
class HoldView:
    """One reason an order is held: ``code``, what a person reads, and whether a person
    may release it (``overridable``)."""

    code: str
    reason: str
    overridable: bool


def _hard_code(text: str) -> str:
    if text.startswith("not enough stock"):
        return "short_stock"
    if text.startswith("shipped on the channel, but"):
        return "shipped_short"
    if text.startswith("unknown SKU"):
        return "unknown_sku"
    if "has no SKU" in text:
        return "no_sku"
    if "beyond the maximum" in text:
        return "too_many"
    return "bad_sku"


def released_codes(stored: str | None) -> set[str]:
    """The hold codes a person released, from ``sales_order.released_holds``
    (``"fraud_screen,unpaid"``)."""
    return set(filter(None, (stored or "").split(",")))


def stored_released(codes: set[str]) -> str:
    """``released_holds`` as stored: the codes sorted, joined by commas."""
    return ",".join(sorted(codes))


def parse_holds(reason: str) -> list[HoldView]:
    """The holds a stored ``hold_reason`` names (empty for an order not held)."""
    reason = (reason or "").strip()
    if not reason:
        return []
    if _PLUGIN.match(reason):
        out = []
        for part in _SPLIT.split(reason):
            code, _, text = part.partition(": ")
            out.append(HoldView(code, text, code not in HARD))
        return out
    # intake's problems: one text, parts joined by "; " (each line's problem)
    parts = [p for p in re.split(r"; (?=line \d|unknown SKU)", reason) if p]
    return [HoldView(_hard_code(p), p, False) for p in parts]
