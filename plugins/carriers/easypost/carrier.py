"""The EasyPost carrier on the official ``easypost`` client (v10+).

Shipments are created with the hub's label reference (``reference``), bought with the
rate the hub chose, read back by id (``GET /v2/shipments/{id}``) before and after a buy
whose answer did not come, and refunded (``POST /v2/shipments/{id}/refund``) when a
person voids a label. Tracker webhooks are verified with the client's own
``easypost.util.validate_webhook`` (HMAC-SHA256 of the body, hex, in
``X-Hmac-Signature``, compared in constant time).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import easypost
import requests
from easypost.errors import ApiError, EasyPostError, SignatureVerificationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub import (
    AlreadyPurchased,
    Carrier,
    CarrierConfig,
    CarrierError,
    Label,
    LabelRequest,
    PluginConfig,
    Quote,
    Rate,
    TrackingUpdate,
    delivery_day,
)

OUNCE_GRAMS = 28.349523125
RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
T = TypeVar("T")


class FromAddress(BaseModel):
    """Where parcels leave from, in EasyPost's address fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    company: str = ""
    street1: str = Field(min_length=1)
    street2: str = ""
    city: str = Field(min_length=1)
    state: str = ""
    zip: str = Field(min_length=1)
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    phone: str = ""


class EasyPostConfig(CarrierConfig):
    """``[carriers.NAME]`` with ``type = "easypost"``."""

    api_key: SecretStr = Field(min_length=1)
    api_base: str = "https://api.easypost.com/v2"
    webhook_secret: SecretStr | None = Field(default=None, min_length=1)
    timeout: float = Field(default=30.0, gt=0)  # seconds the client waits for an answer
    from_address: FromAddress
    services: list[str] = []  # only these services (e.g. "Priority"); empty: all offered


def _sandbox() -> Any:
    """A new :class:`~hub_plugins.carriers.easypost.sandbox.EasyPostSandbox` (imported here,
    for demos and tests, not with the plugin)."""
    from hub_plugins.carriers.easypost.sandbox import EasyPostSandbox

    return EasyPostSandbox()


