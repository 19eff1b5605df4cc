"""Initial import of a store's listings: products, variations, SKUs and manage_stock."""

from __future__ import annotations

from hub_plugins.woocommerce import WooCommerceChannel, WooSandbox


def test_simple_products_and_variations_become_listings(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    mug = sandbox.add_product("MUG", name="Mug", stock=7)
    tee = sandbox.add_variable_product(
        "TEE",
        name="T-shirt",
        variations=[
            {"sku": "TEE-S", "stock": 3, "option": "S"},
            {"sku": "TEE-M", "stock": 0, "option": "M"},
        ],
    )

    listings = {item.sku: item for item in channel.fetch_listings()}

    assert set(listings) == {"MUG", "TEE-S", "TEE-M"}  # the variable parent is no listing
    assert listings["MUG"].external_id == str(mug["id"])
    assert listings["MUG"].parent_id == ""
    assert listings["MUG"].quantity == 7
    assert listings["TEE-S"].parent_id == str(tee["id"])
    assert listings["TEE-S"].external_id == str(tee["variations"][0])
    assert listings["TEE-S"].quantity == 3
    assert listings["TEE-S"].title == "T-shirt – S"
    assert listings["TEE-M"].quantity == 0
    assert channel.listing_problems == []


def test_product_not_managing_stock_is_listed_unmanaged_and_reported(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("POSTER", stock=None)

    [poster] = list(channel.fetch_listings())

    assert poster.managed is False
    assert poster.quantity is None
    [problem] = channel.listing_problems
    assert problem.kind == "unmanaged"
    assert problem.sku == "POSTER"
    assert "does not manage stock" in problem.message


def test_duplicate_and_missing_skus_are_reported(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    first = sandbox.add_product("DUP", stock=1)
    second = sandbox.add_product("DUP", stock=2)
    nameless = sandbox.add_product("", name="No SKU", stock=4)
    parent = sandbox.add_variable_product("SHOE", variations=[{"sku": "", "stock": 1}])

    skus = [item.sku for item in channel.fetch_listings()]

    assert skus == ["DUP", "DUP"]  # both offered to the core; nothing without a SKU
    problems = {(p.kind, p.external_ids) for p in channel.listing_problems}
    assert ("duplicate_sku", (str(first["id"]), str(second["id"]))) in problems
    assert ("missing_sku", (str(nameless["id"]),)) in problems
    # a variation without SKU shows its parent's in Woo's "view" context; the import
    # reads the "edit" context, so it is reported instead of mistaken for SHOE
    assert ("missing_sku", (str(parent["variations"][0]),)) in problems
    assert len(channel.listing_problems) == 3


def test_listings_are_read_across_pages(sandbox: WooSandbox, channel_for) -> None:
    for n in range(23):
        sandbox.add_product(f"SKU-{n:02}", stock=n)
    channel = channel_for(page_size=10)

    listings = list(channel.fetch_listings())

    assert [item.sku for item in listings] == [f"SKU-{n:02}" for n in range(23)]
    pages = [c.query["page"] for c in sandbox.calls if c.path == "products"]
    assert pages == ["1", "2", "3"]
