"""A hub with two vans, their drivers and a dispatched route each, for the driver app's
tests (endpoints and browser): ``van-1`` (driver Dora) stops at ACME (stop 1, two
orders dropped together) and CASH (stop 2); ``van-2`` (driver Vic) at CASH (stop 1)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from hub.core import customers, drivers, ledger, users
from hub.core.config import parse_settings
from hub.core.desk import Actor, LineInput, NewOrder, create_order
from hub.core.planning import store_plan
from hub.core.runtime import Hub
from hub.orders import Address
from hub.routing import Plan, Route, Visit

PHOTO_LIMIT = 64 * 1024  # bytes: small, so a test can exceed it cheaply
ZONE = "Europe/London"


@dataclass
class Site:
    """The hub and what the tests address: tokens, route ids, order refs."""

    hub: Hub
    tokens: dict[str, str]  # driver name -> token
    routes: dict[str, int]  # vehicle -> today's route id
    orders: dict[str, str]  # A1, A2 (van-1 stop 1), C1 (van-1 stop 2), V1 (van-2 stop 1)
    media: Path


def phone_time(minutes: int = 0) -> datetime:
    """A phone's clock ``minutes`` after two hours ago (actions must not be in the future)."""
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    return base + timedelta(minutes=minutes)


def today() -> datetime:
    """Today's date in the routing zone, at 08:00 UTC."""
    day = datetime.now(ZoneInfo(ZONE)).date()
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def driver_site(url: str, media: Path, ping_seconds: int = 10) -> Site:
    """The migrated, seeded hub (see the module's docstring)."""
    raw = {
        "hub": {"name": "Crate & Co", "timezone": ZONE, "currency": "GBP"},
        "database": {"url": url},
        "web": {"secret_key": "test secret key of the driver app"},
        "driver": {
            "media_dir": str(media),
            "photo_max_bytes": PHOTO_LIMIT,
            "ping_seconds": ping_seconds,
        },
        "locations": {"main": {"name": "London depot", "latitude": 51.51, "longitude": -0.13}},
        "fleet": {"van-1": {"depot": "main"}, "van-2": {"depot": "main"}},
        "channels": {"b2b": {"type": "manual", "locations": ["main"]}},
        # customers are told by e-mail; nothing sends in these tests, messages only queue
        "notifiers": {
            "mail": {"type": "smtp", "host": "127.0.0.1", "tls": "none", "sender": "a@b.example"}
        },
        "notifications": {"quiet_start": "00:00:00", "quiet_end": "00:00:00"},
    }
    hub = Hub.open(settings=parse_settings(raw))
    hub.upgrade()

    def seed(conn):  # type: ignore[no-untyped-def]
        ledger.ensure_product(conn, "CRATE", name="Oak crate")
        ledger.ensure_product(conn, "LID", name="Crate lid")
        ledger.receive(conn, "CRATE", "main", 50)
        ledger.receive(conn, "LID", "main", 50)
        for number, street, lat in (("ACME", "1 Strand", 51.507), ("CASH", "9 Mall", 51.503)):
            customers.create_account(
                conn,
                number,
                f"{number.title()} Ltd",
                email=f"goods-in@{number.lower()}.example",
                payment_terms_days=30,
            )
            customers.add_address(
                conn,
                number,
                Address(
                    name="Goods in",
                    line1=street,
                    city="London",
                    postcode="WC2N 5HR",
                    country="GB",
                    latitude=lat,
                    longitude=-0.127,
                ),
                label="london",
            )

    hub.write(seed)
    hub.write(lambda c: users.create_user(c, "ada", "correct horse 42", "viewer"))  # the office
    actor = Actor("test", "cli")
    orders = {}
    for ref, account, lines in (
        ("A1", "ACME", (LineInput("CRATE", 2), LineInput("LID", 2))),
        ("A2", "ACME", (LineInput("CRATE", 1),)),
        ("C1", "CASH", (LineInput("LID", 3),)),
        ("V1", "CASH", (LineInput("CRATE", 4),)),
    ):
        view = create_order(hub, NewOrder(account, lines, reference=ref), actor)
        assert view.status == "open", view.hold_reason
        orders[ref] = str(view.id)
    start = today()

    def visit(key: str, minutes: int) -> Visit:
        at = start + timedelta(minutes=minutes)
        return Visit(key, at, at, at + timedelta(minutes=5))

    day = datetime.now(ZoneInfo(ZONE)).date()
    van1 = Route(
        "van-1", day, (visit("acme", 20), visit("cash", 40)), start, start, 9_000.0, 0.0, 0.0, 0.0
    )
    van2 = Route("van-2", day, (visit("cash2", 30),), start, start, 5_000.0, 0.0, 0.0, 0.0)
    plan = Plan((van1, van2), (), "test")
    members = {
        "acme": [int(orders["A1"]), int(orders["A2"])],
        "cash": [int(orders["C1"])],
        "cash2": [int(orders["V1"])],
    }

    def store(conn):  # type: ignore[no-untyped-def]
        from hub.core.planning import dispatch

        plan_id = store_plan(conn, day, 1, plan, members, [])
        dispatch(conn, plan_id)
        from hub.core.models import planned_route_t

        rows = conn.execute(
            planned_route_t.select().where(planned_route_t.c.plan_id == plan_id)
        ).mappings()
        return {r["vehicle"]: r["id"] for r in rows}

    routes = hub.write(store)
    tokens = {}
    for name, vehicle in (("Dora", "van-1"), ("Vic", "van-2")):
        token, _ = hub.write(
            lambda c, n=name, v=vehicle: drivers.create_driver(c, n, v, "", hub.settings)
        )
        tokens[name] = token
    return Site(hub, tokens, routes, orders, media)


def png(width: int = 40, height: int = 20) -> bytes:
    """A small PNG (a signature's worth)."""
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (20, 20, 80, 255)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48, noise: bool = False) -> bytes:
    """A JPEG photo; with ``noise`` one that compresses badly (large)."""
    import os

    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 120, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()
