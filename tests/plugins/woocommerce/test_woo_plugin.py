"""The plugin as the hub sees it: registration through the hook, configuration checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import hub_plugins.woocommerce as plugin
from hub import Channel
from hub.core.plugins import make_plugin_manager
from hub_plugins.woocommerce import WooCommerceChannel, WooCommerceConfig
from hub_plugins.woocommerce.demo import WooDemoStore


def test_hook_registers_the_channel_type() -> None:
    registered: list[type] = []
    pm = make_plugin_manager([plugin], entry_points=False)

    pm.hook.register_channel_types(register=registered.append)

    assert registered == [WooCommerceChannel]
    assert issubclass(WooCommerceChannel, Channel)
    assert WooCommerceChannel.type_name == "woocommerce"
    assert WooCommerceChannel.stock_batch_size == 100
    assert isinstance(WooCommerceChannel.sandbox(), WooDemoStore)


def test_config_defaults_and_secret_is_hidden() -> None:
    config = WooCommerceConfig(
        type="woocommerce",
        url="https://shop.example.com/",
        consumer_key="ck_1",
        consumer_secret="cs_1",
    )

    assert config.url == "https://shop.example.com"
    assert config.api_version == "wc/v3"
    assert config.page_size == 100
    assert config.tracking_meta_key is None
    assert "cs_1" not in repr(config)


@pytest.mark.parametrize(
    ("key", "value"),
    [("url", "shop.example.com"), ("page_size", 101), ("timeout", 0), ("colour", "blue")],
)
def test_config_mistakes_are_refused(key: str, value: object) -> None:
    settings = {
        "type": "woocommerce",
        "url": "https://shop.example.com",
        "consumer_key": "ck",
        "consumer_secret": "cs",
        key: value,
    }

    with pytest.raises(ValidationError, match=key):
        WooCommerceConfig(**settings)
