"""The B2B order form: customer (searched by name or account number), lines (SKU search
with live availability per location), requested delivery date and window, PO number,
notes. What the desk refuses is shown beside its field, with everything entered kept."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from hub.core import customers, desk
from hub.core.desk import LineInput, NewOrder
from hub.errors import HubError
from hub.web.pages.common import field_message, flash, form_text, hub_of, page, render
from hub.web.pages.orders import actor

LINES_SHOWN = 5  # empty line rows on a new form (the page's script adds more)
MAX_LINES = 200
_LINE_FIELD = re.compile(r"^lines\[(\d{1,3})\]\.(sku|quantity|unit_price)$")


class _Refused(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors


def _rows(form: Any) -> list[dict[str, str]]:
    """The line rows as entered, by their number on the form (blank rows kept)."""
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _LINE_FIELD.match(key)
        if match and int(match.group(1)) < MAX_LINES:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = form_text(form, key, 200)
    if not rows:
        return []
    return [rows.get(i, {}) for i in range(max(rows) + 1)]


def _parse(form: Any, channels: list[str]) -> tuple[NewOrder, list[int]]:
    """The order the form describes and, per line given, its row on the form; _Refused
    with every field the page itself can tell is wrong."""
    errors: dict[str, str] = {}
    lines: list[LineInput] = []
    rows: list[int] = []
    for n, row in enumerate(_rows(form)):
        sku, qty, price = row.get("sku", ""), row.get("quantity", ""), row.get("unit_price", "")
        if not (sku or qty or price):
            continue
        if not sku:
            errors[f"lines[{n}].sku"] = "which SKU?"
        quantity = 0
        if not qty:
            errors[f"lines[{n}].quantity"] = "how many?"
        elif not qty.isdigit():
            errors[f"lines[{n}].quantity"] = f"{qty!r} is not a whole number of units"
        else:
            quantity = int(qty)
        unit_price = None
        if price:
            try:
                unit_price = Decimal(price.replace(",", ""))
                if not unit_price.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors[f"lines[{n}].unit_price"] = f"{price!r} is not an amount"
        lines.append(LineInput(sku, quantity, unit_price))
        rows.append(n)
    if not lines and not errors:
        errors["lines"] = "add at least one line: a SKU and how many"
    requested = form_text(form, "requested_date", 20)
    requested_date = None
    if requested:
        try:
            requested_date = date.fromisoformat(requested)
        except ValueError:
            errors["requested_date"] = f"{requested!r} is not a date (YYYY-MM-DD)"
    window: dict[str, time | None] = {}
    for name in ("window_start", "window_end"):
        text = form_text(form, name, 10)
        window[name] = None
        if text:
            try:
                window[name] = time.fromisoformat(text)
            except ValueError:
                errors[name] = f"{text!r} is not a time (HH:MM)"
    channel = form_text(form, "channel", 64)
    if channel and channel not in channels:
        errors["channel"] = f"{channel!r} is not a channel for orders entered here"
    address = form_text(form, "address_id", 12)
    if address and not address.isdigit():
        errors["address_id"] = "pick one of the account's addresses"
    account = form_text(form, "account", 200)
    if not account:
        errors["account"] = "which customer? Search by name or account number"
    if errors:
        raise _Refused(errors)
    new = NewOrder(
        account=account,
        lines=tuple(lines),
        channel=channel,
        po_number=form_text(form, "po_number", 200),
        requested_date=requested_date,
        window_start=window["window_start"],
        window_end=window["window_end"],
        address_id=int(address) if address else None,
        notes=form_text(form, "notes", 4000),
        paid=form.get("paid") == "yes",
    )
    return new, rows


def _field_on_form(field: str, rows: list[int]) -> str:
    """The desk names line fields by their place among the lines given; the form by row."""
    match = re.match(r"^lines\[(\d+)\](.*)$", field or "")
    if match and int(match.group(1)) < len(rows):
        return f"lines[{rows[int(match.group(1))]}]{match.group(2)}"
    return field or "form"


def _form(
    request: web.Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> web.Response:
    hub = hub_of(request)
    rows = _rows(values.get("_form", {})) if values.get("_form") else []
    while len(rows) < LINES_SHOWN:
        rows.append({})
    context = {
        "values": {k: v for k, v in values.items() if k != "_form"},
        "rows": rows,
        "errors": errors,
        "channels": desk.manual_channels(hub.settings),
        "addresses": values.get("_addresses", []),
    }
    return render(request, "order_new.html", context, status=status)


def _account(conn: Any, typed: str) -> Any:
    """The active account ``typed`` names: its number (any case), or a name or e-mail
    only one account has; None otherwise."""
    text = typed.split(" — ", 1)[0].strip()
    found = customers.list_accounts(conn, text, limit=20)
    for match in (
        lambda a: a.number == text,
        lambda a: a.number.lower() == text.lower(),
        lambda a: a.name.lower() == text.lower() or a.email == text.lower(),
    ):
        hits = [a for a in found if match(a)]
        if len(hits) == 1:
            return hits[0]
    return None


def _resolve(hub: Any, typed: str) -> tuple[str, list[dict[str, Any]]]:
    """The account number to order for (``typed`` when no account matches, so the desk
    names it) and that account's delivery addresses, for the select."""

    def read(conn: Any) -> tuple[str, list[dict[str, Any]]]:
        account = _account(conn, typed)
        if account is None:
            return typed, []
        kept = customers.addresses_of(conn, [account.id]).get(account.id, [])
        return account.number, [_address(v) for v in kept]

    number, addresses = hub.read(read)
    return number, addresses


