"""The hub's plugin API: every hook a plugin can implement.

A plugin is a module or object with functions marked ``@hookimpl`` (import it from
``hub``) whose names match the functions here. pluggy calls every plugin that
implements a hook; unless a docstring says "first result wins", the results of all
plugins are collected in a list. Plugins import data classes and ``hookimpl`` from
``hub`` only, never from ``hub.core``.

Registration hooks receive a ``register`` callable: call it once per thing you
provide. The core validates names and reports clashes naming both plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hub.checks import CheckContext
    from hub.orders import Hold, Order
    from hub.shipping import Shipment
    from hub.stock import StockChange

PLUGIN_API = "1.0"
"""The version of this plugin API, ``MAJOR.MINOR``: the minor number grows when hooks or
arguments are added (old plugins keep working), the major one when a hook or argument
changes or goes away. A plugin states the range it works with in ``HUB_PLUGIN_API``
(e.g. ``">=1,<2"``); see :func:`hub.core.plugins.api_accepts`."""

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")


@hookspec
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register sales-channel adapters.

    Called once when the plugin manager starts. Call ``register(ChannelClass)`` with a
    subclass of :class:`hub.Channel`; its ``type_name`` is the ``type`` of the config
    sections it serves and its ``Config`` model validates them. Returns nothing.
    """


@hookspec
def register_carrier_types(register: Callable[[type], None]) -> None:
    """Register carriers that buy labels and track parcels.

    Called once at start. Call ``register(CarrierClass)`` with a subclass of
    :class:`hub.Carrier` naming itself in ``type_name``. Returns nothing.
    """


@hookspec
def register_routers(register: Callable[[Any], None]) -> None:
    """Register last-mile routers.

    Called once at start. Call ``register(router)`` with a router instance, best a
    subclass of :class:`hub.routing.Router`. A router offers:

    ``name``
        A unique string; ``routing.router`` in the config and ``--router`` pick it by it.
    ``can_solve(problem) -> str | None``
        None when it models everything in the :class:`hub.routing.RoutingProblem`, else a
        few words naming what it cannot (e.g. ``"driver breaks"``); the ``auto`` router
        asks before choosing. ``Router`` provides one that returns None.
    ``solve(problem, time_limit, progress=None) -> Plan``
        The best :class:`hub.routing.Plan` found within ``time_limit`` seconds.
        ``progress`` is None or a :data:`hub.routing.Progress`: a callable taking one
        short human-readable line (``hub route plan`` shows it as its status). A stop
        that cannot be served goes into ``Plan.unassigned`` with a reason; never raise
        for it.

    Returns nothing.
    """


@hookspec
def register_notifiers(register: Callable[[type], None]) -> None:
    """Register customer notifiers (SMS, e-mail).

    Called once at start. Call ``register(NotifierClass)`` with a subclass of
    :class:`hub.Notifier` naming itself in ``type_name``, its ``kind`` (``"email"`` or
    ``"sms"``) and ``send(message)`` taking a :class:`hub.OutgoingMessage` and returning
    the service's message id. The hub records every message before it calls ``send`` and
    sends it once (see ``hub.core.notify``). Returns nothing.
    """


@hookspec
def check_order(order: Order, context: CheckContext) -> Hold | Sequence[Hold] | None:
    """Decide whether an incoming order must be held.

    Called for every new order and every later version of it, before stock is
    reserved. ``order`` is the :class:`hub.Order` as the channel reports it;
    ``context`` a :class:`hub.CheckContext`: the channel's check settings, the B2B
    account the order is charged to (terms, credit limit, outstanding), the customer's
    history and recent orders to the same address, as far as enabled rules need them.
    An implementation may take ``order`` only (pluggy passes ``context`` only to one
    that names it without a default). Return
    None to let it through, or one or more :class:`hub.Hold` (code and readable
    reason: unpaid, fraud risk, address incomplete). All plugins are asked; every
    hold returned is recorded on the order, which stays on hold until none applies.
    """


@hookspec
def order_received(order: Order, status: str) -> None:
    """An order was stored or changed by intake.

    Called after the transaction that stored it has committed. ``order`` is the
    channel's version; ``status`` the hub status it now has ("open", "on_hold",
    "cancelled", ...). Return value ignored.
    """


@hookspec
def stock_changed(changes: Sequence[StockChange]) -> None:
    """Stock moved in the ledger.

    Called after each committed ledger transaction with one :class:`hub.StockChange`
    per balance that changed. Return value ignored.
    """


@hookspec
def order_shipped(order: Order, shipment: Shipment) -> None:
    """An order left the building: a carrier label was bought or a driver took it.

    Called once per shipment after it is recorded. Return value ignored.
    """


@hookspec
def order_delivered(order: Order, shipment: Shipment) -> None:
    """A shipment was delivered to the customer.

    Called once per shipment when the carrier or driver reports delivery.
    Return value ignored.
    """
