"""``hub run`` with an Amazon channel: the service long-polls the SQS queue in a thread
(the event loop stays free), stores each notification in the inbox and works it."""

from __future__ import annotations

import asyncio

import requests
from amazon_kit import AWS_KEYS, fast_sandbox, queue_settings, settings
from builders import make_hub

from hub.core import ledger
from hub.core.models import order_t
from hub.core.service import Service


async def wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_service_reads_the_queue_into_the_inbox(db_url, sqs):
    amazon = fast_sandbox()
    amazon.add_listing("MUG", quantity=10)
    server = amazon.serve().start()
    amazon.publisher.to_queue(sqs.queue_url, endpoint_url=sqs.endpoint, **AWS_KEYS)
    section = settings(
        amazon, server.url, locations=["main"], poll_interval=3600.0, **queue_settings(sqs)
    )
    hub = make_hub(db_url, channels={"amazon": section})
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
    service = Service(hub, host="127.0.0.1", port=0, inbox_interval=30.0)
    await service.start()
    try:
        gaps: list[float] = []

        async def ticker() -> None:  # the loop keeps turning while boto3 long-polls
            loop = asyncio.get_running_loop()
            last = loop.time()
            while True:
                await asyncio.sleep(0.01)
                gaps.append(loop.time() - last)
                last = loop.time()

        # Start-up's first jobs (boto3 loading its service models, the first reads) may
        # hold a loaded machine for a moment; the long polls after them are what is judged.
        await asyncio.sleep(1.0)
        beat = asyncio.create_task(ticker())
        await asyncio.sleep(2.5)  # an empty queue: at least two whole long polls
        beat.cancel()
        assert len(gaps) > 20 and max(gaps) < 0.5

        order = amazon.sell("MUG", 3)
        await asyncio.to_thread(amazon.publisher.deliver)

        def reserved() -> int:
            return sum(x.reserved for x in hub.read(lambda c: ledger.levels(c, "MUG")))

        assert await wait_for(lambda: reserved() == 3)
        assert await wait_for(lambda: sqs.depth() == 0)
        orders = await asyncio.to_thread(
            lambda: hub.read(lambda c: c.execute(order_t.select()).all())
        )
        assert [o.external_id for o in orders] == [order]
    finally:
        await service.stop()
        hub.close()
        server.stop()


async def test_a_failing_queue_read_is_logged_and_the_service_goes_on(db_url, caplog):
    amazon = fast_sandbox()
    server = amazon.serve().start()
    section = settings(
        amazon,
        server.url,
        locations=["main"],
        poll_interval=3600.0,
        sqs_queue_url=f"{server.url}/sqs/000000000000/no-such-queue",  # the sandbox is no SQS
        sqs_endpoint=server.url,
        sqs_wait_seconds=1,
        **AWS_KEYS,
    )
    hub = make_hub(db_url, channels={"amazon": section})
    service = Service(hub, host="127.0.0.1", port=0, inbox_interval=30.0)
    await service.start()
    try:
        assert await wait_for(lambda: "reading notifications failed" in caplog.text)
        status = await asyncio.to_thread(requests.get, f"{service.url}/api/status", timeout=5)
        assert status.ok  # the loop stayed free and the service serves
    finally:
        await service.stop()
        hub.close()
        server.stop()
