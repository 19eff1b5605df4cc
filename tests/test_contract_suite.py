"""The channel contract suite (hub.testing) catches what it promises to: run through pytest
itself (pytester) against deliberately broken variants of the plugin template's Acme
channel, each broken rule fails with the rule and what the plugin did, and the intact
channel passes the same rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TEMPLATE = Path(__file__).resolve().parents[1] / "hub" / "scaffold" / "template"

HEADER = f"""
import sys
sys.path.insert(0, {str(TEMPLATE)!r})

from hub_acme import AcmeChannel
from hub.errors import ChannelError
from hub.rest import paged
from hub.testing import channel_contract
"""

#: (name, the broken variant's body, the rule's test, what its failure message says)
BROKEN = [
    (
        "first_page_only",
        """
    def fetch_orders(self, updated_since, cursor):
        for page in super().fetch_orders(updated_since, cursor):
            yield type(page)(page.orders, None)  # drops the cursor: the pull ends here
            return
""",
        "test_orders_paged",
        [
            "*Contract rule: a pull follows the cursor to the last page*",
            "*What the plugin did: 1 pages, 2 orders read, complete=True; orders never pulled*",
        ],
    ),
    (
        "cursor_ignored",
        """
    def fetch_orders(self, updated_since, cursor):
        yield from super().fetch_orders(updated_since, None)  # always from the beginning
""",
        "test_orders_resume_from_cursor_after_crash",
        [
            "*Contract rule: a resumed pull starts where the cursor points*",
            "*What the plugin did: the first page held 2 orders, and the resumed pull read 5*",
        ],
    ),
    (
        "batches_too_large",
        """
    stock_batch_size = 80  # Acme takes at most 50 updates a call
""",
        "test_stock_batches_fewest_calls",
        [
            "*Contract rule: a push of 81 SKUs goes through in batches of at most 80 "
            "(stock_batch_size)*",
            "*What the plugin did: the push failed: ChannelError: Acme answered 422*",
        ],
    ),
    (
        "one_call_per_update",
        """
    def push_stock(self, updates):
        results = []
        for update in updates:
            results += super().push_stock([update])
        return results
""",
        "test_stock_batches_fewest_calls",
        [
            "*Contract rule: 51 updates go in 2 batch(es) of at most 50*",
            "*What the plugin did: the store counted 51 stock calls (fewest: 2)*",
        ],
    ),
    (
        "retry_after_dropped",
        """
    def fetch_orders(self, updated_since, cursor):
        try:
            yield from super().fetch_orders(updated_since, cursor)
        except ChannelError as error:  # the 429's Retry-After is lost on the way
            raise ChannelError(str(error), retryable=error.retryable, status=error.status)
""",
        "test_rate_limit_retry_after_honoured",
        [
            "*Contract rule: ChannelError.retry_after carries the 429's Retry-After*",
            "*What the plugin did: the pull was retried after 0.* s",
        ],
    ),
    (
        "server_error_final",
        """
    def fetch_orders(self, updated_since, cursor):
        try:
            yield from super().fetch_orders(updated_since, cursor)
        except ChannelError as error:  # every failure reported as final
            raise ChannelError(str(error), retryable=False, status=error.status)
""",
        "test_server_errors_and_timeouts_retried",
        [
            "*Contract rule: a 5xx raises a retryable ChannelError*",
            "*What the plugin did: the pull failed: ChannelError*",
        ],
    ),
    (
        "forged_signature_accepted",
        """
    def verify_webhook(self, headers, body):
        return True
""",
        "test_forged_webhook_refused",
        [
            "*Contract rule: a delivery whose body does not match its signature is refused*",
            "*What the plugin did: the hub's endpoint answered 200 to a tampered body*",
        ],
    ),
    (
        "unreadable_webhook_taken_for_a_passing_failure",
        """
    def parse_webhook(self, headers, body):
        try:
            return super().parse_webhook(headers, body)
        except Exception as error:  # every failure taken for one that passes
            raise ChannelError(f"cannot parse: {error}", retryable=True) from None
""",
        "test_malformed_webhook_quarantined",
        [
            "*Contract rule: parse_webhook raises UnreadableWebhook for a body it cannot read*",
            "*What the plugin did: of 1 unreadable deliveries: 0 dead, 1 waiting to be retried*",
        ],
    ),
    (
        "fulfil_not_sent",
        """
    def fulfill(self, order_external_id, carrier, tracking_number, tracking_url=""):
        return None  # claims success, tells Acme nothing
""",
        "test_shipment_reaches_channel",
        [
            "*Contract rule: fulfill() tells the store the order has shipped*",
            "*What the plugin did: after the hub sent the shipment (1 confirmed*the store shows "
            "the order as 'open'*",
        ],
    ),
    (
        "updated_at_stamped_on_arrival",
        """
    def _order(self, raw):
        import dataclasses
        from datetime import UTC, datetime

        order = super()._order(raw)  # the store's modification time replaced by now
        return dataclasses.replace(order, updated_at=datetime.now(UTC))
