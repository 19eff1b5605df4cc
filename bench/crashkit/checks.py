"""Settling and the verdict: every order once, nothing oversold, every store in step.

Settling waits on what can be observed, with a deadline: the stores have no webhook
left to send, the hub's inbox and outbox are empty, no listing is unconfirmed, and every
channel has run a whole pull and a whole reconciliation since the shoppers stopped.
Nothing is run by hand: whatever brings the stores in step is ``hub run``'s own.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import ledger
from hub.core.models import (
    dead_letter_t,
    inbox_t,
    listing_t,
    movement_t,
    order_event_t,
    order_line_t,
    order_t,
    outbox_t,
    oversell_t,
    product_t,
    sync_state_t,
)
from hub.core.runtime import Hub
from hub.sandbox import DemoOrder

from .stores import CATALOGUE, Stores, Wire
from .workers import Kill


@dataclass
class Settled:
    seconds: float
    unmet: list[str]  # conditions still false at the deadline (empty: settled)
    waits: list[tuple[float, str]] = field(default_factory=list)  # (seconds in, condition)

    def slowest(self, count: int = 3) -> str:
        """The conditions that held settling up longest: when each was last seen."""
        last: dict[str, float] = {}
        for at, condition in self.waits:
            last[re.sub(r"\d+ ", "n ", condition)] = at
        ranked = sorted(last.items(), key=lambda item: -item[1])[:count]
        return "; ".join(f"{c} until {at:.1f} s" for c, at in ranked)


def quiet_conditions(
    conn: Connection, channels: list[str], since: datetime, seen: dict[tuple[str, str], set]
) -> list[str]:
    """What still keeps the hub from being settled (empty when nothing does).

    ``seen`` collects the end times of each channel's pulls and reconciliations after
    ``since``: a job runs once at a time per channel, so when two ended, the second one
    started after ``since`` and saw everything the stores did until then.
    """
    unmet = []
    pending = conn.execute(
        sa.select(sa.func.count()).where(inbox_t.c.status == "pending")
    ).scalar_one()
    if pending:
        unmet.append(f"{pending} webhooks pending in the inbox")
    queued = conn.execute(sa.select(sa.func.count()).select_from(outbox_t)).scalar_one()
    if queued:
        unmet.append(f"{queued} SKUs queued in the outbox")
    unconfirmed = conn.execute(
        sa.select(sa.func.count()).where(listing_t.c.unconfirmed.is_(True))
    ).scalar_one()
    if unconfirmed:
        unmet.append(f"{unconfirmed} listings unconfirmed")
    states = {
        (r.channel, r.job): r
        for r in conn.execute(sa.select(sync_state_t).where(sync_state_t.c.channel.in_(channels)))
    }
    for channel in channels:
        for job in ("pull", "reconcile"):
            row = states.get((channel, job))
            ended = seen.setdefault((channel, job), set())
            if row is not None and row.last_success_at and row.last_success_at > since:
                ended.add(row.last_success_at)
            if len(ended) < 2:
                unmet.append(f"no {job} of {channel} ran whole since the shoppers stopped")
    return unmet


def settle(hub: Hub, stores: Stores, deadline: float) -> Settled:
    """Let the stores send what they hold and wait for the hub to go quiet."""
    since = datetime.now(UTC)
    started = time.monotonic()
    channels = list(stores.stores)
    unmet = ["not looked yet"]
    waits: list[tuple[float, str]] = []
    seen: dict[tuple[str, str], set] = {}
    while time.monotonic() - started < deadline:
        sent = stores.deliver()
        unmet = hub.read(lambda c: quiet_conditions(c, channels, since, seen))
        if sent:
            unmet.append(f"the stores sent {sent} webhooks")
        waits += [(time.monotonic() - started, condition) for condition in unmet]
        if not unmet:
            break
        time.sleep(0.25)
    return Settled(time.monotonic() - started, unmet, waits)


@dataclass
class Verdict:
    """The figures of one run (every one of the first six should be 0)."""

    missing: int = 0  # orders a store created that the hub does not hold
    duplicated: int = 0  # orders the hub holds more than once
    # units promised (reserved or sold) beyond the stock received that no oversell record
    # explains: what the hub itself over-promised
    oversold: int = 0
    # units a till sold past the stock before it heard the shelf was empty (a final sale,
    # booked as it happened and kept as an oversell to investigate): a race of the channels,
    # not of the hub, so reported beside the figures rather than among them
    oversells_recorded: int = 0
    wrong_state: int = 0  # orders whose hub status, reservation or sale differs from the store
    verify: int = 0  # balances that differ from their journal (``hub stock verify``)
    differences: int = 0  # (store, SKU) whose quantity differs from the hub's ATP
    store_orders: int = 0
    hub_orders: int = 0
    held: int = 0
    dead_letters: list[str] = field(default_factory=list)  # what would need ``hub retry``
    details: list[str] = field(default_factory=list)

    def zero(self) -> bool:
        figures = (self.missing, self.duplicated, self.oversold, self.wrong_state)
        return not any(figures) and not self.verify and not self.differences


def judge(hub: Hub, stores: Stores, wire: Wire, kills: list[Kill]) -> Verdict:
    """Compare every store's orders and quantities with the hub."""
    verdict = Verdict()
    by_order = hub.read(_orders_in_hub)
    held = 0
    for channel, store in stores.stores.items():
        for order in store.orders():
            verdict.store_orders += 1
            rows = by_order.get((channel, order.id), [])
            if not rows:
                verdict.missing += 1
                verdict.details.append(_missing(hub, channel, order, kills))
                continue
            if len(rows) > 1:
                verdict.duplicated += len(rows) - 1
            row = rows[0]
            held += row["status"] == "on_hold"
            problem = _state_problem(order, row)
            if problem:
                verdict.wrong_state += 1
                verdict.details.append(_wrong(hub, channel, order, row, problem))
    verdict.hub_orders = sum(len(rows) for rows in by_order.values())
    verdict.held = held
    verdict.oversold, verdict.oversells_recorded = hub.read(_oversold)
    if verdict.oversold or verdict.oversells_recorded:
        verdict.details += hub.read(_oversold_details)
    verdict.dead_letters = hub.read(_dead_letters)
    problems = hub.read(ledger.verify)
    verdict.verify = len(problems)
    verdict.details += [f"hub stock verify: {p}" for p in problems]
    for channel, store in stores.stores.items():
        skus = [item.sku for item in CATALOGUE]
        available = hub.available(channel, skus)
        for sku in skus:
            shown = store.stock(sku)
            if shown is not None and shown != available.get(sku, 0):
                verdict.differences += 1
                verdict.details.append(
                    _difference(hub, wire, kills, channel, sku, shown, available.get(sku, 0))
                )
    return verdict


