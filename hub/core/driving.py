"""The driver app's rules: today's route as a driver sees it, what they do at a stop
(arrive, deliver with proof of delivery, fail with a reason) and where their phone is
(position pings). Drivers themselves and how they sign in: :mod:`hub.core.drivers`.

Rules, whatever the client:

- A driver drives the routes of their vehicle (``driver.vehicle`` is a ``[fleet.*]``
  name, as :attr:`planned_route.vehicle`) and only dispatched ones; an action or a ping
  for any other route raises :class:`NotYourRoute` (the API's 403).
- An action carries the phone's own id (``client_id``): (driver, client id) is unique in
  the database, so a batch sent twice (an offline queue replayed) is recorded once; the
  repeat is answered ``duplicate``.
- A batch is taken in the phone's time order (``phone_at``), all or nothing: one
  refused action refuses the batch, naming it, and nothing of it is recorded.
- Deliver ships the stop's orders that are still open (carrier ``fleet``), then marks
  them delivered through :mod:`hub.core.fulfilment`; a cancelled or held order refuses
  the action (:class:`hub.errors.Conflict`). A failed attempt keeps the order as it is
  and writes the reason into its history. A stop's outcome is its latest deliver or
  fail by phone time; nothing may fail a stop after (by phone time) it was delivered.
- A re-plan during the day continues a route under a new id (:mod:`hub.core.driven`):
  the earlier route stays dispatched, so actions for it still apply; a stop's state,
  "delivered already", failed attempts and "you're next" follow the stop (by its key)
  over the vehicle's dispatched routes of the day.
- Signatures and photos are checked by content (Pillow: PNG, JPEG or WebP) and size
  before anything is written, then kept under the driver media folder named by their
  SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hub.core import fulfilment, notify
from hub.core.config import Settings
from hub.core.db import run_in_transaction
from hub.core.drivers import DriverInfo
from hub.core.models import (
    driver_t,
    now,
    order_event_t,
    order_line_t,
    order_t,
    planned_route_t,
    planned_stop_t,
    product_t,
    route_action_t,
    tracking_feedback_t,
)
from hub.errors import Conflict, HubError, InvalidInput, NotFound
from hub.orders import OrderStatus

if TYPE_CHECKING:
    import threading

    from hub.core.runtime import Hub

CARRIER = "fleet"  # the carrier a driver's deliveries ship with: the own fleet
KINDS = ("arrive", "deliver", "fail")
#: why a delivery failed: code -> what the driver reads
FAIL_REASONS = {
    "not_home": "Nobody at home",
    "refused": "Refused by the recipient",
    "address_not_found": "Address not found",
    "no_access": "No access (gate, entry code)",
    "closed": "Business closed",
    "damaged": "Goods damaged",
    "no_time": "Ran out of time",
    "other": "Other (see note)",
}
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
SIGNATURE_MAX_BYTES = 512 * 1024
NEXT_STOP_FRESH = timedelta(minutes=30)  # older actions tell no customer "you're next"
FUTURE_SLACK = timedelta(minutes=10)  # a phone's clock may run this far ahead of ours
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class NotYourRoute(HubError):
    """A driver named a route (or stop) that is not theirs to drive."""


# -- the route as the driver sees it ---------------------------------------------------------


@dataclass
class StopView:
    """One stop of a route: where, when, what to hand over, how it went so far."""

    seq: int
    orders: list[dict[str, Any]]
    name: str
    address: str
    phone: str
    notes: str
    latitude: float | None
    longitude: float | None
    window_start: datetime | None
    window_end: datetime | None
    arrival: datetime
    items: list[dict[str, Any]]
    state: str = "pending"  # pending, arrived, delivered, failed, cancelled
    reason: str = ""

    @property
    def navigation_url(self) -> str:
        """A link that opens turn-by-turn directions to the stop on the phone."""
        from urllib.parse import quote

        if self.latitude is not None and self.longitude is not None:
            where = f"{self.latitude:.6f},{self.longitude:.6f}"
        else:
            where = self.address
        return f"https://www.google.com/maps/dir/?api=1&destination={quote(where, safe=',')}"


@dataclass
class RouteView:
    """A driver's route of one day, stops in the planned order."""

    id: int
    vehicle: str
    day: date
    departure: datetime
    stops: list[StopView] = field(default_factory=list)


