"""The WooCommerce plugin keeps the hub's channel contract (hub.testing), rule by rule."""

from hub.testing import channel_contract
from hub_plugins.woocommerce import WooCommerceChannel

TestWooCommerceChannelContract = channel_contract(WooCommerceChannel)
