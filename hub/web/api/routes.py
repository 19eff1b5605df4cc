"""The REST API's operations: the route table (declared once: it registers the aiohttp
routes and is the OpenAPI document's paths) and the handlers.

Handlers run in a worker thread; each returns (status, answer model) or raises a
:class:`hub.errors.HubError` that the machinery turns into a 4xx naming the field.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import customers, idempotency
from hub.core.db import in_list
from hub.core.models import (
    balance_t,
    bundle_t,
    customer_account_t,
    customer_contact_t,
    location_t,
    order_t,
    product_t,
)
from hub.errors import Conflict, HubError, NotFound
from hub.orders import Address
from hub.skus import normalise_sku
from hub.web.api import schemas as s
from hub.web.api.batching import Creation
from hub.web.api.driver import DRIVER_ROUTES
from hub.web.api.machinery import (
    ApiError,
    Ctx,
    Prepared,
    Route,
    decode_cursor,
    from_hub_error,
    outcome_answer,
    paged,
    settle,
)

# -- orders --------------------------------------------------------------------------------


def _actor(ctx: Ctx) -> Any:
    from hub.core import desk

    return desk.Actor(name=ctx.token.name, origin="api")


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def order_out(view: Any, model: type[s.OrderOut] = s.OrderOut, **extra: Any) -> s.OrderOut:
    """The API's picture of a :class:`hub.core.desk.OrderView`."""
    return model(
        id=view.id,
        channel=view.channel,
        external_id=view.external_id,
        number=view.number or "",
        status=str(view.status),
        hold_reason=view.hold_reason or "",
        holds=[
            s.HoldOut(code=h.code, reason=h.reason, overridable=bool(h.overridable))
            for h in view.holds
        ],
        account_number=view.account_number or None,
        customer_name=view.customer_name or "",
        po_number=view.po_number or "",
        requested_date=view.requested_date,
        window_start=_iso(view.window_start),
        window_end=_iso(view.window_end),
        currency=view.currency,
        total=Decimal(view.total),
        payment_status=str(view.payment_status or ""),
        lines=[
            s.LineOut(
                line_no=line.line_no,
                sku=line.sku,
                title=line.title or "",
                quantity=line.quantity,
                unit_price=Decimal(line.unit_price),
                fulfilled_quantity=line.fulfilled_quantity,
                returned_quantity=line.returned_quantity,
            )
            for line in view.lines
        ],
        allocation=[
            s.AllocationOut(sku=a.sku, location=a.location, quantity=a.quantity)
            for a in view.allocation
        ],
        history=[
            s.EventOut(
                at=e.at,
                status=e.status or "",
                note=e.note or "",
                actor=e.actor or "",
                origin=e.origin or "",
            )
            for e in view.history
        ],
        **extra,
    )


def _line_inputs(lines: list[s.LineIn]) -> tuple[Any, ...]:
    from hub.core import desk

    return tuple(
        desk.LineInput(
            sku=line.sku, quantity=line.quantity, unit_price=line.unit_price, title=line.title
        )
        for line in lines
    )


_o, _a = order_t.c, customer_account_t.c
# Built once: building a statement costs more than running it on the hot path.
_SAME_PO = (
    sa.select(_o.id, _o.channel, _o.external_id)
    .where(
        _o.account_id
        == sa.select(_a.id).where(_a.account_number == sa.bindparam("account")).scalar_subquery(),
        _o.po_number == sa.bindparam("po"),
        _o.status != "cancelled",
    )
    .order_by(_o.id)
    .limit(1)
)


def _same_po(conn: Connection, account: str, po_number: str) -> tuple[int, str, str] | None:
    """An order of ``account`` with PO number ``po_number`` that is not cancelled."""
    row = conn.execute(_SAME_PO, {"account": account.strip(), "po": po_number}).first()
    return None if row is None else (row.id, row.channel, row.external_id)


