"""The whole last-mile path as one scenario, on SQLite and PostgreSQL, over real HTTP:
orders in; labels bought from EasyPost (its sandbox) for the addresses outside the
vans' area and the B2B account told by e-mail; today's route planned and dispatched
(the customers told their ETA window); run sheets and fleet labels printed; a driver's
phone pings and acts through the driver app's endpoints (a delivery with signature and
photo, a failed stop, one delivered after its window, an offline batch sent twice and
recorded once); the tracking page's ETA moves with the driver; every customer message
reaches the local mail server or the Twilio sandbox; the delivery report counts what
the driver did; the audit export lists every step.

The day is today in a city where it is daytime (the demo's :func:`day_clock`): the
phone's times are real moments of the last half hour, as the app refuses a future one
and tells "you're next" only for fresh actions.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from hub.core import ledger, notify
from hub.core.audit import audit_csv, audit_orders
from hub.core.config import parse_settings
from hub.core.demomail import LocalMailServer
from hub.core.demoplaces import City, city_for
from hub.core.desk import Actor, LineInput, NewOrder, create_order
from hub.core.driverphone import DriverPhone, action, delivery, leg_pings
from hub.core.drivers import create_driver
from hub.core.labels import Carriers
from hub.core.labels import buy as buy_label
from hub.core.lastmiledemo import DayClock, day_clock
from hub.core.models import (
    notification_message_t,
    order_t,
    position_ping_t,
    route_action_t,
    tracking_token_t,
)
from hub.core.planning import plan_routes
from hub.core.reports.deliveries import deliveries_report
from hub.core.routedispatch import dispatch_and_tell
from hub.core.runsheets import write_sheets
from hub.core.runtime import Hub
from hub.core.service import Service
from hub.orders import Customer, DeliveryWindow, Order, OrderLine
from hub_plugins.carriers.easypost import EasyPostSandbox
from hub_plugins.notifiers.twilio.sandbox import TwilioSandbox

BACKGROUND_WAIT = 15.0  # seconds to wait for the service's background work (ETAs, sends)
B2B_CONTACT = "rosa@cafe.example"


@dataclass
class LastMile:
    """The scenario's world: the hub served by ``hub run``'s service, the sandboxes."""

    hub: Hub
    service: Service
    city: City
    clock: DayClock
    easypost: EasyPostSandbox
    twilio: TwilioSandbox
    mail: LocalMailServer
    folder: Path
    token: str


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[LastMile]:
    now = datetime.now(UTC)
    city = city_for(now)
    clock = day_clock(now, city)
    easypost, twilio = EasyPostSandbox(), TwilioSandbox()
    with easypost.serve() as ep, twilio.serve() as sms, LocalMailServer() as mail:
        depot = city.depot
        raw = {
            "hub": {"name": "Pantry", "timezone": city.zone, "currency": city.currency},
            "database": {"url": db_url},
            "web": {"secret_key": "the last-mile path test's session key"},
            "locations": {
                "depot": {"name": "Depot", "latitude": depot.latitude, "longitude": depot.longitude}
            },
            "channels": {
                "shop": {"type": "manual", "locations": ["depot"]},
                "b2b": {"type": "manual", "locations": ["depot"]},
            },
            "routing": {"timezone": city.zone, "service_minutes": 3, "time_limit": 1},
            "fleet": {
                "van-1": {
                    "depot": "depot",
                    "shift_start": clock.start.time().isoformat(),
                    "shift_end": clock.end.time().isoformat(),
                    "weekdays": list(range(7)),
                    "speed_kmh": 40,
                }
            },
            "driver": {"media_dir": str(tmp_path / "media"), "ping_seconds": 30},
            "carriers": {
                "vans": {
                    "type": "fleet",
                    "depot": [depot.latitude, depot.longitude],
                    "radius_km": city.radius_km,
                },
                "easypost": easypost.config_for(ep.url),
            },
            "notifiers": {
                "mail": mail.notifier_config("Pantry <orders@pantry.example>"),
                "sms": twilio.config_for(sms.url),
            },
            "notifications": {
                "timezone": city.zone,
                "quiet_start": "00:00:00",
                "quiet_end": "00:00:00",
                "eta_margin_minutes": 15,
            },
        }
        hub = Hub.open(settings=parse_settings(raw, tmp_path / "hub.toml"))
        await asyncio.to_thread(hub.upgrade)
        service = Service(hub, port=0)
        await service.start()
        hub.settings.notifications.public_url = service.url
        token = await asyncio.to_thread(_seed, hub, city)
        try:
            yield LastMile(hub, service, city, clock, easypost, twilio, mail, tmp_path, token)
        finally:
            await service.stop()
            hub.close()


def _seed(hub: Hub, city: City) -> str:
    from hub.core import customers

    def work(conn: Any) -> str:
        ledger.ensure_product(conn, "COFFEE", name="Coffee beans", weight_grams=1000.0)
        ledger.receive(conn, "COFFEE", "depot", 100)
        customers.create_account(
            conn, "CAFE", "Union Station Café", email="office@cafe.example", payment_terms_days=30
        )
        customers.add_address(
            conn, "CAFE", city.address(city.outside[0], "Union Station Café"), label="site"
        )
        customers.add_contact(conn, "CAFE", "Rosa Diaz", email=B2B_CONTACT, role="deliveries")
        token, _ = create_driver(conn, "Dora", "van-1", "", hub.settings)
        return str(token)

    return str(hub.write(work))


# -- the scenario's orders ----------------------------------------------------------------------

#: external id -> (index of a place inside the vans' area, window: "early", "all" or None)
INSIDE = {"1001": (0, "early"), "1002": (1, "all"), "1003": (2, "all"), "1004": (3, None)}
LATE = "1001"  # its window closes early; the driver comes after it closed
FAILS = "1002"  # nobody at home
OUTSIDE = "1005"  # the shop's order outside the area: EasyPost


def _orders(world: LastMile) -> list[Order]:
    city, clock = world.city, world.clock
    windows = {
        "early": DeliveryWindow(clock.start, clock.start + timedelta(minutes=25)),
        "all": DeliveryWindow(clock.start, clock.end + timedelta(hours=1)),
        None: None,
    }
    made = []
    for n, external_id in enumerate([*INSIDE, OUTSIDE]):
        place, window = INSIDE.get(external_id, (None, None))
        where = city.inside[place] if place is not None else city.outside[1]
        name = f"Customer {external_id}"
        made.append(
            Order(
                channel="shop",
                external_id=external_id,
                number=f"#{external_id}",
                lines=(OrderLine("COFFEE", 1, Decimal("18.00")),),
                total=Decimal("18.00"),
                currency=city.currency,
                customer=Customer(
                    name=name, email=f"c{external_id}@example.com", phone=city.phone(n)
                ),
                shipping_address=city.address(where, name, city.phone(n)),
                placed_at=clock.start - timedelta(hours=3),
                updated_at=clock.start - timedelta(hours=3),
                delivery_window=windows[window],
            )
        )
    return made


def _b2b_order(world: LastMile) -> str:
    view = create_order(
        world.hub,
        NewOrder("CAFE", (LineInput("COFFEE", 5),), channel="b2b", reference="PO-77"),
        Actor("test", "cli"),
    )
    return f"b2b:{view.external_id}"


def _order_id(hub: Hub, ref: str) -> int:
    channel, external_id = ref.split(":", 1)
    o = order_t.c
    found = hub.read(
        lambda c: c.scalar(
            sa.select(o.id).where(o.channel == channel, o.external_id == external_id)
        )
    )
    return int(found)


def _messages(hub: Hub, order_id: int | None = None) -> list[dict[str, Any]]:
    m = notification_message_t.c
    query = sa.select(notification_message_t).order_by(m.id)
    if order_id is not None:
        query = query.where(m.order_id == order_id)
    return hub.read(lambda c: [dict(r) for r in c.execute(query).mappings()])


def _token(hub: Hub, order_id: int) -> dict[str, Any]:
    t = tracking_token_t.c
    row = hub.read(
        lambda c: (
            c.execute(sa.select(tracking_token_t).where(t.order_id == order_id)).mappings().one()
        )
    )
    return dict(row)


def _count(hub: Hub, table: sa.Table) -> int:
    return int(hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(table))))


async def _until(check: Callable[[], bool], what: str) -> None:
    """Wait for the service's background work (a recompute, a send) to show."""
    deadline = asyncio.get_running_loop().time() + BACKGROUND_WAIT
    while not await asyncio.to_thread(check):
        assert asyncio.get_running_loop().time() < deadline, f"waited in vain for {what}"
        await asyncio.sleep(0.2)


