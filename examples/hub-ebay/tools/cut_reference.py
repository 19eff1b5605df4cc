"""Cut the slices of eBay's OpenAPI contracts this plugin needs (run by hand, not by tests).

    python tools/cut_reference.py /path/to/reference/ebay

reads ``sell_fulfillment_v1_oas3.json`` and ``sell_inventory_v1_oas3.json`` from that
folder and writes ``hub_ebay/reference/`` with only the operations the plugin calls and
every schema they reach through ``$ref``; descriptions are kept, since they are eBay's
word on each field.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SLICES = {
    "sell_fulfillment_v1_oas3.json": {
        "/order": ["get"],
        "/order/{orderId}": ["get"],
        "/order/{orderId}/shipping_fulfillment": ["get", "post"],
    },
    "sell_inventory_v1_oas3.json": {
        "/inventory_item": ["get"],
        "/bulk_update_price_quantity": ["post"],
    },
}
OUT = Path(__file__).resolve().parents[1] / "hub_ebay" / "reference"


def refs(node: Any) -> set[str]:
    """Names of the component schemas ``node`` points at."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def cut(document: dict[str, Any], operations: dict[str, list[str]]) -> dict[str, Any]:
    """The document with only ``operations`` and the schemas they reach."""
    paths = {
        path: {method: document["paths"][path][method] for method in methods}
        for path, methods in operations.items()
    }
    schemas = document["components"]["schemas"]
    wanted, todo = set(), refs(paths)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo |= refs(schemas[name]) - wanted
    return {
        **{k: v for k, v in document.items() if k not in ("paths", "components")},
        "paths": paths,
        "components": {
            "schemas": {name: schemas[name] for name in sorted(wanted)},
            "securitySchemes": document["components"]["securitySchemes"],
        },
    }


def main(folder: str) -> None:
    for name, operations in SLICES.items():
        document = json.loads((Path(folder) / name).read_text())
        target = OUT / name.replace("_oas3.json", "_slice.json")
        target.write_text(json.dumps(cut(document, operations), indent=1, sort_keys=True) + "\n")
        print(f"{target.name}: {len(operations)} paths")


if __name__ == "__main__":
    main(sys.argv[1])