def _orders_in_hub(conn: Connection) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each order with its units asked, reserved now and sold, by (channel, external id)."""
    m = movement_t.c
    moved = {
        r.order_id: (int(r.reserved), int(-r.on_hand))
        for r in conn.execute(
            sa.select(
                m.order_id,
                sa.func.sum(m.reserved_delta).label("reserved"),
                sa.func.sum(m.on_hand_delta).label("on_hand"),
            )
            .where(m.order_id.is_not(None))
            .group_by(m.order_id)
        )
    }
    asked: dict[int, int] = dict(
        conn.execute(
            sa.select(order_line_t.c.order_id, sa.func.sum(order_line_t.c.quantity)).group_by(
                order_line_t.c.order_id
            )
        ).all()
    )
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(sa.select(order_t)).mappings():
        reserved, sold = moved.get(row["id"], (0, 0))
        found[(row["channel"], row["external_id"])].append(
            {**row, "asked": int(asked.get(row["id"], 0)), "reserved": reserved, "sold": sold}
        )
    return found


def _state_problem(order: DemoOrder, row: dict[str, Any]) -> str:
    units = sum(order.lines.values())
    status, reserved, sold = row["status"], row["reserved"], row["sold"]
    if order.status == "open":
        if status == "open" and reserved == units and sold == 0:
            return ""
        if status == "on_hold" and reserved == 0 and sold == 0:
            return ""
        return f"open in the store with {units} units: expected reserved {units} (or held)"
    if order.status == "cancelled":
        # a till's sale is undone by a return and refund: the hub has it refunded
        if status in ("cancelled", "refunded") and reserved == 0 and sold == 0:
            return ""
        return "cancelled in the store: expected cancelled, nothing reserved or sold"
    if order.status == "fulfilled":
        if status == "fulfilled" and reserved == 0 and sold == units:
            return ""
        return f"shipped by the store: expected fulfilled, {units} sold, nothing reserved"
    return f"store status {order.status!r} is not one the harness expects"


def _dead_letters(conn: Connection) -> list[str]:
    d = dead_letter_t.c
    rows = conn.execute(
        sa.select(d.channel, d.kind, d.reference, d.error).where(d.retried_at.is_(None))
    ).all()
    return [f"{r.channel} {r.kind} {r.reference}: {r.error[:160]}" for r in rows]


def _oversold(conn: Connection) -> tuple[int, int]:
    """Units promised beyond the stock received and not recorded as oversells, summed over
    SKUs; and the units recorded as oversells (final sales past the stock)."""
    m = movement_t.c

    def per_sku(table: Any, amount: Any, where: Any = sa.true()) -> dict[str, int]:
        query = (
            sa.select(product_t.c.sku, sa.func.sum(amount))
            .join(product_t, product_t.c.id == table.c.product_id)
            .where(where)
            .group_by(product_t.c.sku)
        )
        return {sku: int(units) for sku, units in conn.execute(query)}

    promised = per_sku(movement_t, m.reserved_delta - m.on_hand_delta, m.order_id.is_not(None))
    received = per_sku(movement_t, m.on_hand_delta, m.kind == "receipt")
    recorded = per_sku(oversell_t, oversell_t.c.quantity)
    unexplained = sum(
        max(0, units - received.get(sku, 0) - recorded.get(sku, 0))
        for sku, units in promised.items()
    )
    return unexplained, sum(recorded.values())


# -- what the engineers fixing a fault need to see ----------------------------------------


def _oversold_details(conn: Connection) -> list[str]:
    """For each SKU promised beyond its receipts: its journal, move by move, with orders."""
    m, o = movement_t.c, order_t.c
    rows = conn.execute(
        sa.select(
            product_t.c.sku,
            m.kind,
            m.on_hand_delta,
            m.reserved_delta,
            m.created_at,
            o.channel,
            o.external_id,
            o.status,
        )
        .join(product_t, product_t.c.id == m.product_id)
        .outerjoin(order_t, o.id == m.order_id)
        .order_by(m.id)
    ).all()
    received: dict[str, int] = defaultdict(int)
    promised: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.kind == "receipt":
            received[r.sku] += r.on_hand_delta
        elif r.external_id is not None:
            promised[r.sku] += r.reserved_delta - r.on_hand_delta
    over = {sku for sku in promised if promised[sku] > received[sku]}
    v = oversell_t.c
    recorded: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(
        sa.select(product_t.c.sku, v.channel, v.reference, v.quantity).join(
            product_t, product_t.c.id == v.product_id
        )
    ):
        recorded[r.sku].append(f"{r.channel} {r.reference} {r.quantity}")
    lines = []
    for sku in sorted(over):
        moves = [
            f"{r.created_at:%H:%M:%S.%f}"[:-3]
            + f" {r.kind} {r.on_hand_delta:+d}/{r.reserved_delta:+d}"
            + (f" {r.channel} {r.external_id} ({r.status})" if r.external_id else "")
            for r in rows
            if r.sku == sku
        ]
        lines.append(
            f"oversold {sku}: promised {promised[sku]}, received {received[sku]}; "
            f"recorded as oversells: {', '.join(recorded[sku]) or 'none'}; "
            f"journal (on hand/reserved): {'; '.join(moves)}"
        )
    return lines


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%H:%M:%S.%f")[:-3]


def _kills_text(kills: list[Kill], around: float | None = None, token: Any = None) -> str:
    chosen = [
        k
        for k in kills
        if (around is None or abs(k.at - around) < 5)
        and (token is None or token.search(k.body) is not None)
    ]
    return ", ".join(f"{_when(k.at)} {k.phase} (worker {k.worker})" for k in chosen) or "none"


def _history(conn: Connection, order_id: int) -> str:
    events = conn.execute(
        sa.select(order_event_t.c.status, order_event_t.c.note, order_event_t.c.actor)
        .where(order_event_t.c.order_id == order_id)
        .order_by(order_event_t.c.id)
    ).all()
    moves = conn.execute(
        sa.select(movement_t.c.kind, movement_t.c.on_hand_delta, movement_t.c.reserved_delta)
        .where(movement_t.c.order_id == order_id)
        .order_by(movement_t.c.id)
    ).all()
    said = "; ".join(f"{s} {n!r} by {a}" for s, n, a in events)
    moved = "; ".join(f"{k} on hand {h:+d} reserved {r:+d}" for k, h, r in moves)
    return f"history: {said or 'none'}; journal: {moved or 'none'}"


def _missing(hub: Hub, channel: str, order: DemoOrder, kills: list[Kill]) -> str:
    number = re.escape(order.id).encode()
    token = re.compile(rb'"id":\s*' + number + rb"\b|/Order/" + number + rb"\b")

    def look(conn: Connection) -> str:
        rows = conn.execute(
            sa.select(inbox_t.c.id, inbox_t.c.topic, inbox_t.c.status, inbox_t.c.body).where(
                inbox_t.c.channel == channel
            )
        ).all()
        seen = [f"{r.topic} {r.status}" for r in rows if token.search(bytes(r.body))]
        s = sync_state_t.c
        pull = conn.execute(
            sa.select(s.cursor, s.high_water, s.last_success_at, s.last_error).where(
                s.channel == channel, s.job == "pull"
            )
        ).first()
        state = (
            f"cursor {pull.cursor!r}, high water {pull.high_water}, last success "
            f"{pull.last_success_at}, last error {pull.last_error!r}"
            if pull
            else "never pulled"
        )
        return f"inbox rows for it: {seen or 'none'}; pull: {state}"

    return (
        f"missing: {channel} order {order.id} ({order.status}, {order.lines}); "
        f"{hub.read(look)}; kills with it on the wire: {_kills_text(kills, token=token)}"
    )


def _wrong(hub: Hub, channel: str, order: DemoOrder, row: dict[str, Any], problem: str) -> str:
    return (
        f"wrong state: {channel} order {order.id} {order.lines}: {problem}; hub has "
        f"{row['status']} (hold {row['hold_reason']!r}), reserved {row['reserved']}, "
        f"sold {row['sold']}; {hub.read(lambda c: _history(c, row['id']))}"
    )


def _difference(
    hub: Hub, wire: Wire, kills: list[Kill], channel: str, sku: str, shown: int, atp: int
) -> str:
    def look(conn: Connection) -> tuple[Any, Any, Any]:
        listing = (
            conn.execute(
                sa.select(listing_t)
                .join(product_t, product_t.c.id == listing_t.c.product_id)
                .where(listing_t.c.channel == channel, product_t.c.sku == sku)
            )
            .mappings()
            .first()
        )
        queued = conn.execute(
            sa.select(outbox_t.c.claimed_by, outbox_t.c.attempts, outbox_t.c.last_error)
            .join(product_t, product_t.c.id == outbox_t.c.product_id)
            .where(outbox_t.c.channel == channel, product_t.c.sku == sku)
        ).first()
        reconciled = conn.execute(
            sa.select(sync_state_t.c.last_success_at).where(
                sync_state_t.c.channel == channel, sync_state_t.c.job == "reconcile"
            )
        ).scalar()
        return listing, queued, reconciled

    listing, queued, reconciled = hub.read(look)
    external = str(listing["external_id"]) if listing else "?"
    token = re.compile(
        re.escape(external.encode())
        if not external.isdigit()
        else rb'"id":\s*' + external.encode() + rb"\b|/" + external.encode() + rb"\b"
    )
    pushes = [
        r for r in wire.requests if r.store == channel and token.search(r.body + r.path.encode())
    ]
    last = ", ".join(f"{_when(r.at)} {r.phase}" for r in pushes[-4:]) or "none"
    held = (
        f"confirmed {listing['confirmed_quantity']}, unconfirmed {listing['unconfirmed']}, "
        f"event_at {listing['event_at']}"
        if listing
        else "no listing"
    )
    return (
        f"difference: {channel} {sku} (id {external}): store shows {shown}, hub offers {atp}; "
        f"listing {held}; outbox {queued or 'empty'}; last reconcile {reconciled or 'never'}; "
        f"last requests naming it: {last}; kills with it on the wire: "
        f"{_kills_text(kills, token=token)}"
    )
