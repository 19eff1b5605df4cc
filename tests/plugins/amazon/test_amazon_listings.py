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


def test_a_throttled_page_is_read_again_not_the_whole_catalogue(amazon, channel):
    """A 429 in the middle of a long read (the sandbox's clock and the adapter's differ
    by the time a request travels) costs one call again, not a restart from page one."""
    for n in range(100):
        amazon.add_listing(f"S{n:03}", quantity=n)
    seen: list[str] = []

    def throttle_the_third_page(method: str, path: str, body: bytes) -> None:
        if "/listings/2021-08-01/items/" in path:
            seen.append(path)
            if len(seen) == 3:
                amazon.faults.rate_limited = 1

    amazon.faults.observers.append(throttle_the_third_page)

    listings = [item.sku for item in channel.fetch_listings()]

    assert listings == [f"S{n:03}" for n in range(100)]  # every SKU once, in order
    assert len(seen) == 6  # 5 pages and the throttled one again
    assert amazon.operations("searchListingsItems") == 5  # answered (the 429 came first)
