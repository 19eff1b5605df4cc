"""WooCommerce channel plugin: a store spoken to through the ``wc/v3`` REST API.

The adapter is :class:`~hub_plugins.woocommerce.channel.WooCommerceChannel`; the store
emulator for demos and tests is :class:`~hub_plugins.woocommerce.sandbox.WooSandbox`.
"""

from collections.abc import Callable
from typing import Any

from hub import hookimpl

from .channel import WooCommerceChannel, WooCommerceConfig

__all__ = ["WooCommerceChannel", "WooCommerceConfig", "WooSandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the WooCommerce channel type."""
    register(WooCommerceChannel)


def __getattr__(name: str) -> Any:
    """``WooSandbox``, imported on first use (``hub`` commands do not need it)."""
    if name == "WooSandbox":
        from .sandbox import WooSandbox

        return WooSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
