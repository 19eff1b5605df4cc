"""Amazon channel plugin: a seller account spoken to through the Selling Partner API.

The adapter is :class:`~hub_plugins.amazon.channel.AmazonChannel`; the seller-account
emulator for demos and tests is :class:`~hub_plugins.amazon.sandbox.AmazonSandbox`.
"""

from collections.abc import Callable

from hub import hookimpl

from .channel import AmazonChannel, AmazonConfig
from .sandbox import AmazonSandbox

__all__ = ["AmazonChannel", "AmazonConfig", "AmazonSandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the Amazon channel type."""
    register(AmazonChannel)
