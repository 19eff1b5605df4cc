"""Listing import: map each channel's items to our SKUs, and say what does not match."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.core.db import in_list
from hub.core.models import listing_t, now, product_t
from hub.core.outbox import mark_channel
from hub.listingcheck import describe
from hub.skus import normalise_sku, sku_problem
from hub.stock import Listing, ListingProblem


@dataclass
class ListingReport:
    """What an import found: mapped listings and every mismatch, by SKU."""

    channel: str
    mapped: int = 0
    unknown_skus: list[str] = field(default_factory=list)  # on the channel, not in the hub
    unlisted_skus: list[str] = field(default_factory=list)  # in the hub, not on the channel
    duplicate_skus: list[str] = field(default_factory=list)  # one SKU twice at one location
    unmanaged: list[str] = field(default_factory=list)  # the channel does not track stock
    problems: list[str] = field(default_factory=list)  # what the plugin itself reported
    # SKUs the channel spells differently from the hub (kind "sku_respelled", mapped
    # anyway) or that cannot be SKUs at all (kind "invalid_sku", not mapped)
    sku_problems: list[ListingProblem] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One readable line per kind of mismatch, then one per SKU problem."""
        out = []
        for label, skus in (
            ("on the channel but unknown to the hub", self.unknown_skus),
            ("in the hub but not listed on the channel", self.unlisted_skus),
            ("listed more than once on the channel", self.duplicate_skus),
            ("not stock-managed on the channel (reported, not forced)", self.unmanaged),
        ):
            if skus:
                shown = ", ".join(skus[:10]) + (
                    f" and {len(skus) - 10} more" if len(skus) > 10 else ""
                )
                out.append(f"{len(skus)} SKU(s) {label}: {shown}")
        return out + [p.message for p in self.sku_problems] + self.problems


def import_listings(
    conn: Connection, channel: str, listings: Iterable[Listing], *, create_products: bool = False
) -> ListingReport:
    """Replace ``channel``'s listings with ``listings`` and queue a full stock push.

    Each listing's SKU is read through :func:`hub.skus.normalise_sku`, as every other
    way a SKU enters the hub: a variant whose SKU is ``"MUG "`` maps to product MUG and
    is reported as ``sku_respelled``; one whose SKU cannot be a SKU is reported as
    ``invalid_sku`` and left out; listings without a SKU are left out (the plugin
    reports them).
    """
    report = ListingReport(channel)
    items = _read_skus(channel, listings, report)
    counts: dict[str, int] = {}
    places: dict[tuple[str, str], int] = {}  # one listing per SKU at each channel location
    for item in items:
        counts[item.sku] = counts.get(item.sku, 0) + 1
        places[(item.sku, item.location_id)] = places.get((item.sku, item.location_id), 0) + 1
    report.duplicate_skus = sorted({sku for (sku, _), n in places.items() if n > 1})
    if create_products:
        for sku in sorted(counts):
            ledger.ensure_product(conn, sku)
    known: dict[str, int] = dict(
        conn.execute(
            sa.select(product_t.c.sku, product_t.c.id).where(
                in_list(conn, product_t.c.sku, list(counts))
            )
        ).all()
    )
    report.unknown_skus = sorted(sku for sku in counts if sku not in known)
    report.unmanaged = sorted({item.sku for item in items if not item.managed})
    conn.execute(listing_t.delete().where(listing_t.c.channel == channel))
    rows = [_row(channel, item, known[item.sku]) for item in items if item.sku in known]
    if rows:
        conn.execute(listing_t.insert(), rows)
    report.mapped = len(rows)
    everything = {sku for (sku,) in conn.execute(sa.select(product_t.c.sku))}
    report.unlisted_skus = sorted(everything - set(counts))
    mark_channel(conn, channel)
    return report


def _read_skus(channel: str, listings: Iterable[Listing], report: ListingReport) -> list[Listing]:
    """The listings with a SKU, in the hub's spelling; what was respelled or refused is
    added to ``report.sku_problems``."""
    items = []
    for item in listings:
        sku = normalise_sku(item.sku)
        if not sku:
            continue
        where = f"channel {channel!r}: {describe(item)}"
        problem = sku_problem(item.sku)
        if problem:
            report.sku_problems.append(
                ListingProblem(
                    "invalid_sku",
                    f"{where}: {problem}; correct it on the channel so the hub can map it",
                    external_ids=(item.external_id,),
                )
            )
            continue
        if sku != item.sku:
            report.sku_problems.append(
                ListingProblem(
                    "sku_respelled",
                    f"{where} has SKU {item.sku!r}, read as {sku!r}; spell it {sku!r} "
                    "on the channel too",
                    sku=sku,
                    external_ids=(item.external_id,),
                )
            )
            item = replace(item, sku=sku)
        items.append(item)
    return items


def _row(channel: str, item: Listing, product_id: int) -> dict:
    return {
        "channel": channel,
        "external_id": item.external_id,
        "parent_id": item.parent_id,
        "location_id": item.location_id,
        "product_id": product_id,
        "title": item.title,
        "managed": item.managed,
        "confirmed_quantity": item.quantity,
        "confirmed_at": now() if item.quantity is not None else None,
    }
