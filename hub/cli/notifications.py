"""``hub notifications``: customer messages (list, send, send-test, opt-out).

Messages are queued by the hub when orders are confirmed, dispatched and delivered, and
by the driver app (:mod:`hub.core.notify`); ``hub run`` sends them. ``send`` sends what
is due now, without the service.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, utc_minute
from hub.core import notify
from hub.core.orderbook import find_order
from hub.errors import HubError, InvalidInput, NotFound
from hub.shipping import OutgoingMessage

app = typer.Typer(help="Customer notifications (e-mail, SMS).", no_args_is_help=True)
console = Console()


@app.command("list")
def list_(
    order: Annotated[
        str | None, typer.Option(help="Only this order (hub id or CHANNEL:EXTERNAL_ID).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(help=f"Only messages in this status ({', '.join(notify.STATUSES)})."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    config: ConfigOption = None,
) -> None:
    """Messages, newest first: order, event, kind, recipient, status, provider id."""
    if status is not None and status not in notify.STATUSES:
        raise InvalidInput(
            f"unknown status {status!r} (one of: {', '.join(notify.STATUSES)})", field="status"
        )
    with open_hub(config) as hub:

        def read(conn):  # type: ignore[no-untyped-def]
            order_id = find_order(conn, order).order["id"] if order else None
            return notify.messages(conn, order_id=order_id, status=status, limit=limit)

        rows = hub.read(read)
    table = Table("id", "order", "event", "kind", "to", "status", "provider id", "at", "detail")
    for m in rows:
        table.add_row(
            str(m["id"]),
            f"{m['channel']}:{m['external_id']}",
            m["event"],
            m["kind"],
            m["recipient"],
            m["status"],
            m["provider_id"],
            utc_minute(m["status_at"]),
            m["status_detail"],
        )
    console.print(table)


@app.command()
def send(config: ConfigOption = None) -> None:
    """Send every message that is due now (``hub run`` does this every 2 seconds)."""
    with open_hub(config) as hub:
        recovered = notify.recover(hub)
        report = notify.send_due(hub, "cli")
    typer.echo(
        f"{len(report.sent)} sent, {len(report.retrying)} to retry, {len(report.failed)} failed"
        + (f", {recovered} left sending by a stopped process failed" if recovered else "")
    )


@app.command("send-test")
def send_test(
    to: Annotated[str, typer.Argument(help="An e-mail address or a phone number (+4930...).")],
    notifier: Annotated[
        str | None,
        typer.Option(help="The [notifiers.NAME] to use; default: the first of the right kind."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Send one test message now and print the provider's id (recorded nowhere)."""
    kind = "email" if notify.recipient_key("email", to) else "sms"
    recipient = notify.any_recipient_key(to)
    with open_hub(config) as hub:
        name = notifier or notify.notifier_kinds(hub).get(kind, ("", ""))[0]
        if not name:
            raise NotFound(f"no notifier for {kind} in {hub.settings.path}", field="notifier")
        message = OutgoingMessage(
            to=recipient,
            subject=f"{hub.settings.hub.name}: test message",
            body=f"This is a test message from {hub.settings.hub.name}.",
            reference=f"test:{recipient}",
        )
        chosen = hub.notifier(name)
        try:
            provider_id = chosen.send(message)
        except Exception as error:  # the service's refusal or failure, in one line
            raise HubError(
                f"notifier {name} could not send to {recipient}: {type(error).__name__}: {error}",
                field="notifier",
            ) from None
    typer.echo(f"sent by {name} to {recipient}: {provider_id}")


@app.command("opt-out")
def opt_out(
    recipient: Annotated[str, typer.Argument(help="An e-mail address or a phone number.")],
    undo: Annotated[bool, typer.Option("--undo", help="Take the opt-out back.")] = False,
    config: ConfigOption = None,
) -> None:
    """Send no more messages to RECIPIENT (its queued ones are suppressed), or ``--undo``."""
    key = notify.any_recipient_key(recipient)
    with open_hub(config) as hub:
        if undo:
            done = hub.write(lambda c: notify.opt_in(c, key))
            typer.echo(f"{key} gets messages again" if done else f"{key} had not opted out")
            return
        new = hub.write(lambda c: notify.opt_out(c, key, "cli"))
    typer.echo(f"{key} opted out" if new else f"{key} had opted out already")
