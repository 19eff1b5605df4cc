"""``hub run`` sends customer messages by itself and takes Twilio's status callbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from notify_site import PHONE, Shop

from hub.core import notify
from hub.core.service import Service, changed


async def eventually(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Whether ``check`` (run in a thread) comes true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_the_service_sends_queued_messages_and_records_delivery(shop: Shop):
    service = Service(shop.hub, host="127.0.0.1", port=0, inbox_interval=5.0)
    await service.start()
    try:
        shop.hub.settings.notifications.public_url = service.url
        order_id = await asyncio.to_thread(shop.order, "4001")
        assert await eventually(lambda: len(shop.twilio.sent_to(PHONE)) == 1)
        assert await eventually(lambda: len(shop.mail.mailbox.messages) == 1)
        posted = await asyncio.to_thread(shop.twilio.deliver_callbacks)
        assert [c.answer for c in posted] == [200, 200]
        assert posted[0].url == f"{service.url}/notifications/sms/status"

        def delivered() -> bool:
            rows = shop.hub.read(lambda c: notify.messages(c, order_id=order_id))
            return {m["kind"]: m["status"] for m in rows} == {"sms": "delivered", "email": "sent"}

        assert await eventually(delivered)
    finally:
        await service.stop()
    assert len(shop.twilio.sent_to(PHONE)) == 1  # sent once, however often the job ran


def test_the_service_log_says_what_a_send_did():
    report = notify.SendReport(sent=[1, 2], retrying=[3])
    assert changed("notify", report) == "customer messages: 2 sent, 1 to retry, 0 failed"
    assert changed("notify", notify.SendReport()) == ""