async def _page(session: aiohttp.ClientSession, world: LastMile, token: str) -> str:
    """The customer's public tracking page."""
    async with session.get(f"{world.service.url}/track/{token}") as answer:
        assert answer.status == 200
        return await answer.text()


async def _page_and_eta(
    session: aiohttp.ClientSession, world: LastMile, hub: Hub, order_id: int
) -> tuple[str, dict[str, Any]]:
    """The order's tracking page and its stored ETA, read again until no recompute came
    between the reads (the stored ETA the same before and after the page)."""
    deadline = asyncio.get_running_loop().time() + BACKGROUND_WAIT
    while True:
        before = await asyncio.to_thread(_token, hub, order_id)
        page = await _page(session, world, before["token"])
        after = await asyncio.to_thread(_token, hub, order_id)
        if before["eta_start"] == after["eta_start"]:
            return page, after
        assert asyncio.get_running_loop().time() < deadline, "the ETA never kept still"
        await asyncio.sleep(0.2)


def _hhmm(moment: datetime, clock: DayClock) -> str:
    """``moment``'s local time as the customers read it ("8:05"; the hour unpadded)."""
    local = moment.astimezone(clock.zone)
    return f"{local.hour % 12 or 12}:{local.minute:02d}"


# -- the scenario -------------------------------------------------------------------------------


