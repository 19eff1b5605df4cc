"""The commented starter configuration that ``hub init`` writes."""

from __future__ import annotations

from pathlib import Path

STARTER = """\
# The hub's configuration. Every key is explained in config/hub.example.toml.
# Secrets: write ${ENV_VAR} and set the variable in the environment; never commit them.

[hub]
name = "My shop"
currency = "USD"

[database]
# SQLite file next to this config; for PostgreSQL:
# url = "postgresql+psycopg://user@127.0.0.1:5432/hub"
url = "sqlite:///hub.db"

[web]
host = "127.0.0.1"
port = 8080

# Warehouses and stores that hold stock. The key is the location's code.
[locations.main]
name = "Main warehouse"
kind = "warehouse"
# latitude = 52.52
# longitude = 13.405

# Connect a channel: uncomment and fill in (see config/hub.example.toml).
# [channels.shop]
# type = "shopify"
# shop = "my-store.myshopify.com"
# access_token = "${SHOPIFY_ACCESS_TOKEN}"
# webhook_secret = "${SHOPIFY_WEBHOOK_SECRET}"
# locations = ["main"]
# safety_buffer = 1
"""


def write_starter_config(path: Path) -> None:
    """Write the starter configuration to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER, encoding="utf-8")
