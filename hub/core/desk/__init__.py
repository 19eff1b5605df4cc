"""The order desk: what the merchant's people do with orders, from the CLI, API and web.

B2B orders entered by a person or a file (:class:`NewOrder`) become :class:`hub.Order`
of a ``manual`` channel and go through :meth:`Hub.ingest` like every channel's orders:
the same intake, the same checks, the same reservations. The account number travels as
the order's customer id, so intake ties the order to its account.

Every change a person makes (create, edit, release, cancel, return) is recorded in the
order's history with who (:class:`Actor`), from where (origin) and why.

Created orders carry no channel version (``updated_at`` None): intake never lets such a
version replace a stored order, so creating a reference that exists changes nothing.

The parts: :mod:`.inputs` (what callers pass), :mod:`.views` (what they get: an order's
view, pages of them), :mod:`.entry` (validating, building, creating), :mod:`.actions`
(hold, release, cancel, edit, the unpaid-orders job) and :mod:`.returns`. Import the
names from ``hub.core.desk``.
"""

from __future__ import annotations

from hub.core.desk.actions import cancel_order, cancel_unpaid, edit_order, hold_order, release_order
from hub.core.desk.entry import (
    Problem,
    account_problem,
    build_orders,
    check_orders,
    create_order,
    create_orders,
    existing_references,
    known_skus,
    manual_channels,
    unknown_sku,
)
from hub.core.desk.inputs import Actor, LineInput, NewOrder, cli_actor
from hub.core.desk.returns import quarantine_location, return_lines
from hub.core.desk.views import (
    EventView,
    LineView,
    OrderList,
    OrderView,
    list_orders,
    order_view,
    order_views,
)
from hub.core.holds import HoldView

__all__ = [
    "Actor",
    "EventView",
    "HoldView",
    "LineInput",
    "LineView",
    "NewOrder",
    "OrderList",
    "OrderView",
    "Problem",
    "account_problem",
    "build_orders",
    "check_orders",
    "cancel_order",
    "cancel_unpaid",
    "cli_actor",
    "create_order",
    "create_orders",
    "edit_order",
    "existing_references",
    "hold_order",
    "known_skus",
    "list_orders",
    "manual_channels",
    "order_view",
    "order_views",
    "quarantine_location",
    "release_order",
    "return_lines",
    "unknown_sku",
]
