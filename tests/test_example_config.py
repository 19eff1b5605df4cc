"""The documented example configuration is valid as shipped."""

from __future__ import annotations

from pathlib import Path

from hub.core.config import load_settings
from hub.core.runtime import Hub

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "hub.example.toml"


def test_example_config_validates_with_the_installed_plugins(tmp_path):
    text = EXAMPLE.read_text().replace(
        'url = "sqlite:///hub.db"', f'url = "sqlite:///{tmp_path / "hub.db"}"'
    )
    config = tmp_path / "hub.toml"
    config.write_text(text)
    with Hub.open(config) as hub:
        hub.upgrade()
        assert set(hub.channel_configs) == {"b2b", "till"}
        assert hub.channel_locations("till") == ["store", "main"]
    assert load_settings(config).locations["main"].latitude == 55.976
