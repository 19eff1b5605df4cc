"""Configuration: one clear error per mistake, naming the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from builders import make_hub

from hub import Channel, ChannelConfig, hookimpl
from hub.cli import main
from hub.core import ledger
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


# -- every key checked: each mistake one line naming the file and the key -----------------

LOCATIONS = (
    '[locations.main]\nlatitude = 55.9\nlongitude = -3.2\n[locations.store]\nkind = "store"\n'
)
SHOP = '[channels.shop]\ntype = "shopify"\nshop = "acme.myshopify.com"\naccess_token = "shpat_x"\n'
WOO = (
    '[channels.woo]\ntype = "woocommerce"\nurl = "https://shop.example.com"\n'
    'consumer_key = "ck_x"\nconsumer_secret = "cs_x"\n'
)


def merged(base: dict, extra: dict) -> dict:
    """``base`` with ``extra``'s keys, tables merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = merged(base[key], value) if both else value
    return out


def refusal(tmp_path: Path, text: str) -> str:
    """The one-line ConfigError a config file gets, opened with the installed plugins.

    ``text`` is TOML laid over a valid file (locations main and store); its keys replace
    the file's, so a snippet may set a key the base already has.
    """
    path = tmp_path / "hub.toml"
    for block in (SHOP, WOO):  # a snippet starting with a channel's block extends it
        if text.startswith(block):
            text = block.split("\n", 1)[0] + "\n" + text[len(block) :]
            base = tomllib.loads(block)
            break
    else:
        base = {}
    base = merged(tomllib.loads(f'database.url = "sqlite:///hub.db"\n{LOCATIONS}'), base)
    with pytest.raises(ConfigError) as error:
        Hub.open(settings=parse_settings(merged(base, tomllib.loads(text)), path)).close()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: ") :]


