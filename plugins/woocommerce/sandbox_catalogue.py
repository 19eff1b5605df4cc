"""Products and variations as the sandbox creates them: every documented field, with
Woo's defaults, so the JSON the sandbox serves looks like a real store's."""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]


def slugify(name: str) -> str:
    """A WordPress-like slug: lower case, dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _common(item_id: int, data: JSON) -> JSON:
    manage = data.get("manage_stock", data.get("stock_quantity") is not None) is True
    regular = str(data.get("regular_price", ""))
    sale = str(data.get("sale_price", ""))
    return {
        "id": item_id,
        "description": "",
        "permalink": "",
        "sku": data.get("sku", ""),
        "price": sale or regular,
        "regular_price": regular,
        "sale_price": sale,
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": bool(sale),
        "status": data.get("status", "publish"),
        "purchasable": True,
        "virtual": bool(data.get("virtual", False)),
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": manage,
        "stock_quantity": int(data["stock_quantity"]) if manage else None,
        "stock_status": "instock",
        "backorders": data.get("backorders", "no"),
        "backorders_allowed": data.get("backorders", "no") != "no",
        "backordered": False,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "meta_data": [],
    }


def new_product(item_id: int, data: JSON, dates: JSON) -> JSON:
    """A product (``simple`` unless ``data["type"]`` says otherwise) from a create body."""
    name = data.get("name") or data.get("sku") or f"Product {item_id}"
    product = _common(item_id, data)
    product.update(dates)
    product.update(
        {
            "name": name,
            "slug": slugify(name),
            "type": data.get("type", "simple"),
            "featured": False,
            "catalog_visibility": "visible",
            "short_description": "",
            "price_html": "",
            "total_sales": 0,
            "external_url": "",
            "button_text": "",
            "sold_individually": False,
            "shipping_required": not data.get("virtual", False),
            "shipping_taxable": True,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": [],
            "tags": [],
            "images": [],
            "attributes": data.get("attributes", []),
            "default_attributes": [],
            "variations": [],
            "grouped_products": [],
            "menu_order": 0,
        }
    )
    return product


def new_variation(item_id: int, parent_id: int, data: JSON, dates: JSON) -> JSON:
    """A variation of ``parent_id`` from a create body."""
    variation = _common(item_id, data)
    variation.update(dates)
    variation.update(
        {
            "parent_id": parent_id,
            "image": None,
            "menu_order": 0,
            "attributes": data.get("attributes", []),
        }
    )
    return variation
