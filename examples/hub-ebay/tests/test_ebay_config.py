"""A channel section is checked before anything is sent, and never shows its secrets."""

from __future__ import annotations

import pytest
from hub_ebay import EbayConfig
from pydantic import ValidationError

GOOD = {
    "type": "ebay",
    "client_id": "YourApp-hub-PRD-0123456789-abcdef01",
    "client_secret": "PRD-cert-id-never-shown",
    "refresh_token": "v^1.1#refresh-never-shown",
}


def test_a_complete_section_is_accepted_with_ebays_production_url():
    config = EbayConfig(**GOOD)
    assert config.api_url == "https://api.ebay.com" and config.page_size == 50
    assert "never-shown" not in repr(config) and "never-shown" not in str(config)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"refresh_token": None}, "refresh_token"),
        ({"client_id": ""}, "client_id"),
        ({"api_url": "api.ebay.com"}, "api_url"),
        ({"page_size": 500}, "page_size"),
        ({"verification_token": "x"}, "verification_token"),  # unknown keys are errors
    ],
)
def test_a_wrong_section_names_the_key(change, field):
    section = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(ValidationError) as refused:
        EbayConfig(**section)
    assert [error["loc"][0] for error in refused.value.errors()] == [field]
    assert "never-shown" not in str(refused.value)