def create_order(ctx: Ctx) -> tuple[int, Any]:
    """Enter a B2B order for a customer account. It goes through the same intake and
    checks as every channel's orders: it is open with its stock reserved, or on hold
    with the reasons. A second order of the account with the same PO number is a
    probable duplicate: a warning in the answer, or 409 when the hub is set to refuse."""
    # Orders arriving together are created in one intake call (hub.web.api.batching); the
    # request's idempotency key is claimed, and its answer stored, with its batch.
    from hub.core import desk

    body: s.OrderCreate = ctx.body
    address = None if body.address is None else Address(**body.address.model_dump())
    new = desk.NewOrder(
        account=body.account,
        lines=_line_inputs(body.lines),
        channel=body.channel,
        reference=body.reference,
        po_number=body.po_number,
        requested_date=body.requested_date,
        window_start=body.window_start,
        window_end=body.window_end,
        address_id=body.address_id,
        address=address,
        notes=body.notes,
        paid=body.paid,
    )
    state: dict[str, Any] = {"warnings": []}

    def before(conn: Connection) -> bool:
        state.pop("answer", None)  # a batch that failed runs this again on its own
        state.update(claim=None, warnings=[])
        claim_id = None
        if ctx.claim is not None:
            outcome = idempotency.claim(conn, *ctx.claim)
            earlier = outcome_answer(outcome)
            if earlier is not None:
                state["answer"] = earlier
                return False
            assert isinstance(outcome, idempotency.Claimed)
            claim_id = outcome.id
        state["claim"] = claim_id
        twin = _same_po(conn, body.account, body.po_number) if body.po_number else None
        if twin is not None:
            said = (
                f"probable duplicate PO: order {twin[0]} ({twin[1]}:{twin[2]}) of account "
                f"{body.account} has PO number {body.po_number!r}"
            )
            if ctx.hub.settings.web.duplicate_po == "refuse":
                failure = from_hub_error(Conflict(said, field="po_number"), ctx.data)
                state["answer"] = Prepared(failure.status, failure.body(), {})
                return False
            state["warnings"] = [said]
        return True

    def after(view: Any, error: BaseException | None) -> None:
        if error is None:
            try:
                answer = order_out(view, s.OrderCreated, warnings=state["warnings"])
            except Exception as bug:  # logged below, answered 500
                state.update(failure=bug, answer=Prepared(500, "", {}))
                return
            state["answer"] = Prepared(201, answer.model_dump_json(), {})
        elif isinstance(error, HubError):
            failure = from_hub_error(error, ctx.data)
            state["answer"] = Prepared(failure.status, failure.body(), {})
        else:
            state["answer"] = Prepared(500, "", {})

    def finish(conn: Connection) -> None:
        answer = state.get("answer")
        if state.get("claim") is not None and answer is not None:
            settle(conn, state["claim"], answer.status, answer.text)

    done = ctx.api.batcher.create(Creation(new, _actor(ctx), before, after, finish))
    if done.error is not None and not isinstance(done.error, HubError):
        raise done.error  # logged, answered 500; the key was given back
    if "failure" in state:
        raise state["failure"]
    if "answer" not in state:  # the batch failed before this request was decided
        raise done.error or RuntimeError("order batch ended without an answer")
    return 0, state["answer"]


def list_orders(ctx: Ctx) -> tuple[int, s.OrderPage]:
    """Orders, newest first, filtered by status, channel, hold reason and account;
    `next_cursor` fetches the next page."""
    q: s.OrderQuery = ctx.query
    after = decode_cursor(q.cursor, int)
    o, a = order_t.c, customer_account_t.c
    query = (
        sa.select(order_t, a.account_number)
        .outerjoin(customer_account_t, a.id == o.account_id)
        .order_by(o.id.desc())
        .limit(q.limit + 1)
    )
    if after is not None:
        query = query.where(o.id < after)
    if q.status:
        query = query.where(o.status == q.status)
    if q.channel:
        query = query.where(o.channel == q.channel)
    if q.hold:
        query = query.where(sa.func.lower(o.hold_reason).contains(q.hold.lower(), autoescape=True))
    if q.account:
        query = query.where(a.account_number == q.account)
    page, cursor = paged(ctx.hub.read(lambda c: c.execute(query).all()), q.limit, lambda r: r.id)
    orders = [
        s.OrderSummaryOut(
            id=r.id,
            channel=r.channel,
            external_id=r.external_id,
            number=r.number,
            status=r.status,
            hold_reason=r.hold_reason,
            account_number=r.account_number,
            customer_name=r.customer_name or r.company or r.customer_email,
            po_number=r.po_number,
            total=Decimal(r.total),
            currency=r.currency,
            placed_at=r.placed_at,
        )
        for r in page
    ]
    return 200, s.OrderPage(orders=orders, next_cursor=cursor)


