"""Credentials: OAuth 1.0a over HTTP as the woocommerce client signs it, checked by the
sandbox as WooCommerce checks it; check_connection's advice."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from woocommerce import API
from woocommerce.oauth import OAuth

from hub import ChannelError
from hub_plugins.woocommerce import WooSandbox
from hub_plugins.woocommerce.sandbox_auth import base_string, oauth_signature

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "woocommerce"


def _api(server, key: str, secret: str) -> API:  # type: ignore[no-untyped-def]
    return API(url=server.url, consumer_key=key, consumer_secret=secret, version="wc/v3")


def _signed_url(server, sandbox: WooSandbox, endpoint: str, **kw) -> str:  # type: ignore[no-untyped-def]
    oauth = OAuth(
        url=f"{server.url}/wp-json/wc/v3/{endpoint}",
        consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
        version="wc/v3",
        method="GET",
        **kw,
    )
    return oauth.get_oauth_url()


def test_base_string_is_built_as_the_reference_shows() -> None:
    text = (REFERENCE / "authentication.md").read_text()
    example = re.search(r"Example signature base string:\s*```\s*(\S+)\s*```", text)
    assert example is not None

    built = base_string(
        "GET",
        "http://www.example.com/wp-json/wc/v3/orders",
        {"oauth_consumer_key": "abc123", "oauth_signature_method": "HMAC-SHA1"},
    )

    assert built == example.group(1)


def test_bad_secret_is_refused_with_401_in_woo_error_format(sandbox: WooSandbox, server) -> None:  # type: ignore[no-untyped-def]
    answer = _api(server, sandbox.consumer_key, "cs_wrong").get("products")

    assert answer.status_code == 401
    assert answer.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Invalid signature - provided signature does not match.",
        "data": {"status": 401},
    }


def test_unknown_key_and_missing_credentials_are_refused(sandbox: WooSandbox, server) -> None:  # type: ignore[no-untyped-def]
    unknown = _api(server, "ck_unknown", sandbox.consumer_secret).get("products")
    anonymous = requests.get(f"{server.url}/wp-json/wc/v3/products", timeout=5)

    assert unknown.status_code == 401 and unknown.json()["message"] == "Consumer key is invalid."
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "woocommerce_rest_cannot_view"


def test_query_parameters_sent_twice_by_the_client_are_accepted(
    sandbox: WooSandbox, server
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_product("MUG", stock=1)

    answer = _api(server, sandbox.consumer_key, sandbox.consumer_secret).get(
        "products", params={"per_page": 5, "sku": "MUG"}
    )

    assert answer.request.url is not None and answer.request.url.count("sku=MUG") == 2
    assert answer.status_code == 200
    assert [p["sku"] for p in answer.json()] == ["MUG"]


def test_replayed_nonce_and_stale_timestamp_are_refused(sandbox: WooSandbox, server) -> None:  # type: ignore[no-untyped-def]
    url = _signed_url(server, sandbox, "products")
    stale = _signed_url(server, sandbox, "products", oauth_timestamp=int(time.time()) - 3600)

    first, replay = requests.get(url, timeout=5), requests.get(url, timeout=5)
    old = requests.get(stale, timeout=5)

    assert first.status_code == 200
    assert replay.status_code == 401 and "nonce" in replay.json()["message"]
    assert old.status_code == 401 and old.json()["message"] == "Invalid timestamp."


def test_hmac_sha1_signatures_are_accepted_too(sandbox: WooSandbox, server) -> None:  # type: ignore[no-untyped-def]
    url = f"{server.url}/wp-json/wc/v3/products"
    params = {
        "oauth_consumer_key": sandbox.consumer_key,
        "oauth_nonce": "n1" * 16,
        "oauth_timestamp": str(int(time.time())),
        "oauth_signature_method": "HMAC-SHA1",
    }
    params["oauth_signature"] = oauth_signature("GET", url, params, sandbox.consumer_secret)

    assert requests.get(url, params=params, timeout=5).status_code == 200


def test_check_connection_is_quiet_when_all_is_well(channel) -> None:  # type: ignore[no-untyped-def]
    assert channel.check_connection() == []


def test_check_connection_explains_a_wrong_secret(channel_for) -> None:  # type: ignore[no-untyped-def]
    [problem] = channel_for(consumer_secret="cs_typo").check_connection()

    assert "401" in problem and "consumer_key and consumer_secret" in problem
    assert "'woo'" in problem  # names the channel


def test_check_connection_explains_a_wrong_address(channel_for, server) -> None:  # type: ignore[no-untyped-def]
    [problem] = channel_for(url=server.url + "/shop").check_connection()

    assert "404" in problem and "WordPress address" in problem


def test_check_connection_explains_an_unreachable_store(channel_for) -> None:  # type: ignore[no-untyped-def]
    [problem] = channel_for(url="http://127.0.0.1:9").check_connection()

    assert "could not reach http://127.0.0.1:9" in problem


def test_failed_authentication_is_not_retryable(channel_for) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChannelError) as failure:
        list(channel_for(consumer_secret="cs_typo").fetch_listings())

    assert failure.value.status == 401
    assert failure.value.retryable is False
