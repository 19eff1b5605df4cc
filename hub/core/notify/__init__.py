"""Customer notifications: an outbox of messages about orders, sent by notifier plugins.

Five events are told to customers: ``confirmed`` (intake stored the order open),
``dispatched`` (it shipped; with the ETA window when the order is on a planned route),
``next_stop`` (the driver is on the way to it: "you're next, about 10 minutes"),
``delivered`` (with the proof) and ``failed`` (with how to rebook). The hub queues
``confirmed``, ``dispatched`` and ``delivered`` itself (:class:`hub.core.runtime.Hub`,
in a transaction of their own right after the change committed: a failure to queue is
logged and never undoes the shipment); the driver app calls :func:`next_stop`,
:func:`delivered` (with the proof) and :func:`failed` in its own transaction, so the
message is written with the driver's action or not at all.

Exactly once, by construction (the stock outbox's approach):

1. An event writes one ``notification_message`` row per configured kind (e-mail, SMS),
   rendered and with an idempotency key ``<order>:<event>:<kind>[:<attempt>]`` that is
   unique: the same event reported twice writes nothing the second time.
2. :func:`send_due` leases due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), marks each
   ``sending`` and commits that before it calls the notifier; the provider's id is stored
   with ``sent``. A failure the service may get over (5xx, time-out) puts the row back in
   the queue with a backoff (30 s, doubling, at most an hour) until ``max_attempts``; a
   refusal (:class:`hub.NotificationRefused`) fails it at once.
3. A row still ``sending`` when its lease ran out (the process died during the call) is
   not sent again, since it may have reached the customer: :func:`recover` marks it
   ``failed`` with that reason, for a person to look at (``hub notifications list``).

Quiet hours (``[notifications] quiet_start``/``quiet_end``, customers' zone): a message
due then waits in the queue until they end, except ``next_stop``, which is stale by
morning and is recorded ``suppressed`` instead. A recipient who opted out (by the link
in every message, or ``hub notifications opt-out``) gets nothing; the message is
recorded ``suppressed`` with the reason, as is one for an order without that contact.
Status reports (Twilio's status callbacks) move a sent message to ``delivered``,
``undelivered`` or ``failed`` (:func:`record_report`).

Sending and status reports live in :mod:`hub.core.notify.sending`, templates in
:mod:`hub.core.notify.render`, the tracking page's tokens, ETA and feedback in
:mod:`hub.core.notify.tracking`; everything a caller needs is importable from here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from hub.core.db import in_list, is_sqlite
from hub.core.models import (
    notification_message_t,
    notification_opt_out_t,
    now,
    order_t,
    planned_route_t,
    planned_stop_t,
    tracking_token_t,
)
from hub.core.notify import render as rendering
from hub.core.notify.sending import (
    DELIVERED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    STATUSES,
    SUPPRESSED,
    UNDELIVERED,
    SendReport,
    public_url,
    record_report,
    recover,
    send_due,
)
from hub.core.notify.tracking import ensure_token, set_eta
from hub.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from hub.core.config import NotificationsSection, Settings
    from hub.core.runtime import Hub

log = logging.getLogger("hub.notify")

EVENTS = ("confirmed", "dispatched", "next_stop", "delivered", "failed")
__all__ = [
    "DELIVERED",
    "EVENTS",
    "FAILED",
    "QUEUED",
    "SENDING",
    "SENT",
    "STATUSES",
    "SUPPRESSED",
    "UNDELIVERED",
    "SendReport",
    "any_recipient_key",
    "confirm_orders",
    "confirmed",
    "delivered",
    "dispatched",
    "customer_zone",
    "failed",
    "language_for",
    "messages",
    "next_stop",
    "notifier_kinds",
    "opt_in",
    "opt_out",
    "opt_out_order",
    "opted_out",
    "order_ids",
    "planned_window",
    "public_url",
    "queue",
    "quiet_until",
    "recipient_key",
    "record_report",
    "recover",
    "send_due",
]
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# -- who, in which language, when ---------------------------------------------------------


def recipient_key(kind: str, contact: str) -> str:
    """The form a recipient is stored and compared in: an e-mail address in lower case,
    a phone number without spaces, dashes, dots or brackets (``+1 (555) 123-4567`` is
    ``+15551234567``). Empty when ``contact`` is not a usable address of ``kind``."""
    contact = (contact or "").strip()
    if kind == "email":
        return contact.lower() if _EMAIL.match(contact) else ""
    number = re.sub(r"[\s().\-]", "", contact)
    if number.startswith("00"):
        number = "+" + number[2:]
    return number if _E164.match(number) else ""


def any_recipient_key(contact: str) -> str:
    """:func:`recipient_key` for whichever kind ``contact`` is; :class:`InvalidInput`
    when it is neither an e-mail address nor a phone number in international form."""
    key = recipient_key("email", contact) or recipient_key("sms", contact)
    if not key:
        raise InvalidInput(
            f"{contact!r} is neither an e-mail address nor a phone number in "
            "international form (+4930123456)",
            field="recipient",
        )
    return key


def _contact(order: Any, kind: str) -> str:
    if kind == "email":
        return str(order["customer_email"] or "")
    return str(order["ship_phone"] or order["customer_phone"] or "")


def customer_zone(settings: Settings) -> ZoneInfo:
    """The zone times are shown in: ``[notifications] timezone``, else the routing zone."""
    return ZoneInfo(
        settings.notifications.timezone or settings.routing.timezone or settings.hub.timezone
    )


def language_for(section: NotificationsSection, country: str) -> str:
    """The customer's language from the shipping country (ISO code), else the default."""
    return section.country_languages.get((country or "").upper(), section.default_language)