def todays_route(conn: Connection, driver: DriverInfo, day: date) -> RouteView | None:
    """The dispatched route of the driver's vehicle on ``day`` (the newest plan's), or None."""
    r = planned_route_t.c
    row = (
        conn.execute(
            sa.select(planned_route_t)
            .where(r.vehicle == driver.vehicle, r.day == day, r.dispatched.is_(True))
            .order_by(r.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return route_view(conn, dict(row))


def route_view(conn: Connection, route: dict[str, Any]) -> RouteView:
    """The stops of stored route ``route`` (a planned_route row) with their orders, items
    and the state the driver's actions left them in."""
    s, o = planned_stop_t.c, order_t.c
    rows = conn.execute(
        sa.select(
            s.seq,
            s.arrival,
            o.id,
            o.channel,
            o.external_id,
            o.number,
            o.status,
            o.ship_name,
            o.company,
            o.ship_line1,
            o.ship_line2,
            o.ship_postcode,
            o.ship_city,
            o.ship_phone,
            o.customer_phone,
            o.notes,
            o.latitude,
            o.longitude,
            o.window_start,
            o.window_end,
        )
        .join(order_t, o.id == s.order_id)
        .where(s.route_id == route["id"])
        .order_by(s.seq, s.id)
    ).mappings()
    stops: dict[int, StopView] = {}
    order_ids: dict[int, int] = {}
    for row in rows:
        stop = stops.get(row["seq"])
        if stop is None:
            place = ", ".join(
                p
                for p in (
                    row["ship_line1"],
                    row["ship_line2"],
                    f"{row['ship_postcode']} {row['ship_city']}".strip(),
                )
                if p
            )
            stop = stops[row["seq"]] = StopView(
                seq=row["seq"],
                orders=[],
                name=row["company"] or row["ship_name"],
                address=place,
                phone=row["ship_phone"] or row["customer_phone"],
                notes="",
                latitude=row["latitude"],
                longitude=row["longitude"],
                window_start=row["window_start"],
                window_end=row["window_end"],
                arrival=row["arrival"],
                items=[],
            )
        else:  # orders consolidated into one stop: the windows' intersection
            stop.window_start = _later(stop.window_start, row["window_start"])
            stop.window_end = _earlier(stop.window_end, row["window_end"])
        if row["notes"]:
            stop.notes = "; ".join(n for n in (stop.notes, row["notes"]) if n)
        stop.orders.append(
            {
                "ref": f"{row['channel']}:{row['external_id']}",
                "number": row["number"] or row["external_id"],
                "name": row["ship_name"],
                "status": row["status"],
            }
        )
        order_ids[row["id"]] = row["seq"]
    if order_ids:
        _add_items(conn, stops, order_ids)
        _add_customer_notes(conn, stops, order_ids)
    for stop in stops.values():
        if all(o["status"] == OrderStatus.CANCELLED.value for o in stop.orders):
            stop.state = "cancelled"
    _apply_states(conn, route, stops)
    return RouteView(
        id=route["id"],
        vehicle=route["vehicle"],
        day=route["day"],
        departure=route["departure"],
        stops=[stops[k] for k in sorted(stops)],
    )


def _add_items(conn: Connection, stops: dict[int, StopView], order_ids: dict[int, int]) -> None:
    """What to hand over at each stop: units per SKU over the stop's orders, named as
    the catalogue names them (else as the order line does)."""
    line, p = order_line_t.c, product_t.c
    rows = conn.execute(
        sa.select(line.order_id, line.sku, line.title, p.name, line.quantity)
        .outerjoin(product_t, p.id == line.product_id)
        .where(line.order_id.in_(list(order_ids)), line.quantity > 0)
        .order_by(line.order_id, line.line_no)
    )
    for order_id, sku, title, name, quantity in rows:
        items = stops[order_ids[order_id]].items
        found = next((i for i in items if i["sku"] == sku), None)
        if found is None:
            label = name or (title if title and title != sku else "") or sku
            items.append({"sku": sku, "title": label, "quantity": int(quantity)})
        else:
            found["quantity"] += int(quantity)


def _add_customer_notes(
    conn: Connection, stops: dict[int, StopView], order_ids: dict[int, int]
) -> None:
    """Delivery notes customers left on the tracking page ("ring twice, side door"),
    oldest first, after the orders' own notes."""
    f = tracking_feedback_t.c
    rows = conn.execute(
        sa.select(f.order_id, f.note)
        .where(f.order_id.in_(list(order_ids)), f.note != "")
        .order_by(f.created_at, f.id)
    )
    for order_id, note in rows:
        stop = stops[order_ids[order_id]]
        stop.notes = "; ".join(n for n in (stop.notes, f"customer: {note.strip()}") if n)


@dataclass(frozen=True)
class StopAction:
    """A driver's action as it bears on one stop of a route (see :func:`route_actions`)."""

    seq: int
    kind: str
    reason: str
    phone_at: datetime
    latitude: float | None
    longitude: float | None


def continued_routes(route: dict[str, Any]) -> sa.Select[tuple[int]]:
    """The ids of stored route ``route`` and of the earlier dispatched routes of its
    vehicle and day (those a re-plan during the day continued), as a subquery."""
    r = planned_route_t.c
    return sa.select(r.id).where(
        r.vehicle == route["vehicle"],
        r.day == route["day"],
        r.dispatched.is_(True),
        r.id <= route["id"],
    )


def route_actions(conn: Connection, route: dict[str, Any]) -> list[StopAction]:
    """The actions at the stops of stored route ``route`` (a planned_route row), in
    phone time order: those on the route itself, and those on the earlier dispatched
    routes of its vehicle and day, which a re-plan during the day continued
    (:mod:`hub.core.driven`). An earlier route's action counts at the stop of ``route``
    with the same stop key (a re-plan keeps the keys of the stops it carries over and
    gives a failed order tried again a key of its own); actions at stops ``route`` does
    not have are left out."""
    s, a = planned_stop_t.c, route_action_t.c
    chain = continued_routes(route)
    keys = {
        (route_id, seq): key
        for route_id, seq, key in conn.execute(
            sa.select(s.route_id, s.seq, s.stop_key).distinct().where(s.route_id.in_(chain))
        )
    }
    here = {key: seq for (route_id, seq), key in keys.items() if route_id == route["id"]}
    found = []
    for row in conn.execute(
        sa.select(a.route_id, a.stop_seq, a.kind, a.reason, a.phone_at, a.latitude, a.longitude)
        .where(a.route_id.in_(chain))
        .order_by(a.phone_at, a.id)
    ):
        if row.route_id == route["id"]:
            seq: int | None = row.stop_seq
        else:
            seq = here.get(keys.get((row.route_id, row.stop_seq), ""))
        if seq is not None:
            found.append(
                StopAction(seq, row.kind, row.reason, row.phone_at, row.latitude, row.longitude)
            )
    return found


def _apply_states(conn: Connection, route: dict[str, Any], stops: dict[int, StopView]) -> None:
    for action in route_actions(conn, route):
        seq, kind, reason = action.seq, action.kind, action.reason
        stop = stops.get(seq)
        if stop is None or stop.state == "delivered":
            continue
        if kind == "deliver":
            stop.state, stop.reason = "delivered", ""
        elif kind == "fail":
            stop.state, stop.reason = "failed", reason
        elif stop.state == "pending":
            stop.state = "arrived"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


# -- actions at stops -------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One thing a driver did at a stop, as the phone recorded it.

    ``phone_at`` aware UTC; ``signature`` and ``photo`` raw image bytes (PNG, JPEG or
    WebP) or None; position in degrees and accuracy in metres when the phone knew them.
    """

    client_id: str
    route_id: int
    stop_seq: int
    kind: str
    phone_at: datetime
    reason: str = ""
    note: str = ""
    recipient_name: str = ""
    signature: bytes | None = None
    photo: bytes | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None


@dataclass
class Outcome:
    """What became of a batch: per action ``recorded`` or ``duplicate`` (in the order
    they were given), and what to tell plugins once it is committed."""

    results: dict[str, str] = field(default_factory=dict)
    shipped: list[tuple[int, Any]] = field(default_factory=list)  # (order id, Shipment)
    delivered: list[tuple[int, Any]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (order id, reason)
    changes: list[Any] = field(default_factory=list)  # StockChanges of the shipments


def check_image(data: bytes, field_name: str, max_bytes: int) -> str:
    """The file extension of ``data`` when it is a PNG, JPEG or WebP image of at most
    ``max_bytes``; InvalidInput naming ``field_name`` otherwise (checked by content, not
    by any name or type the client gave)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes:
        raise InvalidInput(
            f"{field_name}: the image is {len(data):,} bytes, over the limit of {max_bytes:,}",
            field=field_name,
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(
            f"{field_name}: not an image (send a PNG, JPEG or WebP picture)", field=field_name
        ) from None
    if kind not in IMAGE_FORMATS:
        raise InvalidInput(
            f"{field_name}: a {kind} image; send a PNG, JPEG or WebP picture", field=field_name
        )
    return IMAGE_FORMATS[kind]


def check_action(action: Action, where: str, photo_max_bytes: int) -> dict[str, str]:
    """Refuse what no state of the database could make right (InvalidInput naming the
    field below ``where``, e.g. ``actions[2].photo``); the images' file extensions."""
    if not _CLIENT_ID.match(action.client_id):
        raise InvalidInput(
            f"{where}.client_id: 8 to 64 letters, digits, '.', '_', ':' or '-' (a UUID)",
            field=f"{where}.client_id",
        )
    if action.kind not in KINDS:
        raise InvalidInput(
            f"{where}.kind: {action.kind!r} is not one of {', '.join(KINDS)}",
            field=f"{where}.kind",
        )
    if action.phone_at > now() + FUTURE_SLACK:
        raise InvalidInput(
            f"{where}.at: {action.phone_at.isoformat()} is in the future; is the phone's "
            "clock right?",
            field=f"{where}.at",
        )
    if action.kind == "fail" and action.reason not in FAIL_REASONS:
        raise InvalidInput(
            f"{where}.reason: {action.reason!r} is not one of {', '.join(FAIL_REASONS)}",
            field=f"{where}.reason",
        )
    if action.kind == "fail" and action.reason == "other" and not action.note.strip():
        raise InvalidInput(
            f"{where}.note: say what happened when the reason is 'other'", field=f"{where}.note"
        )
    if action.kind != "deliver" and (action.signature or action.photo or action.recipient_name):
        raise InvalidInput(
            f"{where}: only a delivery carries a recipient, signature or photo",
            field=f"{where}.kind",
        )
    if action.kind == "deliver" and not action.recipient_name.strip():
        raise InvalidInput(
            f"{where}.recipient_name: who took the goods?", field=f"{where}.recipient_name"
        )
    kinds = {}
    if action.signature is not None:
        kinds["signature"] = check_image(
            action.signature, f"{where}.signature", SIGNATURE_MAX_BYTES
        )
    if action.photo is not None:
        kinds["photo"] = check_image(action.photo, f"{where}.photo", photo_max_bytes)
    return kinds


class Media:
    """Signatures and photos on disk, named by their SHA-256 below ``root``; what one
    transaction wrote is removed again when it fails (:meth:`forget`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Path] = []

    def save(self, data: bytes, extension: str) -> str:
        """Keep ``data``; its path relative to the root."""
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest}.{extension}"
        path = self.root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_suffix(f".{secrets.token_hex(4)}.part")
            part.write_bytes(data)
            part.replace(path)
            self.written.append(path)
        return relative

    def forget(self) -> None:
        """Remove the files this transaction wrote (it failed; nothing refers to them)."""
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written.clear()


def media_root(settings: Settings) -> Path:
    """The folder signatures and photos are kept in (``[driver] media_dir``, else
    ``driver-media`` beside the SQLite database or the config file)."""
    configured = settings.driver.media_dir
    base = settings.path.parent if settings.path.name != "<memory>" else Path.cwd()
    if configured is not None:
        return configured if configured.is_absolute() else base / configured
    url = settings.database.url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///")).with_name("driver-media")
    return base / "driver-media"


def own_routes(conn: Connection, driver: DriverInfo, route_ids: set[int]) -> None:
    """NotYourRoute naming the first of ``route_ids`` that is not a dispatched route of
    the driver's vehicle (another driver's, or none at all: neither is told apart)."""
    if not route_ids:
        return
    r = planned_route_t.c
    mine = set(
        conn.scalars(
            sa.select(r.id).where(
                r.id.in_(sorted(route_ids)), r.vehicle == driver.vehicle, r.dispatched.is_(True)
            )
        )
    )
    for route_id in sorted(route_ids - mine):
        raise NotYourRoute(
            f"route {route_id} is not a dispatched route of your vehicle ({driver.vehicle})",
            field="route",
        )


def record_actions(
    conn: Connection,
    driver: DriverInfo,
    device_id: str,
    actions: list[Action],
    media: Media,
    photo_max_bytes: int,
    hub: Hub | None = None,
) -> Outcome:
    """Record a batch of ``driver``'s actions in the phone's time order, in one
    transaction: each once per client id, its effects on the stop's orders applied.
    With ``hub``, shipments are told to channels that take them and the customers'
    messages (delivered, failed, next stop) are queued in the same transaction
    (:mod:`hub.core.notify`).

    Raises (and records nothing of the batch) InvalidInput for a malformed action or
    image, NotYourRoute for another's route, NotFound for a stop the route does not
    have, Conflict for a stop whose orders cannot take it (cancelled, held, already
    delivered). Messages name the action as ``actions[i]``.
    """
    extensions = [
        check_action(action, f"actions[{i}]", photo_max_bytes) for i, action in enumerate(actions)
    ]
    index = {id(action): i for i, action in enumerate(actions)}
    try:
        own_routes(conn, driver, {a.route_id for a in actions})
    except NotYourRoute as error:
        first = next(i for i, a in enumerate(actions) if f"route {a.route_id} " in str(error))
        raise NotYourRoute(f"actions[{first}]: {error}", field=f"actions[{first}].route") from None
    outcome = Outcome()
    received = now()
    for action in sorted(actions, key=lambda a: (a.phone_at, a.client_id)):
        i = index[id(action)]
        where = f"actions[{i}]"
        orders = _stop_orders(conn, action, where)
        row = {
            "driver_id": driver.id,
            "client_id": action.client_id,
            "route_id": action.route_id,
            "stop_seq": action.stop_seq,
            "kind": action.kind,
            "reason": action.reason,
            "note": action.note.strip()[:2000],
            "recipient_name": action.recipient_name.strip()[:128],
            "signature_path": "",
            "photo_path": "",
            "phone_at": action.phone_at,
            "received_at": received,
            "device_id": device_id[:64],
            "latitude": action.latitude,
            "longitude": action.longitude,
            "accuracy_m": action.accuracy_m,
        }
        if _seen(conn, driver.id, action.client_id):
            outcome.results[action.client_id] = "duplicate"
            continue
        _check_stop(conn, action, orders, where)
        if action.signature is not None:
            row["signature_path"] = media.save(action.signature, extensions[i]["signature"])
        if action.photo is not None:
            row["photo_path"] = media.save(action.photo, extensions[i]["photo"])
        if not _insert_once(conn, row):
            outcome.results[action.client_id] = "duplicate"
            continue
        _apply(conn, driver, action, orders, outcome, hub)
        if hub is not None and action.kind != "arrive":
            _tell_next_stop(hub, conn, action)
        outcome.results[action.client_id] = "recorded"
    outcome.results = {a.client_id: outcome.results[a.client_id] for a in actions}
    return outcome


def _seen(conn: Connection, driver_id: int, client_id: str) -> bool:
    a = route_action_t.c
    found = conn.scalar(
        sa.select(a.id).where(a.driver_id == driver_id, a.client_id == client_id).limit(1)
    )
    return found is not None


def _insert_once(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert the action unless (driver, client id) is there: the unique key decides,
    also between two requests carrying it at once."""
    statement = _dialect_insert(conn, route_action_t).values(**row)
    statement = statement.on_conflict_do_nothing(index_elements=["driver_id", "client_id"])
    return conn.execute(statement.returning(route_action_t.c.id)).first() is not None


def _dialect_insert(conn: Connection, table: sa.Table) -> Any:
    return (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(table)


def _stop_orders(conn: Connection, action: Action, where: str) -> list[dict[str, Any]]:
    s, o = planned_stop_t.c, order_t.c
    rows = conn.execute(
        sa.select(o.id, o.channel, o.external_id, o.status, o.hold_reason)
        .join(order_t, o.id == s.order_id)
        .where(s.route_id == action.route_id, s.seq == action.stop_seq)
        .order_by(s.id)
    ).mappings()
    orders = [dict(r) for r in rows]
    if not orders:
        raise NotFound(
            f"{where}.stop: route {action.route_id} has no stop {action.stop_seq}",
            field=f"{where}.stop",
        )
    return orders


def _check_stop(conn: Connection, action: Action, orders: list[dict[str, Any]], where: str) -> None:
    """Conflict when the stop's orders cannot take ``action``."""
    for order in orders:
        ref = f"{order['channel']}:{order['external_id']}"
        status = order["status"]
        if status in (OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value):
            raise Conflict(
                f"{where}: order {ref} at stop {action.stop_seq} is {status}; "
                "do not hand it over (call the office)",
                field=f"{where}.stop",
            )
        if status == OrderStatus.ON_HOLD.value and action.kind == "deliver":
            held = f" ({order['hold_reason']})" if order["hold_reason"] else ""
            raise Conflict(
                f"{where}: order {ref} at stop {action.stop_seq} is on hold{held}; "
                "do not hand it over (call the office)",
                field=f"{where}.stop",
            )
        if status == OrderStatus.DELIVERED.value and action.kind == "deliver":
            raise Conflict(
                f"{where}: order {ref} at stop {action.stop_seq} is delivered already",
                field=f"{where}.stop",
            )
    if action.kind == "arrive":
        return
    delivered = _delivered_at(conn, action)
    if delivered is None:
        return
    if action.kind == "deliver":
        raise Conflict(
            f"{where}: stop {action.stop_seq} was delivered already at "
            f"{delivered.isoformat(timespec='seconds')}",
            field=f"{where}.stop",
        )
    if action.phone_at > delivered:
        raise Conflict(
            f"{where}: stop {action.stop_seq} was delivered at "
            f"{delivered.isoformat(timespec='seconds')}; it cannot fail after that",
            field=f"{where}.stop",
        )


def _delivered_at(conn: Connection, action: Action) -> datetime | None:
    """When the stop of ``action`` was first delivered (phone time), on its route or on
    another dispatched route of the vehicle and day carrying the same stop (a re-plan
    during the day continues a route under a new id, the stop keeping its key)."""
    a, s, r = route_action_t.c, planned_stop_t.c, planned_route_t.c
    mine = planned_route_t.alias("mine")
    family = (
        sa.select(r.id)
        .join(mine, sa.and_(mine.c.vehicle == r.vehicle, mine.c.day == r.day))
        .where(mine.c.id == action.route_id, r.dispatched.is_(True))
    )
    key = (
        sa.select(s.stop_key)
        .where(s.route_id == action.route_id, s.seq == action.stop_seq)
        .limit(1)
        .scalar_subquery()
    )
    found: datetime | None = conn.execute(
        sa.select(a.phone_at)
        .join(planned_stop_t, sa.and_(s.route_id == a.route_id, s.seq == a.stop_seq))
        .where(a.route_id.in_(family), s.stop_key == key, a.kind == "deliver")
        .order_by(a.phone_at)
        .limit(1)
    ).scalar()
    return found


def _apply(
    conn: Connection,
    driver: DriverInfo,
    action: Action,
    orders: list[dict[str, Any]],
    outcome: Outcome,
    hub: Hub | None,
) -> None:
    """The action's effect on the stop's orders, their history and their customers."""
    actor = f"driver:{driver.name}"
    if action.kind == "arrive":
        return
    if action.kind == "fail":
        text = FAIL_REASONS[action.reason]
        note = f"delivery failed: {text}" + (f" ({action.note.strip()})" if action.note else "")
        attempt = _attempts(conn, action)
        for order in orders:
            _event(conn, order["id"], note, actor, action.phone_at)
            outcome.failed.append((order["id"], action.reason))
            if hub is not None:
                notify.failed(hub, conn, order["id"], text, attempt=attempt)
        return
    proof = [f"received by {action.recipient_name.strip()}"]
    proof += [w for w, v in (("signature", action.signature), ("photo", action.photo)) if v]
    for order in orders:
        ref = str(order["id"])
        if order["status"] == OrderStatus.OPEN.value:
            _, shipment, changes = fulfilment.ship(
                conn,
                ref,
                CARRIER,
                driver.vehicle,
                actor=actor,
                tell_channel=hub.tells_channel if hub else lambda channel: True,
            )
            outcome.shipped.append((order["id"], shipment))
            outcome.changes.extend(changes)
        _, shipment = fulfilment.deliver(conn, ref, CARRIER, actor)
        outcome.delivered.append((order["id"], shipment))
        _event(conn, order["id"], "proof of delivery: " + ", ".join(proof), actor, action.phone_at)
        if hub is not None:
            notify.delivered(hub, conn, order["id"], proof=", ".join(proof), at=action.phone_at)


def _attempts(conn: Connection, action: Action) -> int:
    """Which failed attempt at the stop's orders ``action`` is (1, 2, ...), counting it:
    failures that day at any stop carrying one of them count (a re-plan during the day
    puts a failed order on a stop of a new route, where it may fail again)."""
    a, s, r = route_action_t.c, planned_stop_t.c, planned_route_t.c
    orders = sa.select(s.order_id).where(s.route_id == action.route_id, s.seq == action.stop_seq)
    day = sa.select(r.day).where(r.id == action.route_id).scalar_subquery()
    return int(
        conn.scalar(
            sa.select(sa.func.count(sa.distinct(a.id)))
            .join(planned_stop_t, sa.and_(s.route_id == a.route_id, s.seq == a.stop_seq))
            .join(planned_route_t, r.id == a.route_id)
            .where(a.kind == "fail", s.order_id.in_(orders), r.day == day)
        )
        or 1
    )


def _tell_next_stop(hub: Hub, conn: Connection, action: Action) -> None:
    """The driver left a stop: tell the customers of the next stop still to do that they
    are next, expected after the planned drive from this stop to that one, on the newest
    route of the vehicle and day (a re-plan may have put another stop next). Only for an
    action of the last :data:`NEXT_STOP_FRESH` (an offline queue sent hours later would
    announce a driver long gone)."""
    if now() - action.phone_at > NEXT_STOP_FRESH:
        return
    s = planned_stop_t.c
    route, seq = _newest_place(conn, action)
    if route is None or seq is None:
        return  # the stop is no longer on the vehicle's route of the day
    rows = conn.execute(
        sa.select(s.seq, s.order_id, s.arrival, s.departure)
        .where(s.route_id == route["id"], s.seq >= seq)
        .order_by(s.seq, s.id)
    ).all()
    here = [r for r in rows if r.seq == seq]
    finished = {x.seq for x in route_actions(conn, route) if x.kind != "arrive"}
    ahead = [r for r in rows if r.seq > seq and r.seq not in finished]
    if not here or not ahead:
        return
    following = [r for r in ahead if r.seq == ahead[0].seq]
    eta = action.phone_at + max(timedelta(0), following[0].arrival - here[0].departure)
    for row in following:
        notify.next_stop(hub, conn, row.order_id, eta)


def _newest_place(conn: Connection, action: Action) -> tuple[dict[str, Any] | None, int | None]:
    """The newest dispatched route of the vehicle and day of ``action``'s route (a re-plan
    may have continued it since the phone last looked) and the stop there with the same
    key; (route, None) when that route no longer has the stop."""
    r, s = planned_route_t.c, planned_stop_t.c
    mine = conn.execute(sa.select(r.vehicle, r.day).where(r.id == action.route_id)).first()
    if mine is None:
        return None, None
    newest = (
        conn.execute(
            sa.select(planned_route_t)
            .where(r.vehicle == mine.vehicle, r.day == mine.day, r.dispatched.is_(True))
            .order_by(r.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if newest is None or newest["id"] == action.route_id:
        return (dict(newest) if newest else None), action.stop_seq
    key = sa.select(s.stop_key).where(s.route_id == action.route_id, s.seq == action.stop_seq)
    seq = conn.scalar(
        sa.select(s.seq).where(s.route_id == newest["id"], s.stop_key.in_(key)).limit(1)
    )
    return dict(newest), seq


def _event(conn: Connection, order_id: int, note: str, actor: str, at: datetime) -> None:
    conn.execute(
        order_event_t.insert().values(
            order_id=order_id, status="", note=note, actor=actor, origin="driver", created_at=now()
        )
    )


def stop_actions(conn: Connection, route_id: int) -> list[dict[str, Any]]:
    """Every action on route ``route_id`` in the phone's time order (for the operator's
    view, analytics and tests): kind, stop, times, reason, proof paths, position."""
    a, d = route_action_t.c, driver_t.c
    rows = conn.execute(
        sa.select(route_action_t, d.name.label("driver"))
        .join(driver_t, d.id == a.driver_id)
        .where(a.route_id == route_id)
        .order_by(a.phone_at, a.id)
    ).mappings()
    return [dict(r) for r in rows]


def proof_file(conn: Connection, settings: Settings, action_id: int, kind: str) -> Path:
    """The file of action ``action_id``'s ``kind`` ("signature" or "photo"), for people
    checking a proof of delivery; NotFound when the action has none."""
    if kind not in ("signature", "photo"):
        raise NotFound(f"{kind!r} is not a proof (signature or photo)", field="kind")
    column = route_action_t.c[f"{kind}_path"]
    relative = conn.scalar(sa.select(column).where(route_action_t.c.id == action_id))
    root = media_root(settings).resolve()
    path = (root / relative).resolve() if relative else None
    if path is None or root not in path.parents or not path.is_file():
        raise NotFound(f"route action {action_id} has no {kind}", field="action")
    return path


def order_ids_by_stop(conn: Connection, route_id: int) -> dict[int, list[int]]:
    """Route ``route_id``'s stops: seq -> the ids of the orders dropped there."""
    s = planned_stop_t.c
    found: dict[int, list[int]] = defaultdict(list)
    for seq, order_id in conn.execute(
        sa.select(s.seq, s.order_id).where(s.route_id == route_id).order_by(s.seq, s.id)
    ):
        found[seq].append(order_id)
    return dict(found)


# -- in a running hub ---------------------------------------------------------------------------


def submit_actions(
    hub: Hub,
    driver: DriverInfo,
    device_id: str,
    actions: list[Action],
    lock: threading.Lock | None = None,
) -> dict[str, str]:
    """:func:`record_actions` in one transaction of ``hub`` (taking ``lock`` first, the
    API's SQLite writer lock), then plugins are told what shipped and was delivered.
    Returns client id -> ``recorded`` or ``duplicate``; on any error the images this
    call wrote are removed again and nothing is recorded. Blocks: run it in a thread."""
    media = Media(media_root(hub.settings))
    limit = hub.settings.driver.photo_max_bytes

    def work(conn: Connection) -> Outcome:
        media.written.clear()  # a retried transaction: the files are still there
        return record_actions(conn, driver, device_id, actions, media, limit, hub)

    try:
        with lock or nullcontext():
            outcome = run_in_transaction(hub.engine, work)
    except BaseException:
        media.forget()
        raise
    _tell_plugins(hub, outcome)
    return outcome.results


def _tell_plugins(hub: Hub, outcome: Outcome) -> None:
    """After commit: stock moved by the shipments, ``order_shipped``, ``order_delivered``."""
    from hub.core.orderbook import find_order, to_order

    if outcome.changes:
        hub.stock_changed(outcome.changes)
    for hook, done in (("order_shipped", outcome.shipped), ("order_delivered", outcome.delivered)):
        for order_id, shipment in done:
            order = hub.read(lambda c, oid=order_id: to_order(find_order(c, str(oid))))
            hub.plugins.call_each(hook, order=order, shipment=shipment)
