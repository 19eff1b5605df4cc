"""The :class:`hub.CheckContext` of each order of a page, in a few batched queries.

Queries are made only for what the channel needs: accounts when the channel is a manual
one (the customer id names the account number) or matches customers by e-mail; history
when the value-spike rule is on; recent orders to the same address when the
address-velocity rule is on. A channel with neither (the default for web shops) costs
intake no query at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.checks import CheckContext, ChecksConfig, CustomerHistory
from hub.core import customers
from hub.core.db import in_list
from hub.core.models import now, order_t
from hub.orders import Order

_CLOSED = ("cancelled", "refunded")


@dataclass
class PageContext:
    """Per external id: the check context, and the matched account id (None: none)."""

    contexts: dict[str, CheckContext] = field(default_factory=dict)
    accounts: dict[str, int | None] = field(default_factory=dict)


def address_key(order: Order) -> tuple[str, str] | None:
    """(postcode, street line) in a comparable spelling, or None without both."""
    a = order.shipping_address
    postcode = "".join(a.postcode.split()).upper()
    line1 = " ".join(a.line1.split()).lower()
    return (postcode, line1) if postcode and line1 else None


def page_context(
    conn: Connection,
    channel: str,
    orders: Sequence[Order],
    settings: ChecksConfig,
    *,
    manual: bool,
    match_by_email: bool,
) -> PageContext:
    """Check contexts for a page of ``channel``'s orders (see the module doc)."""
    out = PageContext()
    rows: dict[str, sa.Row] = {}
    if manual:
        by_number = customers.accounts_by_number(conn, (o.customer.external_id for o in orders))
        rows = {
            o.external_id: by_number[o.customer.external_id]
            for o in orders
            if o.customer.external_id in by_number
        }
    if match_by_email:
        by_email = customers.accounts_by_email(conn, (o.customer.email for o in orders))
        for o in orders:
            email = o.customer.email.strip().lower()
            if o.external_id not in rows and email in by_email:
                rows[o.external_id] = by_email[email]
    owed = customers.outstanding(conn, {r.id for r in rows.values()}) if rows else {}
    history = _history(conn, channel, orders, rows) if settings.needs_history() else {}
    same = _same_address(conn, channel, orders, settings) if settings.needs_address() else {}
    totals = {aid: sum(by_order.values(), Decimal("0")) for aid, by_order in owed.items()}
    for o in orders:
        row = rows.get(o.external_id)
        account = None
        if row is not None:
            mine = (channel, o.external_id)
            stored = owed.get(row.id, {})
            total = totals.get(row.id, Decimal("0")) - stored.get(mine, Decimal("0"))
            account = customers.account_info(row, total)
            if mine not in stored and _unpaid(o):  # counts for the page's later orders
                totals[row.id] = totals.get(row.id, Decimal("0")) + o.total
        out.accounts[o.external_id] = row.id if row is not None else None
        out.contexts[o.external_id] = CheckContext(
            settings=settings,
            account=account,
            history=history.get(o.external_id) if settings.needs_history() else None,
            same_address=same.get(o.external_id, 0),
        )
    return out


def _unpaid(order: Order) -> bool:
    return order.payment_status.value in customers.UNPAID and order.status.value not in _CLOSED


def _history(
    conn: Connection, channel: str, orders: Sequence[Order], rows: dict[str, sa.Row]
) -> dict[str, CustomerHistory]:
    """Previous orders (other than the one decided, not cancelled) per order: by account
    when matched, else by e-mail. Two queries: one per kind of key."""
    o = order_t.c
    account_ids = {r.id for r in rows.values()}
    emails = {
        x.customer.email.strip().lower()
        for x in orders
        if x.external_id not in rows and x.customer.email.strip()
    }
    by_account: dict[int, list[tuple[str, str, Decimal]]] = defaultdict(list)
    by_email: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
    if account_ids:
        for aid, ch, ext, total in conn.execute(
            sa.select(o.account_id, o.channel, o.external_id, o.total).where(
                in_list(conn, o.account_id, sorted(account_ids)), o.status.not_in(_CLOSED)
            )
        ):
            by_account[aid].append((ch, ext, Decimal(total)))
    if emails:
        for email, ch, ext, total in conn.execute(
            sa.select(sa.func.lower(o.customer_email), o.channel, o.external_id, o.total).where(
                in_list(conn, o.customer_email, sorted(emails)), o.status.not_in(_CLOSED)
            )
        ):
            by_email[email].append((ch, ext, Decimal(total)))
    summed: dict[object, tuple[int, Decimal, dict[tuple[str, str], Decimal]]] = {}
    for whose, found in [*by_account.items(), *by_email.items()]:
        totals = {(ch, ext): t for ch, ext, t in found}
        summed[whose] = (len(totals), sum(totals.values(), Decimal("0")), totals)
    out = {}
    for x in orders:
        row = rows.get(x.external_id)
        key: object = row.id if row is not None else x.customer.email.strip().lower()
        count, total, each = summed.get(key, (0, Decimal("0"), {}))
        mine = each.get((channel, x.external_id))
        if mine is not None:  # the order itself is no history of its own
            count, total = count - 1, total - mine
        average = total / count if count else Decimal("0")
        out[x.external_id] = CustomerHistory(count, average.quantize(Decimal("0.01")))
    return out


def _same_address(
    conn: Connection, channel: str, orders: Sequence[Order], settings: ChecksConfig
) -> dict[str, int]:
    """Orders to the same address within the rule's hours, the order itself included:
    stored ones (one query) and those of the page."""
    rule = settings.fraud.address_velocity
    keys = {k for x in orders if (k := address_key(x))}
    if not keys:
        return {}
    o = order_t.c
    since = now() - timedelta(hours=rule.hours)
    seen: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    postcodes = sorted({p for p, _ in keys})
    # postcodes are stored as the channel sent them; compare in the comparable spelling
    for ch, ext, postcode, line1 in conn.execute(
        sa.select(o.channel, o.external_id, o.ship_postcode, o.ship_line1).where(
            sa.or_(
                in_list(conn, o.ship_postcode, postcodes),
                in_list(
                    conn,
                    sa.func.upper(sa.func.replace(o.ship_postcode, " ", ""), type_=sa.String()),
                    postcodes,
                ),
            ),
            sa.func.coalesce(o.placed_at, o.created_at) >= since,
            o.status.not_in(_CLOSED),
        )
    ):
        stored = (
            "".join((postcode or "").split()).upper(),
            " ".join((line1 or "").split()).lower(),
        )
        if stored in keys:
            seen[stored].add((ch, ext))
    for x in orders:
        mine = address_key(x)
        if mine:
            seen[mine].add((channel, x.external_id))
    return {x.external_id: len(seen[k]) for x in orders if (k := address_key(x))}
