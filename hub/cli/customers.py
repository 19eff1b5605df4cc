"""``hub customers``: B2B accounts with their contacts and delivery addresses."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, required_text
from hub.core import customers
from hub.orders import Address

app = typer.Typer(
    help="B2B customer accounts: terms, credit limit, contacts, delivery addresses.",
    no_args_is_help=True,
)
console = Console()
Number = Annotated[str, typer.Argument(help="The account number, e.g. ACME-001.")]


@app.command()
def add(
    number: Number,
    name: Annotated[str, typer.Option(help="The customer's name.")],
    vat_id: Annotated[str, typer.Option(help="VAT id.")] = "",
    email: Annotated[str, typer.Option(help="Account e-mail (orders match on it).")] = "",
    phone: Annotated[str, typer.Option(help="Phone.")] = "",
    terms: Annotated[
        int | None, typer.Option(help="Payment terms in days (orders go on account).")
    ] = None,
    credit_limit: Annotated[
        str | None, typer.Option(help="Credit limit in the hub's currency.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add an account."""
    with open_hub(config) as hub:
        account = hub.write(
            lambda c: customers.create_account(
                c,
                required_text(number, "NUMBER"),
                required_text(name, "--name"),
                vat_id=vat_id,
                email=email,
                phone=phone,
                payment_terms_days=terms,
                credit_limit=credit_limit,
            )
        )
    console.print(f"added account {account.number} ({account.name})", markup=False)


@app.command("list")
def list_(
    search: Annotated[str, typer.Option(help="Part of the number, name or e-mail.")] = "",
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    config: ConfigOption = None,
) -> None:
    """Accounts by number."""
    with open_hub(config) as hub:
        rows = hub.read(lambda c: customers.list_accounts(c, search, limit=limit))
    table = Table("number", "name", "e-mail", "terms", "credit limit")
    for a in rows:
        table.add_row(
            a.number,
            a.name,
            a.email,
            f"{a.payment_terms_days} days" if a.payment_terms_days is not None else "prepaid",
            f"{a.credit_limit:,.2f}" if a.credit_limit is not None else "none",
        )
    console.print(table)


@app.command()
def show(number: Number, config: ConfigOption = None) -> None:
    """One account with its contacts and delivery addresses (with their ids)."""
    with open_hub(config) as hub:
        a = hub.read(lambda c: customers.get_account(c, number))
    terms = f"{a.payment_terms_days} days" if a.payment_terms_days is not None else "prepaid"
    limit = f"{a.credit_limit:,.2f}" if a.credit_limit is not None else "none"
    lines = [
        f"{a.number}  {a.name}" + ("" if a.active else "  (inactive)"),
        f"  VAT {a.vat_id or '-'}  e-mail {a.email or '-'}  phone {a.phone or '-'}",
        f"  terms {terms}  credit limit {limit}",
    ]
    lines += [f"  contact {c.name} <{c.email}> {c.phone} {c.role}".rstrip() for c in a.contacts]
    for x in a.addresses:
        ad = x.address
        where = ", ".join(filter(None, [ad.name, ad.line1, ad.postcode, ad.city, ad.country]))
        mark = " (default)" if x.is_default else ""
        lines.append(f"  address {x.id}{mark} {x.label}: {where}")
    for text in lines:
        console.print(text, markup=False, highlight=False)


@app.command("add-address")
def add_address(
    number: Number,
    line1: Annotated[str, typer.Option(help="Street and number.")],
    country: Annotated[str, typer.Option(help="ISO country code, e.g. GB.")],
    city: Annotated[str, typer.Option(help="City.")] = "",
    postcode: Annotated[str, typer.Option(help="Postcode.")] = "",
    name: Annotated[str, typer.Option(help="Recipient.")] = "",
    line2: Annotated[str, typer.Option(help="Second line.")] = "",
    label: Annotated[str, typer.Option(help="A short name, e.g. warehouse.")] = "",
    latitude: Annotated[float | None, typer.Option(help="Latitude.")] = None,
    longitude: Annotated[float | None, typer.Option(help="Longitude.")] = None,
    default: Annotated[bool, typer.Option(help="Make it the default address.")] = False,
    config: ConfigOption = None,
) -> None:
    """Add a delivery address to an account."""
    address = Address(
        name=name,
        line1=line1.strip(),
        line2=line2,
        city=city,
        postcode=postcode,
        country=country.strip(),
        latitude=latitude,
        longitude=longitude,
    )
    with open_hub(config) as hub:
        view = hub.write(
            lambda c: customers.add_address(c, number, address, label=label, default=default)
        )
    console.print(f"added address {view.id} to {number}", markup=False)


@app.command("add-contact")
def add_contact(
    number: Number,
    name: Annotated[str, typer.Option(help="The person's name.")],
    email: Annotated[str, typer.Option(help="E-mail.")] = "",
    phone: Annotated[str, typer.Option(help="Phone.")] = "",
    role: Annotated[str, typer.Option(help="Role, e.g. buyer.")] = "",
    config: ConfigOption = None,
) -> None:
    """Add a contact person to an account."""
    with open_hub(config) as hub:
        view = hub.write(
            lambda c: customers.add_contact(
                c, number, required_text(name, "--name"), email, phone, role
            )
        )
    console.print(f"added contact {view.name} to {number}", markup=False)
