"""B2B customer accounts: terms, credit limit, contacts and delivery addresses.

An account is named by its account number (unique). Channel orders are matched to an
account by the customer's e-mail (the account's or one of its contacts') where the
channel's config says ``match_customers_by_email = true``; orders of a ``manual`` channel
carry the account number as their customer id (:mod:`hub.core.desk`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.checks import AccountInfo
from hub.core.db import in_list
from hub.core.models import (
    customer_account_t,
    customer_address_t,
    customer_contact_t,
    now,
    order_t,
)
from hub.errors import Conflict, InvalidInput, NotFound
from hub.orders import Address

#: payment statuses that count as unpaid (outstanding on account)
UNPAID = ("pending", "failed", "voided")
_CLOSED = ("cancelled", "refunded")


@dataclass(frozen=True)
class AddressView:
    """A delivery address of an account."""

    id: int
    label: str
    address: Address
    is_default: bool


@dataclass(frozen=True)
class ContactView:
    id: int
    name: str
    email: str
    phone: str
    role: str


@dataclass(frozen=True)
class Account:
    """An account as stored. Money in the hub's currency; None: no terms / no limit."""

    id: int
    number: str
    name: str
    vat_id: str = ""
    email: str = ""
    phone: str = ""
    payment_terms_days: int | None = None
    credit_limit: Decimal | None = None
    notes: str = ""
    active: bool = True
    contacts: list[ContactView] = field(default_factory=list)
    addresses: list[AddressView] = field(default_factory=list)


def _clean_number(number: str) -> str:
    text = (number or "").strip()
    if not text or len(text) > 64:
        raise InvalidInput("account number must have 1 to 64 characters", field="account_number")
    return text


