"""The stock outbox: SKUs whose availability may have changed, per channel that lists them.

Rows are written in the same transaction as the movements that cause them, so a change
can never be lost between the ledger and the pusher. A product marks itself and every
bundle it is a component of.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from hub.core.db import in_list, is_sqlite
from hub.core.models import bundle_t, listing_t, now, outbox_t


def mark_dirty(conn: Connection, product_ids: Iterable[int]) -> None:
    """Queue ``product_ids`` (and bundles made of them) for every channel listing them."""
    products = set(product_ids)
    if not products:
        return
    bundles = sa.select(bundle_t.c.bundle_id).where(
        in_list(conn, bundle_t.c.component_id, products)
    )
    affected = sa.or_(
        in_list(conn, listing_t.c.product_id, products), listing_t.c.product_id.in_(bundles)
    )
    source = (
        sa.select(listing_t.c.channel, listing_t.c.product_id, sa.literal(now()).label("d"))
        .where(affected)
        .distinct()
    )
    maker = sqlite_insert if is_sqlite(conn) else pg_insert
    stmt = maker(outbox_t).from_select(["channel", "product_id", "dirty_at"], source)
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel", "product_id"],
        set_={"dirty_at": stmt.excluded.dirty_at},
    )
    conn.execute(stmt)


def mark_channel(conn: Connection, channel: str, product_ids: Iterable[int] | None = None) -> None:
    """Queue every listed product of ``channel`` (or only ``product_ids``): a full push."""
    query = sa.select(
        listing_t.c.channel, listing_t.c.product_id, sa.literal(now()).label("d")
    ).where(listing_t.c.channel == channel)
    if product_ids is not None:
        query = query.where(in_list(conn, listing_t.c.product_id, list(product_ids)))
    maker = sqlite_insert if is_sqlite(conn) else pg_insert
    stmt = maker(outbox_t).from_select(["channel", "product_id", "dirty_at"], query.distinct())
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel", "product_id"], set_={"dirty_at": stmt.excluded.dirty_at}
    )
    conn.execute(stmt)


def release(conn: Connection, workers: list[str]) -> int:
    """Free the rows claimed by ``workers`` (dead ones) for the next push; returns how many."""
    if not workers:
        return 0
    o = outbox_t.c
    result = conn.execute(
        outbox_t.update()
        .where(in_list(conn, o.claimed_by, workers))
        .values(claimed_by="", claimed_until=None)
    )
    return int(result.rowcount or 0)


def claim_holders(conn: Connection) -> set[str]:
    """Workers holding a claim on an outbox row."""
    o = outbox_t.c
    query = sa.select(o.claimed_by).where(o.claimed_by != "").distinct()
    return {name for (name,) in conn.execute(query)}