def show_order(ctx: Ctx) -> tuple[int, s.OrderOut]:
    """One order: lines, allocation, holds and its full history."""
    from hub.core import desk

    return 200, order_out(desk.order_view(ctx.hub, ctx.params["ref"]))


def edit_order(ctx: Ctx) -> tuple[int, s.OrderOut]:
    """Change an order that has not shipped: lines (reservations follow), PO number,
    requested date, window, notes, address. Fields left out stay as they are."""
    from hub.core import desk

    body: s.OrderEdit = ctx.body
    changes = body.model_dump(exclude_unset=True)
    if body.lines is not None:
        changes["lines"] = _line_inputs(body.lines)
    view = desk.edit_order(ctx.hub, ctx.params["ref"], _actor(ctx), **changes)
    return 200, order_out(view)


def hold_order(ctx: Ctx) -> tuple[int, s.OrderOut]:
    """Put an order on hold with a reason (a person's hold, which a release lifts)."""
    from hub.core import desk

    view = desk.hold_order(ctx.hub, ctx.params["ref"], ctx.body.reason, _actor(ctx))
    return 200, order_out(view)


def release_order(ctx: Ctx) -> tuple[int, s.OrderOut]:
    """Release a held order; refused (409) while a hold that cannot be overridden
    applies (unknown SKU, not enough stock), naming it."""
    from hub.core import desk

    view = desk.release_order(ctx.hub, ctx.params["ref"], ctx.body.note, _actor(ctx))
    return 200, order_out(view)


def cancel_order(ctx: Ctx) -> tuple[int, s.OrderOut]:
    """Cancel an order that has not shipped; its reserved stock is released."""
    from hub.core import desk

    view = desk.cancel_order(ctx.hub, ctx.params["ref"], ctx.body.reason, _actor(ctx))
    return 200, order_out(view)


def return_lines(ctx: Ctx) -> tuple[int, s.OrderOut]:
    """Take shipped units back: into stock at `to_location`, or into quarantine when
    damaged; journal movements with the order as reference."""
    from hub.core import desk

    body: s.ReturnIn = ctx.body
    view = desk.return_lines(
        ctx.hub,
        ctx.params["ref"],
        [(line.sku, line.quantity) for line in body.lines],
        body.to_location,
        body.damaged,
        _actor(ctx),
    )
    return 200, order_out(view)


# -- stock -----------------------------------------------------------------------------


def stock_levels(ctx: Ctx) -> tuple[int, s.StockLevels]:
    """On hand, reserved and free per SKU and location, by SKU then location."""
    q: s.StockQuery = ctx.query
    after = decode_cursor(q.cursor, list, 2)
    p, loc, b = product_t.c, location_t.c, balance_t.c
    query = (
        sa.select(p.sku, loc.code, b.on_hand, b.reserved)
        .join(product_t, p.id == b.product_id)
        .join(location_t, loc.id == b.location_id)
        .order_by(p.sku, loc.code)
        .limit(q.limit + 1)
    )
    if after is not None:
        query = query.where(sa.tuple_(p.sku, loc.code) > sa.tuple_(str(after[0]), str(after[1])))
    if q.sku:
        query = query.where(p.sku == normalise_sku(q.sku))
    if q.location:
        query = query.where(loc.code == q.location)
    rows = ctx.hub.read(lambda c: c.execute(query).all())
    page, cursor = paged(rows, q.limit, lambda r: [r.sku, r.code])
    levels = [
        s.StockLevelOut(
            sku=r.sku,
            location=r.code,
            on_hand=r.on_hand,
            reserved=r.reserved,
            free=r.on_hand - r.reserved,
        )
        for r in page
    ]
    return 200, s.StockLevels(levels=levels, next_cursor=cursor)


