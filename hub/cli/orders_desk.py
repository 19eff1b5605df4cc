"""``hub orders create|edit|release|cancel|return|cancel-unpaid``: the order desk at the
terminal (:mod:`hub.core.desk`). History records the OS user as ``cli:NAME``."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console

from hub.cli.common import ConfigOption, open_hub, parse_day, required_text
from hub.core import desk
from hub.core.orderbook import REF_HELP
from hub.errors import InvalidInput

console = Console()
OrderRef = Annotated[str, typer.Argument(help=REF_HELP, show_default=False)]
LINE_HELP = "A line as SKU:QTY or SKU:QTY:PRICE (repeat for more lines), e.g. MUG:3:4.50."
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_line(text: str, option: str = "--line", priced: bool = True) -> desk.LineInput:
    """``SKU:QTY[:PRICE]`` → :class:`desk.LineInput`; InvalidInput naming ``option``."""
    parts = text.strip().split(":")
    most = 3 if priced else 2
    shape = "SKU:QTY[:PRICE]" if priced else "SKU:QTY"
    if len(parts) < 2 or len(parts) > most or not parts[0].strip():
        raise InvalidInput(f"{option} {text!r} is not {shape}, e.g. MUG:3", field="line")
    sku, qty = parts[0].strip(), parts[1].strip()
    if not qty.isascii() or not qty.removeprefix("-").isdigit():  # the desk judges its range
        raise InvalidInput(
            f"{option} {text!r}: quantity {qty!r} is not a whole number", field="line"
        )
    price = None
    if len(parts) == 3:
        try:
            price = Decimal(parts[2].strip())
        except InvalidOperation:
            raise InvalidInput(
                f"{option} {text!r}: price {parts[2]!r} is not an amount", field="line"
            ) from None
    return desk.LineInput(sku, int(qty), price)


def parse_window(text: str) -> tuple[time, time]:
    """``09:00-12:00`` → (start, end); InvalidInput naming ``--window`` otherwise."""
    match = _WINDOW.match(text)
    try:
        if not match:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise InvalidInput(
            f"--window {text!r} is not a time range like 09:00-12:00", field="window"
        ) from None


def print_view(view: desk.OrderView) -> None:
    """One line saying where the order stands (and why, when held)."""
    state = view.status + (f" ({view.hold_reason})" if view.hold_reason else "")
    console.print(
        f"{view.ref} (hub id {view.id}): {state}; total {view.total:.2f} {view.currency}",
        highlight=False,
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add the desk's commands to ``hub orders``."""

    @app.command()
    def create(
        account: Annotated[str, typer.Option(help="The customer's account number.")],
        line: Annotated[list[str], typer.Option(help=LINE_HELP)],
        po: Annotated[str, typer.Option(help="The buyer's purchase-order number.")] = "",
        date: Annotated[
            str, typer.Option("--date", help="Requested delivery day, YYYY-MM-DD.")
        ] = "",
        window: Annotated[
            str, typer.Option(help="Delivery window on that day, e.g. 09:00-12:00.")
        ] = "",
        address_id: Annotated[
            int | None, typer.Option(help="One of the account's delivery addresses.")
        ] = None,
        note: Annotated[str, typer.Option(help="Notes for the order.")] = "",
        channel: Annotated[str, typer.Option(help="A manual channel (default: the first).")] = "",
        reference: Annotated[str, typer.Option(help="The order's reference (default: new).")] = "",
        paid: Annotated[bool, typer.Option(help="The customer has paid already.")] = False,
        config: ConfigOption = None,
    ) -> None:
        """Enter a B2B order: it goes through the same intake and checks as channel orders."""
        start = end = None
        if window:
            start, end = parse_window(window)
        new = desk.NewOrder(
            account=required_text(account, "--account"),
            lines=tuple(parse_line(x) for x in line),
            channel=channel,
            reference=reference,
            po_number=po,
            requested_date=parse_day(date) if date else None,
            window_start=start,
            window_end=end,
            address_id=address_id,
            notes=note,
            paid=paid,
        )
        with open_hub(config) as hub:
            view = desk.create_order(hub, new, desk.cli_actor())
        print_view(view)

    @app.command()
    def edit(
        ref: OrderRef,
        line: Annotated[
            list[str] | None, typer.Option(help=LINE_HELP + " The lines replace the order's.")
        ] = None,
        po: Annotated[str | None, typer.Option(help="New PO number.")] = None,
        date: Annotated[str | None, typer.Option("--date", help="New requested day.")] = None,
        window: Annotated[str | None, typer.Option(help="New window, e.g. 09:00-12:00.")] = None,
        address_id: Annotated[int | None, typer.Option(help="New delivery address.")] = None,
        note: Annotated[str | None, typer.Option(help="New notes.")] = None,
        config: ConfigOption = None,
    ) -> None:
        """Change a B2B order until it ships; its reservation follows the new lines."""
        start = end = None
        if window:
            start, end = parse_window(window)
        with open_hub(config) as hub:
            view = desk.edit_order(
                hub,
                ref,
                desk.cli_actor(),
                lines=[parse_line(x) for x in line] if line else None,
                po_number=po,
                requested_date=parse_day(date) if date else None,
                window_start=start,
                window_end=end,
                notes=note,
                address_id=address_id,
            )
        print_view(view)

    @app.command()
    def release(
        ref: OrderRef,
        note: Annotated[str, typer.Option(help="Why the order may go ahead (recorded).")],
        config: ConfigOption = None,
    ) -> None:
        """Release an order's holds that a person may override (unpaid, fraud, credit);
        refused while stock is short or a SKU is unknown."""
        with open_hub(config) as hub:
            view = desk.release_order(hub, ref, note, desk.cli_actor())
        print_view(view)

    @app.command()
    def cancel(
        ref: OrderRef,
        reason: Annotated[str, typer.Option(help="Why it is cancelled (recorded).")],
        config: ConfigOption = None,
    ) -> None:
        """Cancel an order that has not shipped; its reserved stock is freed."""
        with open_hub(config) as hub:
            view = desk.cancel_order(hub, ref, reason, desk.cli_actor())
        print_view(view)

    @app.command("return")
    def return_(
        ref: OrderRef,
        line: Annotated[list[str], typer.Option(help="SKU:QTY taken back (repeat).")],
        to: Annotated[str, typer.Option("--to", help="Location the units go back to.")] = "",
        damaged: Annotated[
            bool, typer.Option(help="Damaged: they go to the quarantine location.")
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        """Take shipped units back into stock (or quarantine when damaged)."""
        if not damaged and not to.strip():
            raise InvalidInput("--to must name a location (or give --damaged)", field="to")
        parsed = [parse_line(x, priced=False) for x in line]
        with open_hub(config) as hub:
            view = desk.return_lines(
                hub, ref, [(p.sku, p.quantity) for p in parsed], to, damaged, desk.cli_actor()
            )
        print_view(view)

    @app.command("cancel-unpaid")
    def cancel_unpaid(config: ConfigOption = None) -> None:
        """Cancel orders unpaid longer than their channel's ``auto_cancel_unpaid_days``
        (the recheck job does this on its own)."""
        with open_hub(config) as hub:
            done = desk.cancel_unpaid(hub, desk.cli_actor())
        console.print(
            f"cancelled {len(done)} unpaid order(s)" + (": " + ", ".join(done) if done else ""),
            highlight=False,
            markup=False,
        )