async def test_the_whole_last_mile_path(world: LastMile):
    hub, clock = world.hub, world.clock

    # orders in: each customer is sent "order confirmed"
    await asyncio.to_thread(hub.ingest, "shop", _orders(world), actor="test")
    b2b = await asyncio.to_thread(_b2b_order, world)
    ids = {ref: _order_id(hub, f"shop:{ref}") for ref in [*INSIDE, OUTSIDE]}
    ids["PO-77"] = _order_id(hub, b2b)
    assert {m["order_id"] for m in _messages(hub) if m["event"] == "confirmed"} == set(ids.values())

    # labels: outside the vans' area the carrier is EasyPost, bought once each
    carriers = Carriers(hub, world.folder / "labels")
    try:
        bought = [
            await asyncio.to_thread(buy_label, hub, carriers, ref, actor="test")
            for ref in (f"shop:{OUTSIDE}", b2b)
        ]
        assert [b.label["carrier"] for b in bought] == ["easypost", "easypost"]
        assert sorted(world.easypost.charges.values()) == [1, 1]
        for outcome in bought:
            assert Path(outcome.label["label_path"]).read_bytes().startswith(b"%PDF")
        # the B2B account (a desk channel, which cannot be told) is told by e-mail
        told = [m for m in _messages(hub, ids["PO-77"]) if m["template"] == "b2b-shipped"]
        assert [m["recipient"] for m in told] == [B2B_CONTACT]

        # today's route: the four orders inside the area, planned and dispatched
        plan = await asyncio.to_thread(plan_routes, hub, clock.day, 1, 1.0)
        assert (plan.orders, plan.stops, plan.left_out, len(plan.plan.routes)) == (4, 4, 0, 1)
        done = await asyncio.to_thread(dispatch_and_tell, hub, plan.plan_id)
        assert (done.routes, done.orders) == (1, 4)
        sheets = await asyncio.to_thread(
            write_sheets, hub, carriers, plan.plan_id, world.folder / "print", "test"
        )
    finally:
        carriers.close()
    assert len(sheets.sheets) == 1 and len(sheets.labels) == 4 and not sheets.skipped
    for path in [*sheets.sheets, *sheets.labels]:
        assert path.read_bytes().startswith(b"%PDF")
    planned_eta = {ref: _token(hub, ids[ref]) for ref in INSIDE}
    for ref, token in planned_eta.items():  # the dispatched message's window
        window = hub.read(lambda c, r=ref: notify.planned_window(c, ids[r], 15))
        assert (token["eta_start"], token["eta_end"]) == window, ref

    # the driver's phone drives the route over HTTP
    async with aiohttp.ClientSession() as session:
        phone = DriverPhone(session, world.service.url, world.token, "dora-phone")
        route = await phone.route()
        stops = route["stops"]
        assert [len(s["orders"]) for s in stops] == [1, 1, 1, 1]
        assert {s["orders"][0]["number"] for s in stops} == {f"#{ref}" for ref in INSIDE}
        last_ref = stops[-1]["orders"][0]["number"].lstrip("#")
        page_at_dispatch = await _page(session, world, planned_eta[last_ref]["token"])
        assert _hhmm(planned_eta[last_ref]["eta_start"], clock) in page_at_dispatch
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=24)
        here = (world.city.depot.latitude, world.city.depot.longitude)
        at = start
        pings_sent = 0
        for n, stop in enumerate(stops):
            ref = stop["orders"][0]["number"].lstrip("#")
            target = (stop["latitude"], stop["longitude"])
            arrive = at + timedelta(minutes=4)
            if n == 2:  # the phone loses the network for the last two stops
                phone.offline = True
            points = leg_pings(here, target, at, arrive, timedelta(seconds=30))
            pings_sent += len(points)
            await phone.ping(route["route"], points)
            position = {"latitude": target[0], "longitude": target[1], "accuracy": 5.0}
            await phone.act(action(route["route"], stop["seq"], "arrive", arrive, **position))
            at = arrive + timedelta(minutes=2)
            if ref == FAILS:
                await phone.act(
                    action(route["route"], stop["seq"], "fail", at, reason="not_home", **position)
                )
            else:
                await phone.act(
                    delivery(route["route"], stop["seq"], at, f"Recipient {ref}", target)
                )
            here = target
            if n == 0:  # the driver left stop 1: the ETAs follow the phone, not the plan
                await _until(
                    lambda: (
                        _token(hub, ids[last_ref])["eta_start"]
                        != planned_eta[last_ref]["eta_start"]
                    ),
                    "the last stop's ETA to be recomputed",
                )
                # the customer sees it: the page and the ETA stored as it was read (the
                # next action's recompute may move it on by a minute meanwhile)
                page, moved = await _page_and_eta(session, world, hub, ids[last_ref])
                assert moved["eta_start"] > planned_eta[last_ref]["eta_start"]  # later
                assert page != page_at_dispatch and _hhmm(moved["eta_start"], clock) in page

        # the offline queue, sent late and then again (the phone lost the first answer)
        actions_before, pings_before = _count(hub, route_action_t), _count(hub, position_ping_t)
        first, _ = await phone.send_queue()
        stored = (_count(hub, route_action_t), _count(hub, position_ping_t))
        again, recorded_again = await phone.send_queue()
        assert first == ["recorded"] * 4 and again == ["duplicate"] * 4
        assert recorded_again == 0
        assert (_count(hub, route_action_t), _count(hub, position_ping_t)) == stored
        assert stored[0] == actions_before + 4 and stored[1] > pings_before
        assert stored == (2 * len(stops), pings_sent)

        # the tracking page of a delivered order: no ETA left; an unknown token: 404
        delivered_token = _token(hub, ids["1003"])
        assert delivered_token["eta_start"] is None
        unknown = await session.get(f"{world.service.url}/track/not-a-token")
        assert unknown.status == 404

    # every customer message goes out: e-mails to the local server, SMS to Twilio
    await asyncio.to_thread(notify.send_due, hub)
    await _until(
        lambda: not any(m["status"] in ("queued", "sending") for m in _messages(hub)),
        "every message to be sent",
    )
    unsent = [
        (m["order_id"], m["event"], m["kind"], m["status"], m["status_detail"])
        for m in _messages(hub)
        if m["status"] not in ("sent", "delivered")
    ]
    # the B2B account's order has an e-mail and no phone: its SMS are recorded suppressed
    assert {(u[0], u[2], u[3]) for u in unsent} == {(ids["PO-77"], "sms", "suppressed")}, unsent
    callbacks = await asyncio.to_thread(world.twilio.deliver_callbacks)
    assert callbacks and {c.answer for c in callbacks} == {200}
    messages = [m for m in _messages(hub) if m["status"] != "suppressed"]
    assert {m["status"] for m in messages if m["kind"] == "sms"} == {"delivered"}  # Twilio said
    mails = world.mail.mailbox.received()
    assert len(mails) == sum(1 for m in messages if m["kind"] == "email")
    assert len(world.twilio.messages) == sum(1 for m in messages if m["kind"] == "sms")
    events = {(m["order_id"], m["event"], m["kind"]) for m in messages}
    for ref in INSIDE:
        for event in ("confirmed", "dispatched"):
            assert (ids[ref], event, "sms") in events and (ids[ref], event, "email") in events
    for ref in ("1001", "1003", "1004"):
        assert (ids[ref], "delivered", "sms") in events
    assert (ids[FAILS], "failed", "sms") in events
    assert (ids[FAILS], "delivered", "sms") not in events
    texts = {(m["order_id"], m["event"]): m["body"] for m in messages if m["kind"] == "sms"}
    window = planned_eta["1003"]
    dispatched = texts[(ids["1003"], "dispatched")]
    assert "is on its way, arriving" in dispatched
    for end in ("eta_start", "eta_end"):  # the ETA window, in the customer's zone
        assert _hhmm(window[end], clock) in dispatched, (end, dispatched)
    assert "Nobody at home" in texts[(ids[FAILS], "failed")]
    assert "To rebook" in texts[(ids[FAILS], "failed")]
    assert "received by Recipient 1003" in texts[(ids["1003"], "delivered")]
    second = stops[1]["orders"][0]["number"].lstrip("#")
    assert "you're next, about" in texts[(ids[second], "next_stop")]
    subjects = [str(m["Subject"]) for m in mails]
    assert any("has shipped" in s and "PO-77" in s for s in subjects)
    (proof,) = [m for m in mails if str(m["Subject"]).endswith("order #1003 delivered")]
    body = proof.get_payload(decode=True).decode()
    assert "Proof of delivery: received by Recipient 1003, signature, photo." in body

    # the delivery report counts what the driver did
    report = hub.read(lambda c: deliveries_report(c, clock.day, clock.day, clock.zone))
    (dora,) = report.days
    assert (dora.driver, dora.delivered, dora.failed, dora.orders_delivered) == ("Dora", 3, 1, 3)
    assert (dora.with_window, dora.in_window) == (2, 1)  # 1001 came after its window closed
    assert report.failures == {"not_home": 1}
    assert dora.stops_per_hour == 12.0  # 4 drops from the first arrival to the last outcome: 20 min

    # the audit export lists every step of a delivered order
    audited = hub.read(lambda c: audit_orders(c, clock.day, clock.day, clock.zone))
    rows = list(csv.DictReader(io.StringIO(audit_csv(audited, clock.zone).decode())))
    history = [r for r in rows if r["order"] == "shop:1003"]
    kinds = [r["kind"] for r in history]
    for kind in (
        "intake",
        "allocation",
        "label",
        "driver_app",
        "shipment",
        "notification",
        "delivery",
    ):
        assert kind in kinds, (kind, kinds)
    assert kinds.index("intake") < kinds.index("allocation")  # same moment, in that order
    assert [r["what"] for r in history if r["kind"] == "allocation"] == [
        "allocated 1 × COFFEE at depot"
    ]
    driver_rows = [r["what"] for r in history if r["kind"] == "driver_app"]
    assert any("device dora-phone" in w and "at " in w for w in driver_rows)
    assert any("label" in r["what"] and "vans" in r["what"] for r in history)
    sent = [r["what"] for r in history if r["kind"] == "notification"]
    assert any(w.startswith("dispatched by sms") for w in sent)
    assert any(w.startswith("delivered by email") for w in sent)


