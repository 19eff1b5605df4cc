"""Configuration: one clear error per mistake, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import Channel, ChannelConfig, hookimpl
from hub.core.config import load_settings, parse_settings
from hub.core.runtime import Hub
from hub.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return path


def test_secrets_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "s3cret")
    path = write(
        tmp_path,
        'database.url = "postgresql+psycopg://hub:${DB_PASSWORD}@db/hub"\n'
        'hub.name = "${SHOP_NAME:-Corner shop}"\n',
    )
    settings = load_settings(path)
    assert settings.database.url == "postgresql+psycopg://hub:s3cret@db/hub"
    assert settings.hub.name == "Corner shop"


def test_a_missing_environment_variable_names_the_key(tmp_path):
    path = write(tmp_path, '[channels.shop]\ntype = "x"\naccess_token = "${NOT_SET_ANYWHERE}"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}: channels.shop.access_token: environment variable NOT_SET_ANYWHERE is not set"
    )


def test_unknown_keys_and_wrong_types_are_named(tmp_path):
    path = write(tmp_path, '[web]\nport = "eighty"\nhots = "x"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    assert "web.port: Input should be a valid integer" in message
    assert "web.hots: unknown key" in message


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[web\n"))
    with pytest.raises(ConfigError, match="no such configuration file; create one with `hub init`"):
        load_settings(tmp_path / "absent.toml")


def test_config_path_comes_from_hub_config(tmp_path, monkeypatch):
    path = write(tmp_path, 'hub.name = "From env"\n')
    monkeypatch.setenv("HUB_CONFIG", str(path))
    assert load_settings().hub.name == "From env"


def test_relative_sqlite_path_is_next_to_the_config(tmp_path):
    settings = load_settings(write(tmp_path, 'database.url = "sqlite:///data/hub.db"\n'))
    assert settings.database.url == f"sqlite:///{tmp_path / 'data' / 'hub.db'}"


class Pos(Channel):
    type_name = "pos"

    class Config(ChannelConfig):
        till_id: int


class PosPlugin:
    @hookimpl
    def register_channel_types(self, register):
        register(Pos)


def test_channel_sections_are_validated_by_their_plugin(tmp_path):
    base = {"database": {"url": f"sqlite:///{tmp_path / 'h.db'}"}}
    ok = parse_settings({**base, "channels": {"till": {"type": "pos", "till_id": 3}}})
    hub = Hub.open(settings=ok, plugins=[PosPlugin()], entry_points=False)
    assert hub.channel("till").config.till_id == 3
    bad = parse_settings({**base, "channels": {"till": {"type": "pos", "till": 3}}})
    with pytest.raises(ConfigError) as error:
        Hub.open(settings=bad, plugins=[PosPlugin()], entry_points=False)
    assert "channels.till.till_id: required key is missing" in str(error.value)
    assert "channels.till.till: unknown key" in str(error.value)
    unknown = parse_settings({**base, "channels": {"x": {"type": "telex"}}})
    with pytest.raises(
        ConfigError,
        match=r"channels.x.type: unknown type 'telex' \(expected one "
        r"of: pos\)",
    ):
        Hub.open(settings=unknown, plugins=[PosPlugin()], entry_points=False)