def availability(ctx: Ctx) -> tuple[int, s.Availability]:
    """What a channel may sell per SKU: free stock over its locations, less its safety
    buffer, within its cap (bundles as whole bundles)."""
    q: s.AvailabilityQuery = ctx.query
    channel = ctx.params["channel"]
    after = decode_cursor(q.cursor, str)
    try:
        figures = ctx.hub.available(channel, [q.sku] if q.sku else None)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error), "channel") from None
    page, cursor = paged(
        sorted(k for k in figures if after is None or k > after), q.limit, lambda k: k
    )
    return 200, s.Availability(
        channel=channel,
        availability=[s.AvailabilityOut(sku=k, available=figures[k]) for k in page],
        next_cursor=cursor,
    )


# -- products ------------------------------------------------------------------------------


def _products(conn: Connection, query: Any) -> list[s.ProductOut]:
    rows = conn.execute(query).all()
    ids = [r.id for r in rows]
    parts: dict[int, list[s.ComponentOut]] = {}
    if ids:
        component = product_t.alias("component")
        for bundle, sku, quantity in conn.execute(
            sa.select(bundle_t.c.bundle_id, component.c.sku, bundle_t.c.quantity)
            .join(component, component.c.id == bundle_t.c.component_id)
            .where(bundle_t.c.bundle_id.in_(ids))
            .order_by(component.c.sku)
        ):
            parts.setdefault(bundle, []).append(s.ComponentOut(sku=sku, quantity=quantity))
    return [
        s.ProductOut(
            sku=r.sku,
            name=r.name,
            barcode=r.barcode,
            weight_grams=r.weight_grams,
            volume_cm3=r.volume_cm3,
            components=parts.get(r.id, []),
        )
        for r in rows
    ]


def list_products(ctx: Ctx) -> tuple[int, s.ProductPage]:
    """The catalogue by SKU; `search` matches part of a SKU, name or barcode."""
    q: s.SearchQuery = ctx.query
    after = decode_cursor(q.cursor, str)
    p = product_t.c
    query = sa.select(product_t).order_by(p.sku).limit(q.limit + 1)
    if after is not None:
        query = query.where(p.sku > after)
    if q.search:
        like = q.search.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(p.sku).contains(like, autoescape=True),
                sa.func.lower(p.name).contains(like, autoescape=True),
                p.barcode.contains(q.search, autoescape=True),
            )
        )
    page, cursor = paged(ctx.hub.read(lambda c: _products(c, query)), q.limit, lambda p: p.sku)
    return 200, s.ProductPage(products=page, next_cursor=cursor)


def show_product(ctx: Ctx) -> tuple[int, s.ProductOut]:
    """One product of the catalogue, with a bundle's components."""
    sku = normalise_sku(ctx.params["sku"])
    query = sa.select(product_t).where(product_t.c.sku == sku)
    found = ctx.hub.read(lambda c: _products(c, query))
    if not found:
        raise ApiError(404, "not_found", f"no product with SKU {sku!r}", "sku")
    return 200, found[0]


# -- oversells -----------------------------------------------------------------------------


def _oversell_out(view: Any) -> s.OversellOut:
    return s.OversellOut(
        id=view.id,
        channel=view.channel,
        order_reference=view.reference,
        sku=view.sku,
        location=view.location,
        quantity=view.quantity,
        created_at=view.created_at,
        resolved_at=view.resolved_at,
    )


def list_oversells(ctx: Ctx) -> tuple[int, s.OversellList]:
    """Units shops' tills handed over beyond the stock, oldest first: the open ones, or
    every one with `include_resolved`."""
    from hub.core import oversells

    q: s.OversellQuery = ctx.query
    rows = ctx.hub.read(lambda c: oversells.list_oversells(c, q.include_resolved))
    return 200, s.OversellList(oversells=[_oversell_out(r) for r in rows])