async def test_dispatching_tells_each_customer_once_and_a_refused_dispatch_tells_no_one(
    world: LastMile,
):
    from hub.errors import RoutingError

    hub, clock = world.hub, world.clock
    await asyncio.to_thread(hub.ingest, "shop", _orders(world)[:2], actor="test")
    plan = await asyncio.to_thread(plan_routes, hub, clock.day, 1, 1.0)
    before = len(_messages(hub))
    with pytest.raises(RoutingError, match="has no routes of vehicle 'van-9'"):
        await asyncio.to_thread(dispatch_and_tell, hub, plan.plan_id, "van-9")
    assert len(_messages(hub)) == before  # nothing queued, nothing dispatched
    assert await _phone_stops(world) == []

    done = await asyncio.to_thread(dispatch_and_tell, hub, plan.plan_id)
    assert (done.routes, done.orders, len(done.messages)) == (1, 2, 4)  # e-mail and SMS each
    again = await asyncio.to_thread(dispatch_and_tell, hub, plan.plan_id)
    assert (again.routes, again.orders, again.messages) == (1, 2, ())
    dispatched = [m for m in _messages(hub) if m["event"] == "dispatched"]
    assert sorted(m["id"] for m in dispatched) == sorted(done.messages)
    assert len(await _phone_stops(world)) == 2


async def _phone_stops(world: LastMile) -> list[Any]:
    """The driver's stops today, as the phone reads them."""
    async with aiohttp.ClientSession() as session:
        phone = DriverPhone(session, world.service.url, world.token, "dora-phone")
        return list((await phone.route())["stops"])
