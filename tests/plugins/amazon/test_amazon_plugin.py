"""The plugin as the hub sees it: registration, configuration checks, credentials."""

from __future__ import annotations

import time

import pytest
from builders import make_hub
from pydantic import ValidationError

import hub_plugins.amazon as plugin
from hub import Channel, ConfigError
from hub.core.plugins import make_plugin_manager
from hub_plugins.amazon import AmazonChannel, AmazonConfig
from hub_plugins.amazon.demo import AmazonDemoStore

GOOD = {
    "type": "amazon",
    "refresh_token": "Atzr|refresh-secret",
    "lwa_client_id": "amzn1.application-oa2-client.x",
    "lwa_client_secret": "lwa-secret",
    "seller_id": "A2EXAMPLE",
    "marketplace_ids": ["A1PA6795UKMFR9"],
}


def test_hook_registers_the_channel_type() -> None:
    registered: list[type] = []
    pm = make_plugin_manager([plugin], entry_points=False)

    pm.hook.register_channel_types(register=registered.append)

    assert registered == [AmazonChannel]
    assert issubclass(AmazonChannel, Channel)
    assert AmazonChannel.type_name == "amazon"
    assert AmazonChannel.stock_batch_size == 25_000  # listings feed maxItems
    assert isinstance(AmazonChannel.sandbox(), AmazonDemoStore)


def test_config_defaults_and_secrets_are_hidden() -> None:
    config = AmazonConfig(**GOOD)

    assert config.lwa_endpoint == "https://api.amazon.com/auth/o2/token"
    assert config.endpoint is None and config.sqs_queue_url is None
    assert (config.page_size, config.stale_pages, config.sqs_wait_seconds) == (100, 3, 20)
    shown = repr(config) + str(config)
    assert "refresh-secret" not in shown and "lwa-secret" not in shown


def test_the_region_endpoint_follows_the_first_marketplace() -> None:
    channel = AmazonChannel("de", AmazonConfig(**GOOD))

    assert channel.api.orders.endpoint == "https://sellingpartnerapi-eu.amazon.com"
    assert channel.api.orders.marketplace_id == "A1PA6795UKMFR9"
    channel.close()


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("seller_id", "", "seller_id"),
        ("marketplace_ids", [], "marketplace_ids"),
        ("marketplace_ids", ["XX123"], "'XX123' is not an Amazon marketplace"),
        ("endpoint", "sellingpartnerapi-na.amazon.com", "endpoint must be an http(s) URL"),
        ("sqs_wait_seconds", 21, "sqs_wait_seconds"),
        ("page_size", 101, "page_size"),
        ("colour", "blue", "colour"),
    ],
)
def test_config_mistakes_are_refused_in_one_line(sqlite_url, key, value, said) -> None:
    with pytest.raises(ValidationError, match=key):
        AmazonConfig(**{**GOOD, key: value})
    with pytest.raises(ConfigError) as error:
        make_hub(sqlite_url, channels={"amz": {**GOOD, key: value}})
    message = str(error.value)
    assert "\n" not in message and f"channels.amz.{key}" in message and said in message


def test_a_missing_credential_is_named(sqlite_url) -> None:
    settings = {k: v for k, v in GOOD.items() if k != "lwa_client_secret"}

    with pytest.raises(ConfigError, match="channels.amz.lwa_client_secret"):
        make_hub(sqlite_url, channels={"amz": settings})


def test_bad_credentials_are_a_problem_to_act_on(amazon, server, channel_for) -> None:
    wrong = channel_for(lwa_client_secret="not-the-secret", refresh_token="Atzr|other-token")

    problems = wrong.check_connection()

    assert len(problems) == 1
    assert "Login with Amazon refused the token request (401 invalid_client" in problems[0]
    assert "not-the-secret" not in problems[0]
    assert channel_for().check_connection() == []


def test_a_wrong_seller_id_is_refused(channel_for) -> None:
    problems = channel_for(seller_id="A9NOTME").check_connection()

    assert len(problems) == 1 and "403 Unauthorized" in problems[0] and "seller_id" in problems[0]


def test_a_refused_access_token_is_replaced_once(amazon, channel) -> None:
    assert channel.check_connection() == []
    granted = amazon.store.token_grants
    amazon.store.revoke_tokens()  # the seller re-authorised the app, say

    assert channel.check_connection() == []

    assert amazon.store.token_grants == granted + 1
    assert amazon.operations("searchListingsItems") == 3  # the refused call made once more


def test_an_access_token_is_renewed_before_it_expires(amazon, channel) -> None:
    amazon.store.token_lifetime = 1.0
    assert channel.check_connection() == []
    time.sleep(1.0)  # past 90 % of expires_in

    assert channel.check_connection() == []

    assert amazon.store.token_grants == 2
    assert amazon.operations("searchListingsItems") == 2  # no call was refused
