"""What callers of the order desk pass: who acts, and a B2B order with its lines."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from hub.orders import Address


@dataclass(frozen=True)
class Actor:
    """Who acts: ``name`` (OS user for the CLI, API token name, web username) and
    ``origin`` ("cli", "api", "web" or "import")."""

    name: str
    origin: str

    def label(self) -> str:
        """``"cli:alice"``: what history records as the actor (the name alone for jobs,
        whose origin is "")."""
        return f"{self.origin}:{self.name}" if self.origin else self.name


def cli_actor() -> Actor:
    """The person at the terminal."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment
        name = "unknown"
    return Actor(name, "cli")


@dataclass(frozen=True)
class LineInput:
    """One line of a B2B order: SKU, units (1 to ledger.MAX_QUANTITY), unit price (None: 0)."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    title: str = ""


@dataclass(frozen=True)
class NewOrder:
    """A B2B order as a person or a file enters it.

    ``account``: an active account's number. ``channel``: a configured ``manual`` channel
    ("" the first one configured). ``reference``: the order's external id ("" generated,
    e.g. ``B2B-000042``). ``requested_date`` and the window's times are in the merchant's
    zone (``hub.timezone``); give both window ends or neither, the end after the start,
    and a window only with a date. ``address_id``: one of the account's delivery
    addresses (None: its default, if any); ``address``: a one-off address instead.
    ``paid``: prepaid; otherwise the order is unpaid (on account for customers with terms).
    """

    account: str
    lines: tuple[LineInput, ...]
    channel: str = ""
    reference: str = ""
    po_number: str = ""
    requested_date: date | None = None
    window_start: time | None = None
    window_end: time | None = None
    address_id: int | None = None
    address: Address | None = None
    notes: str = ""
    paid: bool = False
