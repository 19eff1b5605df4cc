"""``hub run``, ``hub status``, ``hub retry`` and ``hub sync``: the sync service."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Connection

from hub.cli.common import ConfigOption, open_hub
from hub.core.listings import import_listings
from hub.core.models import dead_letter_t
from hub.core.runtime import Hub
from hub.core.secrets import secret_values
from hub.core.status import channel_status, hide_secrets
from hub.errors import NotFound

console = Console()
sync_app = typer.Typer(help="Run one sync job by hand.", no_args_is_help=True)
Channel = Annotated[str, typer.Argument(help="A channel name from the config.")]


def run(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (0: any free one).", min=0, max=65535)
    ] = None,
) -> None:
    """Serve webhooks and the API and keep every channel in step, until SIGTERM."""
    from hub.core.service import Service

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with open_hub(config) as hub:
        asyncio.run(Service(hub, host=host, port=port).run_until_signalled())


def status(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per channel: last pull and push, lag, queues, dead letters, drift, shipments the
    channel has not confirmed (pending) or refused (failed), units its final sales took
    beyond the stock (oversold, SKU@location: investigate), errors."""
    with open_hub(config) as hub:
        rows = hub.read(lambda c: channel_status(c, sorted(hub.channel_configs)))
        hide_secrets(rows, secret_values(hub.channel_configs.values()))
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], default=str, indent=2))
        return
    table = Table(
        "channel",
        "state",
        "last pull",
        "last push",
        "lag s",
        "outbox",
        "inbox",
        "dead",
        "drift",
        "shipments",
        "rate headroom",
        "oversold",
        "error",
    )
    for r in rows:
        table.add_row(
            r.channel,
            "[red]failing[/]" if r.failing else "ok",
            f"{r.last_pull:%H:%M:%S}" if r.last_pull else "—",
            f"{r.last_push:%H:%M:%S}" if r.last_push else "—",
            f"{r.pull_lag_seconds:.0f}" if r.pull_lag_seconds is not None else "—",
            str(r.outbox),
            str(r.inbox),
            str(r.dead_letters),
            "—" if r.drift is None else str(r.drift),
            _unsent(r.shipments_pending, r.shipments_failed),
            f"{r.headroom['available']:.0f}/{r.headroom['capacity']:.0f} "
            f"+{r.headroom['restore_rate']:g}/s"
            if r.headroom
            else "—",
            r.oversold_text[:60] or "—",
            "; ".join(f"{k}: {v}" for k, v in r.errors.items())[:80],
        )
    console.print(table)


def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids (all if none).")] = None,
    config: ConfigOption = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
) -> None:
    """Retry dead letters: rerun failed jobs, requeue failed records, send refused
    shipments to their channel again."""
    from hub.core.retry import retry_dead_letters
    from hub.core.sync import Sync

    with open_hub(config) as hub:
        hub.read(lambda c: _check_dead_letters(c, hub, channel, ids or []))
        outcomes = retry_dead_letters(Sync(hub), channel=channel, ids=ids or None)
    for line in outcomes:
        console.print(line)
    if not outcomes:
        console.print("no dead letters to retry")


@sync_app.command()
def pull(channel: Channel, config: ConfigOption = None) -> None:
    """Pull the channel's orders now."""
    from hub.core.sync import Sync

    with open_hub(config) as hub:
        result = Sync(hub).pull_orders(hub.require_channel(channel))
    console.print(
        f"{channel}: {result.orders} orders in {result.pages} pages "
        f"({result.created} new, {result.updated} updated)"
    )


@sync_app.command()
def push(
    channel: Channel,
    config: ConfigOption = None,
    full: Annotated[bool, typer.Option(help="Compare every listing, not only the queue.")] = False,
) -> None:
    """Push changed availability to the channel now."""
    from hub.core.sync import Sync

    with open_hub(config) as hub:
        hub.require_channel(channel)
        sync = Sync(hub)
        result = sync.full_push(channel) if full else sync.push_stock(channel)
    console.print(
        f"{channel}: {result.sent} updates in {result.batches} calls, "
        f"{result.stale} stale, {result.failed} failed"
    )


@sync_app.command("shipments")
def send_shipments(channel: Channel, config: ConfigOption = None) -> None:
    """Tell the channel now about the shipments it has not confirmed yet."""
    from hub.core.shipments import push_shipments
    from hub.core.sync import Sync

    with open_hub(config) as hub:
        result = push_shipments(Sync(hub), hub.require_channel(channel))
    console.print(
        f"{channel}: {len(result.confirmed)} shipments confirmed, "
        f"{len(result.retrying)} to retry, {len(result.failed)} failed"
    )


@sync_app.command()
def reconcile(channel: Channel, config: ConfigOption = None) -> None:
    """Compare the channel's quantities with the ledger and correct drift."""
    from hub.core.sync import Sync

    with open_hub(config) as hub:
        drift = Sync(hub).reconcile(hub.require_channel(channel))
    for sku, theirs, ours in drift:
        console.print(f"drift {sku}: channel had {theirs}, hub offers {ours} — corrected")
    console.print(f"{channel}: {len(drift)} SKU(s) drifted")


@sync_app.command()
def listings(
    channel: Channel,
    config: ConfigOption = None,
    create_products: Annotated[
        bool, typer.Option(help="Add SKUs the hub does not know yet to the catalogue.")
    ] = False,
) -> None:
    """Import the channel's listings: map its items to our SKUs and report mismatches."""
    from hub.core.sync import Sync

    with open_hub(config) as hub:
        adapter = hub.channel(hub.require_channel(channel))
        items = Sync(hub).fetch_listings(channel)  # paced and retried like every call
        report = hub.write(
            lambda c: import_listings(c, channel, items, create_products=create_products)
        )
    console.print(f"{channel}: {report.mapped} listings mapped")
    for line in report.lines() + [p.message for p in adapter.listing_problems]:
        console.print(f"  {line}")


def _check_dead_letters(conn: Connection, hub: Hub, channel: str | None, ids: list[int]) -> None:
    """Refuse a channel that is neither configured nor has dead letters, and ids that
    name no open dead letter (of ``channel``, when given), naming the open ones."""
    d = dead_letter_t.c
    if channel is not None and channel not in hub.channel_configs:
        lettered = set(conn.scalars(sa.select(d.channel).distinct()))
        if channel not in lettered:
            known = ", ".join(sorted(set(hub.channel_configs) | lettered)) or "none"
            raise NotFound(f"no channel {channel!r} (known: {known})", field="channel")
    if ids:
        query = sa.select(d.id).where(d.retried_at.is_(None)).order_by(d.id)
        if channel is not None:
            query = query.where(d.channel == channel)
        open_ids = list(conn.scalars(query))
        missing = sorted(set(ids) - set(open_ids))
        if missing:
            shown = ", ".join(f"#{i}" for i in open_ids[:20]) or "none"
            where = f" of channel {channel!r}" if channel is not None else ""
            raise NotFound(
                f"no open dead letter {', '.join(f'#{i}' for i in missing)}{where} "
                f"(open: {shown}{' and more' if len(open_ids) > 20 else ''})",
                field="ids",
            )


def _unsent(pending: int, failed: int) -> str:
    parts = [f"{pending} pending"] if pending else []
    if failed:
        parts.append(f"[red]{failed} failed[/]")
    return ", ".join(parts) or "—"
