"""``/_sandbox/...`` control endpoints: the sandbox's Python API over HTTP, for the demo
and for tools in other processes. Fault knobs do not apply to these routes.

==========================================  ===========================================
``GET  /_sandbox/state``                    products, orders, webhooks, pending count
``POST /_sandbox/products``                 add_product / add_variable_product (body
                                            with ``variations``)
``POST /_sandbox/stock``                    ``{"sku", "quantity"}``: set a quantity
``POST /_sandbox/orders``                   ``{"lines": [{"sku", "quantity"}], "status"}``
``POST /_sandbox/orders/{id}``              edit (status, billing, shipping, ...)
``POST /_sandbox/orders/{id}/cancel``       cancel (stock comes back)
``POST /_sandbox/sales``                    ``{"sku", "quantity"}``: a checkout
``POST /_sandbox/webhooks``                 ``{"topic", "delivery_url", "secret"}``
``POST /_sandbox/webhooks/deliver``         post pending deliveries, list the results
``POST /_sandbox/faults``                   ``{"rate_limited": 1, "retry_after": 0.1}``
``POST /_sandbox/clock``                    ``{"advance": seconds}``
==========================================  ===========================================
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .sandbox_api import body, webhook_view, woo_error
from .sandbox_store import StoreError

if TYPE_CHECKING:
    from .sandbox import WooSandbox


def control_routes(sandbox: WooSandbox) -> list[web.RouteDef]:
    """The control routes, bound to ``sandbox``."""

    def handler(action: Callable[[dict[str, Any], web.Request], Any]) -> Any:
        async def handle(request: web.Request) -> web.Response:
            data = await body(request) if request.method == "POST" else {}
            try:
                # actions may post webhooks (blocking I/O): keep them off the event loop
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(None, action, data, request)
            except StoreError as error:
                return woo_error(error.status, error.code, error.message)
            except (KeyError, TypeError, ValueError) as error:
                return web.json_response({"error": f"bad control request: {error}"}, status=400)
            return web.json_response(result)

        return handle

    def order_id(request: web.Request) -> int:
        return int(request.match_info["id"])

    def add_product(data: dict, _: web.Request) -> Any:
        if "variations" in data:
            return sandbox.add_variable_product(**data)
        return sandbox.add_product(**data)

    def deliver(_: dict, __: web.Request) -> Any:
        return [
            {
                "delivery_id": d.delivery_id,
                "topic": d.topic,
                "url": d.url,
                "status": d.status,
                "error": d.error,
            }
            for d in sandbox.deliver_webhooks()
        ]

    def faults(data: dict, _: web.Request) -> Any:
        for name, value in data.items():
            if name not in {f.name for f in dataclasses.fields(sandbox.faults)}:
                raise KeyError(name)
            setattr(sandbox.faults, name, value)
        return dataclasses.asdict(sandbox.faults)

    actions = {
        ("GET", "state"): lambda d, r: sandbox.state(),
        ("POST", "products"): add_product,
        ("POST", "stock"): lambda d, r: sandbox.set_stock(d["sku"], int(d["quantity"])),
        ("POST", "orders"): lambda d, r: sandbox.create_order(**d),
        ("POST", r"orders/{id:\d+}"): lambda d, r: sandbox.update_order(order_id(r), **d),
        ("POST", r"orders/{id:\d+}/cancel"): lambda d, r: sandbox.cancel_order(order_id(r)),
        ("POST", "sales"): lambda d, r: sandbox.sell(d["sku"], int(d.get("quantity", 1))),
        ("POST", "webhooks"): lambda d, r: [webhook_view(s) for s in sandbox.add_webhook(**d)],
        ("POST", "webhooks/deliver"): deliver,
        ("POST", "faults"): faults,
        ("POST", "clock"): lambda d, r: sandbox.advance(float(d["advance"])),
    }
    return [
        web.route(method, f"/_sandbox/{path}", handler(action))
        for (method, path), action in actions.items()
    ]
