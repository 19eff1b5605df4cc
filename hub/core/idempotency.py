"""Idempotency keys: a retried request gets the first answer and does nothing again.

A caller sends ``Idempotency-Key`` with every mutating request. The first request with
a key *claims* it: one INSERT into the unique (scope, key) pair, committed at once, so
two requests racing with one key cannot both win on SQLite or PostgreSQL (the loser's
insert conflicts; nothing is checked before inserting). The winner runs, then stores its
answer (:func:`complete`); a failure before its work committed gives the key back
(:func:`release`), so the caller may try again with it.

What a later request with the key gets (:func:`claim`):
- the same method, path and body, answer stored: that answer (:class:`Replay`);
- the same request still running: :class:`InProgress` (the API answers 409, retry later);
- another method, path or body: :class:`Mismatch` (the API answers 422).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.ledger import insert_ignore
from hub.core.models import idempotency_key_t, now

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claimed:
    """This request owns the key: run it, then :func:`complete` or :func:`release`."""

    id: int


@dataclass(frozen=True)
class Replay:
    """The key's request already ran: answer with what it answered."""

    status: int
    body: str


@dataclass(frozen=True)
class InProgress:
    """The key's first request is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for another request (method, path or body)."""

    method: str
    path: str


Outcome = Claimed | Replay | InProgress | Mismatch


def canonical_json(value: Any) -> str:
    """``value`` as JSON with sorted keys and no spaces: equal bodies, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(method: str, path: str, body: Any) -> str:
    """SHA-256 hex over the method, the path and the canonical JSON of the body."""
    text = f"{method.upper()}\n{path}\n{canonical_json(body)}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_k = idempotency_key_t.c
# Built once per dialect: building a statement costs more than running it.
_CLAIMS: dict[str, Any] = {}
_FIND = sa.select(
    _k.method, _k.path, _k.request_hash, _k.state, _k.response_status, _k.response_body
).where(_k.scope == sa.bindparam("scope"), _k.key == sa.bindparam("key"))


def _claim_statement(conn: Connection) -> Any:
    name = conn.dialect.name
    if name not in _CLAIMS:
        _CLAIMS[name] = insert_ignore(conn, idempotency_key_t).returning(_k.id)
    return _CLAIMS[name]


def claim(conn: Connection, scope: str, key: str, method: str, path: str, digest: str) -> Outcome:
    """Claim ``key`` in ``scope`` for this request, or say what became of it before.

    Commit the transaction before running the request, so others see the claim.
    """
    inserted = conn.execute(
        _claim_statement(conn),
        {
            "scope": scope,
            "key": key,
            "method": method.upper(),
            "path": path,
            "request_hash": digest,
            "state": "in_progress",
            "response_body": "",
            "created_at": now(),
        },
    ).first()
    if inserted is not None:
        return Claimed(int(inserted[0]))
    row = conn.execute(_FIND, {"scope": scope, "key": key}).first()
    if row is None:  # given back by its failed first request this very moment: retry
        return InProgress()
    if row.request_hash != digest:
        return Mismatch(row.method, row.path)
    if row.state != "done":
        return InProgress()
    return Replay(int(row.response_status or 0), row.response_body)


def complete(connection: Connection, claim_id: int, status: int, body: str) -> None:
    """Store the answer of the request that claimed ``claim_id``."""
    connection.execute(
        idempotency_key_t.update()
        .where(idempotency_key_t.c.id == claim_id)
        .values(state="done", response_status=status, response_body=body, completed_at=now())
    )


def release(connection: Connection, claim_id: int) -> None:
    """Give the key back: its request failed before anything was committed."""
    connection.execute(
        idempotency_key_t.delete().where(
            idempotency_key_t.c.id == claim_id, idempotency_key_t.c.state == "in_progress"
        )
    )
