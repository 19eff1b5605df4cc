"""The Acme channel adapter: the hub's calls in Acme's REST API (as hub_acme.sandbox serves it)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from hub.channels import Channel, ChannelConfig, OrderPage, WebhookEvent
from hub.errors import ChannelError, UnreadableWebhook
from hub.listingcheck import ListingCollector
from hub.orders import Order, OrderLine, OrderStatus, PaymentStatus, utc
from hub.rest import RestClient, batches, decode_cursor, encode_cursor, paged
from hub.signing import header, verify_hmac
from hub.stock import Listing, StockResult, StockUpdate

from .sandbox import AcmeSandbox


class AcmeConfig(ChannelConfig):
    """A ``[channels.<name>]`` section with ``type = "acme"``."""

    api_url: str = Field(pattern=r"^https?://")  # e.g. https://api.acme.example
    api_key: SecretStr = Field(min_length=1)  # never shown; .get_secret_value()
    page_size: int = Field(default=50, ge=1, le=100)  # records per page when pulling
    timeout: float = Field(default=10.0, gt=0)  # seconds per API call


class AcmeChannel(Channel):
    """One Acme account as a sales channel."""

    type_name: ClassVar[str] = "acme"
    Config: ClassVar[type[ChannelConfig]] = AcmeConfig
    stock_batch_size: ClassVar[int] = 50  # the most updates one POST /v1/stock may carry
    rate_per_second: ClassVar[float] = 4.0  # Acme allows 5 calls in any second: 1 at once
    rate_burst: ClassVar[float] = 1.0  # and 4 a second never make more than 5 in one
    sandbox: ClassVar[Any] = AcmeSandbox

    def __init__(self, name: str, config: ChannelConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, AcmeConfig)
        self.settings = config
        self.client = RestClient(config.api_url, service="Acme", timeout=config.timeout)
        self.client.session.headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"

    def check_connection(self) -> list[str]:
        try:
            self.client.get("/v1/me")
        except ChannelError as error:
            return [str(error)]
        return []

    def fetch_listings(self) -> Iterator[Listing]:
        collector = ListingCollector("Acme", self.name)
        for items, _ in paged(lambda after: self._page("/v1/items", "items", after=after)):
            for item in items:
                sku, quantity = item.get("sku") or "", item.get("quantity")
                listing = Listing(sku, str(item["id"]), quantity=quantity, title=item["name"])
                yield from collector.accept(replace(listing, managed=quantity is not None))
        self.listing_problems = collector.problems()

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        # The cursor keeps the pull's own start, so a resumed pull asks the same question.
        state = decode_cursor(cursor) if cursor else {}
        since = state.get("since") or (updated_since.isoformat() if updated_since else None)

        def fetch(after: str | None) -> tuple[list[Any], str | None]:
            return self._page("/v1/orders", "orders", after=after, updated_since=since)

        for orders, after in paged(fetch, state.get("after")):
            following = encode_cursor({"since": since, "after": after}) if after else None
            yield OrderPage(tuple(self._order(o) for o in orders), cursor=following)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        results = []
        for chunk in batches(updates, self.stock_batch_size):
            body = [{"item_id": u.external_id, "quantity": u.quantity} for u in chunk]
            answer = self.client.post("/v1/stock", {"updates": body})
            held = {str(r["item_id"]): r for r in answer["results"]}
            for u in chunk:
                got = held.get(u.external_id) or {"ok": False, "error": "not in Acme's answer"}
                ok, confirmed, error = bool(got["ok"]), got.get("quantity"), got.get("error", "")
                results.append(StockResult(u.sku, u.external_id, ok, confirmed, error=error))
        return results

    def fulfill(
        self, order_external_id: str, carrier: str, tracking_number: str, tracking_url: str = ""
    ) -> None:
        # Acme answers a fulfilment with the same tracking number again with 200: idempotent.
        self.client.post(
            f"/v1/orders/{order_external_id}/fulfillments",
            {"carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url},
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return verify_hmac(self.settings.webhook_key(), headers, body, "X-Acme-Signature")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        try:
            payload = json.loads(body)
            topic = header(headers, "X-Acme-Topic") or payload["topic"]
        except (ValueError, KeyError, TypeError):
            raise UnreadableWebhook("an Acme delivery without JSON body or topic") from None
        delivery = header(headers, "X-Acme-Delivery")
        if "order" in payload:
            order = self._order(payload["order"])
            return WebhookEvent(topic, delivery, order=order, payload=payload)
        if "item" in payload:  # Acme's own quantity moved: a sale, a restock, an admin edit
            sku, n, at = (payload["item"][k] for k in ("sku", "quantity", "updated_at"))
            return WebhookEvent(
                topic, delivery, skus=(sku,), quantities={sku: n}, occurred_at=utc(at)
            )
        raise UnreadableWebhook(f"Acme delivery {delivery!r} ({topic}) has no order or item")

    def close(self) -> None:
        self.client.close()

    def _page(self, path: str, key: str, **params: Any) -> tuple[list[Any], str | None]:
        answer = self.client.get(path, limit=self.settings.page_size, **params)
        return answer[key], answer.get("next_cursor")

    def _order(self, raw: Mapping[str, Any]) -> Order:
        status = OrderStatus(raw["status"])  # Acme's are open, fulfilled and cancelled
        paid = PaymentStatus.VOIDED if status is OrderStatus.CANCELLED else PaymentStatus.PAID
        lines = tuple(
            OrderLine(ln["sku"], ln["quantity"], Decimal(ln["price"]), external_id=str(ln["id"]))
            for ln in raw["lines"]
        )
        if status is OrderStatus.FULFILLED:  # Acme ships whole orders
            lines = tuple(replace(ln, fulfilled_quantity=ln.quantity) for ln in lines)
        return Order(
            channel=self.name,
            external_id=str(raw["id"]),
            lines=lines,
            currency=raw["currency"],
            total=Decimal(raw["total"]),
            status=status,
            payment_status=paid,
            placed_at=utc(raw["created_at"]),
            updated_at=utc(raw["updated_at"]),
            notes=raw.get("note", ""),
        )
