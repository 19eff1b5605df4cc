"""eBay's OpenAPI contracts as the sandbox (and the tests) read them.

The slices in ``reference/`` hold the operations this plugin calls with every schema they
reach (``reference/SOURCES.md`` says where each came from). From them come the bodies
the sandbox accepts (:func:`validator`) and the errors it answers in eBay's error format,
with the ids, domains, categories and messages the contract documents for each operation
(:func:`documented_error`).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs

REFERENCE = Path(__file__).with_name("reference")
SLICES = {
    "fulfillment": "sell_fulfillment_v1_slice.json",
    "inventory": "sell_inventory_v1_slice.json",
}


@functools.cache
def contract(api: str) -> dict[str, Any]:
    """The sliced OpenAPI document of ``api`` ("fulfillment" or "inventory")."""
    return json.loads((REFERENCE / SLICES[api]).read_text(encoding="utf-8"))


@functools.cache
def validator(api: str, schema: str) -> Any:
    """A validator of ``components.schemas.<schema>`` of ``api`` (``.is_valid``,
    ``.iter_errors``)."""
    document = {
        "$ref": f"#/components/schemas/{schema}",
        "components": {"schemas": contract(api)["components"]["schemas"]},
    }
    return jsonschema_rs.Draft4Validator(document)


def problems(api: str, schema: str, body: Any) -> list[str]:
    """What is wrong with ``body`` as a ``schema`` of ``api``: "path: message" lines."""
    return [
        f"{'/'.join(str(p) for p in error.instance_path) or 'body'}: {error.message}"
        for error in validator(api, schema).iter_errors(body)
    ]


def documented_error(
    api: str, path: str, method: str, status: int, error_id: int, **values: str
) -> dict[str, Any]:
    """eBay's error body for ``error_id`` as the contract documents it for the operation
    (``x-response-codes``); ``{placeholders}`` in its message are filled from ``values``
    and listed as ``parameters``. A KeyError when the contract has no such error."""
    operation = contract(api)["paths"][path][method]
    entry = operation["responses"][str(status)]["x-response-codes"]["errors"][str(error_id)]
    text = re.sub(r"<[^>]+>", "", entry["description"])
    message = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), ""), text).strip()
    return error_body(error_id, entry["domain"], entry["category"], message, **values)


def error_body(
    error_id: int, domain: str, category: str, message: str, **values: str
) -> dict[str, Any]:
    """An eBay error answer: ``{"errors": [Error]}`` with the fields of the ``Error`` type."""
    error: dict[str, Any] = {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
    }
    if values:
        error["parameters"] = [{"name": k, "value": v} for k, v in values.items()]
    return {"errors": [error]}
