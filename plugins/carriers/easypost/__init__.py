"""The ``easypost`` carrier: rates, labels, refunds and tracker webhooks through EasyPost.

Configure it with an API key and the address parcels leave from::

    [carriers.easypost]
    type = "easypost"
    api_key = "${EASYPOST_API_KEY}"
    webhook_secret = "${EASYPOST_WEBHOOK_SECRET}"
    from_address = { street1 = "1600 Champa St", city = "Denver", state = "CO", zip = "80202" }
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub import hookimpl
from hub_plugins.carriers.easypost.carrier import EasyPostCarrier, EasyPostConfig

HUB_PLUGIN_API = ">=1,<2"


__all__ = ["EasyPostCarrier", "EasyPostConfig", "EasyPostSandbox"]


@hookimpl
def register_carrier_types(register: Callable[[type], None]) -> None:
    """Register the EasyPost carrier."""
    register(EasyPostCarrier)


def __getattr__(name: str) -> Any:
    """``EasyPostSandbox``, imported on first use (``hub`` commands do not need it)."""
    if name == "EasyPostSandbox":
        from hub_plugins.carriers.easypost.sandbox import EasyPostSandbox

        return EasyPostSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