def quiet_until(section: NotificationsSection, zone: ZoneInfo, at: datetime) -> datetime | None:
    """When the quiet hours around ``at`` end (aware UTC), or None when ``at`` is not in
    quiet hours. Computed on the customers' local clock, so a change of daylight saving
    time keeps "until 08:00" at 08:00."""
    start, end = section.quiet_start, section.quiet_end
    if start == end:
        return None
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    quiet = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not quiet:
        return None
    day: date = local.date() if clock < end else local.date() + timedelta(days=1)
    return _local(day, end, zone)


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(ZoneInfo("UTC"))


# -- queueing --------------------------------------------------------------------------------


def queue(
    hub: Hub,
    conn: Connection,
    order_id: int,
    event: str,
    details: Mapping[str, Any] | None = None,
    *,
    discriminator: str = "",
    at: datetime | None = None,
) -> list[int]:
    """Write the messages of ``event`` for order ``order_id`` in ``conn``'s transaction:
    one per kind of configured notifier (the first notifier of each kind), rendered now.

    ``details`` are the template's variables for the event (``eta_start``, ``eta_end``,
    ``minutes``, ``proof``, ``reason``, ``delivered_at``); ``discriminator`` makes a
    repeated event a new message (a second failed attempt). Returns the ids of rows
    written (empty when these messages exist already, notifications are off, the event
    is not enabled, or no notifier is configured). A template that cannot be rendered
    records the message ``failed`` naming the template; nothing is raised for it.
    Raises :class:`NotFound` for an unknown order and :class:`InvalidInput` for an
    unknown event.
    """
    if event not in EVENTS:
        raise InvalidInput(f"unknown event {event!r} (one of: {', '.join(EVENTS)})", field="event")
    section = hub.settings.notifications
    kinds = notifier_kinds(hub)
    if not section.enabled or event not in section.events or not kinds:
        return []
    order = conn.execute(sa.select(order_t).where(order_t.c.id == order_id)).mappings().first()
    if order is None:
        raise NotFound(f"no order {order_id}", field="order")
    stamp = at or now()
    zone = customer_zone(hub.settings)
    token = ensure_token(conn, order_id)
    base = public_url(hub.settings)
    language = language_for(section, order["ship_country"])
    context = {
        "merchant": hub.settings.hub.name,
        "order_number": order["number"] or order["external_id"],
        "customer_name": order["ship_name"] or order["customer_name"],
        "tracking_url": f"{base}/track/{token}",
        "opt_out_url": f"{base}/track/{token}/opt-out",
        "rebook": section.rebook.get(language) or section.rebook.get(section.default_language, ""),
        "eta_start": None,
        "eta_end": None,
        "minutes": None,
        "proof": "",
        "reason": "",
        "delivered_at": None,
        **(details or {}),
    }
    env = rendering.environment(section.templates, order["channel"])
    written = []
    for kind, (name, provider) in kinds.items():
        key = f"{order_id}:{event}:{kind}" + (f":{discriminator}" if discriminator else "")
        row = _message_row(conn, order, event, kind, key, stamp, zone, language, section)
        row.update(notifier=name, provider=provider)
        if row["status"] != SUPPRESSED:
            try:
                done = rendering.render(
                    env, event, kind, language, section.default_language, zone, context
                )
                row.update(
                    template=done.template,
                    language=done.language,
                    subject=done.subject,
                    body=done.body,
                )
            except rendering.TemplateProblem as problem:
                row.update(status=FAILED, status_detail=str(problem), failed_at=stamp)
        new_id = _insert_once(conn, row)
        if new_id is not None:
            written.append(new_id)
    return written


def notifier_kinds(hub: Hub) -> dict[str, tuple[str, str]]:
    """``{kind: (notifier name, its type)}``: the first configured notifier of each kind."""
    kinds: dict[str, tuple[str, str]] = {}
    for name, config in hub.notifier_configs.items():
        kind = getattr(hub.plugins.notifier_types[config.type], "kind", "email")
        kinds.setdefault(kind, (name, config.type))
    return kinds


