"""A local emulator of the parts of EasyPost's API v2 the easypost carrier uses.

``POST /v2/shipments`` (rates by weight), ``GET /v2/shipments/{id}``,
``POST /v2/shipments/{id}/buy``, ``POST /v2/shipments/{id}/refund``, the label files
at ``/files/labels/{id}.pdf``, and ``tracker.updated`` events posted to subscribed
webhook URLs, signed as EasyPost signs them: the header ``X-Hmac-Signature`` carries
``hmac-sha256-hex=`` and the hex HMAC-SHA256 of the body keyed with the webhook secret
(docs.easypost.com, Webhooks guide). Bodies, ids (``shp_``, ``rate_``, ``pl_``,
``trk_``, ``evt_``) and errors (``{"error": {"code", "message", "errors"}}``) follow
the API reference. Buying a shipment that has a label already answers 422
``SHIPMENT.POSTAGE.EXISTS``.

Fault knobs (:class:`EasyPostFaults`): those of :class:`hub.sandbox.Faults` (429, 503,
time-outs, ``lost_answers``: the buy is carried out and its answer held past the
client's time-out, malformed bodies) and ``already_purchased``: the next buy is carried
out but answered with the 422 a repeated request gets; ``lost_buy_answers``: the next
buy is carried out and its answer held past the client's time-out. ``charges`` counts postage
charged per shipment, so a test sees one label bought once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from hub.sandbox import Faults, SandboxServer, WebhookDispatcher, fault_middleware

OUNCE_GRAMS = 28.349523125

#: (carrier, service, base price, price per ounce, business days)
SERVICES = (
    ("USPS", "GroundAdvantage", Decimal("5.10"), Decimal("0.12"), 5),
    ("USPS", "Priority", Decimal("8.20"), Decimal("0.20"), 2),
    ("UPS", "NextDayAir", Decimal("24.00"), Decimal("0.35"), 1),
)


@dataclass
class EasyPostFaults(Faults):
    """The common fault knobs, plus ``already_purchased``: the next buy is carried out
    but answered 422 ``SHIPMENT.POSTAGE.EXISTS``, as a repeated request would be; and
    ``lost_buy_answers``: the next buy is carried out and its answer held
    ``timeout_seconds`` (past the client's time-out), as ``lost_answers`` does for any
    request."""

    already_purchased: int = 0
    lost_buy_answers: int = 0  # the next buy is carried out; its answer is held too long


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hmac-Signature`` value EasyPost sends with ``body``."""
    return "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message, "errors": []}}, status=status
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class EasyPostSandbox:
    """EasyPost's state in memory: shipments, charges, refunds, webhook subscriptions."""

    api_key: str = "EZTK_sandbox_key"
    webhook_secret: str = "sandbox-webhook-secret"
    faults: EasyPostFaults = field(default_factory=EasyPostFaults)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, int] = field(default_factory=dict)  # shipment id -> labels charged
    buy_calls: int = 0
    base_url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.hooks = WebhookDispatcher(self.faults, self._headers, name="easypost-hooks")

    # -- the API --------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application answering EasyPost's API."""
        app = web.Application(middlewares=[self._auth, fault_middleware(self.faults)])
        app.router.add_post("/v2/shipments", self._create)
        app.router.add_get("/v2/shipments/{id}", self._retrieve)
        app.router.add_post("/v2/shipments/{id}/buy", self._buy)
        app.router.add_post("/v2/shipments/{id}/refund", self._refund)
        app.router.add_get("/files/labels/{id}.pdf", self._label_file)
        return app

    def serve(self) -> SandboxServer:
        """A server for the sandbox (not started); ``base_url`` is set once it runs."""
        sandbox = self

        class Server(SandboxServer):
            def start(self) -> SandboxServer:
                super().start()
                sandbox.base_url = self.url
                return self

        return Server(self.app())

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A ``[carriers.NAME]`` section connecting the easypost carrier to this sandbox."""
        return {
            "type": "easypost",
            "api_key": self.api_key,
            "api_base": f"{url}/v2",
            "webhook_secret": self.webhook_secret,
            "from_address": {
                "name": "Hub Warehouse",
                "street1": "1600 Champa St",
                "city": "Denver",
                "state": "CO",
                "zip": "80202",
                "country": "US",
                "phone": "3035550100",
            },
            **extra,
        }

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/v2/"):
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
                return _error(401, "APIKEY.INACTIVE", "This api key is no longer active.")
        return await handler(request)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{secrets.token_hex(6)}"

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        data = body.get("shipment") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return _error(422, "PARAMETER.REQUIRED", "Missing required parameter: shipment.")
        for part in ("to_address", "from_address", "parcel"):
            if not isinstance(data.get(part), dict):
                return _error(422, "PARAMETER.REQUIRED", f"Missing required parameter: {part}.")
        to = data["to_address"]
        missing = [k for k in ("street1", "city", "zip", "country") if not to.get(k)]
        if missing:
            return _error(
                422, "ADDRESS.VERIFY.FAILURE", f"to_address is missing {', '.join(missing)}."
            )
        weight = float(data["parcel"].get("weight") or 0)
        if weight <= 0:
            return _error(422, "PARCEL.WEIGHT.INVALID", "parcel.weight must be positive.")
        with self._lock:
            shipment_id = self._new_id("shp")
            shipment = {
                "id": shipment_id,
                "object": "Shipment",
                "mode": "test",
                "reference": data.get("reference"),
                "to_address": {"object": "Address", **to},
                "from_address": {"object": "Address", **data["from_address"]},
                "parcel": {"object": "Parcel", "weight": weight},
                "options": data.get("options") or {},
                "rates": [self._rate(shipment_id, s, weight) for s in SERVICES],
                "selected_rate": None,
                "postage_label": None,
                "tracking_code": None,
                "tracker": None,
                "refund_status": None,
                "status": "unknown",
                "created_at": _stamp(),
                "updated_at": _stamp(),
            }
            self.shipments[shipment_id] = shipment
        return web.json_response(shipment, status=201)

    def _rate(self, shipment_id: str, service: tuple, weight: float) -> dict[str, Any]:
        carrier, name, base, per_ounce, days = service
        price = (base + per_ounce * Decimal(str(weight))).quantize(Decimal("0.01"))
        return {
            "id": self._new_id("rate"),
            "object": "Rate",
            "mode": "test",
            "shipment_id": shipment_id,
            "carrier": carrier,
            "service": name,
            "rate": str(price),
            "currency": "USD",
            "delivery_days": days,
            "delivery_date": None,
            "delivery_date_guaranteed": False,
        }

    def _find(self, request: web.Request) -> dict[str, Any] | None:
        return self.shipments.get(request.match_info["id"])

    async def _retrieve(self, request: web.Request) -> web.Response:
        shipment = self._find(request)
        if shipment is None:
            return _error(404, "NOT_FOUND", "The requested resource could not be found.")
        return web.json_response(shipment)

    async def _buy(self, request: web.Request) -> web.Response:
        body = await request.json()
        rate_id = ((body or {}).get("rate") or {}).get("id")
        with self._lock:
            self.buy_calls += 1
            shipment = self._find(request)
            if shipment is None:
                return _error(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"] is not None:
                return self._already()
            rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if rate is None:
                return _error(422, "SHIPMENT.RATE.INVALID", f"Rate {rate_id} is not a rate of it.")
            self._purchase(shipment, rate)
            answer = self._already() if self.faults.take("already_purchased") else None
            lost = self.faults.take("lost_buy_answers")
        if lost:
            await asyncio.sleep(self.faults.timeout_seconds)
        return answer or web.json_response(shipment)

    def _already(self) -> web.Response:
        return _error(
            422, "SHIPMENT.POSTAGE.EXISTS", "The requested shipment has already been purchased."
        )

    def _purchase(self, shipment: dict[str, Any], rate: dict[str, Any]) -> None:
        shipment_id = shipment["id"]
        self.charges[shipment_id] = self.charges.get(shipment_id, 0) + 1
        tracking = f"9400{next(self._ids):018d}"
        label_id = self._new_id("pl")
        shipment.update(
            selected_rate=rate,
            tracking_code=tracking,
            status="pre_transit",
            updated_at=_stamp(),
            postage_label={
                "id": label_id,
                "object": "PostageLabel",
                "label_file_type": "application/pdf",
                "label_pdf_url": f"{self.base_url}/files/labels/{shipment_id}.pdf",
                "label_url": f"{self.base_url}/files/labels/{shipment_id}.pdf",
                "label_date": _stamp(),
            },
            tracker={
                "id": self._new_id("trk"),
                "object": "Tracker",
                "tracking_code": tracking,
                "status": "pre_transit",
                "public_url": f"https://track.easypost.com/{tracking}",
                "shipment_id": shipment_id,
                "carrier": rate["carrier"],
                "est_delivery_date": None,
                "tracking_details": [],
            },
        )

    async def _refund(self, request: web.Request) -> web.Response:
        with self._lock:
            shipment = self._find(request)
            if shipment is None:
                return _error(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"] is None:
                return _error(422, "SHIPMENT.REFUND.UNAVAILABLE", "The shipment has no postage.")
            if shipment["refund_status"] is None:
                shipment["refund_status"] = "submitted"
            return web.json_response(shipment)

    async def _label_file(self, request: web.Request) -> web.Response:
        shipment = self._find(request)
        if shipment is None or shipment["postage_label"] is None:
            return web.Response(status=404, text="no such label")
        return web.Response(body=label_pdf(shipment), content_type="application/pdf")

    # -- webhooks ---------------------------------------------------------------------------

    def subscribe(self, url: str) -> None:
        """Post ``tracker.updated`` events to ``url`` (a webhook with the sandbox's secret)."""
        self.hooks.subscribe("tracker.updated", url, self.webhook_secret)

    def _headers(self, sub: Any, topic: str, body: bytes, delivery_id: int) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Hmac-Signature": signature(sub.secret, body)}

    def track(
        self,
        shipment_id: str,
        status: str,
        *,
        message: str = "",
        est_delivery_date: str | None = None,
        at: str | None = None,
        city: str = "",
    ) -> dict[str, Any]:
        """The carrier scans the parcel: the tracker changes and a ``tracker.updated``
        event is queued for every subscription (posted by ``hooks.deliver()``)."""
        with self._lock:
            tracker = self.shipments[shipment_id]["tracker"]
            detail = {
                "object": "TrackingDetail",
                "status": status,
                "message": message or status.replace("_", " ").capitalize(),
                "datetime": at or _stamp(),
                "tracking_location": {"object": "TrackingLocation", "city": city or None},
            }
            tracker["tracking_details"].append(detail)
            tracker["status"] = status
            tracker["est_delivery_date"] = est_delivery_date
            event = {
                "object": "Event",
                "id": self._new_id("evt"),
                "description": "tracker.updated",
                "mode": "test",
                "created_at": _stamp(),
                "result": dict(tracker),
            }
        self.hooks.enqueue("tracker.updated", event)
        return event


def label_pdf(shipment: dict[str, Any]) -> bytes:
    """A 4x6 in label as the sandbox serves it: service, tracking number, recipient."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(102 * mm, 152 * mm))
    rate = shipment["selected_rate"] or {}
    to = shipment["to_address"]
    page.setFont("Helvetica-Bold", 14)
    page.drawString(8 * mm, 140 * mm, f"{rate.get('carrier', '')} {rate.get('service', '')}")
    page.setFont("Helvetica", 10)
    lines = [to.get("name") or "", to.get("street1") or "", f"{to.get('city')} {to.get('zip')}"]
    for i, line in enumerate(lines):
        page.drawString(8 * mm, (120 - 6 * i) * mm, line)
    page.drawString(8 * mm, 20 * mm, f"TRACKING {shipment['tracking_code']}")
    page.showPage()
    page.save()
    return out.getvalue()