def _address(v: Any) -> dict[str, Any]:
    parts = (v.address.line1, v.address.city, v.address.postcode)
    return {
        "id": v.id,
        "label": v.label,
        "default": v.is_default,
        "text": ", ".join(p for p in parts if p),
    }


@page("sales")
async def new_order_form(request: web.Request) -> web.Response:
    return _form(request, {}, {})


@page("sales")
async def create(request: web.Request) -> web.Response:
    hub = hub_of(request)
    form = await request.post()
    channels = desk.manual_channels(hub.settings)
    values: dict[str, Any] = {
        k: form_text(form, k)
        for k in (
            "account",
            "po_number",
            "requested_date",
            "window_start",
            "window_end",
            "notes",
            "channel",
            "address_id",
        )
    }
    values["paid"] = form.get("paid") == "yes"
    values["_form"] = form
    number = ""
    if values["account"]:
        number, values["_addresses"] = await asyncio.to_thread(_resolve, hub, values["account"])
    try:
        new, rows = _parse(form, channels)
    except _Refused as refused:
        return _form(request, values, refused.errors, status=400)
    new = replace(new, account=number or new.account)
    problems = await asyncio.to_thread(
        hub.read, lambda c: desk.check_orders(c, hub.settings, [new])
    )
    if problems:  # every one at once: the customer, each line, the window
        errors: dict[str, str] = {}
        for problem in problems:
            text = problem.message.removeprefix(f"{problem.field}: ")
            errors.setdefault(_field_on_form(problem.field, rows), text)
        return _form(request, values, errors, status=400)
    try:
        view = await asyncio.to_thread(desk.create_order, hub, new, actor(request))
    except HubError as error:
        field = _field_on_form(error.field or "", rows)
        return _form(request, values, {field: field_message(error)}, status=400)
    held = f"; held: {', '.join(h.reason for h in view.holds)}" if view.holds else ""
    await flash(request, f"Order {view.external_id} entered for {view.customer_name}{held}.")
    raise web.HTTPSeeOther(f"/orders/{view.id}")


@page("viewer")
async def customer_search(request: web.Request) -> web.Response:
    """JSON for the order form: accounts whose number, name or e-mail contains ``q``,
    with their delivery addresses."""
    hub = hub_of(request)
    q = request.query.get("q", "").strip()[:100]
    if not q:
        return web.json_response({"accounts": []})

    def read(conn: Any) -> list[dict[str, Any]]:
        found = customers.list_accounts(conn, q, limit=10)
        addresses = customers.addresses_of(conn, [a.id for a in found])
        return [
            {
                "number": a.number,
                "name": a.name,
                "terms": a.payment_terms_days,
                "addresses": [_address(v) for v in addresses.get(a.id, [])],
            }
            for a in found
        ]

    return web.json_response({"accounts": await asyncio.to_thread(hub.read, read)})


def routes(app: web.Application) -> None:
    app.router.add_get("/orders/new", new_order_form)
    app.router.add_post("/orders/new", create)
    app.router.add_get("/desk/customers.json", customer_search)
