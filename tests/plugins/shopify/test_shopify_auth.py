"""Connecting with the client credentials of a Dev Dashboard app: tokens fetched, renewed
before they run out and when the shop refuses them; webhooks signed with the client
secret verify; bad credentials are named without the secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub_plugins.shopify import ShopifyChannel, ShopifyConfig, ShopifySandbox
from hub_plugins.shopify.webhook import signature


def credentials_channel(shop: ShopifySandbox, url: str, **extra: object) -> ShopifyChannel:
    section = shop.credentials_config_for(url, timeout=2.0, **extra)
    return ShopifyChannel("shop", ShopifyConfig(**section))


def test_a_token_is_fetched_with_the_client_credentials(sandbox: ShopifySandbox, server):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    channel = credentials_channel(sandbox, server.url)

    assert channel.check_connection() == []
    assert [item.sku for item in channel.fetch_listings()] == ["MUG"]
    assert channel.client.tokens.fetched == 1 and len(sandbox.issued) == 1


def test_an_expired_token_is_renewed_and_the_call_goes_through(sandbox: ShopifySandbox, server):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    channel = credentials_channel(sandbox, server.url)
    channel.check_connection()

    sandbox.expire_tokens()  # the shop ends the token before the hub expected

    assert [item.sku for item in channel.fetch_listings()] == ["MUG"]
    assert channel.client.tokens.fetched == 2
    assert [c.status for c in sandbox.calls].count(401) == 1  # refused once, then renewed


def test_a_token_close_to_its_end_is_renewed_before_use(sandbox: ShopifySandbox, server):
    now = [1000.0]
    channel = credentials_channel(sandbox, server.url)
    channel.client.tokens._clock = lambda: now[0]
    channel.check_connection()
    now[0] += 86399 - 600  # ten minutes left: still used
    channel.check_connection()
    assert channel.client.tokens.fetched == 1

    now[0] += 400  # under five minutes left: renewed before the next call
    channel.check_connection()

    assert channel.client.tokens.fetched == 2
    assert not [c for c in sandbox.calls if c.status == 401]


def test_wrong_client_credentials_are_named_without_the_secret(sandbox: ShopifySandbox, server):
    section = sandbox.credentials_config_for(server.url, client_secret="shpss_wrong_one")
    channel = ShopifyChannel("shop", ShopifyConfig(**section))

    problems = channel.check_connection()

    assert len(problems) == 1
    assert "client_id and client_secret" in problems[0] and "HTTP 401" in problems[0]
    assert "shpss_wrong_one" not in problems[0]


def test_webhooks_verify_with_the_client_secret_when_no_webhook_secret_is_set(
    sandbox: ShopifySandbox, server
):
    channel = credentials_channel(sandbox, server.url)
    body = b'{"id": 1}'

    assert channel.verify_webhook(
        {"X-Shopify-Hmac-Sha256": signature(sandbox.api_secret, body)}, body
    )
    assert not channel.verify_webhook({"X-Shopify-Hmac-Sha256": signature("another", body)}, body)


def test_a_section_without_any_credentials_is_refused():
    with pytest.raises(ValidationError, match="access_token, or client_id and client_secret"):
        ShopifyConfig(type="shopify", shop="acme.myshopify.com", client_id="abc")
