"""The plugin kit holds every built-in channel plugin with a sandbox to the contract."""

from __future__ import annotations

import pytest

from hub.core.plugins import PluginHost
from hub.testing import check_channel

WITH_SANDBOX = sorted(
    name for name, cls in PluginHost.load().channel_types.items() if cls.sandbox is not None
)


def test_there_is_at_least_one_channel_with_a_sandbox():
    assert {"shopify", "woocommerce"} <= set(WITH_SANDBOX)


@pytest.mark.parametrize("type_name", WITH_SANDBOX)
def test_channel_plugin_keeps_the_contract(type_name):
    channel_class = PluginHost.load().channel_types[type_name]
    passed = check_channel(channel_class)
    assert len(passed) == 5
