"""Acme channel plugin for the hub: an Acme marketplace spoken to through its JSON REST API.

The adapter is :class:`~hub_acme.channel.AcmeChannel`; the emulated marketplace for tests
and ``hub demo`` is :class:`~hub_acme.sandbox.AcmeSandbox`.
"""

from collections.abc import Callable

from hub import hookimpl

from .channel import AcmeChannel, AcmeConfig
from .sandbox import AcmeSandbox

HUB_PLUGIN_API = ">=1,<2"  # the plugin API versions this plugin is written for

__all__ = ["HUB_PLUGIN_API", "AcmeChannel", "AcmeConfig", "AcmeSandbox"]


@hookimpl
def register_channel_types(register: Callable[[type], None]) -> None:
    """Register the Acme channel type."""
    register(AcmeChannel)