def _message_row(
    conn: Connection,
    order: Any,
    event: str,
    kind: str,
    key: str,
    stamp: datetime,
    zone: ZoneInfo,
    language: str,
    section: NotificationsSection,
) -> dict[str, Any]:
    """The row to write before rendering: whom, and whether and when it may be sent."""
    recipient = recipient_key(kind, _contact(order, kind))
    row: dict[str, Any] = {
        "order_id": order["id"],
        "event": event,
        "kind": kind,
        "recipient": recipient,
        "template": f"{language}/{event}.{kind}.txt",
        "language": language,
        "subject": "",
        "body": "",
        "idempotency_key": key,
        "status": QUEUED,
        "status_detail": "",
        "provider_id": "",
        "attempts": 0,
        "next_attempt_at": stamp,
        "claimed_by": "",
        "created_at": stamp,
        "status_at": stamp,
    }
    if not recipient:
        what = "e-mail address" if kind == "email" else "phone number in international form"
        row.update(status=SUPPRESSED, status_detail=f"the order has no {what}")
    elif opted_out(conn, recipient):
        row.update(status=SUPPRESSED, status_detail="the recipient opted out")
    else:
        until = quiet_until(section, zone, stamp)
        if until is not None and event == "next_stop":
            row.update(status=SUPPRESSED, status_detail="quiet hours: stale by the time they end")
        elif until is not None:
            local = until.astimezone(zone)
            row.update(next_attempt_at=until, status_detail=f"quiet hours until {local:%H:%M %Z}")
    return row


def _insert_once(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert unless the idempotency key exists; the new id, or None."""
    maker = sqlite_insert if is_sqlite(conn) else pg_insert
    stmt = (
        maker(notification_message_t)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(notification_message_t.c.id)
    )
    return conn.scalar(stmt)


# -- the events --------------------------------------------------------------------------------


def confirmed(hub: Hub, conn: Connection, order_id: int) -> list[int]:
    """The order was stored open: "order confirmed". Returns the message ids written."""
    return queue(hub, conn, order_id, "confirmed")


def confirm_orders(
    hub: Hub, conn: Connection, channel: str, external_ids: Sequence[str]
) -> list[int]:
    """:func:`confirmed` for ``channel``'s orders ``external_ids`` (intake's open ones)."""
    written: list[int] = []
    for order_id in order_ids(conn, channel, external_ids).values():
        written += confirmed(hub, conn, order_id)
    return written


def dispatched(hub: Hub, conn: Connection, order_id: int) -> list[int]:
    """The order shipped: "on its way", with the ETA window (planned arrival -/+
    ``eta_margin_minutes``, to 5 minutes) when it is on a stored route plan."""
    window = planned_window(conn, order_id, hub.settings.notifications.eta_margin_minutes)
    details: dict[str, Any] = {}
    if window is not None:
        details = {"eta_start": window[0], "eta_end": window[1]}
        set_eta(conn, order_id, window[0], window[1])
    return queue(hub, conn, order_id, "dispatched", details)


def next_stop(
    hub: Hub, conn: Connection, order_id: int, eta: datetime, *, stops_before: int = 0
) -> list[int]:
    """The driver is heading to this order next: "you're next, about N minutes".

    For the driver app, in its own transaction. ``eta`` is the expected arrival (aware);
    the minutes are counted from now and rounded to 5 (at least 5). The tracking page
    shows ``eta`` -/+ 5 minutes and ``stops_before``. Returns the message ids written
    (none the second time for the same order). Raises :class:`InvalidInput` for a naive
    ``eta``.
    """
    if eta.tzinfo is None:
        raise InvalidInput("the ETA needs a time zone (aware datetime)", field="eta")
    minutes = max(5, int(round((eta - now()).total_seconds() / 300)) * 5)
    set_eta(conn, order_id, eta - timedelta(minutes=5), eta + timedelta(minutes=5), stops_before)
    return queue(hub, conn, order_id, "next_stop", {"minutes": minutes, "eta_start": eta})


def delivered(
    hub: Hub, conn: Connection, order_id: int, *, proof: str = "", at: datetime | None = None
) -> list[int]:
    """The order was delivered at ``at`` (aware; default now); ``proof`` in words
    ("signed by J. Smith", "photo at the door"). For the driver app, in its own
    transaction; ``hub orders deliver`` sends it without proof. Once per order: the
    first call's message is the one sent."""
    stamp = at or now()
    set_eta(conn, order_id, None, None, None)
    return queue(hub, conn, order_id, "delivered", {"proof": proof, "delivered_at": stamp})


