"""The OpenAPI 3.1 document, generated from the route table and the pydantic models, and
a reference page for people rendered from that document on the server (plain HTML)."""

from __future__ import annotations

import html
import inspect
import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub.web.api.machinery import ROLE_RANK, Route
from hub.web.api.schemas import Error

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request: invalid JSON, a missing Idempotency-Key header, a bad parameter.",
    401: "No API token, or an unknown or revoked one.",
    403: "The token's role may not do this.",
    404: "No such order (or path).",
    409: "Clashes with the order's state, a probable duplicate PO, or a request with this "
    "Idempotency-Key still in progress (retry after Retry-After seconds).",
    413: "The body is over 1 MiB.",
    422: "The body is well-formed JSON but not valid (the field is named), or the "
    "Idempotency-Key was used for another request.",
    500: "The hub failed; nothing about it is in the answer, its log says why.",
}


DRIVER_TEXT = (
    "\n\nDrivers only, on their own routes: a driver token (`hub drivers add`) as "
    "`Authorization: Bearer drv_...`, or the driver page's session with its CSRF token in "
    "`X-CSRF-Token`. No Idempotency-Key: actions carry their own `client_id`."
)


def _schemas(routes: Sequence[Route]) -> tuple[dict[Any, Any], dict[str, Any]]:
    models: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for route in routes:
        models.append((route.response, "serialization"))
        if route.body is not None:
            models.append((route.body, "validation"))
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(unique, ref_template=REF)  # type: ignore[arg-type]
    return refs, top.get("$defs", {})


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return out


def build_document(routes: Sequence[Route], title: str = "hub", version: str = "1") -> dict:
    """The OpenAPI 3.1 document of ``routes``."""
    refs, schemas = _schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        parameters: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": text,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
            for name, text in route.params.items()
        ]
        parameters += _query_parameters(route.query)
        driver = route.role == "driver"
        if route.mutating and not driver:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "description": "A fresh random value per operation (at most 255 "
                    "characters); a retry with the same key and body gets the first answer.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        roles = [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK.get(route.role, 9)]
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "description": inspect.cleandoc(route.handler.__doc__ or "")
            + (DRIVER_TEXT if driver else f"\n\nRoles: {', '.join(roles)}."),
            "tags": [route.tag],
            "parameters": parameters,
            "responses": {
                str(route.status): {
                    "description": "Success.",
                    "content": {
                        "application/json": {"schema": refs[(route.response, "serialization")]}
                    },
                }
            },
        }
        if driver:
            operation["security"] = [{"driverToken": []}, {"driverSession": []}]
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
            }
        codes = {400, 401, 403, 500, *route.errors}
        if route.mutating:
            codes |= {409, 413, 422}
        for code in sorted(codes):
            operation["responses"][str(code)] = {
                "description": ERROR_TEXT.get(code, "Error."),
                "content": {"application/json": {"schema": refs[(Error, "serialization")]}},
            }
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title} REST API",
            "version": version,
            "description": "Orders, stock, customers and products of the hub. Send an API "
            "token (`hub tokens create NAME --role sales`) as `Authorization: Bearer "
            "<token>`, and an `Idempotency-Key` header with every POST and PATCH.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "driverToken": {"type": "http", "scheme": "bearer"},
                "driverSession": {"type": "apiKey", "in": "cookie", "name": "hub_desk"},
            },
        },
    }


# -- the reference page --------------------------------------------------------------------


def _resolve(schema: dict, document: dict) -> dict:
    ref = schema.get("$ref")
    if ref:
        return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def _type(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#schema-{html.escape(name)}'>{html.escape(name)}</a>"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return "one of " + ", ".join(html.escape(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        return html.escape(json.dumps(schema["const"]))
    kind = schema.get("type", "any")
    fmt = schema.get("format")
    return html.escape(f"{kind} ({fmt})" if fmt else str(kind))


def _limits(schema: dict) -> str:
    words = []
    for key, label in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("minItems", "items ≥"),
        ("maxItems", "items ≤"),
    ):
        if key in schema:
            words.append(f"{label} {schema[key]}")
    for sub in schema.get("anyOf", []):
        text = _limits(sub)
        if text:
            words.append(text)
    return html.escape(", ".join(words))


