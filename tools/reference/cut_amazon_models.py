"""Cut the official Amazon SP-API models down to what the Amazon tests read.

Run by hand when a test starts reading another operation or schema::

    .venv/bin/python tools/reference/cut_amazon_models.py --reference DIR

``DIR`` holds ``amazon/*.json`` (the reference folder beside the repository on the
project's machines). For each OpenAPI model in ``OPERATIONS`` the slice keeps the listed
paths (every method of each) and every definition they reach through ``$ref``, copied
unchanged, with the model's ``info`` and ``swagger`` keys; the JSON schemas in ``WHOLE``
are copied whole.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "reference"  # where the slices live
SLICES = HERE / "amazon"
#: model → the paths the tests read (tests/plugins/amazon/test_amazon_reference.py).
OPERATIONS = {
    "orders_2026-01-01.json": ["/orders/2026-01-01/orders", "/orders/2026-01-01/orders/{orderId}"],
    "ordersV0.json": ["/orders/v0/orders/{orderId}/shipmentConfirmation"],
    "listingsItems_2021-08-01.json": [
        "/listings/2021-08-01/items/{sellerId}",
        "/listings/2021-08-01/items/{sellerId}/{sku}",
    ],
    "feeds_2021-06-30.json": [
        "/feeds/2021-06-30/feeds",
        "/feeds/2021-06-30/feeds/{feedId}",
        "/feeds/2021-06-30/documents",
        "/feeds/2021-06-30/documents/{feedDocumentId}",
    ],
}
WHOLE = [
    "OrderChangeNotification.json",
    "listings-feed-schema-v2.json",
    "listings-feed-schema-v2.example.json",
    "listings-feed-processing-report-schema-v2.json",
    "listings-feed-processing-report-schema-v2.example.json",
]


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def cut(model: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """The model with only ``paths`` and the definitions they reach."""
    kept_paths = {p: model["paths"][p] for p in paths}
    wanted = _refs(kept_paths)
    done: set[str] = set()
    while wanted - done:
        name = sorted(wanted - done)[0]
        done.add(name)
        wanted |= _refs(model["definitions"][name])
    return {
        "swagger": model.get("swagger"),
        "info": model.get("info"),
        "paths": kept_paths,
        "definitions": {n: model["definitions"][n] for n in sorted(done)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, required=True)
    args = parser.parse_args(argv)
    source = args.reference / "amazon"
    SLICES.mkdir(exist_ok=True)
    for name, paths in OPERATIONS.items():
        model = json.loads((source / name).read_text())
        (SLICES / name).write_text(json.dumps(cut(model, paths), indent=2) + "\n")
    for name in WHOLE:
        shutil.copyfile(source / name, SLICES / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