def resolve_oversell(ctx: Ctx) -> tuple[int, s.OversellOut]:
    """Mark an oversell investigated; the note goes into its order's history (409 when it
    was already resolved)."""
    from hub.core import oversells

    text = ctx.params["id"]
    if not text.isdigit() or len(text) > 18:
        raise ApiError(404, "not_found", f"no oversell {text!r}", "id")
    view = ctx.hub.write(lambda c: oversells.resolve(c, int(text), ctx.body.note, _actor(ctx)))
    return 200, _oversell_out(view)


# -- customers -----------------------------------------------------------------------------


def customer_out(account: customers.Account) -> s.CustomerOut:
    return s.CustomerOut(
        account_number=account.number,
        name=account.name,
        vat_id=account.vat_id,
        email=account.email,
        phone=account.phone,
        payment_terms_days=account.payment_terms_days,
        credit_limit=account.credit_limit,
        notes=account.notes,
        active=account.active,
        contacts=[
            s.ContactOut(id=c.id, name=c.name, email=c.email, phone=c.phone, role=c.role)
            for c in account.contacts
        ],
        addresses=[
            s.AddressOut(
                id=a.id,
                label=a.label,
                is_default=a.is_default,
                name=a.address.name,
                company=a.address.company,
                line1=a.address.line1,
                line2=a.address.line2,
                city=a.address.city,
                region=a.address.region,
                postcode=a.address.postcode,
                country=a.address.country,
                phone=a.address.phone,
                latitude=a.address.latitude,
                longitude=a.address.longitude,
            )
            for a in account.addresses
        ],
    )


def list_customers(ctx: Ctx) -> tuple[int, s.CustomerPage]:
    """B2B accounts by account number, with contacts and addresses; `search` matches
    part of a number, name or e-mail."""
    q: s.SearchQuery = ctx.query
    after = decode_cursor(q.cursor, str)
    a = customer_account_t.c
    query = sa.select(customer_account_t).order_by(a.account_number).limit(q.limit + 1)
    if after is not None:
        query = query.where(a.account_number > after)
    if q.search:
        like = q.search.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(a.account_number).contains(like, autoescape=True),
                sa.func.lower(a.name).contains(like, autoescape=True),
                a.email.contains(like, autoescape=True),
            )
        )

    def read(conn: Connection) -> list[customers.Account]:
        """The accounts with their contacts and addresses: three queries for the page
        (not three per account, as get_account for each would take)."""
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        addresses = customers.addresses_of(conn, ids)
        contacts: dict[int, list[customers.ContactView]] = {}
        if ids:
            c = customer_contact_t.c
            for r in conn.execute(
                sa.select(customer_contact_t).where(in_list(conn, c.account_id, ids)).order_by(c.id)
            ):
                contacts.setdefault(r.account_id, []).append(
                    customers.ContactView(r.id, r.name, r.email, r.phone, r.role)
                )
        return [
            dataclasses.replace(
                customers._account(conn, r),
                contacts=contacts.get(r.id, []),
                addresses=addresses.get(r.id, []),
            )
            for r in rows
        ]

    page, cursor = paged(ctx.hub.read(read), q.limit, lambda x: x.number)
    return 200, s.CustomerPage(customers=[customer_out(x) for x in page], next_cursor=cursor)


def show_customer(ctx: Ctx) -> tuple[int, s.CustomerOut]:
    """One B2B account with its contacts and delivery addresses."""
    number = ctx.params["number"]
    try:
        account = ctx.hub.read(lambda c: customers.get_account(c, number))
    except NotFound as error:
        raise ApiError(404, "not_found", str(error), "number") from None
    return 200, customer_out(account)


def create_customer(ctx: Ctx) -> tuple[int, s.CustomerOut]:
    """Add a B2B account (409 when its number is taken)."""
    body: s.CustomerCreate = ctx.body
    fields = body.model_dump(exclude={"account_number", "name"})
    account = ctx.hub.write(
        lambda c: customers.create_account(c, body.account_number, body.name, **fields)
    )
    return 201, customer_out(account)


# -- the table -------------------------------------------------------------------------------

