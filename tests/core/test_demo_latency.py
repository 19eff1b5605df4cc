"""The demo's propagation clock: sales measured until every other store holds the figure;
sales the hub held are forgotten instead of timed by an unrelated later push."""

from __future__ import annotations

from hub.core.livedemo import Latency


def test_a_sale_is_measured_once_per_other_store():
    latency = Latency()
    latency.sold(100.0, "a", {"MUG"}, {"b", "c"}, "1")

    latency.pushed("b", ["MUG"], 100.5)
    latency.pushed("b", ["MUG"], 101.0)  # b was done: no second sample
    latency.pushed("c", ["TEE", "MUG"], 100.25)

    assert latency.samples == [0.5, 0.25]
    assert latency.pending == []
    assert latency.percentile(0.5) == 0.5


def test_held_sales_are_forgotten_measured_or_pending():
    latency = Latency()
    latency.sold(100.0, "a", {"MUG"}, {"b"}, "1")  # the hub held this one
    latency.sold(100.0, "a", {"TEE"}, {"b", "c"}, "2")  # and this one
    latency.sold(105.0, "b", {"CAP"}, {"a"}, "3")
    latency.pushed("b", ["MUG"], 130.0)  # an unrelated push, half a minute later
    latency.pushed("a", ["CAP"], 105.2)

    latency.forget({("a", "1"), ("a", "2")})

    assert [round(s, 2) for s in latency.samples] == [0.2]
    assert latency.pending == []
