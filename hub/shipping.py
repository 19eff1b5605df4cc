"""Shipments, carriers and notifiers: what carrier and notifier plugins implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Shipment:
    """A parcel or a driver's drop for one order."""

    order_channel: str
    order_external_id: str
    carrier: str
    tracking_number: str = ""
    tracking_url: str = ""
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


class PluginConfig(BaseModel):
    """Base of carrier and notifier configuration sections; unknown keys are errors.

    Type credentials (API keys, tokens, passwords) :class:`pydantic.SecretStr`: their
    values then never appear in a message, a log line or a page.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str


class Carrier:
    """Base class of carriers: buy a label for a shipment, follow its tracking."""

    type_name: ClassVar[str] = ""
    Config: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, name: str, config: PluginConfig) -> None:
        self.name = name
        self.config = config

    def buy_label(self, shipment: Shipment, weight_grams: int) -> Shipment:
        """Buy a label; return the shipment with tracking number and URL filled in."""
        raise NotImplementedError


class Notifier:
    """Base class of notifiers: send a short message to a customer."""

    type_name: ClassVar[str] = ""
    Config: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, name: str, config: PluginConfig) -> None:
        self.name = name
        self.config = config

    def send(self, to: str, subject: str, body: str) -> str:
        """Send the message; return the service's message id."""
        raise NotImplementedError
