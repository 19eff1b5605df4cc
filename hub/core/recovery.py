"""Picking up after a worker that died: its claims, its leases, its pushes in doubt.

Workers name themselves ``host:pid:...`` in every claim and lease. A claim held by a
process of this host that no longer runs will never be finished, so instead of waiting
for its lease to run out (up to a minute, while stores and hub disagree) the rows go
back to the queue at once. Listings whose push has no recorded answer are queued too,
so what was in flight is checked against the store right away.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from hub.core import inbox, outbox, shipments
from hub.core.confirmed import unconfirmed_products


@dataclass
class Recovery:
    """What :func:`recover` found: dead workers, rows freed, listings queued again."""

    dead_workers: list[str] = field(default_factory=list)
    outbox_rows: int = 0
    inbox_rows: int = 0
    shipments_leased: int = 0
    unconfirmed: int = 0

    @property
    def found(self) -> bool:
        """True when a dead worker left anything behind."""
        return bool(
            self.outbox_rows or self.inbox_rows or self.shipments_leased or self.unconfirmed
        )


def process_alive(pid: int) -> bool:
    """True when process ``pid`` runs on this machine (a zombie counts as dead)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # killed but not yet reaped by its parent: it will never work again
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def dead_here(worker: str, host: str | None = None) -> bool:
    """True when ``worker`` (``host:pid:...``) ran on this host and its process is gone."""
    parts = worker.split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return False
    return parts[0] == (host or socket.gethostname()) and not process_alive(int(parts[1]))


def recover(conn: Connection, *, requeue_unconfirmed: bool) -> Recovery:
    """Free the outbox claims and inbox leases of dead workers of this host; with
    ``requeue_unconfirmed`` (at start-up), queue every listing whose push is in doubt."""
    host = socket.gethostname()
    holders = outbox.claim_holders(conn) | inbox.lease_holders(conn)
    holders |= shipments.claim_holders(conn)
    dead = sorted(w for w in holders if dead_here(w, host))
    report = Recovery(dead_workers=dead)
    report.outbox_rows = outbox.release(conn, dead)
    report.inbox_rows = inbox.release(conn, dead)
    report.shipments_leased = shipments.release(conn, dead)  # sent again: fulfill is idempotent
    if requeue_unconfirmed:
        for channel, products in unconfirmed_products(conn).items():
            outbox.mark_channel(conn, channel, products)
            report.unconfirmed += len(products)
    return report
