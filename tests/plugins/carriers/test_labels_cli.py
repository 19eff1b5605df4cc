"""``hub labels`` and ``hub route sheets`` as a merchant runs them, with the hub.toml they
would write, against the EasyPost sandbox; bad input refused in one line, nothing written.
The commands run in-process through :func:`hub.cli.main`, as the ``hub`` script does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import order
from conftest import BOULDER, DENVER

from hub import Address
from hub.cli import main
from hub.core import ledger
from hub.core.models import carrier_label_t
from hub.core.runtime import Hub
from hub.sandbox import SandboxServer
from hub_plugins.carriers.easypost import EasyPostSandbox


@dataclass
class Desk:
    config: Path
    sandbox: EasyPostSandbox
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main([*args, "--config", str(self.config)])
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def labels(self) -> list[dict]:
        with Hub.open(self.config) as hub:
            return hub.read(
                lambda c: [dict(r) for r in c.execute(sa.select(carrier_label_t)).mappings()]
            )


def write_config(path: Path, db_url: str, sandbox_url: str | None) -> Path:
    lines = [
        "[hub]",
        'timezone = "America/Denver"',
        "[database]",
        f'url = "{db_url}"',
        "[locations.main]",
        'name = "Main warehouse"',
        "[channels.desk]",
        'type = "manual"',
    ]
    if sandbox_url:
        lines += [
            "[carriers.easypost]",
            'type = "easypost"',
            'api_key = "${EASYPOST_API_KEY}"',
            f'api_base = "{sandbox_url}/v2"',
            "timeout = 2.0",
            'from_address = { street1 = "1600 Champa St", city = "Denver", state = "CO", '
            'zip = "80202" }',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def desk(db_url: str, tmp_path: Path, capsys, monkeypatch) -> Iterator[Desk]:
    sandbox = EasyPostSandbox()
    monkeypatch.setenv("EASYPOST_API_KEY", sandbox.api_key)
    with SandboxServer(sandbox.app()) as server:
        sandbox.base_url = server.url
        config = write_config(tmp_path / "hub.toml", db_url, server.url)
        with Hub.open(config) as hub:
            hub.upgrade()
            hub.sync_locations()
            hub.write(lambda c: ledger.receive(c, "MUG", "main", 20))
            hub.ingest("desk", [order("D-1", ("MUG", 2), channel="desk", shipping_address=BOULDER)])
            hub.ingest(
                "desk", [order("D-2", ("MUG", 1), channel="desk", shipping_address=Address())]
            )
            hub.ingest("desk", [order("D-3", ("MUG", 1), channel="desk", shipping_address=DENVER)])
            hub.cancel("desk", "D-3", "changed their mind")
        yield Desk(config, sandbox, capsys)


def test_buy_twice_show_and_void_rebuy_from_the_command_line(desk: Desk):
    code, out, err = desk.run("labels", "buy", "desk:D-1")
    assert code == 0 and err == ""
    assert out.startswith("desk:D-1: label bought: easypost USPS GroundAdvantage, tracking 94")

    code, out, _ = desk.run("labels", "buy", "desk:D-1")
    assert code == 0 and "label already bought" in out

    code, out, _ = desk.run("labels", "void", "desk:D-1", "--rebuy")
    assert code == 0 and "refund asked (refund submitted)" in out and "new label easypost" in out

    code, out, _ = desk.run("labels", "show", "desk:D-1")
    assert code == 0 and "#1 easypost" in out and "refund_asked" in out and "#2 easypost" in out
    assert sorted(desk.sandbox.charges.values()) == [1, 1]


def test_rates_lists_every_service_cheapest_first_and_buys_nothing(desk: Desk):
    code, out, err = desk.run("labels", "rates", "desk:D-1")

    assert code == 0 and err == ""
    lines = [line for line in out.splitlines() if "easypost" in line]
    services = [line.split("│")[2].strip() for line in lines]
    assert services == ["USPS GroundAdvantage", "USPS Priority", "UPS NextDayAir"]
    assert desk.sandbox.buy_calls == 0 and desk.sandbox.charges == {} and desk.labels() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("labels", "buy", "desk:NOPE"), "error: no order 'NOPE' on channel 'desk'"),
        (("labels", "buy", "desk:D-3"), "error: order desk:D-3 is cancelled"),
        (("labels", "buy", "desk:D-2"), "error: order desk:D-2 has no delivery address"),
        (("labels", "buy", "desk:D-1", "--carrier", "dhl"), "error: no carrier 'dhl'"),
        (("labels", "buy", "desk:D-1", "--service", "Teleport"), "error: no service 'Teleport'"),
        (("labels", "void", "desk:D-1"), "error: order desk:D-1 has no label"),
        (("route", "sheets", "7", "--out", "x"), "error: no own-fleet carrier configured"),
    ],
)
def test_bad_input_is_one_line_and_buys_nothing(desk: Desk, args: tuple, message: str):
    code, out, err = desk.run(*args)

    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1
    assert desk.sandbox.buy_calls == 0
    assert all(row["state"] != "bought" for row in desk.labels())


def test_without_a_carrier_section_the_command_says_so(db_url: str, tmp_path: Path, capsys):
    config = write_config(tmp_path / "bare.toml", db_url, None)
    with Hub.open(config) as hub:
        hub.upgrade()
    desk = Desk(config, EasyPostSandbox(), capsys)

    code, out, err = desk.run("labels", "buy", "desk:D-1")

    assert code == 1 and "no carrier configured; add a [carriers.NAME] section" in err
