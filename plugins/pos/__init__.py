"""Point-of-sale channel plugin: a Square seller's shops, through the official ``squareup`` SDK.

The adapter is :class:`~hub_plugins.pos.channel.SquareChannel` (type ``square``); the
emulated Square account for demos and tests is :class:`~hub_plugins.pos.sandbox.SquareSandbox`.
"""

from collections.abc import Callable
from typing import Any

from hub import hookimpl

from .channel import SquareChannel, SquareConfig

__all__ = ["SquareChannel", "SquareConfig", "SquareSandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the Square point-of-sale channel type."""
    register(SquareChannel)


def __getattr__(name: str) -> Any:
    """``SquareSandbox``, imported on first use (``hub`` commands do not need it)."""
    if name == "SquareSandbox":
        from .sandbox import SquareSandbox

        return SquareSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
