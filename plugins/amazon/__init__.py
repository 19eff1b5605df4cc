"""Amazon channel plugin: a seller account spoken to through the Selling Partner API.

The adapter is :class:`~hub_plugins.amazon.channel.AmazonChannel`; the seller-account
emulator for demos and tests is :class:`~hub_plugins.amazon.sandbox.AmazonSandbox`.
"""

from collections.abc import Callable
from typing import Any

from hub import hookimpl

from .channel import AmazonChannel, AmazonConfig

__all__ = ["AmazonChannel", "AmazonConfig", "AmazonSandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the Amazon channel type."""
    register(AmazonChannel)


def __getattr__(name: str) -> Any:
    """``AmazonSandbox``, imported on first use (``hub`` commands do not need it)."""
    if name == "AmazonSandbox":
        from .sandbox import AmazonSandbox

        return AmazonSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
