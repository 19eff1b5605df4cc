"""A day of the own fleet for the re-planning tests (core and browser): two hubs on one
database, the morning's with van-1 only and the day's with van-1 and van-2; four orders
on a road north of the depot planned and dispatched, the driver Dora delivering stop 1
and failing stop 2 through :mod:`hub.core.driving`, her last ping at stop 2. The zone is
one where it is about noon now, so the day lies around the real clock (a driver's
action may not be in the future)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from builders import order

from hub import Address, DeliveryWindow
from hub.core import drivers, driving, ledger
from hub.core.config import parse_settings
from hub.core.planning import dispatch, plan_routes, plan_summary
from hub.core.positions import Ping, record_pings
from hub.core.runtime import Hub

DEPOT = (55.9533, -3.1883)
KM = 1 / 111.2  # degrees of latitude in a kilometre


def local_noon_zone() -> str:
    """A fixed-offset zone in which it is about noon now, so that a working day lies
    around the real clock (drivers' actions may not be in the future)."""
    offset = 12 - datetime.now(UTC).hour  # hours east of UTC
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


@dataclass
class Day:
    """Two hubs on one database: the morning's (one van) and the day's (two vans)."""

    morning: Hub
    day: Hub
    now: datetime
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()


def settings(url: str, zone: str, vans: list[str]):  # noqa: ANN201
    return parse_settings(
        {
            "database": {"url": url},
            "hub": {"timezone": zone},
            "web": {"secret_key": "test secret key of the driver app"},
            # customers are told by e-mail; nothing sends in these tests, messages queue
            "notifiers": {
                "mail": {
                    "type": "smtp",
                    "host": "127.0.0.1",
                    "tls": "none",
                    "sender": "a@b.example",
                }
            },
            "notifications": {"quiet_start": "00:00:00", "quiet_end": "00:00:00"},
            "locations": {"main": {"latitude": DEPOT[0], "longitude": DEPOT[1]}},
            "routing": {"timezone": zone, "service_minutes": 4},
            "fleet": {
                v: {
                    "depot": "main",
                    "shift_start": "06:00",
                    "shift_end": "22:00",
                    "weekdays": [0, 1, 2, 3, 4, 5, 6],
                    "max_weight_kg": 30,
                }
                for v in vans
            },
        }
    )


@contextmanager
def open_day(url: str) -> Iterator[Day]:
    zone = local_noon_zone()
    with Hub.open(settings=settings(url, zone, ["van-1"])) as morning:
        morning.upgrade()
        morning.write(lambda c: ledger.ensure_product(c, "BOX", weight_grams=2000))
        morning.write(lambda c: ledger.receive(c, "BOX", "main", 500))
        with Hub.open(settings=settings(url, zone, ["van-1", "van-2"])) as day:
            now = datetime.now(UTC).replace(microsecond=0)
            yield Day(morning, day, now, ZoneInfo(zone))


def place(
    hub: Hub, ref: str, north_km: float, boxes: int = 2, window: DeliveryWindow | None = None
) -> None:
    address = Address(
        name="X",
        line1=f"{ref} Road",
        city="Edinburgh",
        postcode="EH1",
        country="GB",
        latitude=DEPOT[0] + north_km * KM,
        longitude=DEPOT[1],
    )
    hub.ingest(
        "web", [order(ref, ("BOX", boxes), shipping_address=address, delivery_window=window)]
    )


def action(route_id: int, seq: int, kind: str, at: datetime, **kwargs: object):  # noqa: ANN201
    if kind == "deliver":
        kwargs.setdefault("recipient_name", "Jo")
    return driving.Action(str(uuid.uuid4()), route_id, seq, kind, at, **kwargs)  # type: ignore[arg-type]


def refs(stops: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [s["external_id"] for s in stops]


def stops_by_seq(route: dict) -> list[list[str]]:  # type: ignore[type-arg]
    by_seq: dict[int, list[str]] = {}
    for s in route["stops"]:
        by_seq.setdefault(s["seq"], []).append(s["external_id"])
    return [by_seq[k] for k in sorted(by_seq)]


def morning_plan(site: Day, fail_reason: str = "not_home") -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Four orders on a road north of the depot, planned at T-3h and dispatched; the
    driver delivers stop 1, fails stop 2 and is last seen there. Returns the route and
    the driver."""
    for n, ref in enumerate(("o1", "o2", "o3", "o4"), 1):
        place(site.morning, ref, 2.0 * n)
    first = plan_routes(
        site.morning, site.today, time_limit=1, router="ortools", at=site.now - timedelta(hours=3)
    )
    site.morning.write(lambda c: dispatch(c, first.plan_id))
    (route,) = site.morning.read(lambda c: plan_summary(c, first.plan_id))["routes"]
    token, dora = site.morning.write(lambda c: drivers.create_driver(c, "Dora", "van-1"))
    driving.submit_actions(
        site.day,
        dora,
        "phone-1",
        [
            action(route["id"], 1, "arrive", site.now - timedelta(minutes=40)),
            action(route["id"], 1, "deliver", site.now - timedelta(minutes=35)),
            action(route["id"], 2, "fail", site.now - timedelta(minutes=20), reason=fail_reason),
        ],
    )
    second = next(s for s in route["stops"] if s["seq"] == 2)
    here = Ping(second["latitude"] + 0.1 * KM, second["longitude"], site.now - timedelta(minutes=5))
    site.day.write(lambda c: record_pings(c, dora, route["id"], [here]))
    return route, {"driver": dora, "ping": here, "token": token}


def config_file(site: Day, url: str, path: Path) -> Path:
    """The day hub's configuration as a file, for the CLI."""
    vans = "".join(
        f'\n[fleet.{v}]\ndepot = "main"\nshift_start = "06:00"\nshift_end = "22:00"\n'
        f"weekdays = [0, 1, 2, 3, 4, 5, 6]\nmax_weight_kg = 30\n"
        for v in ("van-1", "van-2")
    )
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[hub]\ntimezone = "{site.zone.key}"\n\n'
        '[web]\nsecret_key = "test secret key of the driver app"\n\n'
        f'[routing]\ntimezone = "{site.zone.key}"\nservice_minutes = 4\n\n'
        f"[locations.main]\nlatitude = {DEPOT[0]}\nlongitude = {DEPOT[1]}\n{vans}"
    )
    return path
