"""Listings: variants paged through, mapped SKU ↔ inventory item at the location; problems
reported instead of guessed; scopes and location checked at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub import ChannelError
from hub_plugins.shopify import ShopifyConfig, ShopifySandbox
from hub_plugins.shopify.sandbox import ALL_SCOPES


def test_variants_become_listings_at_the_shops_location(sandbox: ShopifySandbox, channel_for):
    sandbox.add_product(
        "Tee",
        [
            {"sku": "TEE-S", "price": "20.00", "stock": 4, "option": "S"},
            {"sku": "TEE-M", "price": "20.00", "stock": 0, "option": "M"},
        ],
    )
    for n in range(7):
        sandbox.add_product(f"Mug {n}", [{"sku": f"MUG-{n}", "price": "9.50", "stock": n}])
    channel = channel_for(variant_page_size=3)  # 9 variants: three pages

    listings = list(channel.fetch_listings())

    assert sorted(item.sku for item in listings) == sorted(
        ["TEE-S", "TEE-M"] + [f"MUG-{n}" for n in range(7)]
    )
    tee = next(item for item in listings if item.sku == "TEE-S")
    assert tee.external_id == sandbox.item_id("TEE-S")
    assert tee.external_id.startswith("gid://shopify/InventoryItem/")
    assert tee.parent_id.startswith("gid://shopify/Product/")
    assert tee.location_id == sandbox.location_id
    assert (tee.quantity, tee.title, tee.managed) == (4, "Tee - S", True)
    assert {item.sku: item.quantity for item in listings}["MUG-6"] == 6
    pages = [c for c in sandbox.calls if c.operation == "ProductVariants"]
    assert [c.variables["first"] for c in pages] == [3, 3, 3]
    assert channel.listing_problems == []


def test_missing_duplicate_untracked_and_unstocked_items_are_reported(
    sandbox: ShopifySandbox, channel
):
    sandbox.add_product("Plain", [{"sku": "", "price": "1.00", "stock": 2}])
    sandbox.add_product("Twin A", [{"sku": "TWIN", "price": "1.00", "stock": 1}])
    sandbox.add_product("Twin B", [{"sku": "TWIN", "price": "1.00", "stock": 1}])
    sandbox.add_product("Gift card", [{"sku": "GIFT", "price": "25.00", "stock": None}])
    sandbox.add_product("Elsewhere", [{"sku": "AWAY", "price": "5.00", "stock": 3}])
    away = sandbox.store.variant_by_sku("AWAY")["item_id"]
    del sandbox.store.levels[(away, sandbox.store.primary)]  # stocked at no location

    listings = list(channel.fetch_listings())

    kinds = {p.kind: p for p in channel.listing_problems}
    assert set(kinds) == {"missing_sku", "duplicate_sku", "unmanaged", "not_stocked"}
    assert "has no SKU" in kinds["missing_sku"].message
    assert kinds["duplicate_sku"].sku == "TWIN" and len(kinds["duplicate_sku"].external_ids) == 2
    assert kinds["unmanaged"].sku == "GIFT" and "not tracked" in kinds["unmanaged"].message
    assert kinds["not_stocked"].sku == "AWAY"
    gift = next(item for item in listings if item.sku == "GIFT")
    assert gift.managed is False and gift.quantity is None
    assert "AWAY" not in {item.sku for item in listings}


def test_a_token_without_scopes_is_told_which_are_missing(server, channel_for, sandbox):
    sandbox.scopes = ["read_products", "read_orders"]
    channel = channel_for()

    problems = channel.check_connection()

    text = "\n".join(problems)
    assert "write_inventory" in text and "write_merchant_managed_fulfillment_orders" in text
    assert "read_locations" in text
    assert "read_products" not in text and "read_orders" not in text


def test_write_scopes_include_read_scopes(channel, sandbox):
    sandbox.scopes = list(ALL_SCOPES)

    assert channel.check_connection() == []


def test_a_wrong_token_is_named(sandbox, server, channel_for):
    channel = channel_for(access_token="shpat_wrong")

    problems = channel.check_connection()

    assert len(problems) == 1 and "access token was refused" in problems[0]
    assert "shpat_wrong" not in problems[0]


def test_a_denied_field_is_refused_with_shopifys_access_denied(sandbox, channel):
    sandbox.scopes = ["read_locations"]

    with pytest.raises(ChannelError, match="Access denied for productVariants"):
        list(channel.fetch_listings())


def test_the_location_is_chosen_by_name_or_id_and_a_wrong_one_is_explained(
    sandbox: ShopifySandbox, channel_for
):
    warehouse = sandbox.add_location("Warehouse")
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "9.50", "stock": 5}])

    assert channel_for(location="Warehouse").location_id() == warehouse
    assert channel_for(location=warehouse.rsplit("/", 1)[1]).location_id() == warehouse
    assert channel_for().location_id() == sandbox.location_id
    problems = channel_for(location="Attic").check_connection()
    assert len(problems) == 1 and "no location matches 'Attic'" in problems[0]
    assert "Warehouse" in problems[0]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"order_page_size": 50, "lines_per_order": 25}, "order_page_size 50"),
        ({"variant_page_size": 250}, "variant_page_size 250"),
        ({"api_version": "latest"}, "api_version"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_config_mistakes_are_refused_with_the_key_named(settings, named):
    base = {"type": "shopify", "shop": "acme.myshopify.com", "access_token": "shpat_1"}

    with pytest.raises(ValidationError, match=named):
        ShopifyConfig(**{**base, **settings})


def test_the_token_never_shows_in_the_config():
    config = ShopifyConfig(type="shopify", shop="acme.myshopify.com", access_token="shpat_secret")

    assert "shpat_secret" not in repr(config) and "shpat_secret" not in str(config.model_dump())
    assert (config.api_version, config.order_page_size, config.variant_page_size) == (
        "2026-04",
        10,
        100,
    )
