"""One identity for every SKU and order, whichever way it enters the hub or is typed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import order

from hub.cli import main
from hub.core import ledger
from hub.core.counts import apply_counts, count_warnings, read_counts
from hub.core.db import run_in_transaction
from hub.core.listings import import_listings
from hub.core.models import listing_t, order_t
from hub.core.orderbook import find_order, order_id
from hub.errors import InvalidInput, NotFound
from hub.stock import Listing

NBSP_MUG = "MUG\u00a0"
WIDE_CUP = "ＣＵＰ"  # full-width letters, as some Japanese and Chinese keyboards type them


def product_of(hub, channel, external_id):
    query = sa.select(listing_t.c.product_id).where(
        listing_t.c.channel == channel, listing_t.c.external_id == external_id
    )
    return hub.read(lambda c: c.scalar(query))


# -- SKUs ---------------------------------------------------------------------------------


def test_listing_skus_with_nbsp_full_width_or_spaces_map_to_the_product_and_are_reported(hub):
    hub.write(lambda c: [ledger.receive(c, s, "main", 5) for s in ("MUG", "CUP", "TEE")])
    listings = [
        Listing(NBSP_MUG, "1", title="Mug"),
        Listing(WIDE_CUP, "2", title="Cup"),
        Listing(" TEE ", "3", title="Tee"),
    ]
    report = hub.write(lambda c: import_listings(c, "web", listings))
    assert report.mapped == 3
    assert report.unknown_skus == [] and report.unlisted_skus == []
    mug, cup, tee = (
        hub.read(lambda c, s=s: ledger.product_id(c, s)) for s in ("MUG", "CUP", "TEE")
    )
    assert [product_of(hub, "web", x) for x in "123"] == [mug, cup, tee]
    assert [(p.kind, p.sku, p.external_ids) for p in report.sku_problems] == [
        ("sku_respelled", "MUG", ("1",)),
        ("sku_respelled", "CUP", ("2",)),
        ("sku_respelled", "TEE", ("3",)),
    ]
    assert "has SKU 'MUG\\xa0', read as 'MUG'" in report.sku_problems[0].message
    assert "has SKU 'ＣＵＰ', read as 'CUP'" in report.sku_problems[1].message
    assert report.sku_problems[2].message in report.lines()


def test_two_spellings_of_one_sku_on_a_channel_are_reported_as_one_sku_listed_twice(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    listings = [Listing("MUG", "1"), Listing("MUG ", "2")]
    report = hub.write(lambda c: import_listings(c, "web", listings))
    assert report.duplicate_skus == ["MUG"]


def test_a_listing_whose_sku_cannot_be_a_sku_is_reported_and_the_rest_imported(hub):
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 5))
    listings = [Listing("X" * 200, "1"), Listing("BAD\x07", "2"), Listing("MUG", "3")]
    report = hub.write(lambda c: import_listings(c, "web", listings, create_products=True))
    assert report.mapped == 1
    assert [(p.kind, p.external_ids) for p in report.sku_problems] == [
        ("invalid_sku", ("1",)),
        ("invalid_sku", ("2",)),
    ]
    assert "longer than 128 characters" in report.sku_problems[0].message
    assert "control characters" in report.sku_problems[1].message


def test_the_ledger_finds_and_creates_products_by_the_normalised_sku(hub):
    first = hub.write(lambda c: ledger.ensure_product(c, "MUG"))
    assert hub.write(lambda c: ledger.ensure_product(c, NBSP_MUG)) == first
    changes = hub.write(lambda c: ledger.receive(c, "ＭＵＧ", "main", 3))
    assert [(x.sku, x.on_hand) for x in changes] == [("MUG", 3)]
    assert hub.read(lambda c: ledger.available_to_promise(c, [" MUG"])) == {"MUG": 3}
    assert [lv.sku for lv in hub.read(lambda c: ledger.levels(c, "MUG\u200b"))] == ["MUG"]
    hub.write(lambda c: ledger.ensure_product(c, "SET"))
    with pytest.raises(InvalidInput, match="component 'MUG' is given twice"):
        hub.write(lambda c: ledger.set_bundle(c, "SET", {"MUG": 1, NBSP_MUG: 2}))
    hub.write(lambda c: ledger.set_bundle(c, "SET ", {WIDE_CUP.replace("ＣＵＰ", "ＭＵＧ"): 1}))
    assert hub.read(lambda c: ledger.available_to_promise(c, ["SET"])) == {"SET": 3}


def test_count_import_counts_respelled_skus_as_the_hub_spells_them_and_warns(hub, tmp_path):
    sheet = tmp_path / "counts.csv"
    sheet.write_text(f"sku,location,quantity\n{NBSP_MUG},main,4\n{WIDE_CUP},main,2\nTEE,main,1\n")
    rows = read_counts(sheet)
    assert [r.sku for r in rows] == ["MUG", "CUP", "TEE"]
    assert count_warnings(rows) == [
        "line 2: SKU 'MUG\\xa0' read as 'MUG'",
        "line 3: SKU 'ＣＵＰ' read as 'CUP'",
    ]
    hub.write(lambda c: apply_counts(c, rows))
    levels = {lv.sku: lv.on_hand for lv in hub.read(ledger.levels)}
    assert levels == {"MUG": 4, "CUP": 2, "TEE": 1}


def test_count_import_refuses_one_sku_counted_twice_at_a_location_in_two_spellings(tmp_path):
    sheet = tmp_path / "counts.csv"
    sheet.write_text("sku,location,quantity\nMUG,main,4\nMUG ,main,6\nMUG,store,1\n")
    with pytest.raises(InvalidInput, match="line 3: 'MUG' at 'main' is already counted on line 2"):
        read_counts(sheet)


# -- the CLI ------------------------------------------------------------------------------


def write_config(path: Path, url: str) -> Path:
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[locations.main]\nname = "Main"\n\n'
        '[locations.store]\nname = "Store"\nkind = "store"\n'
    )
    return path


@pytest.fixture
def cli(hub, db_url, tmp_path, capsys):
    """``cli(*args)`` runs ``hub *args --config`` on the test hub's database in-process
    and returns (exit code, stdout, stderr) with white space folded (rich wraps lines)."""
    config = write_config(tmp_path / "hub.toml", db_url)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main([*args, "--config", str(config)])
        out, err = capsys.readouterr()
        return int(done.value.code or 0), " ".join(out.split()), " ".join(err.split())

    return run


def test_stock_commands_read_skus_as_the_hub_spells_them_and_say_so(hub, cli):
    code, out, _ = cli("stock", "receive", NBSP_MUG, "5")
    assert code == 0
    assert "note: SKU 'MUG\\xa0' read as 'MUG'" in out
    assert "receipt MUG @ main: +5" in out
    code, out, _ = cli("stock", "adjust", "ＭＵＧ", "-1", "--reason", "broken")
    assert code == 0 and "note: SKU 'ＭＵＧ' read as 'MUG'" in out and "on hand 4" in out
    code, out, _ = cli("stock", "levels", "--sku", " MUG ")
    assert code == 0 and "│ MUG │ main │ 4 │ 0 │ 4 │" in out
    code, out, _ = cli("stock", "receive", "MUG", "1")
    assert "note:" not in out
    assert [lv.sku for lv in hub.read(ledger.levels)] == ["MUG"]


def test_stock_import_prints_a_line_for_each_respelled_sku(hub, cli, tmp_path):
    sheet = tmp_path / "counts.csv"
    sheet.write_text(f"sku,location,quantity\n{WIDE_CUP},main,2\n")
    code, out, _ = cli("stock", "import", str(sheet))
    assert code == 0
    assert "note: line 2: SKU 'ＣＵＰ' read as 'CUP'" in out
    assert [(lv.sku, lv.on_hand) for lv in hub.read(ledger.levels)] == [("CUP", 2)]


# -- orders -------------------------------------------------------------------------------

SHARED = ("1", "119")  # external ids both channels use; "1" is also a hub id


def hold_shared_ids(hub):
    """web and shop each hold orders 1 and 119 (for SKU NEW, unknown as yet)."""
    for channel in ("web", "shop"):
        hub.ingest(channel, [order(x, ("NEW", 1), channel=channel) for x in SHARED])
    held = {
        (r.channel, r.external_id): r.id
        for r in hub.read(lambda c: c.execute(sa.select(order_t)).all())
        if r.status == "on_hold"
    }
    assert len(held) == 4
    return held


def another_process_receives(hub):
    """10 × NEW booked outside this Hub (another worker): only the recheck job, not this
    process's arrival of stock, decides the held orders."""
    run_in_transaction(hub.engine, lambda c: ledger.receive(c, "NEW", "main", 10))


