"""``hub retry``: give dead letters another go."""

from __future__ import annotations

import json

from hub.core import inbox, shipments
from hub.core.models import dead_letter_t, now
from hub.core.sync import Sync, _mark_skus
from hub.core.syncstate import open_dead_letters, save_state


def retry_dead_letters(
    sync: Sync, *, channel: str | None = None, ids: list[int] | None = None
) -> list[str]:
    """Retry each open dead letter; returns one line per letter saying what happened."""
    hub = sync.hub
    lines = []
    for letter in hub.read(lambda c: open_dead_letters(c, channel, ids)):
        kind, name = letter["kind"], letter["channel"]
        payload = json.loads(letter["payload"] or "{}")
        try:
            if kind == "pull":
                hub.write(lambda c, n=name: save_state(c, n, "pull", failures=0))
                outcome = f"pulled {sync.pull_orders(name).orders} orders"
            elif kind == "push":
                if letter["reference"] != "push":  # one SKU the channel refused
                    hub.write(lambda c, n=name, s=letter["reference"]: _mark_skus(c, n, [s]))
                outcome = f"pushed {sync.push_stock(name).sent} updates"
            elif kind == shipments.DEAD_LETTER_KIND:
                outcome = shipments.retry_dead_letter(sync, letter)
            elif kind == "inbox":
                hub.write(lambda c, r=int(letter["reference"]): inbox.requeue(c, r))
                outcome = f"processed {sync.process_inbox()} webhook(s)"
            else:
                outcome = "nothing to do for this kind"
        except Exception as error:
            lines.append(f"#{letter['id']} {name} {kind}: still failing: {error}")
            continue
        hub.write(
            lambda c, i=letter["id"]: c.execute(
                dead_letter_t.update().where(dead_letter_t.c.id == i).values(retried_at=now())
            )
        )
        lines.append(
            f"#{letter['id']} {name} {kind} {payload.get('external_id', '')}: {outcome}".replace(
                "  ", " "
            )
        )
    return lines
