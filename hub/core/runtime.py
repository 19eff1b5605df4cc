"""The running hub: settings, database, plugins and configured channels in one place."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hub.channels import Channel
from hub.checks import CheckContext, ChecksConfig
from hub.core import allocation, fulfilment, ledger, migrate, notify, shipments
from hub.core.checkcontext import PageContext, page_context
from hub.core.config import Settings, load_settings, validate_plugin_sections
from hub.core.db import make_engine, run_in_transaction
from hub.core.intake import IntakeReport, ingest
from hub.core.orderbook import HeldOrder, held_orders, to_order
from hub.core.plugins import PluginHost
from hub.errors import ConfigError, NotFound
from hub.orders import Hold, Order
from hub.shipping import Notifier, Shipment
from hub.stock import StockChange

log = logging.getLogger("hub")


class Hub:
    """Everything a command or the service needs: open it once, close it at the end."""

    def __init__(self, settings: Settings, plugins: PluginHost, engine: Engine | None = None):
        self.settings = settings
        self.plugins = plugins
        self.engine = engine or make_engine(settings.database.url, echo=settings.database.echo)
        validated = validate_plugin_sections(
            settings,
            {
                "channels": plugins.channel_types,
                "carriers": plugins.carrier_types,
                "notifiers": plugins.notifier_types,
            },
            routers=plugins.routers,
        )
        self.channel_configs = validated["channels"]
        self.notifier_configs = validated["notifiers"]
        self._channels: dict[str, Channel] = {}
        self._notifiers: dict[str, Notifier] = {}
        # Called with the channel's name after a shipment is committed (the service wakes
        # its shipment push).
        self.on_shipped: list[Callable[[str], None]] = []
        # Set in a thread while it decides held orders again after stock arrived, so the
        # stock that decision moves does not start another one.
        self._redeciding = threading.local()

    @classmethod
    def open(
        cls,
        config: str | Path | None = None,
        *,
        settings: Settings | None = None,
        plugins: Iterable[object] = (),
        entry_points: bool = True,
    ) -> Hub:
        """Load settings (from ``config`` unless given) and plugins, and connect."""
        settings = settings or load_settings(config)
        return cls(settings, PluginHost.load(plugins, entry_points=entry_points))

    def close(self) -> None:
        """Close channel clients and database connections."""
        for channel in self._channels.values():
            try:
                channel.close()
            except Exception:
                log.exception("channel %s failed to close", channel.name)
        for notifier in self._notifiers.values():
            try:
                notifier.close()
            except Exception:
                log.exception("notifier %s failed to close", notifier.name)
        self.engine.dispose()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- database ------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Migrate the database to the latest schema and add the configured locations."""
        migrate.upgrade(self.engine)
        self.sync_locations()

    def require_schema(self) -> None:
        """Refuse to work on a database that is not at the latest migration."""
        current, head = migrate.current_revision(self.engine), migrate.head_revision(self.engine)
        if current != head:
            raise ConfigError(
                f"database {self.engine.url.render_as_string()} is at revision "
                f"{current or 'none'}, the hub needs {head}: run `hub db upgrade`"
            )

    def sync_locations(self) -> None:
        """Create or update the locations declared in the configuration."""

        def work(conn: Connection) -> None:
            for code, section in self.settings.locations.items():
                ledger.ensure_location(
                    conn,
                    code,
                    name=section.name or code,
                    kind=section.kind,
                    address=section.address,
                    latitude=section.latitude,
                    longitude=section.longitude,
                )

        run_in_transaction(self.engine, work)

    def write(self, work: Any) -> Any:
        """Run ``work(connection)`` in one transaction and report stock changes to plugins."""
        result = run_in_transaction(self.engine, work)
        if isinstance(result, list) and result and isinstance(result[0], StockChange):
            self.stock_changed(result)
        return result

    def stock_changed(self, changes: Sequence[StockChange]) -> None:
        """Committed ``changes``: tell plugins (``stock_changed``), then decide again the
        held orders waiting for stock the changes freed (:meth:`redecide_held`). Call it
        after every committed ledger write; a failure to decide is logged, never raised
        (the stock is committed, and the service's recheck job decides them later)."""
        if not changes:
            return
        self.plugins.call_each("stock_changed", changes=changes)
        if getattr(self._redeciding, "active", False):
            return
        skus = allocation.freed_skus(changes)
        if not skus:
            return
        try:
            self.redecide_held(skus)
        except Exception:
            log.exception("deciding held orders again after stock of %s arrived failed", skus)

    def redecide_held(self, skus: Iterable[str], actor: str = "stock") -> dict[str, int]:
        """Decide again, by their channels' allocation policies, the orders on hold that
        wait for any of ``skus`` (a line of one, or of a bundle made of one), the oldest
        1,000 of them (the recheck job takes the rest). Returns {status: count} as
        :meth:`recheck_holds` does; one query when none waits."""

        def waiting(conn: Connection) -> list[HeldOrder]:
            ids = allocation.held_orders_waiting(conn, skus, limit=1000)
            return held_orders(conn, len(ids), ids) if ids else []

        return self._recheck_orders(self.read(waiting), actor)

    def read(self, work: Any) -> Any:
        """Run ``work(connection)`` for reading."""
        with self.engine.connect() as connection:
            return work(connection)

    # -- channels ------------------------------------------------------------------------

    def require_channel(self, name: str) -> str:
        """``name`` when it is a configured channel; :class:`NotFound` naming the known ones
        otherwise. Commands call it before anything is written about the channel."""
        if name not in self.channel_configs:
            known = ", ".join(sorted(self.channel_configs)) or "none configured"
            raise NotFound(
                f"no channel {name!r} in {self.settings.path} (known: {known})", field="channel"
            )
        return name

    def channel(self, name: str) -> Channel:
        """The adapter of configured channel ``name`` (created on first use)."""
        if name not in self._channels:
            config = self.channel_configs[self.require_channel(name)]
            self._channels[name] = self.plugins.channel_types[config.type](name, config)
        return self._channels[name]

    def notifier(self, name: str) -> Notifier:
        """The notifier of configured ``[notifiers.NAME]`` ``name`` (created on first use);
        :class:`NotFound` naming the configured ones otherwise."""
        if name not in self._notifiers:
            config = self.notifier_configs.get(name)
            if config is None:
                known = ", ".join(sorted(self.notifier_configs)) or "none configured"
                raise NotFound(f"no notifier {name!r} (known: {known})", field="notifier")
            self._notifiers[name] = self.plugins.notifier_types[config.type](name, config)
        return self._notifiers[name]

    def _notify(self, what: str, work: Callable[[Connection], Any]) -> None:
        """Queue customer messages after a committed change; a failure is logged, never
        raised (the change stands; :mod:`hub.core.notify`)."""
        if not self.notifier_configs:
            return
        try:
            run_in_transaction(self.engine, work)
        except Exception:
            log.exception("queueing the %s message failed", what)

    def channel_allocation(self, name: str) -> str:
        """Channel ``name``'s allocation policy: priority, nearest or fewest_splits
        (:mod:`hub.core.allocation`); priority for a channel not configured."""
        return str(getattr(self.channel_configs.get(name), "allocation", "priority"))

    def channel_final_sales(self, name: str) -> bool:
        """Whether channel ``name``'s completed sales are final (its type's
        :attr:`hub.Channel.final_sales`, e.g. a shop's till); False when not configured."""
        config = self.channel_configs.get(name)
        kind = self.plugins.channel_types.get(config.type) if config is not None else None
        return bool(getattr(kind, "final_sales", False))

    def channel_locations(self, name: str) -> list[str]:
        """Location codes channel ``name`` sells from, in priority order (empty: all)."""
        config = self.channel_configs.get(name)
        return list(getattr(config, "locations", []) or [])

    def available(
        self, channel: str, skus: Sequence[str] | None = None, *, at: str | None = None
    ) -> dict[str, int]:
        """Available-to-promise per SKU for ``channel`` (its locations, buffer and cap);
        ``at`` one location code only (a shop's own shelf). :class:`NotFound` for a
        channel that is not configured."""
        config = self.channel_configs[self.require_channel(channel)]
        return self.read(
            lambda conn: ledger.available_to_promise(
                conn,
                skus,
                locations=[at] if at else self.channel_locations(channel),
                safety_buffer=getattr(config, "safety_buffer", 0),
                cap=getattr(config, "max_quantity", None),
            )
        )

    # -- orders --------------------------------------------------------------------------

    def holds_for(
        self, orders: Sequence[Order], contexts: dict[str, CheckContext] | None = None
    ) -> dict[str, list[Hold]]:
        """Ask every plugin's ``check_order`` about each order; a failing plugin is skipped.

        ``contexts`` maps external ids to their :class:`hub.CheckContext` (from
        :meth:`check_contexts`); an order without one gets its channel's settings only.
        """
        holds: dict[str, list[Hold]] = {}
        defaults: dict[str, CheckContext] = {}
        for order in orders:
            context = (contexts or {}).get(order.external_id)
            if context is None:
                context = defaults.get(order.channel)
                if context is None:
                    context = CheckContext(settings=self.checks_config(order.channel))
                    defaults[order.channel] = context
            found: list[Hold] = []
            for _plugin, result in self.plugins.call_each(
                "check_order", order=order, context=context
            ):
                if isinstance(result, Hold):
                    found.append(result)
                elif result:
                    found.extend(result)
            if found:
                holds[order.external_id] = found
        return holds

    def checks_config(self, channel: str) -> ChecksConfig:
        """Channel ``channel``'s ``checks`` settings (defaults for one not configured)."""
        return getattr(self.channel_configs.get(channel), "checks", None) or ChecksConfig()

    def is_manual(self, channel: str) -> bool:
        """Whether ``channel`` is configured with type ``manual`` (orders keyed in by people)."""
        config = self.channel_configs.get(channel)
        return config is not None and config.type == "manual"

    def check_contexts(self, channel: str, orders: Sequence[Order]) -> PageContext:
        """Check contexts and matched accounts for a page (:mod:`hub.core.checkcontext`);
        no query at all when the channel needs none."""
        settings = self.checks_config(channel)
        manual = self.is_manual(channel)
        by_email = bool(
            getattr(self.channel_configs.get(channel), "match_customers_by_email", False)
        )
        if not (manual or by_email or settings.needs_history() or settings.needs_address()):
            return PageContext()
        return self.read(
            lambda conn: page_context(
                conn, channel, orders, settings, manual=manual, match_by_email=by_email
            )
        )

    def ingest(
        self,
        channel: str,
        orders: Sequence[Order],
        actor: str = "intake",
        reevaluate: bool = False,
        origin: str = "",
    ) -> IntakeReport:
        """Take a page of orders from ``channel``: store, check, reserve; then tell plugins.

        ``actor`` and ``origin`` ("cli", "api", "web", "import"; "" for intake and jobs)
        are recorded in the history events intake writes."""
        page = self.check_contexts(channel, orders)
        report = ingest(
            self.engine,
            channel,
            orders,
            locations=self.channel_locations(channel),
            holds=self.holds_for(orders, page.contexts),
            actor=actor,
            reevaluate=reevaluate,
            accounts=page.accounts if page.accounts else None,
            origin=origin,
            allocation=self.channel_allocation(channel),
            final_sales=self.channel_final_sales(channel),
        )
        by_id = {o.external_id: o for o in orders}
        for outcome in report.outcomes:
            if outcome.action in ("created", "updated"):
                self.plugins.call_each(
                    "order_received", order=by_id[outcome.external_id], status=outcome.status
                )
        opened = [
            o.external_id
            for o in report.outcomes
            if o.action in ("created", "updated") and o.status == "open"
        ]
        if opened:
            self._notify("confirmed", lambda c: notify.confirm_orders(self, c, channel, opened))
        if report.changes:
            self.stock_changed(report.changes)
        return report

    def recheck_holds(self, actor: str = "recheck") -> dict[str, int]:
        """Decide held orders again (stock may have arrived, a SKU may have been added).

        Returns {status: count}; ``failed`` counts orders that could not be decided,
        each logged with its hub id and ``channel:external_id``. One order's failure
        never stops the others: a channel's batch that fails is retried order by order.
        """
        return self._recheck_orders(self.read(held_orders), actor)

    def _recheck_orders(self, found: list[HeldOrder], actor: str) -> dict[str, int]:
        counts: Counter[str] = Counter()
        by_channel: dict[str, list[HeldOrder]] = {}
        for held in found:
            if held.order is None:
                self._recheck_failed(held, held.error, counts)
            else:
                by_channel.setdefault(held.order.channel, []).append(held)
        for channel, batch in by_channel.items():
            try:
                self._recheck(channel, batch, actor, counts)
            except Exception:
                log.exception(
                    "recheck of %d held orders of %s failed; one by one", len(batch), channel
                )
                for held in batch:
                    try:
                        self._recheck(channel, [held], actor, counts)
                    except Exception as error:
                        self._recheck_failed(held, f"{type(error).__name__}: {error}", counts)
        if counts["failed"]:
            log.error("recheck-holds: %d held order(s) could not be decided", counts["failed"])
        return dict(counts)

    def _recheck(
        self, channel: str, batch: list[HeldOrder], actor: str, counts: Counter[str]
    ) -> None:
        orders = [held.order for held in batch if held.order is not None]
        was = getattr(self._redeciding, "active", False)
        self._redeciding.active = True
        try:
            report = self.ingest(channel, orders, actor=actor, reevaluate=True)
        finally:
            self._redeciding.active = was
        by_id = {held.order.external_id: held for held in batch if held.order is not None}
        for outcome in report.outcomes:
            if outcome.action == "rejected":
                self._recheck_failed(by_id[outcome.external_id], outcome.reason, counts)
            else:
                counts[outcome.status] += 1

    @staticmethod
    def _recheck_failed(held: HeldOrder, why: str, counts: Counter[str]) -> None:
        log.error("recheck of held order %d (%s) failed: %s", held.id, held.ref, why)
        counts["failed"] += 1

    def ship(
        self,
        ref: str,
        carrier: str,
        tracking_number: str = "",
        tracking_url: str = "",
        actor: str = "",
    ) -> Shipment:
        """Ship an open order; tells plugins through ``stock_changed`` and ``order_shipped``.

        The shipment is queued for the selling channel in the same transaction (sent by
        :func:`hub.core.shipments.push_shipments`); ``on_shipped`` callbacks get the
        channel's name once it is committed. Raises InvalidInput for an order that is
        not open, NotFound for an unknown one.
        """
        record, shipment, changes = run_in_transaction(
            self.engine,
            lambda c: fulfilment.ship(
                c,
                ref,
                carrier,
                tracking_number,
                tracking_url,
                actor,
                tell_channel=self.tells_channel,
            ),
        )
        self._notify("dispatched", lambda c: notify.dispatched(self, c, record.order["id"]))
        self.stock_changed(changes)
        self.plugins.call_each("order_shipped", order=to_order(record), shipment=shipment)
        for callback in self.on_shipped:
            callback(shipment.order_channel)
        return shipment

    def tells_channel(self, name: str) -> bool:
        """Whether shipments of channel ``name``'s orders are sent to it (its adapter
        implements ``fulfill``); a channel no longer configured is told once it is again."""
        if name not in self.channel_configs:
            return True
        return shipments.tells_channel(self.plugins.channel_types[self.channel_configs[name].type])

    def cancel(self, channel: str, external_id: str, reason: str = "", actor: str = "") -> None:
        """Cancel ``channel``'s order ``external_id`` and release its stock."""
        _record, changes = run_in_transaction(
            self.engine,
            lambda c: fulfilment.cancel(c, f"{channel}:{external_id}", reason, actor),
        )
        if changes:
            self.stock_changed(changes)

    def deliver(self, ref: str, carrier: str = "", actor: str = "") -> Shipment:
        """Record delivery of a shipped order; tells plugins through ``order_delivered``."""
        record, shipment = run_in_transaction(
            self.engine, lambda c: fulfilment.deliver(c, ref, carrier, actor)
        )
        self._notify("delivered", lambda c: notify.delivered(self, c, record.order["id"]))
        self.plugins.call_each("order_delivered", order=to_order(record), shipment=shipment)
        return shipment


def order_count(conn: Connection) -> int:
    """How many orders the hub holds."""
    from hub.core.models import order_t

    return int(conn.scalar(sa.select(sa.func.count()).select_from(order_t)) or 0)