REF = {"ref": "The order: its hub id (42) or channel:external_id (b2b:PO-1)."}

ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/orders",
        create_order,
        "createOrder",
        "Create a B2B order",
        "sales",
        "orders",
        s.OrderCreated,
        201,
        body=s.OrderCreate,
        batched=True,
    ),
    Route(
        "GET",
        "/orders",
        list_orders,
        "listOrders",
        "List orders",
        "viewer",
        "orders",
        s.OrderPage,
        query=s.OrderQuery,
    ),
    Route(
        "GET",
        "/orders/{ref}",
        show_order,
        "showOrder",
        "Show an order",
        "viewer",
        "orders",
        s.OrderOut,
        params=REF,
        errors=(404,),
    ),
    Route(
        "PATCH",
        "/orders/{ref}",
        edit_order,
        "editOrder",
        "Edit an order",
        "sales",
        "orders",
        s.OrderOut,
        body=s.OrderEdit,
        params=REF,
        errors=(404,),
    ),
    Route(
        "POST",
        "/orders/{ref}/hold",
        hold_order,
        "holdOrder",
        "Hold an order",
        "sales",
        "orders",
        s.OrderOut,
        body=s.HoldIn,
        params=REF,
        errors=(404,),
    ),
    Route(
        "POST",
        "/orders/{ref}/release",
        release_order,
        "releaseOrder",
        "Release a held order",
        "sales",
        "orders",
        s.OrderOut,
        body=s.ReleaseIn,
        params=REF,
        errors=(404,),
    ),
    Route(
        "POST",
        "/orders/{ref}/cancel",
        cancel_order,
        "cancelOrder",
        "Cancel an order",
        "sales",
        "orders",
        s.OrderOut,
        body=s.CancelIn,
        params=REF,
        errors=(404,),
    ),
    Route(
        "POST",
        "/orders/{ref}/returns",
        return_lines,
        "returnLines",
        "Return an order's units",
        "sales",
        "orders",
        s.OrderOut,
        body=s.ReturnIn,
        params=REF,
        errors=(404,),
    ),
    Route(
        "GET",
        "/stock",
        stock_levels,
        "stockLevels",
        "List stock levels",
        "viewer",
        "stock",
        s.StockLevels,
        query=s.StockQuery,
    ),
    Route(
        "GET",
        "/stock/availability/{channel}",
        availability,
        "availability",
        "Show a channel's availability",
        "viewer",
        "stock",
        s.Availability,
        query=s.AvailabilityQuery,
        params={"channel": "A configured channel."},
        errors=(404,),
    ),
    Route(
        "GET",
        "/oversells",
        list_oversells,
        "listOversells",
        "List oversells",
        "viewer",
        "stock",
        s.OversellList,
        query=s.OversellQuery,
    ),
    Route(
        "POST",
        "/oversells/{id}/resolve",
        resolve_oversell,
        "resolveOversell",
        "Resolve an oversell",
        "sales",
        "stock",
        s.OversellOut,
        body=s.ResolveIn,
        params={"id": "The oversell's id."},
        errors=(404,),
    ),
    Route(
        "GET",
        "/products",
        list_products,
        "listProducts",
        "List products",
        "viewer",
        "products",
        s.ProductPage,
        query=s.SearchQuery,
    ),
    Route(
        "GET",
        "/products/{sku}",
        show_product,
        "showProduct",
        "Show a product",
        "viewer",
        "products",
        s.ProductOut,
        params={"sku": "The SKU."},
        errors=(404,),
    ),
    Route(
        "GET",
        "/customers",
        list_customers,
        "listCustomers",
        "List customers",
        "viewer",
        "customers",
        s.CustomerPage,
        query=s.SearchQuery,
    ),
    Route(
        "GET",
        "/customers/{number}",
        show_customer,
        "showCustomer",
        "Show a customer",
        "viewer",
        "customers",
        s.CustomerOut,
        params={"number": "The account number."},
        errors=(404,),
    ),
    Route(
        "POST",
        "/customers",
        create_customer,
        "createCustomer",
        "Create a customer",
        "admin",
        "customers",
        s.CustomerOut,
        201,
        body=s.CustomerCreate,
    ),
)

# The driver app's endpoints (signed in as a driver): hub.web.api.driver.
ROUTES += DRIVER_ROUTES
