"""The hub's public API for plugin authors: ``hookimpl`` and the data classes.

``PLUGIN_API`` is the version of the plugin API this hub offers ("1.0"); a plugin states
the range it needs in a module attribute ``HUB_PLUGIN_API = ">=1,<2"``.

Import from here, never from ``hub.core``::

    from hub import Channel, ChannelConfig, Order, OrderLine, hookimpl
"""

from hub.channels import Channel, ChannelConfig, OrderPage, WebhookEvent
from hub.checks import AccountInfo, CheckContext, ChecksConfig, CustomerHistory
from hub.errors import (
    ChannelError,
    ConfigError,
    HubError,
    InvalidInput,
    PluginError,
    RateLimited,
    UnreadableWebhook,
    WebhookRejected,
)
from hub.hookspecs import PLUGIN_API, hookimpl
from hub.orders import (
    Address,
    Customer,
    DeliveryWindow,
    Hold,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    money,
    utc,
)
from hub.shipping import (
    AlreadyPurchased,
    Carrier,
    CarrierConfig,
    CarrierError,
    DeliveryReport,
    Label,
    LabelRequest,
    NotificationRefused,
    Notifier,
    OutgoingMessage,
    PluginConfig,
    Quote,
    Rate,
    RunSheet,
    RunSheetStop,
    Shipment,
    TrackingUpdate,
    delivery_day,
    spoken_day,
)
from hub.stock import Listing, ListingProblem, StockChange, StockLevel, StockResult, StockUpdate

__version__ = "0.1.0"

__all__ = [
    "PLUGIN_API",
    "AccountInfo",
    "Address",
    "AlreadyPurchased",
    "Carrier",
    "CarrierConfig",
    "CarrierError",
    "Channel",
    "ChannelConfig",
    "ChannelError",
    "CheckContext",
    "ChecksConfig",
    "ConfigError",
    "Customer",
    "CustomerHistory",
    "DeliveryReport",
    "DeliveryWindow",
    "Hold",
    "HubError",
    "InvalidInput",
    "Label",
    "LabelRequest",
    "Listing",
    "ListingProblem",
    "NotificationRefused",
    "Notifier",
    "Order",
    "OrderLine",
    "OrderPage",
    "OrderStatus",
    "OutgoingMessage",
    "PaymentStatus",
    "PluginConfig",
    "PluginError",
    "Quote",
    "Rate",
    "RateLimited",
    "RunSheet",
    "RunSheetStop",
    "Shipment",
    "StockChange",
    "StockLevel",
    "StockResult",
    "StockUpdate",
    "TrackingUpdate",
    "UnreadableWebhook",
    "WebhookEvent",
    "WebhookRejected",
    "delivery_day",
    "hookimpl",
    "money",
    "spoken_day",
    "utc",
]
