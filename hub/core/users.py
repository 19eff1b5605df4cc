"""People who sign in to the web pages: usernames, roles and argon2-hashed passwords.

Roles are the API's (:data:`hub.core.tokens.ROLES`): ``admin`` (everything), ``sales``
(create, release and cancel orders, import) and ``viewer`` (read). The hub keeps only an
argon2id hash of each password. :func:`authenticate` spends the same hashing work for an
unknown or disabled user as for a known one, so timing does not tell which names exist.

The key that signs and encrypts the web session cookie is :func:`web_secret_key`: the
configured ``[web] secret_key``, or one generated once and kept in a file beside the
database (SQLite) or the config file, so sessions survive restarts.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hub.core.config import Settings
from hub.core.models import now, web_user_t
from hub.core.tokens import ROLES, check_role
from hub.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger("hub.users")

__all__ = [
    "ROLES",
    "UserInfo",
    "authenticate",
    "check_password",
    "check_role",
    "check_username",
    "create_user",
    "disable_user",
    "get_user",
    "list_users",
    "may",
    "web_secret_key",
]

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """A hash made once, on the first sign-in (not at import: every ``hub`` command would
    pay for it): checked against when the user is unknown, so every sign-in costs the same."""
    return _hasher.hash(secrets.token_urlsafe(16))


#: what each role may do on the pages (and the API): read, sell (create, release,
#: cancel, import), admin
_RANKS = {"viewer": 0, "sales": 1, "admin": 2}


@dataclass(frozen=True)
class UserInfo:
    """A web user as stored (never the password hash)."""

    id: int
    username: str
    full_name: str
    role: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def shown_name(self) -> str:
        return self.full_name or self.username


def may(role: str, needed: str) -> bool:
    """Whether ``role`` may do what needs ``needed`` ("viewer", "sales" or "admin")."""
    return _RANKS.get(role, -1) >= _RANKS[needed]


def check_username(username: str) -> str:
    text = (username or "").strip()
    if not _USERNAME.match(text):
        raise InvalidInput(
            f"username {username!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    return text


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters", field="password")
    return password


def _info(row: sa.Row) -> UserInfo:
    return UserInfo(
        id=row.id,
        username=row.username,
        full_name=row.full_name,
        role=row.role,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def create_user(
    conn: Connection, username: str, password: str, role: str, full_name: str = ""
) -> UserInfo:
    """Add a user; Conflict when the username is taken, InvalidInput for a bad username,
    role or password (field named)."""
    username, role = check_username(username), check_role(role)
    hashed = _hasher.hash(check_password(password))
    if conn.scalar(sa.select(web_user_t.c.id).where(web_user_t.c.username == username)):
        raise Conflict(f"user {username!r} exists already", field="username")
    try:
        with conn.begin_nested():
            conn.execute(
                web_user_t.insert().values(
                    username=username,
                    full_name=full_name.strip(),
                    password_hash=hashed,
                    role=role,
                    disabled=False,
                    created_at=now(),
                )
            )
    except IntegrityError:
        raise Conflict(f"user {username!r} exists already", field="username") from None
    return get_user(conn, username)


def get_user(conn: Connection, username: str) -> UserInfo:
    row = conn.execute(sa.select(web_user_t).where(web_user_t.c.username == username)).first()
    if row is None:
        raise NotFound(f"no user {username!r}", field="username")
    return _info(row)


def list_users(conn: Connection) -> list[UserInfo]:
    return [_info(r) for r in conn.execute(sa.select(web_user_t).order_by(web_user_t.c.username))]


def disable_user(conn: Connection, username: str) -> UserInfo:
    """Disable a user: they can no longer sign in, and their open sessions end."""
    get_user(conn, username)
    conn.execute(web_user_t.update().where(web_user_t.c.username == username).values(disabled=True))
    return get_user(conn, username)


def authenticate(conn: Connection, username: str, password: str) -> UserInfo | None:
    """The user when ``password`` is theirs and they are not disabled; None otherwise
    (whichever of the three it was). Records the sign-in time; rehashes an old hash."""
    row = conn.execute(
        sa.select(web_user_t).where(web_user_t.c.username == (username or "").strip())
    ).first()
    dummy = _dummy()
    stored = row.password_hash if row is not None and row.password_hash else dummy
    try:
        _hasher.verify(stored, password[:MAX_PASSWORD])
        good = row is not None and stored is not dummy
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        good = False
    if not good or row is None or row.disabled:
        return None
    values: dict[str, object] = {"last_login_at": now()}
    if _hasher.check_needs_rehash(stored):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(web_user_t.update().where(web_user_t.c.id == row.id).values(**values))
    return _info(row)


def active_user(conn: Connection, user_id: int) -> UserInfo | None:
    """The signed-in user ``user_id`` when they still exist and are not disabled."""
    row = conn.execute(sa.select(web_user_t).where(web_user_t.c.id == user_id)).first()
    return None if row is None or row.disabled else _info(row)


def _key_file(settings: Settings) -> Path | None:
    url = settings.database.url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///")).with_name("hub-web-secret.key")
    if settings.path.name != "<memory>" and settings.path.parent.exists():
        return settings.path.with_name("hub-web-secret.key")
    return None


def web_secret_key(settings: Settings) -> bytes:
    """32 bytes for the session cookie: ``[web] secret_key`` (any text; hashed to 32
    bytes), else the key kept beside the database or config file (made on first use,
    readable by its owner only), else a new one for this process (sessions then end
    when the hub restarts)."""
    import hashlib

    configured = settings.web.secret_key
    if configured is not None and configured.get_secret_value():
        return hashlib.sha256(configured.get_secret_value().encode()).digest()
    path = _key_file(settings)
    if path is None:
        log.warning("no [web] secret_key and nowhere to keep one: sessions end on restart")
        return secrets.token_bytes(32)
    try:
        return base64.urlsafe_b64decode(path.read_text().strip())[:32]
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        log.warning("cannot read %s (%s): making a new web secret key", path, error)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(base64.urlsafe_b64encode(key).decode() + "\n")
    except FileExistsError:  # another process made it first: use theirs
        return base64.urlsafe_b64decode(path.read_text().strip())[:32]
    except OSError as error:
        log.warning("cannot keep the web secret key in %s (%s)", path, error)
    return key
