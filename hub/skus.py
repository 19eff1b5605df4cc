"""One spelling of a SKU, whichever way it enters the hub.

Channels, spreadsheets and people send SKUs with stray spaces, non-breaking spaces,
zero-width characters and compatibility forms ("ＭＵＧ", "MUG\u00a0"). Every way a SKU
enters (listings, order lines, webhooks, count imports, the CLI, the API) passes it
through :func:`normalise_sku`, so the same text maps to the same product everywhere.
Letter case is kept: many catalogues use "a1" and "A1" for different items.
"""

from __future__ import annotations

import re
import unicodedata

from hub.errors import InvalidInput

MAX_SKU_LENGTH = 128
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACES = re.compile(r"\s+")
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII, single inner spaces


def normalise_sku(raw: object) -> str:
    """The hub's spelling of ``raw``: NFKC, invisible characters dropped, white space
    trimmed at both ends and runs inside folded to one space. ``None`` becomes ``""``.

    >>> normalise_sku(" MUG\\u00a0")
    'MUG'
    """
    if raw is None:
        return ""
    text = str(raw)
    if _PLAIN.fullmatch(text):  # the common case, already in the hub's spelling
        return text
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip()


def sku_problem(raw: object) -> str:
    """Why ``raw`` cannot be a SKU ('' when it can), said about its normalised form."""
    sku = normalise_sku(raw)
    if not sku:
        return "SKU is empty"
    if len(sku) > MAX_SKU_LENGTH:
        return f"SKU {sku[:20]!r}… is longer than {MAX_SKU_LENGTH} characters"
    if any(unicodedata.category(ch) == "Cc" for ch in sku):
        return f"SKU {sku!r} contains control characters"
    return ""


def respelled(raw: object) -> str:
    """A note when normalising changed what was typed or sent ('' when it did not)."""
    if raw is None:
        return ""
    sku = normalise_sku(raw)
    return "" if sku == raw else f"SKU {raw!r} read as {sku!r}"


def require_sku(raw: object, where: str = "") -> str:
    """The hub's spelling of ``raw``; :class:`~hub.errors.InvalidInput` (field ``sku``)
    saying why when it cannot be a SKU. ``where`` prefixes the message ("line 3")."""
    problem = sku_problem(raw)
    if problem:
        raise InvalidInput(f"{where}: {problem}" if where else problem, field="sku")
    return normalise_sku(raw)
