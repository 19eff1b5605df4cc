"""Cut Square's OpenAPI description down to what the Square (point-of-sale) tests read.

Run by hand when a test starts reading another schema or operation::

    .venv/bin/python tools/reference/cut_square_spec.py [--reference DIR]

``DIR`` holds ``square/api.json.gz`` (default: the ``shared/reference`` folder beside the
repository). The slice ``tests/reference/square/api-slice.json`` keeps the document's
``openapi`` and ``info``, the operations of ``PATHS`` verbatim, and the schemas of
``SCHEMAS`` verbatim (a ``$ref`` to a schema left out stays as it is).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "reference"  # where the slices live
SLICE = HERE / "square" / "api-slice.json"
#: The endpoints the plugin calls and the sandbox serves.
PATHS = [
    "/v2/locations",
    "/v2/catalog/search",
    "/v2/catalog/batch-retrieve",
    "/v2/orders",
    "/v2/orders/search",
    "/v2/orders/batch-retrieve",
    "/v2/inventory/changes/batch-create",
    "/v2/inventory/counts/batch-retrieve",
]
#: The objects the sandbox serves (tests/plugins/pos/test_square_reference.py).
SCHEMAS = [
    "Error",
    "ErrorCategory",
    "ErrorCode",
    "Location",
    "ListLocationsResponse",
    "SearchCatalogObjectsRequest",
    "SearchCatalogObjectsResponse",
    "CatalogObject",
    "CatalogItemVariation",
    "Money",
    "SearchOrdersRequest",
    "SearchOrdersQuery",
    "SearchOrdersFilter",
    "SearchOrdersDateTimeFilter",
    "SearchOrdersStateFilter",
    "SearchOrdersSort",
    "TimeRange",
    "SearchOrdersResponse",
    "Order",
    "OrderSource",
    "OrderLineItem",
    "OrderReturn",
    "OrderReturnLineItem",
    "OrderMoneyAmounts",
    "Tender",
    "Refund",
    "BatchRetrieveOrdersRequest",
    "BatchRetrieveOrdersResponse",
    "CreateOrderRequest",
    "CreateOrderResponse",
    "BatchChangeInventoryRequest",
    "BatchChangeInventoryResponse",
    "InventoryChange",
    "InventoryPhysicalCount",
    "InventoryCount",
    "InventoryState",
    "BatchRetrieveInventoryCountsRequest",
    "BatchRetrieveInventoryCountsResponse",
    "BatchRetrieveCatalogObjectsRequest",
    "BatchRetrieveCatalogObjectsResponse",
    "OrderCreatedEvent",
    "OrderCreatedEventData",
    "OrderCreatedObject",
    "OrderCreated",
    "OrderUpdatedEvent",
    "OrderUpdatedEventData",
    "OrderUpdatedObject",
    "OrderUpdated",
    "InventoryCountUpdatedEvent",
    "InventoryCountUpdatedEventData",
    "InventoryCountUpdatedEventObject",
    "OrderState",
]


def cut(document: dict) -> dict:
    """The slice of ``document``: PATHS and SCHEMAS verbatim."""
    schemas = document["components"]["schemas"]
    missing = [n for n in SCHEMAS if n not in schemas] + [
        p for p in PATHS if p not in document["paths"]
    ]
    if missing:
        raise SystemExit(f"not in the document: {missing}")
    return {
        "openapi": document["openapi"],
        "info": document["info"],
        "paths": {p: document["paths"][p] for p in PATHS},
        "components": {"schemas": {n: schemas[n] for n in SCHEMAS}},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=REPO.parent / "shared" / "reference",
        help="the folder holding square/api.json.gz",
    )
    args = parser.parse_args(argv)
    raw = (args.reference / "square" / "api.json.gz").read_bytes()
    document = json.loads(gzip.decompress(raw))
    SLICE.write_text(json.dumps(cut(document), indent=1, sort_keys=True) + "\n")
    print(f"{SLICE.relative_to(REPO)} from api.json.gz (sha256 {hashlib.sha256(raw).hexdigest()})")


if __name__ == "__main__":
    main()
