"""Crash benchmark: ``hub run`` killed with SIGKILL mid-work, with faults, then left to settle.

Every channel plugin's sandbox store (Shopify, WooCommerce, the Square till, ...) sells,
races for the last units, cancels and ships while about 20% of their API requests fail
(429, 503, time-outs before and after the work is done) and their webhooks arrive twice,
newest first or replayed. ``hub run`` is killed at random points during pulls, pushes
and webhook processing and restarted: on SQLite, on PostgreSQL, and as two workers
sharing one PostgreSQL (one killed while the other goes on). Then the hub settles on its
own, with no manual command, and every store's orders and quantities are compared with
the hub. Targets: orders missing 0, duplicated 0, in the wrong state 0, units oversold 0,
`hub stock verify` clean, store-versus-hub differences 0, per mode. A till's sale is
final: when the till sold the last unit before it heard that a web store had taken it,
the hub books the sale and keeps an oversell to investigate; such units are reported
beside the figures (recorded as final sales past the stock), and ``oversold`` counts
only units no oversell record explains.

    python bench/crash.py [--kills 50] [--two-worker-kills 30] [--database all|sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crashkit import MODES, run_mode, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50, help="kill points per database")
    parser.add_argument("--two-worker-kills", type=int, default=30)
    parser.add_argument("--database", choices=("all", "sqlite", "postgresql"), default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep configs and worker logs here")
    args = parser.parse_args()
    plan = {
        "sqlite": args.kills,
        "postgresql": args.kills,
        "two-workers": args.two_worker_kills,
    }
    if args.database == "sqlite":
        del plan["postgresql"], plan["two-workers"]
    elif args.database == "postgresql":
        del plan["sqlite"]
    runs, broken = [], {}
    for key, kills in plan.items():
        keep = args.keep / key if args.keep else None
        try:
            run = run_mode(MODES[key], kills, seed=args.seed, keep=keep)
        except RuntimeError as error:  # hub run did not come up: the run cannot be judged
            broken[MODES[key].name] = str(error).splitlines()[0]
            print(f"{MODES[key].name}: did not finish: {error}", flush=True)
            continue
        print("\n".join(run.report()), flush=True)
        runs.append(run)
    line = summary(runs, {MODES[key].name: kills for key, kills in plan.items()}, broken)
    print(line)
    return 0 if line.endswith(": met") else 1


if __name__ == "__main__":
    sys.exit(main())
