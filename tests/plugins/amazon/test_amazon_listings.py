"""Reading the catalogue: searchListingsItems 20 a page, the merchant's DEFAULT quantity
per SKU, FBA-only SKUs reported and never managed."""

from __future__ import annotations


def test_every_page_is_read_and_only_the_merchants_quantity_counts(amazon, channel):
    for n in range(43):
        amazon.add_listing(f"S{n:02}", quantity=n)
    amazon.add_listing("DUO", quantity=3, fba=40)
    amazon.add_listing("FBAONLY", quantity=None, fba=9)

    listings = {item.sku: item for item in channel.fetch_listings()}

    assert len(listings) == 45
    assert amazon.operations("searchListingsItems") == 3  # 20 + 20 + 5
    assert [listings[s].quantity for s in ("S00", "S42", "DUO")] == [0, 42, 3]
    assert listings["DUO"].managed and listings["DUO"].external_id == "DUO"
    assert (listings["FBAONLY"].managed, listings["FBAONLY"].quantity) == (False, None)
    problems = [(p.kind, p.sku) for p in channel.listing_problems]
    assert problems == [("unmanaged", "FBAONLY")]
    assert "only fulfilled by Amazon" in channel.listing_problems[0].message
