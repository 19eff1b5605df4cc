"""``hub labels``: carrier labels (rates, buy once, void and re-buy, show), and
``hub route sheets``: a plan's run sheets and own-fleet labels as PDFs.

Every command prints one line on stderr and exits 1 for bad input: an unknown order or
carrier, a cancelled or held order, an order without an address, no carrier configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, required_text
from hub.core import labels, runsheets
from hub.core.runtime import Hub
from hub.errors import InvalidInput

app = typer.Typer(help="Carrier labels: rates, buy, void and re-buy.", no_args_is_help=True)
console = Console()

OrderArgument = Annotated[str, typer.Argument(help="The order: CHANNEL:EXTERNAL_ID or hub id.")]
CarrierOption = Annotated[
    str | None, typer.Option("--carrier", help="A configured carrier (default: the rule).")
]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", help="A service it offers (default: cheapest in time)."),
]


@app.callback()
def _group() -> None:
    """Carrier labels: rates, buy, void and re-buy."""


def _carriers(hub: Hub) -> labels.Carriers:
    if not hub.settings.carriers:
        raise InvalidInput(
            f"{hub.settings.path}: no carrier configured; add a [carriers.NAME] section "
            '(type = "easypost" or "fleet")',
            field="carrier",
        )
    return labels.Carriers(hub)


@app.command()
def rates(order: OrderArgument, carrier: CarrierOption = None, config: ConfigOption = None) -> None:
    """Rates the carriers offer for the order's parcel, cheapest first (buys nothing)."""
    ref = required_text(order, "ORDER")
    with open_hub(config) as hub:
        carriers = _carriers(hub)
        try:
            found = labels.rates(hub, carriers, ref, carrier)
        finally:
            carriers.close()
    table = Table("carrier", "service", "price", "days")
    for name, rate in found:
        service = f"{rate.carrier} {rate.service}".strip()
        days = "" if rate.delivery_days is None else str(rate.delivery_days)
        table.add_row(name, service, f"{rate.amount} {rate.currency}", days)
    console.print(table)


@app.command()
def buy(
    order: OrderArgument,
    carrier: CarrierOption = None,
    service: ServiceOption = None,
    config: ConfigOption = None,
) -> None:
    """Buy the order's label once (again: the label it has); the order ships with it."""
    ref = required_text(order, "ORDER")
    with open_hub(config) as hub:
        carriers = _carriers(hub)
        try:
            outcome = labels.buy(hub, carriers, ref, carrier=carrier, service=service, actor="cli")
        finally:
            carriers.close()
    label = outcome.label
    verb = "bought" if outcome.bought_now else "already bought"
    typer.echo(
        f"{ref}: label {verb}: {label['carrier']} {label['service']}, tracking "
        f"{label['tracking_number']}, postage {label['postage']} {label['currency']}, "
        f"file {label['label_path']}"
    )


@app.command()
def void(
    order: OrderArgument,
    rebuy: Annotated[bool, typer.Option("--rebuy", help="Buy a new label after voiding.")] = False,
    service: ServiceOption = None,
    config: ConfigOption = None,
) -> None:
    """Void the order's label and ask the carrier for the postage back; --rebuy buys the next."""
    ref = required_text(order, "ORDER")
    with open_hub(config) as hub:
        carriers = _carriers(hub)
        try:
            voided, outcome = labels.void(
                hub, carriers, ref, rebuy=rebuy, service=service, actor="cli"
            )
        finally:
            carriers.close()
    typer.echo(
        f"{ref}: label {voided['tracking_number']} {voided['state'].replace('_', ' ')} "
        f"(refund {voided['refund_status'] or 'not asked'})"
    )
    if outcome is not None:
        label = outcome.label
        typer.echo(
            f"{ref}: new label {label['carrier']} {label['service']}, tracking "
            f"{label['tracking_number']}, file {label['label_path']}"
        )


@app.command()
def show(order: OrderArgument, config: ConfigOption = None) -> None:
    """The order's labels, newest last, with their tracking events."""
    ref = required_text(order, "ORDER")
    with open_hub(config) as hub:
        rows = hub.read(lambda c: labels.order_labels(c, ref))
    if not rows:
        typer.echo(f"{ref}: no label")
        return
    for row in rows:
        expected = labels.estimated_delivery_text(row)
        typer.echo(
            f"#{row['generation']} {row['carrier']} {row['service']} {row['state']}: "
            f"tracking {row['tracking_number'] or '-'}, postage {row['postage']} "
            f"{row['currency']}"
            + (f", expected {expected}" if expected else "")
            + (f", last error: {row['last_error']}" if row["last_error"] else "")
        )
        for event in row["events"]:
            typer.echo(f"    {event['occurred_at']:%Y-%m-%d %H:%M} UTC {event['status']}")


def sheets(
    plan_id: Annotated[int, typer.Argument(help="Plan number (hub route show).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the PDFs.", file_okay=False)],
    config: ConfigOption = None,
) -> None:
    """Write a plan's run sheets (one per route) and its parcels' own-fleet labels as PDFs."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out {out} is a file; give a folder", field="out")
    with open_hub(config) as hub:
        carriers = _carriers(hub)
        try:
            written = runsheets.write_sheets(hub, carriers, plan_id, out, actor="cli")
        finally:
            carriers.close()
    typer.echo(
        f"plan {plan_id}: {len(written.sheets)} run sheets and {len(written.labels)} labels "
        f"in {out}"
    )
    for ref, reason in written.skipped:
        typer.echo(f"  not labelled: {ref}: {reason}")