def failed(
    hub: Hub, conn: Connection, order_id: int, reason: str = "", *, attempt: int = 1
) -> list[int]:
    """A delivery attempt failed: "we could not deliver", with ``reason`` and how to
    rebook (``[notifications] rebook``). For the driver app, in its own transaction;
    ``attempt`` (1, 2, ...) makes each failed attempt a message of its own."""
    set_eta(conn, order_id, None, None, None)
    return queue(hub, conn, order_id, "failed", {"reason": reason}, discriminator=str(attempt))


def planned_window(
    conn: Connection, order_id: int, margin_minutes: int
) -> tuple[datetime, datetime] | None:
    """The ETA window of an order on a stored route: its stop's planned arrival -/+
    ``margin_minutes``, rounded out to 5 minutes (aware UTC); the newest plan's stop,
    dispatched routes first. None when the order is on no plan."""
    s, r = planned_stop_t.c, planned_route_t.c
    arrival = conn.scalar(
        sa.select(s.arrival)
        .join(planned_route_t, r.id == s.route_id)
        .where(s.order_id == order_id)
        .order_by(r.dispatched.desc(), r.plan_id.desc(), s.id.desc())
        .limit(1)
    )
    if arrival is None:
        return None
    margin = timedelta(minutes=margin_minutes)
    return _round(arrival - margin, down=True), _round(arrival + margin, down=False)


def _round(value: datetime, *, down: bool) -> datetime:
    value = value.replace(second=0, microsecond=0)
    extra = value.minute % 5
    if not extra:
        return value
    return value - timedelta(minutes=extra) if down else value + timedelta(minutes=5 - extra)


# -- opting out ------------------------------------------------------------------------------


def opted_out(conn: Connection, recipient: str) -> bool:
    """Whether ``recipient`` (as :func:`recipient_key` gives it) opted out."""
    o = notification_opt_out_t.c
    return conn.scalar(sa.select(o.id).where(o.recipient == recipient)) is not None


def opt_out(conn: Connection, recipient: str, source: str = "cli") -> bool:
    """Record that ``recipient`` (an e-mail address or phone number, in any spelling)
    wants no more messages, and suppress those of its messages still queued. Returns
    False when it had opted out already. Raises :class:`InvalidInput` for a contact
    that is neither."""
    key = any_recipient_key(recipient)
    maker = sqlite_insert if is_sqlite(conn) else pg_insert
    stmt = (
        maker(notification_opt_out_t)
        .values(recipient=key, source=source, created_at=now())
        .on_conflict_do_nothing(index_elements=["recipient"])
        .returning(notification_opt_out_t.c.id)
    )
    new = conn.scalar(stmt) is not None
    m = notification_message_t.c
    conn.execute(
        notification_message_t.update()
        .where(m.recipient == key, m.status == QUEUED)
        .values(status=SUPPRESSED, status_detail="the recipient opted out", status_at=now())
    )
    return new


def opt_in(conn: Connection, recipient: str) -> bool:
    """Undo an opt-out; False when ``recipient`` had not opted out."""
    o = notification_opt_out_t.c
    key = any_recipient_key(recipient)
    return bool(conn.execute(notification_opt_out_t.delete().where(o.recipient == key)).rowcount)


def opt_out_order(conn: Connection, token: str) -> list[str]:
    """The opt-out link of a message: the order's e-mail address and phone number opt
    out. Returns the recipients recorded; :class:`NotFound` for an unknown token."""
    t = tracking_token_t.c
    order = (
        conn.execute(
            sa.select(order_t)
            .join(tracking_token_t, t.order_id == order_t.c.id)
            .where(t.token == token)
        )
        .mappings()
        .first()
    )
    if order is None:
        raise NotFound("no order has this link", field="token")
    done = []
    for kind in ("email", "sms"):
        key = recipient_key(kind, _contact(order, kind))
        if key:
            opt_out(conn, key, "link")
            done.append(key)
    return done


# -- reading ---------------------------------------------------------------------------------


def messages(
    conn: Connection,
    *,
    order_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Messages, newest first, optionally of one order or in one status."""
    m = notification_message_t.c
    query = sa.select(notification_message_t, order_t.c.channel, order_t.c.external_id).join(
        order_t, order_t.c.id == m.order_id
    )
    if order_id is not None:
        query = query.where(m.order_id == order_id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(
                f"unknown status {status!r} (one of: {', '.join(STATUSES)})", field="status"
            )
        query = query.where(m.status == status)
    return [dict(r) for r in conn.execute(query.order_by(m.id.desc()).limit(limit)).mappings()]


def order_ids(conn: Connection, channel: str, external_ids: Sequence[str]) -> dict[str, int]:
    """Hub order ids of ``channel``'s orders by external id."""
    o = order_t.c
    rows = conn.execute(
        sa.select(o.external_id, o.id).where(
            o.channel == channel, in_list(conn, o.external_id, list(external_ids))
        )
    )
    return {external_id: int(order_id) for external_id, order_id in rows}
