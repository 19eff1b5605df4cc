"""REST API tokens: created once, stored as a SHA-256 hash, looked up by that hash.

A token is ``hub_`` and 43 URL-safe characters (32 random bytes). The hub keeps only its
SHA-256 (hex) and its first characters (the prefix people recognise it by in
``hub tokens list``); the token itself is shown once, when it is created.

A request's token is found by the hash of what it presented (a unique index lookup, so
no secret is compared character by character); the hash found is then compared with
``hmac.compare_digest`` all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hub.core.models import api_token_t, now
from hub.errors import Conflict, InvalidInput, NotFound

ROLES = ("admin", "sales", "viewer")
TOKEN_PREFIX = "hub_"
PREFIX_LENGTH = 12  # "hub_" and 8 characters: enough to tell tokens apart, useless to guess
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class TokenInfo:
    """A token as the hub keeps it (never the token itself)."""

    id: int
    name: str
    role: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    """The SHA-256 hex digest the hub stores for ``token``."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: str) -> str:
    """``role`` when it is one of :data:`ROLES`; InvalidInput naming them otherwise."""
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    return role


def check_name(name: str) -> str:
    """A token name: 1 to 64 letters, digits and ``._@-``, starting with a letter or digit."""
    text = name.strip()
    if not _NAME.match(text):
        raise InvalidInput(
            f"token name {name!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            field="name",
        )
    return text


def create_token(
    connection: Connection, name: str, role: str, created_by: str = ""
) -> tuple[str, TokenInfo]:
    """Make a new token; returns the token (to show once) and what is stored.

    Conflict when a token of that name exists (revoked ones too: names stay unique so
    the history of a name is never ambiguous).
    """
    name, role = check_name(name), check_role(role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "name": name,
        "role": role,
        "token_hash": token_hash(token),
        "prefix": token[:PREFIX_LENGTH],
        "created_by": created_by,
        "created_at": now(),
    }
    try:
        with connection.begin_nested():
            inserted = connection.execute(api_token_t.insert().values(**row)).inserted_primary_key
            new_id = inserted[0] if inserted else None
    except IntegrityError:  # the name is unique: taken before, or at this very moment
        raise Conflict(
            f"a token named {name!r} exists; choose another name", field="name"
        ) from None
    return token, _info({**row, "id": new_id, "last_used_at": None, "revoked_at": None})


def list_tokens(connection: Connection) -> list[TokenInfo]:
    """Every token, oldest first."""
    rows = connection.execute(sa.select(api_token_t).order_by(api_token_t.c.id)).mappings()
    return [_info(dict(r)) for r in rows]


def revoke_token(connection: Connection, name: str) -> TokenInfo:
    """Revoke the token ``name`` (from now on it gets 401); NotFound when there is none.
    Revoking a revoked token changes nothing."""
    t = api_token_t.c
    row = connection.execute(sa.select(api_token_t).where(t.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no API token named {name!r} (see `hub tokens list`)", field="name")
    if row["revoked_at"] is None:
        when = now()
        connection.execute(api_token_t.update().where(t.id == row["id"]).values(revoked_at=when))
        return _info({**row, "revoked_at": when})
    return _info(dict(row))


def authenticate(connection: Connection, token: str) -> TokenInfo | None:
    """The live (not revoked) token ``token`` is, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    row = (
        connection.execute(sa.select(api_token_t).where(api_token_t.c.token_hash == digest))
        .mappings()
        .first()
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    if row["revoked_at"] is not None:
        return None
    return _info(dict(row))


def touch(connection: Connection, token_id: int, when: datetime | None = None) -> None:
    """Record that token ``token_id`` was used (``last_used_at``)."""
    connection.execute(
        api_token_t.update().where(api_token_t.c.id == token_id).values(last_used_at=when or now())
    )


def _info(row: dict) -> TokenInfo:
    return TokenInfo(
        id=int(row["id"]),
        name=row["name"],
        role=row["role"],
        prefix=row["prefix"],
        created_by=row.get("created_by") or "",
        created_at=row["created_at"],
        last_used_at=row.get("last_used_at"),
        revoked_at=row.get("revoked_at"),
    )
