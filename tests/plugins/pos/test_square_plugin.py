"""The Square channel keeps the hub's plugin contract, through its sandbox and the SDK."""

from __future__ import annotations

from hub.core.plugins import PluginHost
from hub.testing import check_channel
from hub_plugins.pos import SquareChannel


def test_square_keeps_the_hub_contract() -> None:
    passed = check_channel(SquareChannel)
    assert len(passed) == 5


def test_the_plugin_is_found_through_its_entry_point() -> None:
    host = PluginHost.load()
    assert host.channel_types["square"] is SquareChannel
    assert SquareChannel.final_sales is True
    assert SquareChannel.stock_batch_size == 100
