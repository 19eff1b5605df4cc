"""The own fleet's drivers and how they sign in to the driver app.

A driver token is ``drv_`` and 43 URL-safe characters (32 random bytes), a one-time
sign-in link's token ``drl_`` and as many. The hub keeps only their SHA-256 (hex) and a
token's first characters (to tell tokens apart in ``hub drivers list``); a token is
shown once, when it is made. A presented token is looked up by its hash (a unique index,
so no secret is compared character by character) and the hash found is compared with
``hmac.compare_digest`` all the same, as :mod:`hub.core.tokens` does for API tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hub.core.config import Settings
from hub.core.models import driver_link_t, driver_t, now
from hub.errors import Conflict, InvalidInput, NotFound

TOKEN_PREFIX = "drv_"
LINK_PREFIX = "drl_"
PREFIX_LENGTH = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")


@dataclass(frozen=True)
class DriverInfo:
    """A driver as the hub keeps them (never the token)."""

    id: int
    name: str
    phone: str
    vehicle: str
    prefix: str
    disabled: bool
    created_at: datetime


# -- drivers and signing in ------------------------------------------------------------------


def token_hash(token: str) -> str:
    """The SHA-256 hex digest the hub stores for a driver token or link token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_driver(
    conn: Connection, name: str, vehicle: str, phone: str = "", settings: Settings | None = None
) -> tuple[str, DriverInfo]:
    """Add a driver of ``vehicle``; returns their token (to show once) and what is kept.

    InvalidInput naming ``name`` or ``vehicle`` (one not in ``settings``' fleet, when
    given); Conflict when a driver of that name exists.
    """
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidInput(
            f"driver name {name!r}: use 1 to 64 letters, digits, spaces, '.', '_', '@' or '-'",
            field="name",
        )
    vehicle = vehicle.strip()
    if settings is not None and vehicle not in settings.fleet:
        known = ", ".join(sorted(settings.fleet)) or "none configured"
        raise InvalidInput(
            f"vehicle {vehicle!r} is not in the fleet ([fleet.NAME] in the config: {known})",
            field="vehicle",
        )
    if not vehicle:
        raise InvalidInput("vehicle must not be empty", field="vehicle")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "name": name,
        "phone": phone.strip()[:64],
        "vehicle": vehicle,
        "token_hash": token_hash(token),
        "token_prefix": token[:PREFIX_LENGTH],
        "disabled": False,
        "created_at": now(),
    }
    try:
        with conn.begin_nested():
            inserted = conn.execute(driver_t.insert().values(**row)).inserted_primary_key
            new_id = inserted[0] if inserted else None
    except IntegrityError:
        raise Conflict(
            f"a driver named {name!r} exists; choose another name", field="name"
        ) from None
    return token, _info({**row, "id": new_id})


def list_drivers(conn: Connection) -> list[DriverInfo]:
    """Every driver, by name."""
    rows = conn.execute(sa.select(driver_t).order_by(driver_t.c.name)).mappings()
    return [_info(dict(r)) for r in rows]


def find_driver(conn: Connection, name: str) -> DriverInfo:
    """The driver ``name``; NotFound naming the known ones otherwise."""
    row = (
        conn.execute(sa.select(driver_t).where(driver_t.c.name == name.strip())).mappings().first()
    )
    if row is None:
        known = ", ".join(d.name for d in list_drivers(conn)) or "none yet: hub drivers add"
        raise NotFound(f"no driver named {name!r} (drivers: {known})", field="name")
    return _info(dict(row))


def set_disabled(conn: Connection, name: str, disabled: bool = True) -> DriverInfo:
    """Stop (or allow again) a driver signing in; their sessions end at the next request."""
    driver = find_driver(conn, name)
    conn.execute(driver_t.update().where(driver_t.c.id == driver.id).values(disabled=disabled))
    return find_driver(conn, name)


def new_token(conn: Connection, name: str) -> tuple[str, DriverInfo]:
    """Give driver ``name`` a new token (a lost phone): the old token and every session
    opened with it stop working. Returns the token (to show once) and the driver."""
    driver = find_driver(conn, name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        driver_t.update()
        .where(driver_t.c.id == driver.id)
        .values(token_hash=token_hash(token), token_prefix=token[:PREFIX_LENGTH])
    )
    return token, find_driver(conn, name)


def session_driver(conn: Connection, driver_id: int, key: str) -> DriverInfo | None:
    """The driver a session names, when they are active and the session was opened with
    their current token (``key`` is :attr:`DriverInfo.prefix` at sign-in): a new token
    (:func:`new_token`) ends the sessions of the old one."""
    driver = active_driver(conn, driver_id)
    if driver is None or not hmac.compare_digest(driver.prefix, key):
        return None
    return driver


def authenticate(conn: Connection, token: str) -> DriverInfo | None:
    """The active driver whose token ``token`` is, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    row = (
        conn.execute(sa.select(driver_t).where(driver_t.c.token_hash == digest)).mappings().first()
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest) or row["disabled"]:
        return None
    return _info(dict(row))


def active_driver(conn: Connection, driver_id: int) -> DriverInfo | None:
    """Driver ``driver_id`` when they may still sign in (a session's check), else None."""
    row = conn.execute(sa.select(driver_t).where(driver_t.c.id == driver_id)).mappings().first()
    return None if row is None or row["disabled"] else _info(dict(row))


def create_link(conn: Connection, name: str, hours: float) -> tuple[str, DriverInfo, datetime]:
    """A one-time sign-in token for driver ``name``, valid ``hours``: (token, driver,
    expiry). Only its hash is kept. NotFound for an unknown driver, InvalidInput for a
    disabled one."""
    driver = find_driver(conn, name)
    if driver.disabled:
        raise InvalidInput(f"driver {driver.name!r} is disabled", field="name")
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    expires = now() + timedelta(hours=hours)
    conn.execute(
        driver_link_t.insert().values(
            driver_id=driver.id, token_hash=token_hash(token), expires_at=expires, created_at=now()
        )
    )
    return token, driver, expires


def peek_link(conn: Connection, token: str) -> DriverInfo | None:
    """The driver a usable (unused, unexpired) link token signs in, without using it."""
    row = _link_row(conn, token)
    return None if row is None else active_driver(conn, row["driver_id"])


def use_link(conn: Connection, token: str) -> DriverInfo | None:
    """Use a one-time link token: the driver it signs in, or None when it is unknown,
    used, expired or its driver disabled. Of two uses at once only one succeeds."""
    row = _link_row(conn, token)
    if row is None:
        return None
    link = driver_link_t.c
    taken = conn.execute(
        driver_link_t.update()
        .where(link.id == row["id"], link.used_at.is_(None), link.expires_at > now())
        .values(used_at=now())
    )
    return active_driver(conn, row["driver_id"]) if taken.rowcount == 1 else None


def _link_row(conn: Connection, token: str) -> Any:
    if not token.startswith(LINK_PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    link = driver_link_t.c
    row = conn.execute(sa.select(driver_link_t).where(link.token_hash == digest)).mappings().first()
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    if row["used_at"] is not None or row["expires_at"] <= now():
        return None
    return row


def _info(row: dict) -> DriverInfo:
    return DriverInfo(
        id=int(row["id"]),
        name=row["name"],
        phone=row.get("phone") or "",
        vehicle=row["vehicle"],
        prefix=row.get("token_prefix") or "",
        disabled=bool(row.get("disabled")),
        created_at=row["created_at"],
    )