def test_recheck_decides_held_orders_of_two_channels_sharing_external_ids(hub):
    hold_shared_ids(hub)
    assert hub.recheck_holds() == {"on_hold": 4}
    another_process_receives(hub)
    assert hub.recheck_holds() == {"open": 4}
    statuses = hub.read(lambda c: c.execute(sa.select(order_t.c.status)).scalars().all())
    assert statuses == ["open"] * 4
    assert hub.read(ledger.levels)[0].reserved == 4


def test_an_order_that_cannot_be_decided_is_logged_by_name_and_the_others_go_on(hub, caplog):
    held = hold_shared_ids(hub)
    broken = held[("shop", "119")]
    hub.write(
        lambda c: c.execute(
            order_t.update().where(order_t.c.id == broken).values(payment_status="bartered")
        )
    )
    another_process_receives(hub)
    with caplog.at_level(logging.ERROR, logger="hub"):
        assert hub.recheck_holds() == {"open": 3, "failed": 1}
    assert f"recheck of held order {broken} (shop:119) failed" in caplog.text
    assert "1 held order(s) could not be decided" in caplog.text


def test_people_name_an_order_by_hub_id_or_channel_and_external_id(hub):
    held = hold_shared_ids(hub)
    for (channel, external), hub_id in held.items():
        assert hub.read(lambda c, r=f"{channel}:{external}": order_id(c, r)) == hub_id
        assert hub.read(lambda c, i=hub_id: find_order(c, str(i))).order["id"] == hub_id
        assert hub.read(lambda c, i=hub_id: find_order(c, i)).order["channel"] == channel
    # a bare "1" is hub id 1, whichever channels also use 1 as an external id
    assert hub.read(lambda c: find_order(c, "1")).order["id"] == 1