def _credit(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise InvalidInput(
            f"credit limit {value!r} is not an amount", field="credit_limit"
        ) from error
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e14"):
        raise InvalidInput(
            f"credit limit {value!r} must be an amount from 0 to 1e14", field="credit_limit"
        )
    return amount


def _terms(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 3650:
        raise InvalidInput(
            f"payment terms {value} days must be from 0 to 3650", field="payment_terms_days"
        )
    return value


def create_account(
    conn: Connection,
    number: str,
    name: str,
    *,
    vat_id: str = "",
    email: str = "",
    phone: str = "",
    payment_terms_days: int | None = None,
    credit_limit: Decimal | str | None = None,
    notes: str = "",
) -> Account:
    """Add an account; :class:`Conflict` when the number is taken, InvalidInput for bad
    figures (field named)."""
    number = _clean_number(number)
    if conn.scalar(
        sa.select(customer_account_t.c.id).where(customer_account_t.c.account_number == number)
    ):
        raise Conflict(f"account {number!r} exists already", field="account_number")
    stamp = now()
    conn.execute(
        customer_account_t.insert().values(
            account_number=number,
            name=name.strip(),
            vat_id=vat_id.strip(),
            email=email.strip().lower(),
            phone=phone.strip(),
            payment_terms_days=_terms(payment_terms_days),
            credit_limit=_credit(credit_limit),
            notes=notes,
            active=True,
            created_at=stamp,
            updated_at=stamp,
        )
    )
    return get_account(conn, number)


_UPDATABLE = {
    "name",
    "vat_id",
    "email",
    "phone",
    "payment_terms_days",
    "credit_limit",
    "notes",
    "active",
}


def update_account(conn: Connection, number: str, **changes: object) -> Account:
    """Change an account's fields (names as :class:`Account`'s); NotFound for an unknown
    number, InvalidInput for an unknown field or a bad value."""
    account = get_account(conn, number)
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    values: dict[str, object] = dict(changes)
    if "credit_limit" in values:
        values["credit_limit"] = _credit(values["credit_limit"])
    if "payment_terms_days" in values:
        values["payment_terms_days"] = _terms(values["payment_terms_days"])  # type: ignore[arg-type]
    if "email" in values:
        values["email"] = str(values["email"]).strip().lower()
    values["updated_at"] = now()
    conn.execute(
        customer_account_t.update().where(customer_account_t.c.id == account.id).values(**values)
    )
    return get_account(conn, number)


def get_account(conn: Connection, number: str) -> Account:
    """The account with its contacts and addresses; NotFound (field ``account``)."""
    row = conn.execute(
        sa.select(customer_account_t).where(
            customer_account_t.c.account_number == (number or "").strip()
        )
    ).first()
    if row is None:
        raise NotFound(f"no customer account {number!r}", field="account")
    return _account(conn, row, details=True)


def _account(conn: Connection, row: sa.Row, details: bool = False) -> Account:
    contacts: list[ContactView] = []
    addresses: list[AddressView] = []
    if details:
        contacts = [
            ContactView(r.id, r.name, r.email, r.phone, r.role)
            for r in conn.execute(
                sa.select(customer_contact_t)
                .where(customer_contact_t.c.account_id == row.id)
                .order_by(customer_contact_t.c.id)
            )
        ]
        addresses = [
            _address_view(r)
            for r in conn.execute(
                sa.select(customer_address_t)
                .where(customer_address_t.c.account_id == row.id)
                .order_by(customer_address_t.c.id)
            )
        ]
    return Account(
        id=row.id,
        number=row.account_number,
        name=row.name,
        vat_id=row.vat_id,
        email=row.email,
        phone=row.phone,
        payment_terms_days=row.payment_terms_days,
        credit_limit=None if row.credit_limit is None else Decimal(row.credit_limit),
        notes=row.notes,
        active=bool(row.active),
        contacts=contacts,
        addresses=addresses,
    )


def _address_view(r: sa.Row) -> AddressView:
    return AddressView(
        r.id,
        r.label,
        Address(
            name=r.name,
            company=r.company,
            line1=r.line1,
            line2=r.line2,
            city=r.city,
            region=r.region,
            postcode=r.postcode,
            country=r.country,
            phone=r.phone,
            latitude=r.latitude,
            longitude=r.longitude,
        ),
        bool(r.is_default),
    )


def list_accounts(
    conn: Connection, search: str = "", *, limit: int = 50, include_inactive: bool = False
) -> list[Account]:
    """Accounts by number, those whose number, name or e-mail contains ``search``."""
    a = customer_account_t.c
    query = sa.select(customer_account_t).order_by(a.account_number).limit(limit)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(a.account_number).like(like),
                sa.func.lower(a.name).like(like),
                a.email.like(like),
            )
        )
    if not include_inactive:
        query = query.where(a.active.is_(True))
    return [_account(conn, r) for r in conn.execute(query)]


def add_contact(
    conn: Connection, number: str, name: str, email: str = "", phone: str = "", role: str = ""
) -> ContactView:
    """Add a contact person to an account."""
    account = get_account(conn, number)
    cid = conn.execute(
        customer_contact_t.insert()
        .values(
            account_id=account.id,
            name=name.strip(),
            email=email.strip().lower(),
            phone=phone.strip(),
            role=role.strip(),
        )
        .returning(customer_contact_t.c.id)
    ).scalar_one()
    return ContactView(cid, name.strip(), email.strip().lower(), phone.strip(), role.strip())


def add_address(
    conn: Connection, number: str, address: Address, *, label: str = "", default: bool = False
) -> AddressView:
    """Add a delivery address; ``default`` makes it the account's default (the first
    address is the default anyway). InvalidInput when it has no street or no country."""
    account = get_account(conn, number)
    if not address.line1.strip() or not address.country.strip():
        raise InvalidInput("a delivery address needs a street line and a country", field="address")
    first = not account.addresses
    if default and not first:
        conn.execute(
            customer_address_t.update()
            .where(customer_address_t.c.account_id == account.id)
            .values(is_default=False)
        )
    aid = conn.execute(
        customer_address_t.insert()
        .values(
            account_id=account.id,
            label=label,
            name=address.name,
            company=address.company,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            region=address.region,
            postcode=address.postcode,
            country=address.country.upper(),
            phone=address.phone,
            latitude=address.latitude,
            longitude=address.longitude,
            is_default=default or first,
        )
        .returning(customer_address_t.c.id)
    ).scalar_one()
    return _address_view(
        conn.execute(sa.select(customer_address_t).where(customer_address_t.c.id == aid)).one()
    )


