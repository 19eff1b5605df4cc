"""The driver app's rules without HTTP (hub.core.driving), on SQLite and PostgreSQL:
one-time links expire and work once, the same action sent by two requests at the same
moment is recorded once, and a delivery's images stay only when it is recorded."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from driver_site import Site, driver_site, jpeg, phone_time, png  # noqa: E402

from hub.core import drivers, driving  # noqa: E402
from hub.core.db import is_sqlite  # noqa: E402
from hub.core.models import driver_link_t, order_t, route_action_t  # noqa: E402
from hub.errors import Conflict  # noqa: E402


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    made = driver_site(db_url, tmp_path / "media")
    with made.hub:
        yield made


def dora(site: Site) -> drivers.DriverInfo:
    return site.hub.read(lambda c: drivers.find_driver(c, "Dora"))  # type: ignore[no-any-return]


def deliver(site: Site, stop: int, minutes: int, client_id: str = "") -> driving.Action:
    return driving.Action(
        client_id=client_id or str(uuid.uuid4()),
        route_id=site.routes["van-1"],
        stop_seq=stop,
        kind="deliver",
        phone_at=phone_time(minutes),
        recipient_name="Jo Bloggs",
        signature=png(),
        photo=jpeg(),
    )


def test_a_link_works_once_and_not_after_it_expired(site):
    token, driver, expires = site.hub.write(lambda c: drivers.create_link(c, "Dora", 1))
    assert driver.name == "Dora" and timedelta(minutes=59) < expires - driving.now()
    assert (
        site.hub.read(lambda c: drivers.peek_link(c, token)).name == "Dora"
    )  # peeking spends nothing
    assert site.hub.write(lambda c: drivers.use_link(c, token)).name == "Dora"
    assert site.hub.write(lambda c: drivers.use_link(c, token)) is None

    stale, _, _ = site.hub.write(lambda c: drivers.create_link(c, "Dora", 1))
    site.hub.write(
        lambda c: c.execute(
            driver_link_t.update()
            .where(driver_link_t.c.token_hash == drivers.token_hash(stale))
            .values(expires_at=driving.now() - timedelta(seconds=1))
        )
    )
    assert site.hub.read(lambda c: drivers.peek_link(c, stale)) is None
    assert site.hub.write(lambda c: drivers.use_link(c, stale)) is None
    assert site.hub.write(lambda c: drivers.use_link(c, "drl_made-up")) is None


def test_the_same_action_sent_twice_at_the_same_moment_is_recorded_once(site):
    action = deliver(site, 1, 10, client_id="phone-1:action-0001")
    lock = threading.Lock() if is_sqlite(site.hub.engine) else None  # as the API does
    start = threading.Barrier(2)
    results: list[object] = []

    def send() -> None:
        start.wait()
        try:
            results.append(driving.submit_actions(site.hub, dora(site), "phone-1", [action], lock))
        except Conflict as error:  # the other request delivered the stop first
            results.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outcomes = sorted(r[action.client_id] if isinstance(r, dict) else "conflict" for r in results)
    assert outcomes[0] in ("conflict", "duplicate") and outcomes[1] == "recorded", results
    stored = site.hub.read(
        lambda c: c.scalar(sa.select(sa.func.count()).select_from(route_action_t))
    )
    assert stored == 1
    status = site.hub.read(
        lambda c: c.scalar(
            sa.select(order_t.c.status).where(order_t.c.id == int(site.orders["A1"]))
        )
    )
    assert status == "delivered"


def test_a_refused_batch_leaves_no_image_behind(site):
    site.hub.cancel("b2b", "C1", "customer rang")
    batch = [deliver(site, 1, 10), deliver(site, 2, 20)]  # stop 2's order is cancelled
    with pytest.raises(Conflict, match=r"actions\[1\]: order b2b:C1 at stop 2 is cancelled"):
        driving.submit_actions(site.hub, dora(site), "phone-1", batch)
    assert not [p for p in site.media.rglob("*") if p.is_file()]

    kept = driving.submit_actions(site.hub, dora(site), "phone-1", batch[:1])
    assert list(kept.values()) == ["recorded"]
    assert len([p for p in site.media.rglob("*") if p.is_file()]) == 2  # signature, photo