def test_a_bare_external_id_is_refused_naming_every_channel_that_uses_it(hub):
    hold_shared_ids(hub)
    with pytest.raises(InvalidInput) as refused:
        hub.read(lambda c: find_order(c, "119"))
    assert str(refused.value) == (
        "order '119': no order has hub id 119, but '119' is the external id of shop:119, "
        "web:119; name the order as channel:external_id"
    )
    assert refused.value.field == "order"
    hub.ingest("web", [order("A-7", ("NEW", 1))])
    with pytest.raises(
        InvalidInput, match="hub ids are numbers; 'A-7' is the external id of web:A-7"
    ):
        hub.read(lambda c: find_order(c, "A-7"))


def test_an_order_that_does_not_exist_is_named_in_the_error(hub):
    hold_shared_ids(hub)
    with pytest.raises(NotFound, match="no order '119' on channel 'till'"):
        hub.read(lambda c: find_order(c, "till:119"))
    with pytest.raises(NotFound, match=r"no order '77': give its hub id \(42\) or channel:"):
        hub.read(lambda c: find_order(c, "77"))
    with pytest.raises(NotFound, match="no order '99999999999'"):
        hub.read(lambda c: find_order(c, "99999999999"))  # beyond INTEGER: no database error


def test_orders_cli_takes_hub_ids_and_channel_forms_and_refuses_bare_shared_ids(hub, cli):
    held = hold_shared_ids(hub)
    code, out, _ = cli("orders", "show", "shop:119")
    assert code == 0 and out.startswith("shop:119 ")
    code, out, _ = cli("orders", "show", str(held[("web", "119")]))
    assert code == 0 and out.startswith("web:119 ")
    code, _, err = cli("orders", "show", "119")
    assert code == 1
    assert err == (
        "error: order '119': no order has hub id 119, but '119' is the external id of "
        "shop:119, web:119; name the order as channel:external_id"
    )
    code, out, _ = cli("orders", "show", "--help")
    assert "hub id (42) or channel:external_id" in " ".join(out.replace("│", " ").split())
    another_process_receives(hub)
    code, out, _ = cli("orders", "recheck")
    assert code == 0 and out == "rechecked held orders: 4 open"
