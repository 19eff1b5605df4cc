"""Where the drivers' phones are: position pings, kept once per driver and phone time.

The driver app sends a ping every ``[driver] ping_seconds`` while a route is open, and
what it queued while offline in batches. Pings feed the operator's live view, ETAs and
analytics. The insert is the hot path of the driver endpoints: statements are built
once, and the API writes the pings of many requests in one transaction
(:class:`hub.web.api.driver.PingWriter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hub.core.drivers import DriverInfo
from hub.core.driving import FUTURE_SLACK, own_routes
from hub.core.models import now, planned_route_t, position_ping_t
from hub.errors import InvalidInput

MAX_PINGS = 500  # in one batch


@dataclass(frozen=True)
class Ping:
    """Where the phone was at ``phone_at`` (aware UTC): degrees, accuracy in metres."""

    latitude: float
    longitude: float
    phone_at: datetime
    accuracy_m: float | None = None


_r = planned_route_t.c
# Built once: pings are the hot path (building a statement costs more than running it).
_OWN_ROUTE = sa.select(_r.id).where(
    _r.id == sa.bindparam("route"), _r.vehicle == sa.bindparam("vehicle"), _r.dispatched.is_(True)
)
_PING_INSERT = {
    name: dialect.insert(position_ping_t)
    .on_conflict_do_nothing(index_elements=["driver_id", "phone_at"])
    .returning(position_ping_t.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def check_pings(pings: list[Ping]) -> None:
    """InvalidInput naming the first ping off the globe or in the future, or a batch
    over :data:`MAX_PINGS`."""
    if len(pings) > MAX_PINGS:
        raise InvalidInput(f"pings: at most {MAX_PINGS} in one batch", field="pings")
    latest = now() + FUTURE_SLACK
    for i, ping in enumerate(pings):
        if not (-90 <= ping.latitude <= 90 and -180 <= ping.longitude <= 180):
            raise InvalidInput(f"pings[{i}]: not a position on Earth", field=f"pings[{i}]")
        if ping.phone_at > latest:
            raise InvalidInput(
                f"pings[{i}].at: {ping.phone_at.isoformat()} is in the future; is the "
                "phone's clock right?",
                field=f"pings[{i}].at",
            )


def record_pings(
    conn: Connection, driver: DriverInfo, route_id: int | None, pings: list[Ping]
) -> int:
    """Keep ``pings`` of ``driver`` (on ``route_id``, one of theirs, or None between
    routes); returns how many were new (one per driver and phone time, so a replayed
    ping is kept once). NotYourRoute for another's route; InvalidInput naming the ping
    for a position off the globe or a time in the future; nothing kept then."""
    check_pings(pings)
    if (
        route_id is not None
        and conn.scalar(_OWN_ROUTE, {"route": route_id, "vehicle": driver.vehicle}) is None
    ):
        own_routes(conn, driver, {route_id})  # raises, naming it
    if not pings:
        return 0
    received = now()
    rows = [
        {
            "driver_id": driver.id,
            "route_id": route_id,
            "latitude": p.latitude,
            "longitude": p.longitude,
            "accuracy_m": p.accuracy_m,
            "phone_at": p.phone_at,
            "received_at": received,
        }
        for p in pings
    ]
    return len(conn.execute(_PING_INSERT[conn.dialect.name], rows).all())


def route_pings(conn: Connection, route_id: int) -> list[dict[str, Any]]:
    """The positions of route ``route_id`` in the phone's time order."""
    p = position_ping_t.c
    rows = conn.execute(
        sa.select(p.driver_id, p.latitude, p.longitude, p.accuracy_m, p.phone_at, p.received_at)
        .where(p.route_id == route_id)
        .order_by(p.phone_at)
    ).mappings()
    return [dict(r) for r in rows]
