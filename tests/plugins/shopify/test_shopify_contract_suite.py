"""The Shopify plugin keeps the hub's channel contract (hub.testing), rule by rule."""

from hub.testing import channel_contract
from hub_plugins.shopify import ShopifyChannel

TestShopifyChannelContract = channel_contract(ShopifyChannel)