class EasyPostCarrier(Carrier):
    """Labels and tracking through EasyPost."""

    type_name = "easypost"
    Config = EasyPostConfig
    sandbox = staticmethod(_sandbox)
    config: EasyPostConfig

    def __init__(self, name: str, config: PluginConfig) -> None:
        super().__init__(name, config)
        self._local = threading.local()  # a client per thread: requests.Session is not shared

    @property
    def client(self) -> easypost.EasyPostClient:
        """This thread's EasyPost client."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = easypost.EasyPostClient(
                self.config.api_key.get_secret_value(),
                api_base=self.config.api_base.rstrip("/"),
                timeout=self.config.timeout,  # type: ignore[arg-type]
            )
            self._local.client = client
        return client

    def quote(self, request: LabelRequest) -> Quote:
        """Create an EasyPost shipment carrying ``request.reference``; its rates."""
        to = request.to_address
        params = {
            "reference": request.reference,
            "to_address": {
                "name": to.name,
                "company": to.company,
                "street1": to.line1,
                "street2": to.line2,
                "city": to.city,
                "state": to.region,
                "zip": to.postcode,
                "country": to.country,
                "phone": to.phone,
                "email": request.to_email,
            },
            "from_address": self.config.from_address.model_dump(),
            "parcel": {"weight": round(max(request.weight_grams, 1) / OUNCE_GRAMS, 1)},
            "options": {"label_format": "PDF", "print_custom_1": request.order_number},
        }
        shipment = self._call(lambda: self.client.shipment.create(**params))
        rates = tuple(
            _rate(r)
            for r in shipment.get("rates") or []
            if not self.config.services or r["service"] in self.config.services
        )
        return Quote(shipment["id"], rates)

    def buy(self, carrier_shipment_id: str, rate: Rate) -> Label:
        """Buy ``rate``; 422 ``SHIPMENT.POSTAGE.EXISTS`` raises :class:`AlreadyPurchased`."""
        shipment = self._call(
            lambda: self.client.shipment.buy(carrier_shipment_id, rate={"id": rate.rate_id})
        )
        label = _label(shipment)
        if label is None:
            raise CarrierError(f"EasyPost bought {carrier_shipment_id} but sent no label")
        return label

    def read_back(self, carrier_shipment_id: str) -> Label | None:
        """The label EasyPost's shipment holds, or None when it was never bought."""
        return _label(self._call(lambda: self.client.shipment.retrieve(carrier_shipment_id)))

    def void(self, label: Label) -> str:
        """Ask EasyPost to refund the label; returns its ``refund_status`` (``submitted``)."""
        shipment = self._call(lambda: self.client.shipment.refund(label.carrier_shipment_id))
        return str(shipment.get("refund_status") or "submitted")

    def label_file(self, label: Label, request: LabelRequest) -> bytes:
        """Download the label's PDF from ``label_url``."""
        try:
            answer = requests.get(label.label_url, timeout=self.config.timeout)
        except requests.RequestException as error:
            raise CarrierError(f"EasyPost label file: {error}", retryable=True) from None
        if answer.status_code != 200:
            raise CarrierError(
                f"EasyPost label file answered {answer.status_code}",
                retryable=answer.status_code in RETRYABLE_STATUSES,
                status=answer.status_code,
            )
        return answer.content

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when ``X-Hmac-Signature`` is the body's signature with the webhook secret."""
        if self.config.webhook_secret is None:
            return False
        found = {k.lower(): v for k, v in headers.items()}.get("x-hmac-signature")
        if not found:
            return False
        try:
            easypost.util.validate_webhook(
                body, {"X-Hmac-Signature": found}, self.config.webhook_secret.get_secret_value()
            )
        except (SignatureVerificationError, ValueError):
            return False
        return True

    def parse_tracking(
        self, headers: Mapping[str, str], body: bytes, zone: ZoneInfo
    ) -> list[TrackingUpdate]:
        """The newest tracking detail of a ``tracker.updated`` event."""
        event = json.loads(body)
        if event.get("description") != "tracker.updated":
            return []
        tracker = event["result"]
        details = tracker.get("tracking_details") or []
        latest = details[-1] if details else {}
        where = latest.get("tracking_location") or {}
        return [
            TrackingUpdate(
                tracking_number=tracker["tracking_code"],
                status=latest.get("status") or tracker["status"],
                occurred_at=_moment(latest.get("datetime") or event.get("created_at")),
                message=latest.get("message") or "",
                location=", ".join(v for v in (where.get("city"), where.get("state")) if v),
                estimated_delivery=delivery_day(tracker.get("est_delivery_date"), zone),
                carrier_shipment_id=tracker.get("shipment_id") or "",
            )
        ]

    def _call(self, work: Callable[[], Any]) -> dict[str, Any]:
        """Run one client call; its answer as a dict, errors as :class:`CarrierError`."""
        try:
            answer = work()
        except ApiError as error:
            raise _carrier_error(error) from None
        except EasyPostError as error:  # a time-out or a connection that failed
            raise CarrierError(f"EasyPost: {error}", retryable=True) from None
        return answer.to_dict() if hasattr(answer, "to_dict") else dict(answer)


def _carrier_error(error: ApiError) -> CarrierError:
    status = error.http_status
    code = f" {error.code}" if error.code else ""
    text = f"EasyPost answered {status}{code}: {error.message}" if status else f"EasyPost: {error}"
    if error.code == "SHIPMENT.POSTAGE.EXISTS":
        return AlreadyPurchased(text, status=status)
    retryable = status is None or status in RETRYABLE_STATUSES
    return CarrierError(text, retryable=retryable, status=status)


def _rate(raw: Mapping[str, Any]) -> Rate:
    return Rate(
        service=raw["service"],
        amount=Decimal(str(raw["rate"])),
        currency=raw.get("currency") or "USD",
        rate_id=raw["id"],
        delivery_days=raw.get("delivery_days"),
        delivery_date=delivery_day(raw.get("delivery_date"), "UTC"),
        carrier=raw.get("carrier") or "",
    )


def _label(shipment: Mapping[str, Any]) -> Label | None:
    postage = shipment.get("postage_label")
    if not postage:
        return None
    rate = shipment.get("selected_rate") or {}
    tracker = shipment.get("tracker") or {}
    return Label(
        carrier_shipment_id=shipment["id"],
        tracking_number=shipment.get("tracking_code") or "",
        service=f"{rate.get('carrier', '')} {rate.get('service', '')}".strip(),
        postage=Decimal(str(rate.get("rate") or "0")),
        currency=rate.get("currency") or "USD",
        tracking_url=tracker.get("public_url") or "",
        label_url=postage.get("label_pdf_url") or postage.get("label_url") or "",
        rate_id=rate.get("id") or "",
        carrier=rate.get("carrier") or "",
    )


def _moment(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