""",
        "test_older_version_after_newer",
        [
            "*Contract rule: the newest version of an order decides, whatever order versions "
            "arrive in*",
            "*What the plugin did: the hub holds the order as 'open' after the cancellation*",
        ],
    ),
    (
        "cancelled_read_as_open",
        """
    def _order(self, raw):
        return super()._order({**raw, "status": "open"})  # Acme's cancelled status unread
""",
        "test_cancellation_releases",
        [
            "*Contract rule: an order cancelled in the store is cancelled in the hub*",
            "*What the plugin did: the hub holds it as 'open'*",
        ],
    ),
    (
        "external_id_changes_per_read",
        """
    reads = 0

    def _order(self, raw):
        type(self).reads += 1  # the id of the read, not of the order
        return super()._order({**raw, "id": f"{raw['id']}-{type(self).reads}"})
""",
        "test_same_order_twice",
        [
            "*Contract rule: one order, whatever number of times it arrives, reserves its "
            "units once*",
            "*What the plugin did: after * deliveries and two pulls the hub holds [2-9] orders*",
        ],
    ),
    (
        "skus_dropped_from_custom_lines",
        """
    def _order(self, raw):
        order = super()._order(raw)
        kept = tuple(ln for ln in order.lines if ln.sku)  # lines without SKU vanish
        return type(order)(**{**order.__dict__, "lines": kept})
""",
        "test_line_without_sku_held",
        ["*Contract rule: the line without SKU is kept with an empty SKU*"],
    ),
]


def _module(body: str) -> str:
    return (
        f"{HEADER}\n\nclass Broken(AcmeChannel):{body}\n\nTestBroken = channel_contract(Broken)\n"
    )


@pytest.mark.parametrize(
    ("body", "rule", "lines"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_the_suite_catches_a_broken_rule(pytester: pytest.Pytester, body, rule, lines) -> None:
    pytester.makepyfile(test_broken=_module(body))
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", rule)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([*lines, f"FAILED *::TestBroken::{rule}[[]sqlite[]]*"])


def test_the_intact_template_channel_keeps_every_rule(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_intact=f"{HEADER}\n\nTestAcme = channel_contract(AcmeChannel)\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=18)
    result.stdout.fnmatch_lines(
        ["*TestAcme::test_orders_resume_from_cursor_after_crash[[]sqlite[]] PASSED*"]
    )


def test_the_databases_come_from_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nhub_databases =\n    sqlite\n    mysql://nowhere/test\n")
    pytester.makepyfile(test_intact=f"{HEADER}\n\nTestAcme = channel_contract(AcmeChannel)\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only")
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*hub_databases: 'mysql://nowhere/test' is neither 'sqlite' nor a postgresql:// URL*"]
    )


def test_channel_contract_refuses_what_is_not_a_channel() -> None:
    from hub.testing import channel_contract

    with pytest.raises(TypeError, match="takes a hub.Channel subclass, not 'AcmeChannel'"):
        channel_contract("AcmeChannel")  # type: ignore[arg-type]


def test_a_sandbox_without_a_method_the_suite_needs_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_old=f"""{HEADER}
from hub_acme import AcmeSandbox


class OldSandbox(AcmeSandbox):
    page_config = None  # written before the suite asked for it


class Old(AcmeChannel):
    sandbox = OldSandbox


TestOld = channel_contract(Old)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "test_orders_paged")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*OldSandbox (the sandbox of Old) has no page_config(): the contract suite needs it, "
            "see hub.sandbox.DemoStore.page_config*"
        ]
    )


# the PostgreSQL the rest of the suite uses (tests/conftest.py reads the same variable)
PG_URL = os.environ.get(
    "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def test_the_command_line_names_the_databases(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("HUB_TEST_DATABASE_URL", raising=False)
    pytester.makepyfile(test_intact=f"{HEADER}\n\nTestAcme = channel_contract(AcmeChannel)\n")
    args = ["--hub-database", "sqlite", "--hub-database", PG_URL, "-k", "cursor_after_crash"]
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", *args)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_orders_resume_from_cursor_after_crash[[]sqlite[]] PASSED*",
            "*test_orders_resume_from_cursor_after_crash[[]postgresql[]] PASSED*",
        ]
    )


def test_hub_test_database_url_replaces_the_ini_server(
    pytester: pytest.Pytester, monkeypatch
) -> None:
    monkeypatch.setenv("HUB_TEST_DATABASE_URL", PG_URL)
    pytester.makeini("[pytest]\nhub_databases = postgresql+psycopg://nobody@db.invalid/x\n")
    pytester.makepyfile(test_intact=f"{HEADER}\n\nTestAcme = channel_contract(AcmeChannel)\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "-k", "same_order_twice")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_same_order_twice[[]postgresql[]] PASSED*"])
