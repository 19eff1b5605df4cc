"""``hub orders``: list and show orders."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub
from hub.cli.orders_desk import register as register_desk
from hub.core import desk
from hub.core.allocation import describe
from hub.core.models import order_t
from hub.core.orderbook import REF_HELP, OrderSummary, find_order, list_orders
from hub.core.runtime import Hub
from hub.core.shipments import FAILED, PENDING, order_shipments
from hub.errors import InvalidInput, NotFound
from hub.orders import OrderStatus

app = typer.Typer(
    help="Orders from every channel. Name an order by its hub id (42, the id column of "
    "`hub orders list`) or as channel:external_id (web:1001).",
    no_args_is_help=True,
)
console = Console()
OrderRef = Annotated[str, typer.Argument(help=REF_HELP, show_default=False)]
register_desk(app)  # create, edit, release, cancel, return, cancel-unpaid


@app.command("list")
def list_(
    config: ConfigOption = None,
    status: Annotated[
        str | None,
        typer.Option(help=f"Only this status: {', '.join(s.value for s in OrderStatus)}."),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    hold: Annotated[
        str | None,
        typer.Option(help="Only orders held for this code, e.g. unpaid or short_stock."),
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this customer account.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
) -> None:
    """The most recent orders."""
    if status is not None and status not in {s.value for s in OrderStatus}:
        known = ", ".join(s.value for s in OrderStatus)
        raise InvalidInput(f"unknown status {status!r} (known: {known})", field="status")
    with open_hub(config) as hub:
        if channel is not None:
            _require_order_channel(hub, channel)
        if hold or account:
            views = desk.list_orders(
                hub,
                status=status,
                channel=channel,
                hold_code=hold,
                account=account,
                limit=min(limit, 500),
            ).orders
            rows = [
                OrderSummary(
                    v.id,
                    v.channel,
                    v.external_id,
                    v.number,
                    v.status,
                    v.hold_reason,
                    v.customer_name or v.customer_email,
                    v.total,
                    v.currency,
                    v.placed_at,
                )
                for v in views
            ]
        else:
            rows = hub.read(lambda c: list_orders(c, status=status, channel=channel, limit=limit))
    table = Table("id", "channel", "order", "status", "customer", "total", "why held")
    for r in rows:
        table.add_row(
            str(r.id),
            r.channel,
            r.number or r.external_id,
            r.status,
            r.customer,
            f"{r.total:.2f} {r.currency}",
            r.hold_reason,
        )
    console.print(table)


@app.command()
def show(
    ref: OrderRef,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One order with its lines, shipments (and whether its channel holds them) and history."""
    with open_hub(config) as hub:
        record = hub.read(lambda c: find_order(c, ref))
        sent = hub.read(lambda c: order_shipments(c, record.order["id"]))
        view = desk.order_view(hub, record.order["id"])
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "order": record.order,
                    "lines": record.lines,
                    "shipments": sent,
                    "history": record.events,
                    "holds": [vars(h) for h in view.holds],
                    "allocation": [vars(a) for a in view.allocation],
                },
                default=str,
                indent=2,
            )
        )
        return
    o = record.order
    console.print(
        f"[bold]{o['channel']}:{o['external_id']}[/] {o['number']}  status "
        f"[bold]{o['status']}[/] {o['hold_reason']}"
    )
    console.print(
        f"{o['customer_name']} <{o['customer_email']}>  {o['ship_line1']}, "
        f"{o['ship_postcode']} {o['ship_city']} {o['ship_country']}"
    )
    for line in record.lines:
        console.print(
            f"  {line['quantity']:>4} × {line['sku']}  {line['title']}  @ {line['unit_price']:.2f}"
        )
    console.print(f"  total {o['total']:.2f} {o['currency']}")
    if view.po_number or view.account_number:
        console.print(
            f"  account {view.account_number or '-'}  PO {view.po_number or '-'}", markup=False
        )
    for hold in view.holds:
        kind = "can be released" if hold.overridable else "cannot be released"
        console.print(f"  hold {hold.code}: {hold.reason} ({kind})", markup=False)
    for line in describe(view.allocation):  # one shipment per location
        console.print(f"  {line}", markup=False)
    for shipment in sent:
        console.print(_shipment_line(shipment), highlight=False, markup=False)
    for event in record.events:
        who = event["actor"] + (f", from {event['origin']}" if event.get("origin") else "")
        console.print(
            f"  {event['created_at']:%Y-%m-%d %H:%M:%S} {event['status']:<10} "
            f"{event['note']} ({who})",
            markup=False,
            highlight=False,
        )


