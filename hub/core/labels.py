"""Carrier labels: rates, a label bought exactly once per order, void and re-buy, tracking.

A label is a ``carrier_label`` row, unique per (order, generation). :func:`buy` claims
the row of the order's current generation before any carrier call (a second click, a
second worker or a retry finds it and carries on with it), stores the carrier's shipment
id as soon as the carrier made one, and reads that shipment back before each buy and
after a buy whose answer was lost, so the carrier charges postage once. Only
:func:`void` with ``rebuy`` (a person's explicit choice) starts the next generation,
after asking the carrier to refund the first label.

Once bought, the label file is kept under the label folder (``<config folder>/labels``
unless told otherwise) and, for a carrier that hands parcels over (not the own fleet,
whose drivers do), the order ships through :func:`hub.core.fulfilment.ship`: the sale is
booked and the selling channel told through the shipment outbox.

The carrier choice (:func:`choose_carrier`): a carrier named by the person wins; else,
of the carriers configured for the order's channel (``channels``; empty: every channel)
that serve its address, an own fleet comes first (inside its delivery area), then the
cheapest rate among services meeting the promised date (the order's requested date, or
the end of its delivery window); when none meets it, the fastest.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hub.core import fulfilment, notify
from hub.core.models import (
    carrier_label_t,
    customer_account_t,
    customer_contact_t,
    notification_message_t,
    now,
    order_line_t,
    order_t,
    product_t,
    shipment_t,
    tracking_event_t,
)
from hub.core.orderbook import find_order, to_order
from hub.errors import HubError, InvalidInput, NotFound, UnreadableWebhook, WebhookRejected
from hub.orders import Address, OrderStatus
from hub.shipping import (
    AlreadyPurchased,
    Carrier,
    CarrierError,
    Label,
    LabelRequest,
    Rate,
    Shipment,
    TrackingUpdate,
    spoken_day,
)
from hub.stock import StockChange

if TYPE_CHECKING:
    from hub.core.runtime import Hub

log = logging.getLogger("hub.labels")

BUYING, BOUGHT, FAILED, REFUND_ASKED, VOIDED = (
    "buying",
    "bought",
    "failed",
    "refund_asked",
    "voided",
)
LIVE = (BUYING, BOUGHT, FAILED)
BUY_ATTEMPTS = 3  # buys tried (each read back first) before a passing failure is reported
DEFAULT_PARCEL_GRAMS = 500  # an order whose products have no weight


@dataclass(frozen=True)
class LabelOutcome:
    """What :func:`buy` did: the label row and whether this call bought it."""

    label: dict[str, Any]
    bought_now: bool
    shipped: Shipment | None = None
    changes: tuple[StockChange, ...] = ()


class Carriers:
    """The configured carriers of a hub, made once from ``[carriers.*]``."""

    def __init__(self, hub: Hub, label_dir: Path | None = None) -> None:
        self.hub = hub
        self.label_dir = label_dir or hub.settings.path.parent / "labels"
        self._made: dict[str, Carrier] = {}
        for name, raw in hub.settings.carriers.items():
            kind: type[Carrier] = hub.plugins.carrier_types[raw["type"]]
            self._made[name] = kind(name, kind.Config.model_validate(raw))

    def names(self) -> list[str]:
        """Configured carrier names, sorted."""
        return sorted(self._made)

    def get(self, name: str) -> Carrier:
        """The carrier ``name``; :class:`NotFound` naming the configured ones."""
        if name not in self._made:
            known = ", ".join(self.names()) or "none configured: add a [carriers.NAME] section"
            raise NotFound(f"no carrier {name!r}; configured: {known}", field="carrier")
        return self._made[name]

    def for_channel(self, channel: str) -> list[Carrier]:
        """Carriers that may carry ``channel``'s orders (``channels`` empty: all)."""
        return [
            c
            for _, c in sorted(self._made.items())
            if channel in (getattr(c.config, "channels", None) or [channel])
        ]

    def close(self) -> None:
        """Close every carrier."""
        for carrier in self._made.values():
            carrier.close()


# -- the order as a parcel ---------------------------------------------------------------------