def _example(schema: dict, document: dict, depth: int = 0) -> Any:
    """An example value for ``schema``, from its examples or made from its type."""
    if depth > 6:
        return None
    if "examples" in schema:
        return schema["examples"][0]
    if "default" in schema and schema["default"] not in (None, [], ""):
        return schema["default"]
    if "$ref" in schema:
        return _example(_resolve(schema, document), document, depth + 1)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _example(options[0], document, depth + 1) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        shown = {k: v for k, v in props.items() if k in required or "examples" in v}
        return {k: _example(v, document, depth + 1) for k, v in shown.items()}
    if kind == "array":
        return [_example(schema.get("items", {}), document, depth + 1)]
    fmt = schema.get("format")
    return {
        "integer": 1,
        "number": 1.5,
        "boolean": False,
        "string": {"date": "2026-12-03", "date-time": "2026-12-01T09:00:00Z", "time": "09:00"}.get(
            fmt or "", "text"
        ),
    }.get(kind or "")


def _fields_table(schema: dict) -> str:
    props = schema.get("properties", {})
    if not props:
        return ""
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code>{' *' if name in required else ''}</td>"
        f"<td>{_type(prop)}</td><td>{_limits(prop)}</td>"
        f"<td>{html.escape(prop.get('description', ''))}</td></tr>"
        for name, prop in props.items()
    )
    return (
        "<table><tr><th>field (* required)</th><th>type</th><th>limits</th>"
        f"<th>about</th></tr>{rows}</table>"
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render_docs(document: dict) -> str:
    """The reference page: each operation with its parameters, bodies and an example."""
    title = html.escape(document["info"]["title"])
    toc, sections = [], []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            anchor = _slug(op["operationId"])
            toc.append(
                f"<li><a href='#{anchor}'><code>{method.upper()} {html.escape(path)}</code></a>"
                f" {html.escape(op['summary'])}</li>"
            )
            params = "".join(
                f"<tr><td><code>{html.escape(p['name'])}</code>{' *' if p['required'] else ''}"
                f"</td><td>{p['in']}</td><td>{_type(p['schema'])}</td>"
                f"<td>{_limits(p['schema'])}</td>"
                f"<td>{html.escape(p.get('description', ''))}</td></tr>"
                for p in op.get("parameters", [])
            )
            parts = [
                f"<section id='{anchor}'><h2><code>{method.upper()} {html.escape(path)}</code>"
                f"</h2><p>{html.escape(op['summary'])}</p>"
                f"<p class='about'>{html.escape(op.get('description', ''))}</p>"
            ]
            if params:
                parts.append(
                    "<h3>Parameters</h3><table><tr><th>name (* required)</th><th>in</th>"
                    f"<th>type</th><th>limits</th><th>about</th></tr>{params}</table>"
                )
            body = op.get("requestBody")
            if body:
                schema = body["content"]["application/json"]["schema"]
                example = json.dumps(_example(schema, document), indent=2)
                parts.append(
                    f"<h3>Request body: {_type(schema)}</h3>"
                    f"{_fields_table(_resolve(schema, document))}"
                    f"<h4>Example</h4><pre>{html.escape(example)}</pre>"
                )
            answers = "".join(
                f"<tr><td>{code}</td><td>{html.escape(r['description'])}</td>"
                f"<td>{_type(r['content']['application/json']['schema'])}</td></tr>"
                for code, r in op["responses"].items()
            )
            parts.append(
                "<h3>Responses</h3><table><tr><th>status</th><th>when</th><th>body</th></tr>"
                f"{answers}</table></section>"
            )
            sections.append("".join(parts))
    schemas = "".join(
        f"<section id='schema-{html.escape(name)}'><h3>{html.escape(name)}</h3>"
        f"<p>{html.escape(schema.get('description', ''))}</p>{_fields_table(schema)}</section>"
        for name, schema in document["components"]["schemas"].items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>body{{font-family:sans-serif;margin:2em;"
        "max-width:70em}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}pre{background:#f5f5f5;padding:.8em}"
        "section{margin-bottom:2.5em}.about{white-space:pre-line}</style></head><body>"
        f"<h1>{title}</h1><p>{html.escape(document['info']['description'])}</p>"
        f"<p>The machine-readable document: <a href='{PREFIX}/openapi.json'>"
        f"{PREFIX}/openapi.json</a>.</p><h2>Operations</h2><ul>{''.join(toc)}</ul>"
        + "".join(sections)
        + f"<h2>Schemas</h2>{schemas}</body></html>"
    )
