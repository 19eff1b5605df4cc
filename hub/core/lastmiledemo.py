"""``hub demo``'s last mile: today's deliveries from the order to the doorstep and the
figures afterwards, on embedded SQLite with local sandboxes (no accounts, no network).

A depot with three vans and their drivers; 19 orders for today in the vans' area (time
windows; two B2B accounts, one with two orders dropped at one door) and three outside
it (one of a third B2B account), which go by EasyPost (its sandbox). Then: carrier
labels bought, today's routes planned and dispatched (each customer told the ETA
window), run sheets and parcel labels printed as PDFs, and ``hub run``'s service
started. The drivers' phones drive the routes
through the driver app's REST endpoints with their own tokens: positions along each
leg, arrive and deliver with the recipient's name, a drawn signature and a photo; one
stop fails (nobody at home), one is delivered after its window closed, and one driver's
phone loses the network and sends its queue late, twice (recorded once). Customers'
e-mails go to a mail server the demo runs on this machine, SMS to the Twilio sandbox.

The day is compressed, not faked: the phones' clocks are real past moments (the app
refuses a time in the future), so the routes are planned for a shift that ended a few
minutes ago, in a city where it is daytime (:func:`hub.core.demoplaces.city_for`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from hub.core import customers, drivers, ledger, notify
from hub.core.audit import audit_csv, audit_orders, audit_pdf
from hub.core.config import parse_settings
from hub.core.demomail import LocalMailServer
from hub.core.demoplaces import CUSTOMERS, City, city_for
from hub.core.desk import Actor, LineInput, NewOrder, create_order
from hub.core.driverphone import DriverPhone, action, delivery, leg_pings
from hub.core.labels import Carriers
from hub.core.labels import buy as buy_label
from hub.core.models import notification_message_t, position_ping_t
from hub.core.planning import plan_routes
from hub.core.plugins import PluginHost
from hub.core.reports import orders_report
from hub.core.reports.deliveries import DeliveriesReport, deliveries_report
from hub.core.reports.files import delivery_files, report_files, write_files
from hub.core.routedispatch import dispatch_and_tell
from hub.core.runsheets import write_sheets
from hub.core.runtime import Hub
from hub.core.service import SCHEDULER_LOGGERS, Service
from hub.core.tour import show_command
from hub.errors import HubError
from hub.orders import Customer, DeliveryWindow, Order, OrderLine

#: (SKU, name, grams, price)
PANTRY = (
    ("COFFEE-1KG", "Coffee beans 1 kg", 1000, "18.00"),
    ("OLIVE-OIL", "Olive oil 750 ml", 1100, "14.50"),
    ("HONEY", "Wildflower honey", 500, "9.00"),
    ("TEA-TIN", "Breakfast tea tin", 300, "7.50"),
    ("GRANOLA", "Granola 800 g", 800, "8.00"),
)
VANS = ("van-1", "van-2", "van-3")
DRIVERS = ("Sam Ortiz", "Priya Nair", "Jon Berg")
SHIFT = timedelta(minutes=60)  # the compressed day: three vans needed
ENDED_AGO = timedelta(minutes=3)  # the shift ended this long before the demo starts
PING_EVERY = timedelta(seconds=30)  # phone time between positions
PACE = 0.25  # wall seconds a driver's phone waits between stops (for the eye)
SEND_WAIT = 20.0  # wall seconds to wait for every queued message to go out


@dataclass
class DayClock:
    """The compressed day: the shift's start and end (aware, in the city's zone)."""

    zone: ZoneInfo
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()

    def clock(self, moment: datetime | None) -> str:
        """``moment`` as HH:MM local time ("" for None)."""
        return moment.astimezone(self.zone).strftime("%H:%M") if moment else ""


@dataclass
class DriveLog:
    """What the phones did, for the closing figures."""

    pings_sent: int = 0
    delivered: list[str] = field(default_factory=list)  # order numbers
    failed: list[tuple[str, str]] = field(default_factory=list)  # (order number, reason)
    late: list[str] = field(default_factory=list)  # order numbers delivered after the window
    offline_first: list[str] = field(default_factory=list)  # outcomes of the late batch
    offline_again: list[str] = field(default_factory=list)  # ... and of its repeat


@dataclass
class LastMileResult:
    """What the last-mile demo did and where its files are."""

    folder: Path
    city: str
    day: date
    plan_id: int
    orders: int
    carrier_labels: list[str]  # "order: carrier service tracking"
    routes: int
    stops: int
    left_out: int
    drive: DriveLog
    report: DeliveriesReport
    emails: int
    sms: int
    pings_stored: int
    subjects: list[str]  # of the e-mails the local mail server received, in order
    messages_by_event: dict[str, int]
    files: dict[str, list[Path]]  # labels, run sheets, charts, report CSVs, audit

    @property
    def ok(self) -> bool:
        """Every stop had its outcome, both offline sends were answered as expected, and
        customers were told by e-mail and SMS."""
        return (
            bool(self.drive.delivered)
            and self.emails > 0
            and self.sms > 0
            and len(self.drive.failed) == 1
            and len(self.drive.late) == 1
            and set(self.drive.offline_first) == {"recorded"}
            and set(self.drive.offline_again) == {"duplicate"}
        )


def run_last_mile_demo(folder: Path, console: Console) -> LastMileResult:
    """Run the last-mile demo in ``folder`` (emptied first); what it did. Raises
    :class:`hub.errors.HubError` when the easypost or twilio plugin is not loaded."""
    # Absolute: the hub.toml left behind names its database relative to itself, and the
    # commands printed at the end must work from any folder.
    return asyncio.run(_demo(folder.resolve(), console))


def day_clock(moment: datetime, city: City) -> DayClock:
    """The compressed shift for a demo started at ``moment``: :data:`SHIFT` long, ended
    :data:`ENDED_AGO` before ``moment`` (on five minutes)."""
    zone = ZoneInfo(city.zone)
    local = (moment - ENDED_AGO).astimezone(zone).replace(second=0, microsecond=0)
    end = local - timedelta(minutes=local.minute % 5)
    return DayClock(zone, end - SHIFT, end)


def demo_settings(folder: Path, city: City, clock: DayClock, sandboxes: dict[str, Any]) -> Any:
    """The demo hub's settings: SQLite in ``folder``, the depot, three vans on today's
    shift, a shop and a B2B channel, the fleet and EasyPost, e-mail and SMS."""
    depot = city.depot
    van = {
        "depot": "depot",
        "shift_start": clock.start.time().isoformat(),
        "shift_end": clock.end.time().isoformat(),
        "weekdays": list(range(7)),
        "max_weight_kg": 400,
        "speed_kmh": 40,
    }
    raw = {
        "hub": {"name": city.merchant, "timezone": city.zone, "currency": city.currency},
        "database": {"url": f"sqlite:///{folder / 'hub.db'}"},
        "web": {"secret_key": "the last-mile demo's session key (this machine only)"},
        "locations": {
            "depot": {
                "name": f"{city.name} depot",
                "address": f"{depot.line1}, {depot.postcode}",
                "latitude": depot.latitude,
                "longitude": depot.longitude,
            }
        },
        "channels": {
            "shop": {"type": "manual", "locations": ["depot"]},
            "b2b": {"type": "manual", "locations": ["depot"]},
        },
        "routing": {"timezone": city.zone, "service_minutes": 3, "time_limit": 2},
        "fleet": {name: dict(van) for name in VANS},
        "driver": {"media_dir": str(folder / "media"), "ping_seconds": 30},
        "carriers": {
            "vans": {
                "type": "fleet",
                "depot": [depot.latitude, depot.longitude],
                "radius_km": city.radius_km,
                "currency": city.currency,
            },
            "easypost": sandboxes["easypost"],
        },
        "notifiers": {"mail": sandboxes["mail"], "sms": sandboxes["sms"]},
        "notifications": {
            "timezone": city.zone,
            "quiet_start": "00:00:00",
            "quiet_end": "00:00:00",
            "eta_margin_minutes": 15,
        },
    }
    return parse_settings(raw, folder / "hub.toml")


async def _demo(folder: Path, console: Console) -> LastMileResult:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = datetime.now(UTC)
    city = city_for(started)
    clock = day_clock(started, city)
    easypost, twilio = _sandboxes()
    with easypost.serve() as ep_server, twilio.serve() as sms_server, LocalMailServer() as mail:
        from_address = {
            "name": city.merchant,
            "street1": city.depot.line1,
            "city": city.depot.city,
            "state": city.depot.region,
            "zip": city.depot.postcode,
            "country": city.country,
        }
        sandboxes = {
            "easypost": easypost.config_for(ep_server.url, from_address=from_address),
            "sms": twilio.config_for(sms_server.url),
            "mail": mail.notifier_config(f"{city.merchant} <orders@pantry.example>"),
        }
        hub = Hub.open(settings=demo_settings(folder, city, clock, sandboxes))
        try:
            return await _day(hub, folder, city, clock, console, mail, twilio)
        finally:
            hub.close()


def _sandboxes() -> tuple[Any, Any]:
    """New EasyPost and Twilio sandboxes, from their plugins."""
    host = PluginHost.load(log_problems=False)
    easypost = getattr(host.carrier_types.get("easypost"), "sandbox", None)
    twilio = getattr(host.notifier_types.get("twilio"), "sandbox", None)
    if easypost is None or twilio is None:
        raise HubError(
            "the last-mile demo needs the easypost and twilio plugins (with their "
            "sandboxes); are they disabled in HUB_DISABLE_PLUGINS?"
        )
    return easypost(), twilio()


async def _day(
    hub: Hub,
    folder: Path,
    city: City,
    clock: DayClock,
    console: Console,
    mail: LocalMailServer,
    twilio: Any,
) -> LastMileResult:
    await asyncio.to_thread(hub.upgrade)
    service = Service(hub, port=0)
    levels = {name: logging.getLogger(name).level for name in SCHEDULER_LOGGERS}
    for name in SCHEDULER_LOGGERS:  # "skipped: a send still runs" is no news here
        logging.getLogger(name).setLevel(logging.ERROR)
    await service.start()
    hub.settings.notifications.public_url = service.url  # the customers' tracking links
    console.rule("[bold]The last mile")
    console.print(
        f"{city.merchant}: a depot at {city.depot.line1}, {city.name}; 3 vans; today's shift "
        f"{clock.clock(clock.start)}-{clock.clock(clock.end)} ({city.zone}), compressed: it "
        "ended a few minutes ago. Customers' e-mails go to a mail server on this machine "
        f"(port {mail.port}), SMS to the Twilio sandbox; hub run serves on {service.url}"
    )
    carriers = Carriers(hub, folder / "labels")
    try:
        tokens = await asyncio.to_thread(_seed, hub, city)
        fleet_refs, outside_refs = await asyncio.to_thread(_take_orders, hub, city, clock)
        console.print(
            f"{len(fleet_refs) + len(outside_refs)} orders for today: {len(fleet_refs)} in the "
            f"vans' area ({city.radius_km:g} km around the depot), {len(outside_refs)} outside "
            "it; each customer was sent 'order confirmed'"
        )
        bought, label_files = await asyncio.to_thread(
            _buy_carrier_labels, hub, carriers, outside_refs
        )
        for line in bought:
            console.print(f"  label bought: {line}")
        plan = await asyncio.to_thread(plan_routes, hub, clock.day, 1, 2.0)
        told = await asyncio.to_thread(dispatch_and_tell, hub, plan.plan_id)
        console.print(
            f"plan {plan.plan_id}: {plan.orders} orders in {plan.stops} stops on "
            f"{len(plan.plan.routes)} routes ({plan.plan.router}), {plan.left_out} left out; "
            f"dispatched: {told.orders} customers told their ETA window"
        )
        _print_routes(console, plan.plan, clock)
        sheets = await asyncio.to_thread(
            write_sheets, hub, carriers, plan.plan_id, folder / "print", "demo"
        )
        console.print(
            f"printed {len(sheets.sheets)} run sheets and {len(sheets.labels)} parcel labels "
            f"(PDF) in {folder / 'print'}"
        )
        console.rule("[bold]The drivers")
        log = await _drive(service.url, tokens, city, clock, console)
        await _wait_for_messages(hub)
        await asyncio.to_thread(twilio.deliver_callbacks)  # "delivered" reports, signed
    finally:
        carriers.close()
        await service.stop()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    console.rule("[bold]How the day went")
    return await asyncio.to_thread(
        _close_day,
        hub,
        folder,
        city,
        clock,
        console,
        mail,
        twilio,
        log,
        plan,
        bought,
        [*sheets.labels, *label_files],
        sheets.sheets,
    )


# -- the hub's data ------------------------------------------------------------------------------


def _seed(hub: Hub, city: City) -> dict[str, str]:
    """Stock, the B2B accounts and the drivers; driver name -> token."""

    def work(conn: Any) -> dict[str, str]:
        for sku, name, grams, _ in PANTRY:
            ledger.ensure_product(conn, sku, name=name, weight_grams=float(grams))
            ledger.receive(conn, sku, "depot", 200, reason="opening stock", actor="demo")
        accounts = (
            ("CAFE", "Union Station Café", city.inside[-2], "Rosa Diaz"),
            ("CLINIC", "Highlands Dental", city.inside[-1], "Omar Haddad"),
            ("LAB", "Flatirons Lab", city.outside[-1], "Mei Chen"),
        )
        for number, name, place, contact in accounts:
            email = f"goods-in@{number.lower()}.example"
            customers.create_account(
                conn, number, name, email=email, phone=city.phone(90), payment_terms_days=30
            )
            customers.add_address(
                conn, number, city.address(place, name, city.phone(90), name), label="site"
            )
            customers.add_contact(
                conn,
                number,
                contact,
                email=f"{contact.split()[0].lower()}@{number.lower()}.example",
                role="deliveries",
            )
        tokens = {}
        for name, vehicle in zip(DRIVERS, VANS, strict=True):
            tokens[name], _ = drivers.create_driver(conn, name, vehicle, "", hub.settings)
        return tokens

    result: dict[str, str] = hub.write(work)
    return result


def _take_orders(hub: Hub, city: City, clock: DayClock) -> tuple[list[str], list[str]]:
    """The shop's orders (windows in two slots) and the B2B desk's; (refs in the vans'
    area, refs outside it)."""
    early = DeliveryWindow(clock.start, clock.start + timedelta(minutes=35))
    late = DeliveryWindow(clock.start + timedelta(minutes=25), clock.end - timedelta(minutes=12))
    placed = clock.start - timedelta(hours=20)
    shop_places = [(p, True) for p in city.inside[:-2]] + [(p, False) for p in city.outside[:-1]]
    orders: list[Order] = []
    fleet: list[str] = []
    outside: list[str] = []
    for n, (place, inside) in enumerate(shop_places):
        name = CUSTOMERS[n % len(CUSTOMERS)]
        sku, _, _, price = PANTRY[n % len(PANTRY)]
        quantity = 1 + n % 3
        number = f"{1001 + n}"
        orders.append(
            Order(
                channel="shop",
                external_id=number,
                number=f"#{number}",
                lines=(OrderLine(sku, quantity, Decimal(price)),),
                total=Decimal(price) * quantity,
                currency=city.currency,
                customer=Customer(
                    name=name,
                    email=f"{name.split()[0].lower()}@example.com",
                    phone=city.phone(n),
                ),
                shipping_address=city.address(place, name, city.phone(n)),
                placed_at=placed + timedelta(minutes=37 * n),
                updated_at=placed + timedelta(minutes=37 * n),
                delivery_window=(early if n % 2 == 0 else late) if inside else None,
            )
        )
        (fleet if inside else outside).append(f"shop:{number}")
    hub.ingest("shop", orders, actor="demo")
    desk = Actor("demo", "cli")
    for account, reference, lines in (
        ("CAFE", "PO-7701", (LineInput("COFFEE-1KG", 6), LineInput("GRANOLA", 4))),
        ("CAFE", "PO-7702", (LineInput("HONEY", 6),)),  # same door: one drop
        ("CLINIC", "PO-3120", (LineInput("TEA-TIN", 10),)),
        ("LAB", "PO-5550", (LineInput("COFFEE-1KG", 3),)),
    ):
        view = create_order(
            hub,
            NewOrder(
                account,
                lines,
                channel="b2b",
                reference=reference,
                po_number=reference,
                requested_date=clock.day,
                window_start=_local_time(clock.start),
                window_end=_local_time(late.end),
            ),
            desk,
        )
        (outside if account == "LAB" else fleet).append(f"b2b:{view.external_id}")
    return fleet, outside


def _local_time(moment: datetime) -> time:
    return moment.time().replace(tzinfo=None)


def _buy_carrier_labels(
    hub: Hub, carriers: Carriers, refs: list[str]
) -> tuple[list[str], list[Path]]:
    """Labels for the orders outside the vans' area (the carrier chosen per order: the
    cheapest EasyPost service meeting the promised day); a line per label, the files."""
    lines, files = [], []
    for ref in refs:
        label = buy_label(hub, carriers, ref, actor="demo").label
        lines.append(
            f"{ref} {label['carrier']} {label['service']} "
            f"{Decimal(label['postage']):.2f} {label['currency']}, "
            f"tracking {label['tracking_number']}"
        )
        files.append(Path(label["label_path"]))
    return lines, files


def _print_routes(console: Console, plan: Any, clock: DayClock) -> None:
    table = Table("van", "stops", "leaves", "back", "km")
    for route in plan.routes:
        table.add_row(
            route.vehicle_id,
            str(len(route.visits)),
            clock.clock(route.departure),
            clock.clock(route.arrival),
            f"{route.distance / 1000:.1f}",
        )
    console.print(table)


# -- the drivers ---------------------------------------------------------------------------------


async def _drive(
    url: str, tokens: dict[str, str], city: City, clock: DayClock, console: Console
) -> DriveLog:
    """Every driver's phone drives its route at once; the last driver's phone goes
    offline after its first stop and sends its queue after the others finished, twice."""
    log = DriveLog()
    depot = (city.depot.latitude, city.depot.longitude)
    async with aiohttp.ClientSession() as session:
        phones = {
            name: DriverPhone(session, url, token, f"phone-{n + 1}")
            for n, (name, token) in enumerate(tokens.items())
        }
        routes = {name: await phone.route(clock.day) for name, phone in phones.items()}
        driving = [r for r in routes.values() if r["route"] and r["stops"]]
        by_size = sorted(driving, key=lambda r: -len(r["stops"]))
        # with fewer routes than roles (a planner using two vans), a driver takes two
        roles = {
            role: by_size[n % len(by_size)]["driver"] if by_size else ""
            for n, role in enumerate(("fail", "late", "offline"))
        }
        await asyncio.gather(
            *(
                _drive_route(phones[r["driver"]], r, roles, depot, clock, console, log)
                for r in driving
            )
        )
        offline = phones.get(roles["offline"])
        if offline is not None and offline.queued_actions:
            log.offline_first, _ = await offline.send_queue()
            log.offline_again, _ = await offline.send_queue()  # the answer was lost: again
            console.print(
                f"{roles['offline']}'s phone is back online and sends its queue of "
                f"{len(offline.queued_actions)} actions and {len(offline.queued_pings)} "
                f"positions: {_outcomes(log.offline_first)}; no answer came back, so it sends "
                f"it again: {_outcomes(log.offline_again)}"
            )
    return log


async def _drive_route(
    phone: DriverPhone,
    route: dict[str, Any],
    roles: dict[str, str],
    depot: tuple[float, float],
    clock: DayClock,
    console: Console,
    log: DriveLog,
) -> None:
    """Drive ``route``: positions along each leg, arrive, then deliver or fail."""
    name, route_id, stops = route["driver"], route["route"], route["stops"]
    here, at = depot, datetime.fromisoformat(route["departure"])
    console.print(f"{name} ({route['vehicle']}) leaves the depot at {clock.clock(at)}")
    for n, stop in enumerate(stops):
        target = (stop["latitude"], stop["longitude"])
        window_start, window_end = (
            datetime.fromisoformat(stop[k]) if stop[k] else None
            for k in ("window_start", "window_end")
        )
        arrive = max(datetime.fromisoformat(stop["planned_arrival"]), window_start or at)
        is_late = name == roles["late"] and n == len(stops) - 1 and window_end is not None
        if is_late:  # held up: reaches the last stop after its window closed
            assert window_end is not None
            arrive = max(arrive, window_end + timedelta(minutes=4))
        arrive = max(arrive, at + timedelta(minutes=1))
        points = leg_pings(here, target, at, arrive, PING_EVERY)
        log.pings_sent += len(points)
        await phone.ping(route_id, points)
        position = {"latitude": target[0], "longitude": target[1], "accuracy": 6.0}
        await phone.act(action(route_id, stop["seq"], "arrive", arrive, **position))
        numbers = ", ".join(o["number"] for o in stop["orders"])
        if name == roles["fail"] and n == 1:
            at = arrive + timedelta(minutes=3)
            note = "left a card; no answer on the phone"
            await phone.act(action(route_id, stop["seq"], "fail", at, reason="not_home", note=note))
            log.failed += [(o["number"], "not_home") for o in stop["orders"]]
            what = "[red]failed[/]: nobody at home"
        else:
            at = arrive + timedelta(minutes=2)
            if window_end is not None and not is_late:
                at = min(at, window_end)
            recipient = stop["name"] or "Neighbour at no. 3"
            await phone.act(delivery(route_id, stop["seq"], at, recipient, target))
            log.delivered += [o["number"] for o in stop["orders"]]
            if is_late:
                log.late += [o["number"] for o in stop["orders"]]
            late = " [yellow](after its window)[/]" if is_late else ""
            what = f"delivered to {recipient}, signed, photo{late}"
        queued = " [dim](queued: offline)[/]" if phone.offline else ""
        console.print(f"  {name} stop {stop['seq']} {clock.clock(at)} {numbers}: {what}{queued}")
        here = target
        if name == roles["offline"] and n == 0:
            phone.offline = True
            console.print(f"  {name}'s phone loses the network")
        await asyncio.sleep(PACE)


def _outcomes(outcomes: list[str]) -> str:
    counted = {o: outcomes.count(o) for o in dict.fromkeys(outcomes)}
    return ", ".join(f"{n} {o}" for o, n in counted.items()) or "nothing"


async def _wait_for_messages(hub: Hub) -> None:
    """Until no customer message waits to be sent (the service sends every 2 s)."""
    m = notification_message_t.c
    waiting = sa.select(sa.func.count()).where(m.status.in_((notify.QUEUED, notify.SENDING)))
    deadline = asyncio.get_running_loop().time() + SEND_WAIT
    while asyncio.get_running_loop().time() < deadline:
        if not await asyncio.to_thread(hub.read, lambda c: c.scalar(waiting)):
            return
        await asyncio.sleep(0.5)


# -- the figures ---------------------------------------------------------------------------------


def _close_day(
    hub: Hub,
    folder: Path,
    city: City,
    clock: DayClock,
    console: Console,
    mail: LocalMailServer,
    twilio: Any,
    log: DriveLog,
    plan: Any,
    bought: list[str],
    labels: list[Path],
    sheets: list[Path],
) -> LastMileResult:
    zone = clock.zone
    report = hub.read(lambda c: deliveries_report(c, clock.day, clock.day, zone))
    orders = hub.read(lambda c: orders_report(c, clock.day, clock.day, zone))
    audited = hub.read(lambda c: audit_orders(c, clock.day, clock.day, zone))
    out = folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    written = write_files(out, {**delivery_files(report), **report_files(orders)})
    audit = write_files(
        out,
        {
            "audit.csv": audit_csv(audited, zone),
            "audit.pdf": audit_pdf(
                audited, clock.day, clock.day, zone, datetime.now(UTC), city.merchant
            ),
        },
    )
    m = notification_message_t.c
    events = dict(
        hub.read(
            lambda c: c.execute(
                sa.select(m.event, sa.func.count())
                .where(m.status != notify.SUPPRESSED)
                .group_by(m.event)
            ).all()
        )
    )
    result = LastMileResult(
        folder=folder,
        city=city.name,
        day=clock.day,
        plan_id=plan.plan_id,
        orders=plan.orders + len(bought),
        carrier_labels=bought,
        routes=len(plan.plan.routes),
        stops=plan.stops,
        left_out=plan.left_out,
        drive=log,
        report=report,
        emails=len(mail.mailbox.received()),
        subjects=[str(m["Subject"]) for m in mail.mailbox.received()],
        sms=len(twilio.messages),
        pings_stored=hub.read(
            lambda c: c.scalar(sa.select(sa.func.count()).select_from(position_ping_t))
        ),
        messages_by_event={k: int(v) for k, v in events.items()},
        files={
            "labels": labels,
            "run sheets": sheets,
            "charts": [p for p in written if p.suffix == ".png"],
            "report": [p for p in written if p.suffix == ".csv"],
            "audit": audit,
        },
    )
    _print_figures(console, result, audited)
    _look_again(console, result, city)
    return result


def _print_figures(console: Console, result: LastMileResult, audited: list[Any]) -> None:
    table = Table(
        "driver",
        "delivered",
        "failed",
        "orders delivered",
        "in window",
        "median min vs plan",
        "stops per hour",
        title=f"Deliveries on {result.day} (hub report deliveries)",
    )
    for d in result.report.days:
        table.add_row(
            d.driver,
            str(d.delivered),
            str(d.failed),
            str(d.orders_delivered),
            f"{d.in_window} of {d.with_window}" if d.with_window else "-",
            "-" if d.median_minutes_vs_plan is None else f"{d.median_minutes_vs_plan:.1f}",
            "-" if d.stops_per_hour is None else f"{d.stops_per_hour:.1f}",
        )
    console.print(table)
    reasons = ", ".join(f"{r} {n}" for r, n in result.report.failures.items()) or "none"
    drive = result.drive
    console.print(
        f"failed drops by reason: {reasons}; delivered late: {', '.join(drive.late) or 'none'}; "
        f"positions: {drive.pings_sent} sent, {result.pings_stored} stored"
    )
    told = ", ".join(f"{e} {n}" for e, n in sorted(result.messages_by_event.items()))
    console.print(
        f"customers told: {result.emails} e-mails received by the local mail server, "
        f"{result.sms} SMS by the Twilio sandbox (messages per event: {told})"
    )
    events = sum(len(o.events) for o in audited)
    console.print(f"audit: {len(audited)} orders, {events} events")
    for what, paths in result.files.items():
        folders: dict[Path, list[str]] = {}
        for path in paths:
            folders.setdefault(path.parent, []).append(path.name)
        for parent, names in folders.items():
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            console.print(f"{what}: {parent}/ {shown}", highlight=False)
    colour = "green" if result.ok else "red"
    console.print(f"[{colour}]last mile: {'done' if result.ok else 'something went wrong'}[/]")


def _look_again(console: Console, result: LastMileResult, city: City) -> None:
    config = str(look_again_config(result.folder, city))
    console.print("Look at the day again (the sandboxes stopped with the demo):")
    day = result.day.isoformat()
    show_command(console, "report", "deliveries", "--from", day, "--to", day, "--config", config)
    show_command(console, "route", "show", str(result.plan_id), "--config", config)


def look_again_config(folder: Path, city: City) -> Path:
    """``folder/hub.toml``: the demo's database, depot, channels and vans, without the
    sandboxes (which stop with the demo), for ``hub report`` and ``hub route show``."""
    path = folder / "hub.toml"
    vans = "".join(f'[fleet.{van}]\ndepot = "depot"\n\n' for van in VANS)
    zone, depot = city.zone, city.depot
    path.write_text(
        f'[hub]\nname = "{city.merchant}"\ntimezone = "{zone}"\n\n'
        '[database]\nurl = "sqlite:///hub.db"\n\n'
        f'[routing]\ntimezone = "{zone}"\n\n'
        '[driver]\nmedia_dir = "media"\n\n'
        f'[locations.depot]\nname = "{city.name} depot"\n'
        f"latitude = {depot.latitude}\nlongitude = {depot.longitude}\n\n"
        '[channels.shop]\ntype = "manual"\nlocations = ["depot"]\n\n'
        '[channels.b2b]\ntype = "manual"\nlocations = ["depot"]\n\n' + vans,
        encoding="utf-8",
    )
    return path


__all__ = [
    "DayClock",
    "DriveLog",
    "LastMileResult",
    "day_clock",
    "look_again_config",
    "run_last_mile_demo",
]
