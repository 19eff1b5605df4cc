"""One exception hierarchy for the hub.

Every error names what was wrong (file, key, SKU, order, plugin) and, where it can,
what would fix it. The CLI prints ``str(error)`` on one line and exits non-zero; the
web API answers 4xx with ``{"error": str(error), "field": error.field}``.
"""

from __future__ import annotations


class HubError(Exception):
    """Base class of every error the hub raises on purpose."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class ConfigError(HubError):
    """The configuration file is missing, unreadable or invalid."""


class DatabaseUnavailable(HubError):
    """The database cannot be reached, opened or written; the message says where."""

    field = "database.url"


class PluginError(HubError):
    """A plugin failed to load, registered a clashing name or raised in a hook."""

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        super().__init__(message, field=plugin)
        self.plugin = plugin


class NotFound(HubError):
    """A named thing (SKU, location, order, channel) does not exist."""


class InvalidInput(HubError):
    """Input from a user or a channel is malformed; ``field`` names the culprit."""


class Conflict(HubError):
    """The request is well formed but clashes with where things stand: releasing an order
    while a hold that cannot be overridden applies, editing an order that has shipped."""


class StockError(HubError):
    """A stock movement would break a ledger rule (negative stock, unknown SKU)."""


class InsufficientStock(StockError):
    """Too little available stock to reserve or ship what was asked."""


class ChannelError(HubError):
    """A channel's API refused or failed a call.

    ``retryable`` tells the sync service whether to back off and retry (429, 5xx,
    time-outs) or give up on that record (4xx validation errors).
    ``retry_after`` is the delay in seconds the channel asked for, when it said one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class RateLimited(ChannelError):
    """The channel throttled us; wait ``retry_after`` seconds before the next call."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after, status=429)


class WebhookRejected(HubError):
    """A webhook's signature did not verify, or its body could not be read."""


class UnreadableWebhook(WebhookRejected):
    """A stored webhook delivery cannot be turned into an event: its body is not valid
    JSON, or lacks a field the event needs.

    Retrying the same bytes cannot help, so the inbox gives the delivery up at once (a
    dead letter keeping this message as the reason) instead of spending its tries.
    Channel plugins raise it from ``parse_webhook``.
    """


class RoutingError(HubError):
    """A routing problem is malformed or a router failed."""
