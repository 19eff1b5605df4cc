"""The crash harness in CI: ``hub run`` killed a few times mid-work, faults on, then settled.

The same harness as ``bench/crash.py`` (``bench/crashkit``) with a bounded number of kill
points: 5 on SQLite, 5 on PostgreSQL, 3 with two workers sharing one PostgreSQL. Real
``hub run`` processes, real HTTP to every sandbox store, SIGKILL. "Oversold" counts units
the hub promised beyond its stock; a till's final sale past the stock (it sold the last
unit before it heard a web store had taken it) is booked and kept as an oversell record,
which the verdict reports beside the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from crashkit import MODES, crash_run  # noqa: E402

KILLS = {"sqlite": 5, "postgresql": 5, "two-workers": 3}


@pytest.mark.timeout(480)
@pytest.mark.parametrize("mode", list(KILLS))
def test_a_killed_hub_settles_with_every_order_once_nothing_oversold_and_stores_in_step(
    mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fixture = "sqlite_url" if MODES[mode].database == "sqlite" else "postgres_url"
    url = request.getfixturevalue(fixture)
    run = crash_run(MODES[mode], KILLS[mode], database_url=url, folder=tmp_path)
    report = "\n".join(run.report())
    verdict = run.verdict
    assert len(run.kills) == KILLS[mode], report
    assert verdict.store_orders > 0, report
    assert not run.settled.unmet, report
    figures = {
        "missing": verdict.missing,
        "duplicated": verdict.duplicated,
        "oversold": verdict.oversold,
        "wrong state": verdict.wrong_state,
        "verify": verdict.verify,
        "store-versus-hub differences": verdict.differences,
    }
    assert figures == dict.fromkeys(figures, 0), report
    assert verdict.hub_orders == verdict.store_orders, report