# -- lookups for intake and the desk (batched) --------------------------------------------


def accounts_by_number(conn: Connection, numbers: Iterable[str]) -> dict[str, sa.Row]:
    """Account rows by account number, for the numbers given (one query)."""
    wanted = sorted({n for n in numbers if n})
    if not wanted:
        return {}
    return {
        r.account_number: r
        for r in conn.execute(
            sa.select(customer_account_t).where(
                in_list(conn, customer_account_t.c.account_number, wanted)
            )
        )
    }


def accounts_by_email(conn: Connection, emails: Iterable[str]) -> dict[str, sa.Row]:
    """Active account rows by (lower-case) e-mail of the account or of a contact; an
    e-mail that names two accounts matches neither (two queries)."""
    wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
    if not wanted:
        return {}
    a, c = customer_account_t.c, customer_contact_t.c
    found: dict[str, set[int]] = {}
    for email, aid in conn.execute(
        sa.select(a.email, a.id).where(in_list(conn, a.email, wanted), a.active.is_(True))
    ):
        found.setdefault(email, set()).add(aid)
    for email, aid in conn.execute(
        sa.select(c.email, c.account_id)
        .join(customer_account_t, customer_account_t.c.id == c.account_id)
        .where(in_list(conn, c.email, wanted), a.active.is_(True))
    ):
        found.setdefault(email, set()).add(aid)
    ids = {next(iter(v)) for v in found.values() if len(v) == 1}
    if not ids:
        return {}
    rows = {
        r.id: r for r in conn.execute(sa.select(customer_account_t).where(in_list(conn, a.id, ids)))
    }
    return {e: rows[next(iter(v))] for e, v in found.items() if len(v) == 1}


def outstanding(
    conn: Connection, account_ids: Iterable[int]
) -> dict[int, dict[tuple[str, str], Decimal]]:
    """Per account: (channel, external id) → total of its unpaid orders not cancelled
    (one query). The caller leaves out the order being decided."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    o = order_t.c
    out: dict[int, dict[tuple[str, str], Decimal]] = {}
    for aid, channel, ext, total in conn.execute(
        sa.select(o.account_id, o.channel, o.external_id, o.total).where(
            in_list(conn, o.account_id, ids),
            o.payment_status.in_(UNPAID),
            o.status.not_in(_CLOSED),
        )
    ):
        out.setdefault(aid, {})[(channel, ext)] = Decimal(total)
    return out


def account_info(row: sa.Row, owed: Decimal = Decimal("0")) -> AccountInfo:
    """The public :class:`hub.AccountInfo` of an account row."""
    return AccountInfo(
        id=row.id,
        number=row.account_number,
        name=row.name,
        payment_terms_days=row.payment_terms_days,
        credit_limit=None if row.credit_limit is None else Decimal(row.credit_limit),
        outstanding=owed,
    )


def addresses_of(conn: Connection, account_ids: Sequence[int]) -> dict[int, list[AddressView]]:
    """Delivery addresses per account (one query)."""
    out: dict[int, list[AddressView]] = {}
    if not account_ids:
        return out
    for r in conn.execute(
        sa.select(customer_address_t)
        .where(in_list(conn, customer_address_t.c.account_id, sorted(set(account_ids))))
        .order_by(customer_address_t.c.id)
    ):
        out.setdefault(r.account_id, []).append(_address_view(r))
    return out
