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


Action = Callable[["WooSandbox", dict[str, Any], web.Request], Any]


def _order_id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _add_product(sandbox: WooSandbox, data: dict[str, Any], _: web.Request) -> Any:
    if "variations" in data:
        return sandbox.add_variable_product(**data)
    return sandbox.add_product(**data)


def _deliver(sandbox: WooSandbox, _: dict[str, Any], __: web.Request) -> Any:
    fields = ("delivery_id", "topic", "url", "status", "error")
    return [{name: getattr(d, name) for name in fields} for d in sandbox.deliver_webhooks()]


def _faults(sandbox: WooSandbox, data: dict[str, Any], _: web.Request) -> Any:
    known = {f.name for f in dataclasses.fields(sandbox.faults)}
    for name, value in data.items():
        if name not in known:
            raise KeyError(name)
        setattr(sandbox.faults, name, value)
    return sandbox.faults.knobs()


ACTIONS: dict[tuple[str, str], Action] = {
    ("GET", "state"): lambda s, d, r: s.state(),
    ("POST", "products"): _add_product,
    ("POST", "stock"): lambda s, d, r: s.set_stock(d["sku"], int(d["quantity"])),
    ("POST", "orders"): lambda s, d, r: s.create_order(**d),
    ("POST", r"orders/{id:\d+}"): lambda s, d, r: s.update_order(_order_id(r), **d),
    ("POST", r"orders/{id:\d+}/cancel"): lambda s, d, r: s.cancel_order(_order_id(r)),
    ("POST", "sales"): lambda s, d, r: s.sell(d["sku"], int(d.get("quantity", 1))),
    ("POST", "webhooks"): lambda s, d, r: [webhook_view(w) for w in s.add_webhook(**d)],
    ("POST", "webhooks/deliver"): _deliver,
    ("POST", "faults"): _faults,
    ("POST", "clock"): lambda s, d, r: s.advance(float(d["advance"])),
}


def _handler(sandbox: WooSandbox, action: Action) -> Any:
    async def handle(request: web.Request) -> web.Response:
        data = await body(request) if request.method == "POST" else {}
        try:
            # actions may post webhooks (blocking I/O): keep them off the event loop
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, action, sandbox, data, request)
        except StoreError as error:
            return woo_error(error.status, error.code, error.message)
        except (KeyError, TypeError, ValueError) as error:
            return web.json_response({"error": f"bad control request: {error}"}, status=400)
        return web.json_response(result)

    return handle


def control_routes(sandbox: WooSandbox) -> list[web.RouteDef]:
    """The control routes, bound to ``sandbox``."""
    return [
        web.route(method, f"/_sandbox/{path}", _handler(sandbox, action))
        for (method, path), action in ACTIONS.items()
    ]
