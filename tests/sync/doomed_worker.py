"""A sync worker in a process of its own, for tests that kill it mid-work.

    python doomed_worker.py DATABASE_URL CHANNELS_JSON CHANNEL push|claim

It leases the pending webhook deliveries (as ``process_inbox`` does first), then with
``push`` pushes ``CHANNEL``'s queued stock: the test kills it with SIGKILL while the push
is on the wire (from the sandbox's request observer). With ``claim`` it only claims the
queued stock and the due shipments, as a push does before its first call, and dies with
SIGKILL there. It
prints its worker name once its leases are committed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: builders

from builders import make_hub  # noqa: E402

from hub.core import inbox, shipments  # noqa: E402
from hub.core.models import now  # noqa: E402
from hub.core.sync import Sync  # noqa: E402


def main(url: str, channels: str, channel: str, mode: str) -> None:
    hub = make_hub(url, channels=json.loads(channels))
    sync = Sync(hub, backoff=0.01, attempts=1)
    hub.write(lambda c: inbox.claim(c, sync.worker, 100))
    if mode == "claim":
        hub.write(lambda c: sync._claim_outbox(c, channel, 100))
        hub.write(lambda c: shipments._claim(c, channel, sync.worker, now(), 100))
    print(sync.worker, flush=True)
    try:
        if mode == "push":
            sync.push_stock(channel)
    finally:
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(*sys.argv[1:5])
