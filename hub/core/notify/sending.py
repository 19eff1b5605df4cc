"""Sending the queued customer messages, and recording what the services report.

:func:`send_due` leases due ``notification_message`` rows, commits each ``sending``
before its notifier is called, and records the provider's id with ``sent``, a backoff,
or ``failed``; :func:`recover` fails rows a stopped process left ``sending`` (they are
never sent twice); :func:`record_report` takes a status callback (see
:mod:`hub.core.notify` for the whole story).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import in_list, is_sqlite
from hub.core.models import notification_message_t, now
from hub.errors import InvalidInput
from hub.shipping import DeliveryReport, NotificationRefused, OutgoingMessage

if TYPE_CHECKING:
    from hub.core.config import Settings
    from hub.core.runtime import Hub

log = logging.getLogger("hub.notify")

QUEUED, SENDING, SENT = "queued", "sending", "sent"
DELIVERED, UNDELIVERED, FAILED, SUPPRESSED = "delivered", "undelivered", "failed", "suppressed"
STATUSES = (QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED, FAILED, SUPPRESSED)
#: A status report never moves a message back: sent < delivered, undelivered, failed.
_RANK = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, UNDELIVERED: 3, FAILED: 3}
BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=5)  # longer than any notifier's time-outs
BATCH = 20


def public_url(settings: Settings) -> str:
    """Where customers and services reach the hub: ``[notifications] public_url``, else
    ``http://<web host>:<web port>``."""
    return settings.notifications.public_url or f"http://{settings.web.host}:{settings.web.port}"


# -- sending ---------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one :func:`send_due` run did: message ids by outcome."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.retrying or self.failed)


def _due(stamp: datetime) -> sa.Select:
    m = notification_message_t.c
    return sa.select(m.id).where(
        m.status == QUEUED,
        sa.or_(m.next_attempt_at.is_(None), m.next_attempt_at <= stamp),
        sa.or_(m.claimed_until.is_(None), m.claimed_until < stamp),
    )


def send_due(
    hub: Hub, worker: str = "hub", *, at: datetime | None = None, limit: int = 500
) -> SendReport:
    """Send every message that is due at ``at`` (default now), at most ``limit``.

    Blocking (notifiers talk to their services): call it from a worker thread. Each
    message is committed ``sending`` before its notifier is called, then ``sent`` with
    the provider's id, or queued again with a backoff, or ``failed`` (see the module's
    docstring). Raises nothing for a failing message: its row records what happened.
    """
    report = SendReport()
    seen: set[int] = set()
    while len(seen) < limit:
        stamp = at or now()
        if not hub.read(lambda c, s=stamp: c.scalar(_due(s).limit(1))):
            break
        batch = hub.write(lambda c, s=stamp: _claim(c, worker, s, min(BATCH, limit - len(seen))))
        batch = [row for row in batch if row["id"] not in seen]
        if not batch:
            break
        for row in batch:
            seen.add(row["id"])
            outcome = _send_one(hub, worker, row, at)
            getattr(report, outcome).append(row["id"])
    return report


def _claim(conn: Connection, worker: str, stamp: datetime, limit: int) -> list[dict[str, Any]]:
    m = notification_message_t.c
    query = _due(stamp).order_by(m.id).limit(limit)
    if not is_sqlite(conn):
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.scalars(query))
    if not ids:
        return []
    conn.execute(
        notification_message_t.update()
        .where(in_list(conn, m.id, ids), m.status == QUEUED)
        .values(
            status=SENDING,
            attempts=m.attempts + 1,
            claimed_by=worker,
            claimed_until=stamp + LEASE,
            status_at=stamp,
        )
    )
    query = sa.select(notification_message_t).where(
        in_list(conn, m.id, ids), m.claimed_by == worker, m.status == SENDING
    )
    return [dict(r) for r in conn.execute(query.order_by(m.id)).mappings()]


