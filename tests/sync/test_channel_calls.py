"""Every call the hub makes to a channel goes through that channel's rate limiter and
retry policy, the one-off commands included: a 503 on the way costs a retry, not the
command."""

from __future__ import annotations

import json
from pathlib import Path

from builders import make_hub
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.core import ledger
from hub_plugins.shopify import ShopifySandbox


def write_config(path: Path, db_url: str, channels: dict[str, dict]) -> Path:
    """The hub.toml a merchant would write (JSON values are valid TOML)."""
    lines = ["[database]", f"url = {json.dumps(db_url)}", "[locations.main]", 'name = "Main"']
    for name, section in channels.items():
        lines.append(f"[channels.{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in section.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def test_hub_sync_listings_retries_a_503_from_the_shop_and_imports(db_url: str, tmp_path: Path):
    shop = ShopifySandbox(restore_rate=20_000.0)
    shop.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 10}])
    server = shop.serve().start()
    try:
        channels = {"shop": shop.config_for(server.url, timeout=2.0, locations=["main"])}
        hub = make_hub(db_url, channels=channels, locations={"main": {"name": "Main"}})
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
        hub.close()
        config = write_config(tmp_path / "hub.toml", db_url, channels)
        shop.faults.server_errors = 1  # the import's first call answers 503

        result = CliRunner().invoke(cli, ["sync", "listings", "shop", "--config", str(config)])
    finally:
        server.stop()

    assert result.exit_code == 0, result.output
    assert "shop: 1 listings mapped" in result.output
    assert shop.faults.server_errors == 0  # the 503 was met, and retried
