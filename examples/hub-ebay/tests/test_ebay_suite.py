"""The hub's channel contract suite, one rule a test, on every database the kit is told of."""

from hub_ebay import EbayChannel

from hub.testing import channel_contract

TestEbayContract = channel_contract(EbayChannel)
