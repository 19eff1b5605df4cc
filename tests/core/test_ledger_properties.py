"""Random sequences of movements keep the journal and balances equal and never go negative."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core import ledger
from hub.errors import HubError

SKUS = ["A", "B"]
LOCATIONS = ["main", "store"]

operation = st.one_of(
    st.tuples(
        st.just("receive"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 5)
    ),
    st.tuples(
        st.just("reserve"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 5)
    ),
    st.tuples(
        st.just("release"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 5)
    ),
    st.tuples(
        st.just("sell"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 5)
    ),
    st.tuples(
        st.just("adjust"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(-5, 5)
    ),
    st.tuples(
        st.just("transfer"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 5)
    ),
)


def run(conn, op):
    kind, sku, location, quantity = op
    other = LOCATIONS[1 - LOCATIONS.index(location)]
    actions = {
        "receive": lambda: ledger.receive(conn, sku, location, quantity),
        "reserve": lambda: ledger.reserve(conn, sku, location, quantity),
        "release": lambda: ledger.release(conn, sku, location, quantity),
        "sell": lambda: ledger.sell(conn, sku, location, quantity, from_reserved=quantity % 2 == 0),
        "adjust": lambda: ledger.adjust(conn, sku, location, quantity, reason="count"),
        "transfer": lambda: ledger.transfer(conn, sku, location, other, quantity),
    }
    actions[kind]()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operation, max_size=30))
def test_random_movements_keep_verify_clean_and_availability_non_negative(sqlite_hub, ops):
    hub = sqlite_hub
    with hub.engine.begin() as conn:  # each example starts from an empty ledger
        for table in ("movement", "balance", "bundle_component", "product"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    for op in ops:
        # A refused movement must leave no trace, which verify checks below.
        with contextlib.suppress(HubError):
            hub.write(lambda conn, op=op: run(conn, op))
    assert hub.read(ledger.verify) == []
    for lvl in hub.read(lambda c: ledger.levels(c)):
        assert 0 <= lvl.reserved <= lvl.on_hand
    for value in hub.read(lambda c: ledger.available_to_promise(c)).values():
        assert value >= 0
