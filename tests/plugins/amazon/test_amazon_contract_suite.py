"""The Amazon plugin keeps the hub's channel contract (hub.testing), rule by rule."""

from hub.testing import channel_contract
from hub_plugins.amazon import AmazonChannel

# a stock change on Amazon is a feed: createFeedDocument, the upload, createFeed
TestAmazonChannelContract = channel_contract(AmazonChannel, stock_calls_per_batch=3)