def label_request(conn: Connection, order: Mapping[str, Any], reference: str) -> LabelRequest:
    """The parcel of ``order`` (a ``sales_order`` row) for a carrier; :class:`InvalidInput`
    when it has no delivery address."""
    ref = f"{order['channel']}:{order['external_id']}"
    missing = [k for k in ("ship_line1", "ship_postcode", "ship_country") if not order[k]]
    if missing:
        fields = ", ".join(m.removeprefix("ship_") for m in missing)
        raise InvalidInput(
            f"order {ref} has no delivery address ({fields} missing); add it before buying a label",
            field="address",
        )
    to = Address(
        name=order["ship_name"] or order["customer_name"],
        company=order["company"],
        line1=order["ship_line1"],
        line2=order["ship_line2"],
        city=order["ship_city"],
        region=order["ship_region"],
        postcode=order["ship_postcode"],
        country=order["ship_country"],
        phone=order["ship_phone"] or order["customer_phone"],
        latitude=order["latitude"],
        longitude=order["longitude"],
    )
    return LabelRequest(
        reference=reference,
        order_channel=order["channel"],
        order_external_id=order["external_id"],
        order_number=order["number"] or order["external_id"],
        to_address=to,
        from_address=Address(),
        weight_grams=_weight(conn, order["id"]),
        promised_by=_promised(order),
        to_email=order["customer_email"],
    )


def _weight(conn: Connection, order_id: int) -> int:
    line, p = order_line_t.c, product_t.c
    grams = conn.scalar(
        sa.select(sa.func.sum(line.quantity * p.weight_grams))
        .join(product_t, p.id == line.product_id)
        .where(line.order_id == order_id)
    )
    return int(grams or 0) or DEFAULT_PARCEL_GRAMS


def _promised(order: Mapping[str, Any]) -> date | None:
    if order["requested_date"]:
        return order["requested_date"]
    if order["window_end"]:
        return order["window_end"].date()
    return None


def reference_of(order_id: int, generation: int) -> str:
    """The hub's idempotency reference of an order's label of ``generation``."""
    return f"hub-{order_id}-{generation}"


# -- the carrier choice ------------------------------------------------------------------------


def business_days_after(start: date, days: int) -> date:
    """The day ``days`` business days (Monday to Friday) after ``start``."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def cheapest_meeting(rates: list[Rate], promised_by: date | None, today: date) -> Rate | None:
    """The cheapest rate arriving by ``promised_by`` (all of them with no promise); when
    none does, the fastest (then cheapest); None for no rates at all."""
    if not rates:
        return None

    def arrives(rate: Rate) -> date:
        if rate.delivery_date is not None:
            return rate.delivery_date
        days = rate.delivery_days if rate.delivery_days is not None else 10**4
        return business_days_after(today, days)

    meeting = [r for r in rates if promised_by is None or arrives(r) <= promised_by]
    if meeting:
        return min(meeting, key=lambda r: (r.amount, arrives(r)))
    return min(rates, key=lambda r: (arrives(r), r.amount))


def choose_carrier(carriers: Carriers, request: LabelRequest, named: str | None) -> Carrier:
    """The carrier for ``request``: ``named`` when given, else the own fleet when it
    serves the address, else the first other carrier configured for the channel that
    serves it. :class:`InvalidInput` when none can."""
    if named:
        carrier = carriers.get(named)
        if not carrier.serves(request):
            raise InvalidInput(
                f"carrier {named!r} does not serve {request.to_address.postcode} "
                f"{request.to_address.country}; choose another with --carrier",
                field="carrier",
            )
        return carrier
    serving = [c for c in carriers.for_channel(request.order_channel) if c.serves(request)]
    fleet = [c for c in serving if c.own_fleet]
    if fleet:
        return fleet[0]
    if serving:
        return serving[0]
    if not carriers.names():
        raise InvalidInput("no carrier configured: add a [carriers.NAME] section", field="carrier")
    raise InvalidInput(
        f"no configured carrier serves order {request.order_channel}:"
        f"{request.order_external_id} ({request.to_address.postcode} "
        f"{request.to_address.country}); configured: {', '.join(carriers.names())}",
        field="carrier",
    )


def choose_rate(rates: tuple[Rate, ...], service: str | None, request: LabelRequest) -> Rate:
    """``service``'s rate when named, else :func:`cheapest_meeting` the promise."""
    if service:
        for rate in rates:
            if service in (rate.service, f"{rate.carrier} {rate.service}".strip()):
                return rate
        offered = ", ".join(sorted({r.service for r in rates})) or "none"
        raise InvalidInput(f"no service {service!r}; offered: {offered}", field="service")
    chosen = cheapest_meeting(list(rates), request.promised_by, date.today())
    if chosen is None:
        raise CarrierError("the carrier offered no rate for this parcel")
    return chosen


