"""OAuth: a User token from the refresh token for the Sell APIs, an Application token from
the client credentials for the Notification API; both renewed when they expire."""

from __future__ import annotations

import base64

import requests


def test_one_user_token_serves_many_calls(store, connect):
    channel = connect()
    for _ in range(3):
        list(channel.fetch_listings())
        list(channel.fetch_orders(None, None))
    assert store.grants == {"refresh_token": 1}


def test_an_expired_token_is_renewed_by_the_refresh_token_and_the_call_goes_through(store, connect):
    channel = connect()
    list(channel.fetch_listings())
    store.expire_tokens()  # two hours later
    assert {item.sku for item in channel.fetch_listings()} == {"MUG", "TEE"}
    assert store.grants == {"refresh_token": 2}


def test_notifications_are_checked_with_an_application_token(store, connect):
    channel = connect()
    body = b'{"metadata": {"topic": "ORDER_CHANGE"}}'
    assert channel.verify_webhook({"X-EBAY-SIGNATURE": store.sign(body)}, body)
    assert store.grants == {"client_credentials": 1}


def test_the_token_endpoint_speaks_oauth_as_ebay_does(store, served):
    url = f"{served.url}/identity/v1/oauth2/token"
    good = (store.client_id, store.client_secret)
    user = requests.post(
        url,
        data={"grant_type": "refresh_token", "refresh_token": store.refresh_token},
        auth=good,
        timeout=5,
    ).json()
    assert user["token_type"] == "User Access Token" and user["expires_in"] == 7200
    app = requests.post(
        url,
        data={"grant_type": "client_credentials", "scope": "https://api.ebay.com/oauth/api_scope"},
        auth=good,
        timeout=5,
    ).json()
    assert app["token_type"] == "Application Access Token"
    key_url = f"{served.url}/commerce/notification/v1/public_key/{store.key_id}"
    as_user = requests.get(key_url, headers={"Authorization": f"Bearer {user['access_token']}"})
    assert as_user.status_code == 403  # getPublicKey takes an Application token
    basic = base64.b64encode(f"{store.client_id}:wrong".encode()).decode()
    refused = requests.post(
        url, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


def test_a_refused_refresh_token_is_reported_without_the_secret(store, connect):
    channel = connect(refresh_token="v^1.1#revoked-by-the-seller")
    problems = channel.check_connection()
    assert len(problems) == 1
    assert "invalid_grant" in problems[0] and "refresh_token" in problems[0]
    assert "revoked-by-the-seller" not in problems[0]


def test_wrong_client_credentials_are_reported(store, connect):
    problems = connect(client_secret="SBX-not-the-cert-id").check_connection()
    assert len(problems) == 2 and all("invalid_client" in p for p in problems)
    assert not any("SBX-not-the-cert-id" in p for p in problems)


def test_threads_calling_at_once_share_one_renewal(store, connect):
    from concurrent.futures import ThreadPoolExecutor

    channel = connect()
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: len(list(channel.fetch_listings())), range(16)))
    assert seen == [2] * 16
    store.expire_tokens()
    with ThreadPoolExecutor(8) as pool:
        orders = list(pool.map(lambda _: list(channel.fetch_orders(None, None)), range(16)))
    assert len(orders) == 16
    # one token at first and one renewal after expiry, not one per thread
    assert store.grants["refresh_token"] == 2