def _send_one(hub: Hub, worker: str, row: Mapping[str, Any], at: datetime | None) -> str:
    section = hub.settings.notifications
    callback = f"{public_url(hub.settings)}/notifications/{row['notifier']}/status"
    message = OutgoingMessage(
        to=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        reference=row["idempotency_key"],
        status_callback=callback,
    )
    try:
        provider_id = hub.notifier(row["notifier"]).send(message)
    except NotificationRefused as error:
        refusal = f"refused: {error}"
        hub.write(lambda c: _settle(c, row, worker, FAILED, refusal, at))
        log.warning("message %s to order %s %s", row["id"], row["order_id"], refusal)
        return "failed"
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        if row["attempts"] >= section.max_attempts:
            hub.write(lambda c: _settle(c, row, worker, FAILED, reason, at))
            return "failed"
        hub.write(lambda c: _retry(c, row, worker, reason, at))
        log.warning("message %s not sent (attempt %s): %s", row["id"], row["attempts"], reason)
        return "retrying"
    hub.write(lambda c: _settle(c, row, worker, SENT, "", at, provider_id=str(provider_id)))
    return "sent"


def _mine(row: Mapping[str, Any], worker: str) -> Any:
    m = notification_message_t.c
    return sa.and_(m.id == row["id"], m.claimed_by == worker, m.status == SENDING)


def _settle(
    conn: Connection,
    row: Mapping[str, Any],
    worker: str,
    status: str,
    detail: str,
    at: datetime | None,
    provider_id: str = "",
) -> None:
    stamp = at or now()
    values: dict[str, Any] = {
        "status": status,
        "status_detail": detail[:2000],
        "status_at": stamp,
        "claimed_by": "",
        "claimed_until": None,
        "next_attempt_at": None,
    }
    if status == SENT:
        values.update(provider_id=provider_id, sent_at=stamp)
    else:
        values.update(failed_at=stamp)
    conn.execute(notification_message_t.update().where(_mine(row, worker)).values(**values))


def _retry(
    conn: Connection, row: Mapping[str, Any], worker: str, reason: str, at: datetime | None
) -> None:
    stamp = at or now()
    delay = min(MAX_BACKOFF, BACKOFF * 2 ** max(0, row["attempts"] - 1))
    conn.execute(
        notification_message_t.update()
        .where(_mine(row, worker))
        .values(
            status=QUEUED,
            status_detail=reason[:2000],
            status_at=stamp,
            next_attempt_at=stamp + delay,
            claimed_by="",
            claimed_until=None,
        )
    )


def recover(hub: Hub, at: datetime | None = None) -> int:
    """Fail messages left ``sending`` past their lease (the process died during the
    call): they may have reached the customer, so they are not sent again. Returns how
    many."""
    stamp = at or now()
    m = notification_message_t.c
    reason = (
        "the hub stopped while handing it to the provider; not sent again so that the "
        "customer gets no duplicate"
    )
    update = (
        notification_message_t.update()
        .where(m.status == SENDING, m.claimed_until < stamp)
        .values(
            status=FAILED,
            status_detail=reason,
            status_at=stamp,
            failed_at=stamp,
            claimed_by="",
            claimed_until=None,
        )
    )
    return int(hub.write(lambda c: c.execute(update).rowcount) or 0)


# -- status reports --------------------------------------------------------------------------


def record_report(conn: Connection, notifier: str, report: DeliveryReport) -> bool:
    """Record a provider's status report for the message it knows as
    ``report.provider_id``; a status never moves back (a late "sent" after "delivered"
    changes nothing). Returns False when no message of ``notifier`` has that id.
    Raises :class:`InvalidInput` for a status the hub does not know."""
    if report.status not in _RANK:
        raise InvalidInput(f"unknown delivery status {report.status!r}", field="status")
    m = notification_message_t.c
    row = conn.execute(
        sa.select(m.id, m.status).where(
            m.notifier == notifier, m.provider_id == report.provider_id, m.provider_id != ""
        )
    ).first()
    if row is None:
        return False
    if _RANK[report.status] <= _RANK.get(row.status, 3) and report.status != row.status:
        return True
    stamp = now()
    values: dict[str, Any] = {"status": report.status, "status_at": stamp}
    if report.detail:
        values["status_detail"] = report.detail[:2000]
    if report.status == DELIVERED:
        values["delivered_at"] = stamp
    elif report.status in (UNDELIVERED, FAILED):
        values["failed_at"] = stamp
    conn.execute(notification_message_t.update().where(m.id == row.id).values(**values))
    return True