def rates(hub: Hub, carriers: Carriers, ref: str, carrier: str | None = None) -> list[tuple]:
    """(carrier name, rate) for every carrier that serves order ``ref`` (or ``carrier``),
    cheapest first. Asking creates shipments at the carriers, never buys."""
    order = hub.read(lambda c: find_order(c, ref)).order
    request = hub.read(lambda c: label_request(c, order, f"hub-{order['id']}-quote"))
    chosen = (
        [carriers.get(carrier)]
        if carrier
        else [c for c in carriers.for_channel(order["channel"]) if c.serves(request)]
    )
    found = [(c.name, rate) for c in chosen for rate in c.quote(request).rates]
    return sorted(found, key=lambda pair: pair[1].amount)


# -- buying ------------------------------------------------------------------------------------


def buy(
    hub: Hub,
    carriers: Carriers,
    ref: str,
    *,
    carrier: str | None = None,
    service: str | None = None,
    actor: str = "",
    route: str = "",
    stop: int | None = None,
) -> LabelOutcome:
    """Buy the label of order ``ref`` once: a label already bought for the order's
    current generation is returned as it is, whoever asks and however often.

    Raises :class:`NotFound` (unknown order or carrier), :class:`InvalidInput` (an order
    that is not open, has no address, no carrier serving it, an unknown service), and
    :class:`CarrierError` when the carrier refuses (the label is then ``failed`` with the
    reason; buying again resumes it) or stays unreachable.
    """
    row = hub.write(lambda c: _claim(c, carriers, ref, carrier, actor, rebuy=False))
    outcome = _complete(hub, carriers, row, service, route=route, stop=stop)
    after_commit(hub, outcome)
    return outcome


def _claim(
    conn: Connection,
    carriers: Carriers,
    ref: str,
    carrier: str | None,
    actor: str,
    *,
    rebuy: bool,
) -> dict[str, Any]:
    """The label row of the order's current generation, inserted when there is none
    (or, with ``rebuy``, the next generation's)."""
    order = find_order(conn, ref).order
    current = _current(conn, order["id"])
    if current is not None and current["state"] in LIVE and not rebuy:
        return current
    generation = 1 if current is None else current["generation"] + 1
    if current is None or not rebuy:
        _require_open(order)
    request = label_request(conn, order, reference_of(order["id"], generation))
    chosen = choose_carrier(carriers, request, carrier or (current or {}).get("carrier"))
    values = {
        "order_id": order["id"],
        "generation": generation,
        "reference": request.reference,
        "carrier": chosen.name,
        "carrier_type": chosen.type_name,
        "state": BUYING,
        "actor": actor,
        "created_at": now(),
        **{k: "" for k in _TEXT_COLUMNS},
    }
    try:
        with conn.begin_nested():
            conn.execute(carrier_label_t.insert().values(values))
    except IntegrityError:  # a second click or worker claimed this generation first
        pass
    found = conn.execute(
        sa.select(carrier_label_t).where(
            carrier_label_t.c.order_id == order["id"],
            carrier_label_t.c.generation == generation,
        )
    ).mappings()
    return dict(found.one())


_TEXT_COLUMNS = (
    "service",
    "rate_id",
    "currency",
    "carrier_shipment_id",
    "tracking_number",
    "tracking_url",
    "label_path",
    "refund_status",
    "tracking_status",
    "last_error",
)


