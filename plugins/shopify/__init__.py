"""Shopify channel plugin: a shop spoken to through the GraphQL Admin API (2026-04).

The adapter is :class:`~hub_plugins.shopify.channel.ShopifyChannel`; its GraphQL
documents are the ``graphql/*.graphql`` files beside it; the shop emulator for demos
and tests is :class:`~hub_plugins.shopify.sandbox.ShopifySandbox`.
"""

from collections.abc import Callable
from typing import Any

from hub import hookimpl

from .channel import ShopifyChannel, ShopifyConfig

__all__ = ["ShopifyChannel", "ShopifyConfig", "ShopifySandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the Shopify channel type."""
    register(ShopifyChannel)


def __getattr__(name: str) -> Any:
    """``ShopifySandbox``, imported on first use (``hub`` commands do not need it)."""
    if name == "ShopifySandbox":
        from .sandbox import ShopifySandbox

        return ShopifySandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
