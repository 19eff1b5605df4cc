"""eBay as a sales channel of the hub, written only against the hub's public plugin API.

The adapter is :class:`~hub_ebay.channel.EbayChannel`; the emulated seller account for
tests and ``hub demo`` is :class:`~hub_ebay.sandbox.EbaySandbox`.
"""

from collections.abc import Callable
from typing import Any

from hub import hookimpl

from .channel import EbayChannel, EbayConfig

HUB_PLUGIN_API = ">=1,<2"  # the plugin API versions this plugin is written for

__all__ = ["HUB_PLUGIN_API", "EbayChannel", "EbayConfig", "EbaySandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the eBay channel type."""
    register(EbayChannel)


def __getattr__(name: str) -> Any:
    """``EbaySandbox``, imported on first use (``hub`` commands do not need it)."""
    if name == "EbaySandbox":
        from .sandbox import EbaySandbox

        return EbaySandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