ISSUE_EXAMPLES = [
    (
        '[channels.web]\ntype = "manual"\nsafety_buffer = -2\n',
        "channels.web.safety_buffer: Input should be greater than or equal to 0 (got -2)",
    ),
    (
        '[channels.web]\ntype = "manual"\nmax_quantity = -3\n',
        "channels.web.max_quantity: Input should be greater than or equal to 0 (got -3)",
    ),
    (
        '[channels.web]\ntype = "manual"\nlocations = ["main", "nosuch"]\n',
        "channels.web.locations[1]: unknown location 'nosuch'; known: main, store",
    ),
    (
        '[channels.web]\ntype = "manual"\nlocations = ["main", "main"]\n',
        "channels.web.locations: location 'main' is listed twice",
    ),
    (
        '[channels.web]\ntype = "manual"\nlocations = [""]\n',
        "channels.web.locations[0]: must not be empty",
    ),
    (
        '[fleet.van]\ndepot = "main"\nweekdays = [7, 9]\n',
        "fleet.van.weekdays[0]: Input should be less than or equal to 6 (got 7); "
        "fleet.van.weekdays[1]: Input should be less than or equal to 6 (got 9)",
    ),
    (
        '[fleet.van]\ndepot = "main"\nweekdays = []\n',
        "fleet.van.weekdays: must not be empty",
    ),
    (
        '[fleet.van]\ndepot = "main"\nweekdays = [1, 1]\n',
        "fleet.van.weekdays: 1 is listed twice",
    ),
    (
        '[channels.web]\ntype = "manual"\nwebhook_secret = "${TOKEN"\n',
        "channels.web.webhook_secret: unterminated or malformed ${...} reference; "
        "write ${NAME} or ${NAME:-default}",
    ),
    (
        '[channels.web]\ntype = "manual"\nlocations = ["main", "${WHERE"]\n',
        "channels.web.locations[1]: unterminated or malformed ${...} reference; "
        "write ${NAME} or ${NAME:-default}",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_EXAMPLES)
def test_the_issues_config_examples_are_refused_naming_the_key(tmp_path, text, expected):
    assert refusal(tmp_path, text) == expected


def test_the_issues_config_examples_stop_every_command_before_it_writes(tmp_path, capsys):
    """Through `hub` (as the script runs it): exit 1, the one line, the ledger unchanged."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with make_hub(url, locations={"main": {}, "store": {"kind": "store"}}) as hub:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 3))
        before = hub.read(ledger.levels)
    for i, (text, expected) in enumerate(ISSUE_EXAMPLES):
        path = tmp_path / f"bad{i}.toml"
        path.write_text(f'database.url = "{url}"\n{LOCATIONS}{text}')
        with pytest.raises(SystemExit) as stop:
            main(["stock", "receive", "MUG", "1", "--config", str(path)])
        assert stop.value.code == 1
        assert capsys.readouterr().err.splitlines() == [f"error: {path}: {expected}"]
    with make_hub(url, locations={"main": {}, "store": {"kind": "store"}}) as hub:
        assert hub.read(ledger.levels) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # core sections
        ('[hub]\nname = " "\n', "hub.name: must not be empty"),
        (
            '[hub]\ncurrency = "euro"\n',
            "hub.currency: currency is a three-letter ISO 4217 code such as EUR or USD",
        ),
        ("[web]\nport = 70000\n", "web.port: Input should be less than or equal to 65535"),
        ("[web]\nport = -1\n", "web.port: Input should be greater than or equal to 0"),
        ('[web]\nhost = ""\n', "web.host: must not be empty"),
        (
            '[database]\nurl = "mysql://hub@db/hub"\n',
            "database.url: unsupported database 'mysql' (expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB)",
        ),
        (
            '[database]\nurl = "postgresql+psycopg://hub@db:port/hub"\n',
            "database.url: not a database URL",
        ),
        (
            '[database]\nurl = "postgresql+psycopg://hub@db:5432"\n',
            "database.url: names no database",
        ),
        ("[database]\necho = 3\n", "database.echo: Input should be a valid boolean"),
        (
            '[database]\nurl = "postgresql+psycopg://hub@db:70000/hub"\n',
            "database.url: port 70000 is not a number from 1 to 65535",
        ),
        (
            "[locations.depot]\nlatitude = 55.9\n",
            "locations.depot: give both latitude and longitude, or neither",
        ),
        ("[locations.depot]\nlatitude = 95\nlongitude = 0\n", "locations.depot.latitude"),
        ('[locations.depot]\nkind = "shed"\n', "locations.depot.kind: Input should be"),
        (
            '[locations."two words"]\nkind = "store"\n',
            "locations.two words: not a usable name; use letters, digits, '_', '-' and '.'",
        ),
        # routing and the fleet
        ("[routing]\ntime_limit = 0\n", "routing.time_limit: Input should be greater than 0"),
        ("[routing]\nservice_minutes = -5\n", "routing.service_minutes"),
        ("[routing]\ndrop_penalty = 0\n", "routing.drop_penalty: Input should be greater than 0"),
        ('[routing]\ntimezone = "Mars/Base"\n', "routing.timezone: unknown time zone 'Mars/Base'"),
        (
            '[routing]\nrouter = "nosuch"\n',
            "routing.router: unknown router 'nosuch'; installed: auto, ortools, pyvrp",
        ),
        (
            '[routing]\nchannels = ["nosuch"]\n',
            "routing.channels[0]: unknown channel 'nosuch'; known: none configured",
        ),
        (
            '[channels.web]\ntype = "manual"\n[routing]\nchannels = ["web", "web"]\n',
            "routing.channels: 'web' is listed twice",
        ),
        (
            '[fleet.van]\ndepot = "nowhere"\n',
            "fleet.van.depot: unknown location 'nowhere'; known: main, store",
        ),
        (
            '[fleet.van]\ndepot = "main"\nend_depot = "nowhere"\n',
            "fleet.van.end_depot: unknown location 'nowhere'; known: main, store",
        ),
        (
            '[fleet.van]\ndepot = "store"\n',
            "fleet.van.depot: location 'store' has no latitude and longitude; add them under "
            "[locations.store]",
        ),
        ('[fleet.van]\ndepot = ""\n', "fleet.van.depot: must not be empty"),
        (
            '[fleet.van]\ndepot = "main"\nshift_start = "17:00"\nshift_end = "08:00"\n',
            "fleet.van: shift_end 08:00 is not after shift_start 17:00",
        ),
        (
            '[fleet.van]\ndepot = "main"\nbreak_earliest = "13:00"\nbreak_latest = "12:00"\n'
            "break_minutes = 30\n",
            "fleet.van: break_latest 12:00 is before break_earliest 13:00",
        ),
        (
            '[fleet.van]\ndepot = "main"\nbreak_earliest = "18:00"\nbreak_latest = "19:00"\n'
            "break_minutes = 30\n",
            "fleet.van: the break window 18:00-19:00 is outside the shift 08:00-17:00",
        ),
        (
            '[fleet.van]\ndepot = "main"\nbreak_earliest = "12:00"\n',
            "fleet.van: give both break_earliest and break_latest, or neither",
        ),
        (
            '[fleet.van]\ndepot = "main"\nbreak_minutes = 30\n',
            "fleet.van: break_minutes needs break_earliest and break_latest",
        ),
        (
            '[fleet.van]\ndepot = "main"\nbreak_earliest = "12:00"\nbreak_latest = "13:00"\n',
            "fleet.van: a break window needs break_minutes",
        ),
        ('[fleet.van]\ndepot = "main"\nspeed_kmh = 0\n', "fleet.van.speed_kmh"),
        ('[fleet.van]\ndepot = "main"\nmax_weight_kg = -1\n', "fleet.van.max_weight_kg"),
        ('[fleet.van]\ndepot = "main"\ncost_per_km = -1\n', "fleet.van.cost_per_km"),
        ('[fleet.van]\ndepot = "main"\nskills = ["cold", "cold"]\n', "'cold' is listed twice"),
        # keys every channel has
        (
            '[channels."a:b"]\ntype = "manual"\n',
            "channels.a:b: not a usable name; use letters, digits, '_', '-' and '.'",
        ),
        ('[channels.web]\ntype = "manual"\npoll_interval = 0\n', "channels.web.poll_interval"),
        ('[channels.web]\ntype = "manual"\npush_interval = -1\n', "channels.web.push_interval"),
        (
            '[channels.web]\ntype = "manual"\nreconcile_interval = 0\n',
            "channels.web.reconcile_interval",
        ),
        ('[channels.web]\ntype = "manual"\nrate_per_second = 0\n', "channels.web.rate_per_second"),
        (
            '[channels.web]\ntype = "manual"\nrate_burst = 0.5\n',
            "channels.web.rate_burst: Input should be greater than or equal to 1",
        ),
        (
            '[channels.web]\ntype = "manual"\nwebhook_secret = ""\n',
            "channels.web.webhook_secret: must not be empty",
        ),
        ('[channels.web]\ntype = "telex"\n', "channels.web.type: unknown type 'telex'"),
        (
            "[channels.web]\nlocations = []\n",
            "channels.web.type: required key is missing (one of: ",
        ),
        # Shopify
        (SHOP + 'shop = "not a shop"\n', "channels.shop.shop: shop is the shop's"),
        (SHOP + 'shop = "ftp://acme.example"\n', "channels.shop.shop: shop is a"),
        (
            SHOP + 'shop = "acme.myshopify.com:99999"\n',
            "channels.shop.shop: shop has a port that is not a number from 0 to 65535",
        ),
        (SHOP + 'api_version = "latest"\n', "channels.shop.api_version: api_version looks"),
        (SHOP + "timeout = 0\n", "channels.shop.timeout: Input should be greater than 0"),
        (SHOP + "order_page_size = 0\n", "channels.shop.order_page_size"),
        (SHOP + "order_page_size = 250\n", "makes a page of orders cost"),
        (SHOP + "variant_page_size = 250\n", "variant_page_size 250 makes a page of variants"),
        (SHOP + 'reason = "because"\n', "channels.shop.reason: Input should be 'correction'"),
        (SHOP + 'location = ""\n', "channels.shop.location: must not be empty"),
        (SHOP + 'client_id = "abc"\n', "channels.shop: client_id and client_secret go together"),
        (
            SHOP.replace('access_token = "shpat_x"\n', ""),
            "channels.shop: give access_token, or client_id and client_secret",
        ),
        # WooCommerce
        (WOO + 'url = "shop.example.com"\n', "channels.woo.url: url must start with https://"),
        (WOO + 'url = "https://"\n', "channels.woo.url: url names no host"),
        (WOO + 'url = "https://shop:99999"\n', "channels.woo.url: url has a port that is not"),
        (WOO + 'api_version = "v3"\n', "channels.woo.api_version: String should match"),
        (WOO + "page_size = 101\n", "channels.woo.page_size"),
        (WOO + "timeout = -1\n", "channels.woo.timeout"),
        (WOO + 'consumer_key = ""\n', "channels.woo.consumer_key: must not be empty"),
        (WOO + 'tracking_meta_key = ""\n', "channels.woo.tracking_meta_key"),
    ],
)
def test_every_config_key_refuses_what_cannot_work(tmp_path, text, expected):
    assert expected in refusal(tmp_path, text)
