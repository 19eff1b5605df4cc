"""The Square plugin (a shop's till) keeps the hub's channel contract (hub.testing)."""

from hub.testing import channel_contract
from hub_plugins.pos import SquareChannel

TestSquareChannelContract = channel_contract(SquareChannel)
