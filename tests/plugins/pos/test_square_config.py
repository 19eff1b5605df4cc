"""Bad configuration gets one line naming what was wrong; secrets never appear in it."""

from __future__ import annotations

import pytest
from builders import make_hub
from conftest import LOCATION_MAP, PUBLIC_URL, SHOP_A, make_channel

from hub.errors import ConfigError

GOOD = {
    "type": "square",
    "access_token": "EAAA-secret-token",
    "webhook_secret": "sig-key-secret",
    "notification_url": PUBLIC_URL,
    "location_map": LOCATION_MAP,
}


def _refused(sqlite_url: str, **changes: object) -> str:
    section = {**GOOD, **changes}
    with pytest.raises(ConfigError) as caught:
        make_hub(
            sqlite_url, channels={"square": {k: v for k, v in section.items() if v is not None}}
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "EAAA-secret-token" not in message and "sig-key-secret" not in message
    return message


def test_a_good_section_fills_the_channel_s_locations_from_the_map(sqlite_url):
    with make_hub(sqlite_url, channels={"square": GOOD}) as hub:
        assert hub.channel_locations("square") == ["main", "store"]
        assert hub.channel_final_sales("square") is True


def test_a_square_location_mapped_to_an_unknown_hub_location(sqlite_url):
    message = _refused(sqlite_url, location_map={SHOP_A: "nowhere"})
    assert "unknown location 'nowhere'" in message and "known: main, store" in message


def test_a_mapped_location_the_channel_does_not_sell_from(sqlite_url):
    message = _refused(sqlite_url, locations=["main"])
    assert "location_map maps to hub location(s) 'store'" in message


def test_an_empty_map_two_shops_on_one_hub_location_and_missing_pieces(sqlite_url):
    assert "location_map" in _refused(sqlite_url, location_map={})
    assert "two Square locations to hub location 'main'" in _refused(
        sqlite_url, location_map={SHOP_A: "main", "LSHOPB": "main"}
    )
    assert "access_token" in _refused(sqlite_url, access_token=None)
    assert "notification_url is required" in _refused(sqlite_url, notification_url=None)
    assert "https://" in _refused(sqlite_url, notification_url="hub.example.com/webhooks")
    assert "environment" in _refused(sqlite_url, environment="staging")
    assert "unknwon" in _refused(sqlite_url, unknwon=1)


def test_check_connection_names_a_square_location_the_account_lacks(sandbox, server):
    channel = make_channel(sandbox, server.url, location_map={"LGONE": "main"})
    [problem] = channel.check_connection()
    assert "'LGONE'" in problem and "LSHOPA (High Street)" in problem
