"""What ``hub status``, the status page and ``/metrics`` show, per channel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.models import (
    dead_letter_t,
    inbox_t,
    location_t,
    now,
    outbox_t,
    oversell_t,
    product_t,
    sync_state_t,
)
from hub.core.secrets import redact
from hub.core.shipments import FAILED, PENDING, unsent_counts


@dataclass
class ChannelStatus:
    """One channel's sync health."""

    channel: str
    last_pull: datetime | None = None
    last_push: datetime | None = None
    pull_lag_seconds: float | None = None
    outbox: int = 0
    inbox: int = 0
    dead_letters: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    drift: int | None = None
    shipments_pending: int = 0  # shipments the channel has not confirmed yet
    shipments_failed: int = 0  # shipments it refused (or that ran out of attempts)
    headroom: dict[str, float] = field(default_factory=dict)
    # final sales the hub's stock could not cover, not yet resolved: "SKU@location" ->
    # units handed over beyond the stock (the location's balance is below zero by them)
    oversold: dict[str, int] = field(default_factory=dict)

    @property
    def oversells(self) -> int:
        """Units sold beyond the stock, to investigate (see :attr:`oversold`)."""
        return sum(self.oversold.values())

    @property
    def oversold_text(self) -> str:
        """:attr:`oversold` in words, as status listings show it: ``"MUG@store 1, TEE@store 2"``."""
        return ", ".join(f"{where} {units}" for where, units in sorted(self.oversold.items()))

    @property
    def failing(self) -> bool:
        """A job of this channel failed on its last run."""
        return any(self.failures.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failing": self.failing, "oversells": self.oversells}


def channel_status(conn: Connection, channels: list[str]) -> list[ChannelStatus]:
    """Health of every configured channel (and any with sync history)."""
    found = {name: ChannelStatus(name) for name in channels}
    stamp = now()
    for row in conn.execute(sa.select(sync_state_t)).mappings():
        status = found.setdefault(row["channel"], ChannelStatus(row["channel"]))
        status.failures[row["job"]] = row["failures"]
        if row["last_error"]:
            status.errors[row["job"]] = row["last_error"]
        if row["job"] == "pull":
            status.last_pull = row["last_success_at"]
            if row["last_success_at"]:
                status.pull_lag_seconds = (stamp - row["last_success_at"]).total_seconds()
        elif row["job"] == "push":
            status.last_push = row["last_success_at"]
        if row["job"] in ("pull", "push"):  # the newest of the two snapshots wins
            detail = json.loads(row["detail"] or "{}")
            if "available" in detail:
                status.headroom = {k: detail[k] for k in ("available", "capacity", "restore_rate")}
        elif row["job"] == "reconcile":
            status.drift = json.loads(row["detail"] or "{}").get("drift")
    for column, table, where in (
        ("outbox", outbox_t, None),
        ("inbox", inbox_t, inbox_t.c.status == "pending"),
        ("dead_letters", dead_letter_t, dead_letter_t.c.retried_at.is_(None)),
    ):
        query = sa.select(table.c.channel, sa.func.count()).group_by(table.c.channel)
        if where is not None:
            query = query.where(where)
        for name, count in conn.execute(query):
            setattr(found.setdefault(name, ChannelStatus(name)), column, int(count))
    for name, states in unsent_counts(conn).items():
        status = found.setdefault(name, ChannelStatus(name))
        status.shipments_pending = states.get(PENDING, 0)
        status.shipments_failed = states.get(FAILED, 0)
    v = oversell_t.c
    query = (
        sa.select(v.channel, product_t.c.sku, location_t.c.code, sa.func.sum(v.quantity))
        .join(product_t, product_t.c.id == v.product_id)
        .join(location_t, location_t.c.id == v.location_id)
        .where(v.resolved_at.is_(None))
        .group_by(v.channel, product_t.c.sku, location_t.c.code)
    )
    for name, sku, code, units in conn.execute(query):
        found.setdefault(name, ChannelStatus(name)).oversold[f"{sku}@{code}"] = int(units)
    return [found[name] for name in sorted(found)]


def hide_secrets(statuses: list[ChannelStatus], secrets: Sequence[str]) -> list[ChannelStatus]:
    """``statuses`` with any configured secret a plugin put in an error masked."""
    for status in statuses:
        status.errors = {job: redact(text, secrets) for job, text in status.errors.items()}
    return statuses