@app.command()
def ship(
    ref: OrderRef,
    carrier: Annotated[str, typer.Option(help="Carrier name, e.g. DHL or own-fleet.")],
    tracking: Annotated[str, typer.Option(help="Tracking number.")] = "",
    tracking_url: Annotated[str, typer.Option(help="Where the customer follows it.")] = "",
    config: ConfigOption = None,
) -> None:
    """Mark an open order shipped: its reserved stock leaves the ledger, and the shipment
    is queued for the selling channel (sent by `hub run`, or `hub sync shipments`)."""
    with open_hub(config) as hub:
        shipment = hub.ship(ref, carrier, tracking, tracking_url, actor="cli")
        told = hub.tells_channel(shipment.order_channel)
    console.print(
        f"shipped {shipment.order_channel}:{shipment.order_external_id} with "
        f"{shipment.carrier} {shipment.tracking_number}".rstrip()
        + ("; the channel will be told" if told else "; the channel needs no telling"),
        highlight=False,
    )


@app.command()
def deliver(
    ref: OrderRef,
    config: ConfigOption = None,
) -> None:
    """Record that a shipped order was delivered."""
    with open_hub(config) as hub:
        shipment = hub.deliver(ref, actor="cli")
    console.print(f"delivered {shipment.order_channel}:{shipment.order_external_id}")


@app.command()
def recheck(config: ConfigOption = None) -> None:
    """Decide held orders again: stock may have arrived, a SKU may have been added.

    An order that cannot be decided is reported by hub id and channel:external_id and
    counted as failed; the others are decided all the same (exit code 1 if any failed).
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with open_hub(config) as hub:
        counts = hub.recheck_holds(actor="cli")
    console.print(
        "rechecked held orders: " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none")
    )
    if counts.get("failed"):
        raise typer.Exit(1)


def _require_order_channel(hub: Hub, channel: str) -> None:
    """A channel configured or holding orders (one since removed from the config);
    :class:`NotFound` naming those otherwise."""
    if channel in hub.channel_configs:
        return
    stored = hub.read(lambda c: set(c.scalars(sa.select(order_t.c.channel).distinct())))
    if channel not in stored:
        known = ", ".join(sorted(set(hub.channel_configs) | stored)) or "none"
        raise NotFound(f"no channel {channel!r} (known: {known})", field="channel")


def _shipment_line(shipment: dict) -> str:
    """``  shipped 2026-11-30 14:02 DHL JD0001 (2 × MUG @ main): channel confirmed``."""
    units = ", ".join(f"{x['quantity']} × {x['sku']} @ {x['location']}" for x in shipment["lines"])
    what = " ".join(
        filter(None, [shipment["carrier"], shipment["tracking_number"], shipment["tracking_url"]])
    )
    state = shipment["channel_state"].replace("_", " ")
    if shipment["channel_state"] == PENDING and shipment["attempts"]:
        when = shipment["next_attempt_at"]
        state += f", attempt {shipment['attempts'] + 1} at {when:%H:%M:%S}" if when else ""
    if shipment["last_error"] and shipment["channel_state"] in (PENDING, FAILED):
        state += f": {shipment['last_error']}"
    return (
        f"  shipped {shipment['shipped_at']:%Y-%m-%d %H:%M} {what}"
        + (f" ({units})" if units else "")
        + f": channel {state}"
    )