def _current(conn: Connection, order_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(carrier_label_t)
            .where(carrier_label_t.c.order_id == order_id)
            .order_by(carrier_label_t.c.generation.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _require_open(order: Mapping[str, Any]) -> None:
    if order["status"] != OrderStatus.OPEN.value:
        reason = f" ({order['hold_reason']})" if order["hold_reason"] else ""
        raise InvalidInput(
            f"order {order['channel']}:{order['external_id']} is {order['status']}{reason}; "
            "labels are bought for open orders only",
            field="order",
        )


def _complete(
    hub: Hub,
    carriers: Carriers,
    row: dict[str, Any],
    service: str | None,
    *,
    route: str = "",
    stop: int | None = None,
) -> LabelOutcome:
    """Carry a claimed label to ``bought``: quote once, read back, buy, keep the file."""
    if row["state"] == BOUGHT:
        return LabelOutcome(row, bought_now=False)
    carrier = carriers.get(row["carrier"])
    order = hub.read(
        lambda c: (
            c.execute(sa.select(order_t).where(order_t.c.id == row["order_id"])).mappings().one()
        )
    )
    request = hub.read(lambda c: label_request(c, order, row["reference"]))
    request = dataclasses.replace(request, route=route, stop=stop)
    try:
        row = _quoted(hub, carrier, row, request, service)
        rate = Rate(row["service"], row["postage"], row["currency"], rate_id=row["rate_id"])
        label = _buy_once(carrier, row["carrier_shipment_id"], rate)
    except CarrierError as error:
        hub.write(lambda c, e=error: _failed(c, row["id"], e))
        raise
    path = _keep_file(carriers, carrier, label, request)
    return hub.write(lambda c: _bought(c, hub, carrier, row["id"], label, path))


def _quoted(
    hub: Hub, carrier: Carrier, row: dict[str, Any], request: LabelRequest, service: str | None
) -> dict[str, Any]:
    """The row with the carrier's shipment id and chosen rate, quoting when it has none.
    Of two quotes made at once, the first stored is kept (the other shipment is never
    bought, so it costs nothing)."""
    if row["carrier_shipment_id"]:
        return row
    quote = carrier.quote(request)
    rate = choose_rate(quote.rates, service, request)
    c = carrier_label_t.c

    def store(conn: Connection) -> dict[str, Any]:
        conn.execute(
            carrier_label_t.update()
            .where(c.id == row["id"], c.carrier_shipment_id == "")
            .values(
                carrier_shipment_id=quote.carrier_shipment_id,
                service=rate.service if not rate.carrier else f"{rate.carrier} {rate.service}",
                rate_id=rate.rate_id,
                postage=rate.amount,
                currency=rate.currency,
            )
        )
        return dict(
            conn.execute(sa.select(carrier_label_t).where(c.id == row["id"])).mappings().one()
        )

    return hub.write(store)


def _buy_once(carrier: Carrier, shipment_id: str, rate: Rate) -> Label:
    """Read back, then buy; a lost answer or "already purchased" is read back again."""
    error: CarrierError | None = None
    for attempt in range(BUY_ATTEMPTS):
        held = carrier.read_back(shipment_id)
        if held is not None:
            return held
        try:
            return carrier.buy(shipment_id, rate)
        except AlreadyPurchased:
            held = carrier.read_back(shipment_id)
            if held is not None:
                return held
            raise
        except CarrierError as failed:
            if not failed.retryable:
                raise
            error = failed
            log.warning(
                "carrier %s: buying %s attempt %d: %s",
                carrier.name,
                shipment_id,
                attempt + 1,
                failed,
            )
    held = carrier.read_back(shipment_id)
    if held is not None:
        return held
    assert error is not None
    raise error


def _failed(conn: Connection, label_id: int, error: HubError) -> None:
    c = carrier_label_t.c
    conn.execute(
        carrier_label_t.update()
        .where(c.id == label_id, c.state.in_((BUYING, FAILED)))
        .values(state=FAILED, last_error=str(error)[:2000])
    )


def _keep_file(carriers: Carriers, carrier: Carrier, label: Label, request: LabelRequest) -> str:
    """Write the label file atomically as ``<label dir>/<reference><suffix>``; its path."""
    data = carrier.label_file(label, request)
    folder = carriers.label_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{request.reference}{carrier.label_suffix}"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".label-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, target)
    return str(target)


def _bought(
    conn: Connection, hub: Hub, carrier: Carrier, label_id: int, label: Label, path: str
) -> LabelOutcome:
    """Record the label (once: of two finishing at once, the first) and ship the order
    when the carrier takes parcels itself."""
    c = carrier_label_t.c
    stamp = now()
    moved = conn.execute(
        carrier_label_t.update()
        .where(c.id == label_id, c.state.in_((BUYING, FAILED)))
        .values(
            state=BOUGHT,
            tracking_number=label.tracking_number,
            tracking_url=label.tracking_url,
            service=label.service,
            postage=label.postage,
            currency=label.currency,
            label_path=path,
            last_error="",
            bought_at=stamp,
        )
    )
    row = dict(conn.execute(sa.select(carrier_label_t).where(c.id == label_id)).mappings().one())
    if not moved.rowcount:
        return LabelOutcome(row, bought_now=False)
    if not carrier.hands_over:
        return LabelOutcome(row, bought_now=True)
    shipped, changes = _ship_or_retrack(conn, hub, row, label.carrier or carrier.name)
    row = dict(conn.execute(sa.select(carrier_label_t).where(c.id == label_id)).mappings().one())
    return LabelOutcome(row, bought_now=True, shipped=shipped, changes=tuple(changes))


def _ship_or_retrack(
    conn: Connection, hub: Hub, row: dict[str, Any], told_carrier: str
) -> tuple[Shipment | None, list[StockChange]]:
    """Ship the open order with the label's tracking (the channel is told through the
    outbox); for a re-bought label of a shipped order, the shipment takes the new
    tracking number and is told again."""
    order = conn.execute(sa.select(order_t).where(order_t.c.id == row["order_id"])).mappings().one()
    ref = f"{order['channel']}:{order['external_id']}"
    if order["status"] == OrderStatus.OPEN.value:
        _, shipment, changes = fulfilment.ship(
            conn,
            ref,
            told_carrier,
            row["tracking_number"],
            row["tracking_url"],
            row["actor"],
            tell_channel=hub.tells_channel,
        )
        shipment_id = conn.scalar(
            sa.select(sa.func.max(shipment_t.c.id)).where(shipment_t.c.order_id == order["id"])
        )
        conn.execute(
            carrier_label_t.update()
            .where(carrier_label_t.c.id == row["id"])
            .values(shipment_id=shipment_id)
        )
        return shipment, changes
    previous = conn.scalar(
        sa.select(carrier_label_t.c.shipment_id).where(
            carrier_label_t.c.order_id == row["order_id"],
            carrier_label_t.c.shipment_id.is_not(None),
        )
    )
    if previous is not None:
        s = shipment_t.c
        conn.execute(
            shipment_t.update()
            .where(s.id == previous)
            .values(
                carrier=told_carrier,
                tracking_number=row["tracking_number"],
                tracking_url=row["tracking_url"],
                channel_state=sa.case(
                    (s.channel_state == "not_needed", "not_needed"), else_="pending"
                ),
                attempts=0,
                next_attempt_at=None,
            )
        )
        conn.execute(
            carrier_label_t.update()
            .where(carrier_label_t.c.id == row["id"])
            .values(shipment_id=previous)
        )
    return None, []


def after_commit(hub: Hub, outcome: LabelOutcome) -> None:
    """Tell plugins, the customer and the service what a committed label shipped: a B2B
    order of a channel that cannot be told (the desk) e-mails its account's contact
    (:func:`tell_account`), any other order gets the customer's "dispatched" message
    (:mod:`hub.core.notify`). Queueing a message never undoes the shipment."""
    hub.stock_changed(list(outcome.changes))
    if outcome.shipped is None:
        return
    shipment = outcome.shipped
    record = hub.read(
        lambda c: find_order(c, f"{shipment.order_channel}:{shipment.order_external_id}")
    )
    order = record.order
    b2b = order["account_id"] is not None and not hub.tells_channel(order["channel"])
    try:
        if b2b:
            hub.write(lambda c: tell_account(hub, c, order["id"], outcome.label))
        elif hub.notifier_configs:
            hub.write(lambda c: notify.dispatched(hub, c, order["id"]))
    except Exception:
        log.exception("queueing the shipping message of order %s failed", order["id"])
    hub.plugins.call_each("order_shipped", order=to_order(record), shipment=shipment)
    for callback in hub.on_shipped:
        callback(shipment.order_channel)


# -- void and re-buy ---------------------------------------------------------------------------


def void(
    hub: Hub,
    carriers: Carriers,
    ref: str,
    *,
    rebuy: bool = False,
    service: str | None = None,
    actor: str = "",
) -> tuple[dict[str, Any], LabelOutcome | None]:
    """Void order ``ref``'s bought label and ask the carrier to refund its postage;
    with ``rebuy``, buy the next label (the only way an order gets a second one).

    Returns the voided label row and, with ``rebuy``, the new label's outcome. Raises
    :class:`NotFound` for an unknown order, :class:`InvalidInput` when the order has
    no bought label, :class:`CarrierError` when the carrier refuses the refund.
    """
    order = hub.read(lambda c: find_order(c, ref)).order
    current = hub.read(lambda c: _current(c, order["id"]))
    if current is None or current["state"] not in (BOUGHT, REFUND_ASKED, VOIDED):
        state = "no label" if current is None else f"a label {current['state']}"
        raise InvalidInput(
            f"order {order['channel']}:{order['external_id']} has {state}; "
            "only a bought label can be voided",
            field="order",
        )
    if current["state"] == BOUGHT:
        carrier = carriers.get(current["carrier"])
        refund = carrier.void(_label_of(current))
        state = VOIDED if refund in ("not_applicable", "refunded") else REFUND_ASKED
        c = carrier_label_t.c
        hub.write(
            lambda conn: conn.execute(
                carrier_label_t.update()
                .where(c.id == current["id"], c.state == BOUGHT)
                .values(state=state, refund_status=refund, voided_at=now())
            )
        )
        current = hub.read(lambda conn: _current(conn, order["id"]))
    assert current is not None
    if not rebuy:
        return current, None
    row = hub.write(lambda c: _claim(c, carriers, ref, None, actor, rebuy=True))
    outcome = _complete(hub, carriers, row, service)
    after_commit(hub, outcome)
    return current, outcome


def _label_of(row: Mapping[str, Any]) -> Label:
    return Label(
        carrier_shipment_id=row["carrier_shipment_id"],
        tracking_number=row["tracking_number"],
        service=row["service"],
        postage=row["postage"],
        currency=row["currency"],
        tracking_url=row["tracking_url"],
        rate_id=row["rate_id"],
    )


def order_labels(conn: Connection, ref: str) -> list[dict[str, Any]]:
    """Every label of order ``ref``, oldest first, with its tracking events."""
    order = find_order(conn, ref).order
    c, e = carrier_label_t.c, tracking_event_t.c
    rows = [
        dict(r)
        for r in conn.execute(
            sa.select(carrier_label_t).where(c.order_id == order["id"]).order_by(c.generation)
        ).mappings()
    ]
    for row in rows:
        row["events"] = [
            dict(x)
            for x in conn.execute(
                sa.select(tracking_event_t)
                .where(e.label_id == row["id"])
                .order_by(e.occurred_at, e.id)
            ).mappings()
        ]
    return rows


# -- tracking ----------------------------------------------------------------------------------


def accept_tracking(
    hub: Hub, carriers: Carriers, name: str, headers: Mapping[str, str], body: bytes
) -> dict[str, int]:
    """Verify and record a carrier's tracking webhook: each event once per label.

    The recipient's zone (the hub's ``timezone``) turns an estimated delivery into its
    calendar day (:func:`hub.shipping.delivery_day`). Returns {"recorded": n,
    "duplicates": n, "unknown": n}. Raises :class:`NotFound` for an unknown carrier,
    :class:`WebhookRejected` for a bad signature and :class:`UnreadableWebhook` for a
    body that cannot be read; nothing is recorded then.
    """
    carrier = carriers.get(name)
    if not carrier.verify_webhook(headers, body):
        raise WebhookRejected(f"carrier {name}: the webhook's signature is not valid")
    zone = ZoneInfo(hub.settings.hub.timezone)
    try:
        updates = carrier.parse_tracking(headers, body, zone)
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableWebhook(f"carrier {name}: unreadable tracking webhook: {error!r}") from None
    counts, delivered = hub.write(lambda c: _record_updates(c, name, updates))
    for ref in delivered:
        try:
            hub.deliver(ref, carrier=name, actor=f"carrier:{name}")
        except HubError as error:  # delivered already, or returned meanwhile
            log.info("carrier %s: delivery of %s not recorded: %s", name, ref, error)
    return counts


def _record_updates(
    conn: Connection, name: str, updates: list[TrackingUpdate]
) -> tuple[dict[str, int], list[str]]:
    counts = {"recorded": 0, "duplicates": 0, "unknown": 0}
    delivered: list[str] = []
    c = carrier_label_t.c
    for update in updates:
        label = (
            conn.execute(
                sa.select(carrier_label_t.c.id, c.order_id, c.delivered_at)
                .where(
                    c.carrier == name,
                    c.tracking_number == update.tracking_number,
                    c.state == BOUGHT,
                )
                .order_by(c.generation.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if label is None:
            counts["unknown"] += 1
            continue
        try:
            with conn.begin_nested():
                conn.execute(
                    tracking_event_t.insert().values(
                        label_id=label["id"],
                        status=update.status[:32],
                        message=update.message,
                        location=update.location,
                        occurred_at=update.occurred_at,
                        received_at=now(),
                    )
                )
        except IntegrityError:
            counts["duplicates"] += 1
            continue
        counts["recorded"] += 1
        values: dict[str, Any] = {"tracking_status": update.status}
        if update.estimated_delivery is not None:
            values["estimated_delivery"] = update.estimated_delivery
        if update.status == "delivered" and label["delivered_at"] is None:
            values["delivered_at"] = update.occurred_at
            order = conn.execute(
                sa.select(order_t.c.channel, order_t.c.external_id, order_t.c.status).where(
                    order_t.c.id == label["order_id"]
                )
            ).one()
            if order.status == OrderStatus.FULFILLED.value:
                delivered.append(f"{order.channel}:{order.external_id}")
        conn.execute(carrier_label_t.update().where(c.id == label["id"]).values(**values))
    return counts, delivered


def estimated_delivery_text(label: Mapping[str, Any]) -> str:
    """The label's estimated delivery as told to a customer (``Friday 9 August``), or ""."""
    day = label.get("estimated_delivery")
    return spoken_day(day) if day else ""


# -- B2B: the account's contact is told by e-mail ----------------------------------------------


def account_contact(conn: Connection, account_id: int) -> tuple[str, str]:
    """(name, e-mail) of the B2B account's contact for shipments: its first contact with
    an e-mail (one whose role mentions shipping or delivery first), else the account's
    own e-mail; ("", "") when it has none."""
    k = customer_contact_t.c
    contacts = conn.execute(
        sa.select(k.name, k.email, k.role)
        .where(k.account_id == account_id, k.email != "")
        .order_by(k.id)
    ).all()
    ranked = sorted(
        contacts, key=lambda r: not any(w in r.role.lower() for w in ("ship", "deliver"))
    )
    if ranked:
        return ranked[0].name, ranked[0].email
    account = conn.execute(
        sa.select(customer_account_t.c.name, customer_account_t.c.email).where(
            customer_account_t.c.id == account_id
        )
    ).one()
    return account.name, account.email


def tell_account(hub: Hub, conn: Connection, order_id: int, label: Mapping[str, Any]) -> int | None:
    """Queue, in ``conn``'s transaction, the e-mail telling a B2B order's account contact
    that it shipped: carrier, service, tracking number and URL. It goes out through the
    notification outbox (:func:`hub.core.notify.send_due`: retried with backoff, sent
    once), keyed per order and label generation, so it is written once. Returns the
    message id, or None when no e-mail notifier is configured, the account has no
    e-mail, or the message exists already."""
    email = notify.notifier_kinds(hub).get("email")
    order = conn.execute(sa.select(order_t).where(order_t.c.id == order_id)).mappings().one()
    if email is None or order["account_id"] is None:
        return None
    name, address = account_contact(conn, order["account_id"])
    recipient = notify.recipient_key("email", address)
    if not recipient:
        log.warning("order %s: its B2B account has no e-mail to tell of the shipment", order_id)
        return None
    stamp = now()
    number = order["number"] or order["external_id"]
    po = f" (your PO {order['po_number']})" if order["po_number"] else ""
    merchant = hub.settings.hub.name
    body = (
        f"Hello {name or 'there'},\n\n"
        f"your order {number}{po} has shipped with {label['service'] or label['carrier']}.\n"
        f"Tracking number: {label['tracking_number']}\n"
        + (f"Follow it: {label['tracking_url']}\n" if label["tracking_url"] else "")
        + f"\n{merchant}\n"
    )
    status = notify.SUPPRESSED if notify.opted_out(conn, recipient) else notify.QUEUED
    row = {
        "order_id": order_id,
        "event": "dispatched",
        "kind": "email",
        "notifier": email[0],
        "provider": email[1],
        "recipient": recipient,
        "template": "b2b-shipped",
        "language": hub.settings.notifications.default_language,
        "subject": f"{merchant}: order {number}{po} has shipped",
        "body": body,
        "idempotency_key": f"{order_id}:dispatched:email:account:{label['generation']}",
        "status": status,
        "status_detail": "the recipient opted out" if status == notify.SUPPRESSED else "",
        "provider_id": "",
        "attempts": 0,
        "next_attempt_at": stamp,
        "claimed_by": "",
        "created_at": stamp,
        "status_at": stamp,
    }
    try:
        with conn.begin_nested():
            return conn.scalar(
                notification_message_t.insert().values(**row).returning(notification_message_t.c.id)
            )
    except IntegrityError:  # told already
        return None
