"""A driver's phone, simulated: it talks to the driver app's REST endpoints over HTTP
(``/api/v1/driver/route``, ``/actions``, ``/pings``) with the driver's token, as the
driver page does, and keeps a queue while it is offline.

For the last-mile demo and the tests that drive the whole path: positions along a leg
(:func:`leg_pings`), a drawn signature and a doorstep photo as real PNG and JPEG files
(:func:`signature_png`, :func:`doorstep_jpeg`), and actions shaped as the API takes them.
Times are the phone's own clock (aware datetimes), sent as ISO 8601.
"""

from __future__ import annotations

import base64
import io
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp

API = "/api/v1/driver"


@dataclass
class DriverPhone:
    """One driver's phone on ``base_url`` (the hub's web app), signed in by ``token``.

    While ``offline``, :meth:`ping` and :meth:`act` queue instead of sending;
    :meth:`send_queue` sends the queue (and keeps it, as a phone that lost the answer
    would: sending it again must record nothing new). Raises :class:`PhoneRefused`
    when the hub answers anything but 200.
    """

    session: aiohttp.ClientSession
    base_url: str
    token: str
    device_id: str
    offline: bool = False
    queued_actions: list[dict[str, Any]] = field(default_factory=list)
    queued_pings: list[dict[str, Any]] = field(default_factory=list)
    queued_route: int | None = None

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(
            method, f"{self.base_url}{API}/{path}", headers=headers, **kw
        ) as answer:
            body = await answer.json()
            if answer.status != 200:
                raise PhoneRefused(answer.status, body)
            return body

    async def route(self, day: date | None = None) -> dict[str, Any]:
        """Today's route (or ``day``'s) as the app shows it."""
        params = {"day": day.isoformat()} if day else None
        return dict(await self._call("GET", "route", params=params))

    async def ping(self, route: int, points: list[tuple[float, float, datetime]]) -> int:
        """Send (or queue) positions; how many the hub recorded as new (0 when queued)."""
        pings = [
            {"latitude": lat, "longitude": lon, "accuracy": 8.0, "at": at.isoformat()}
            for lat, lon, at in points
        ]
        if self.offline:
            self.queued_pings += pings
            self.queued_route = route
            return 0
        body = {"device_id": self.device_id, "route": route, "pings": pings}
        return int((await self._call("POST", "pings", json=body))["recorded"])

    async def act(self, *actions: dict[str, Any]) -> list[str]:
        """Send (or queue) actions; each one's outcome (``recorded``, ``duplicate``), or
        ``queued`` while offline."""
        if self.offline:
            self.queued_actions += actions
            return ["queued"] * len(actions)
        body = {"device_id": self.device_id, "actions": list(actions)}
        results = (await self._call("POST", "actions", json=body))["results"]
        return [r["outcome"] for r in results]

    async def send_queue(self) -> tuple[list[str], int]:
        """Send what was queued: (each action's outcome, pings recorded as new)."""
        outcomes: list[str] = []
        if self.queued_actions:
            sent = {"device_id": self.device_id, "actions": self.queued_actions}
            results = (await self._call("POST", "actions", json=sent))["results"]
            outcomes = [r["outcome"] for r in results]
        recorded = 0
        if self.queued_pings:
            body: dict[str, Any] = {
                "device_id": self.device_id,
                "route": self.queued_route,
                "pings": self.queued_pings,
            }
            recorded = int((await self._call("POST", "pings", json=body))["recorded"])
        return outcomes, recorded


class PhoneRefused(Exception):
    """The hub refused a phone's request: its HTTP status and JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


# -- what a phone sends ----------------------------------------------------------------------


def action(route: int, stop: int, kind: str, at: datetime, **extra: Any) -> dict[str, Any]:
    """An action as the API takes it, with a fresh client id (the phone's)."""
    return {
        "client_id": str(uuid.uuid4()),
        "route": route,
        "stop": stop,
        "kind": kind,
        "at": at.isoformat(),
        **extra,
    }


def delivery(
    route: int, stop: int, at: datetime, recipient: str, position: tuple[float, float]
) -> dict[str, Any]:
    """A delivery with the recipient's name, a drawn signature (PNG) and a photo (JPEG)."""
    return action(
        route,
        stop,
        "deliver",
        at,
        recipient_name=recipient,
        signature=data_url(signature_png(recipient), "png"),
        photo=data_url(doorstep_jpeg(), "jpeg"),
        latitude=position[0],
        longitude=position[1],
        accuracy=6.0,
    )


def data_url(image: bytes, kind: str) -> str:
    """``image`` as a ``data:`` URL, as the driver page sends it."""
    return f"data:image/{kind};base64," + base64.b64encode(image).decode()


def signature_png(name: str, width: int = 240, height: int = 80) -> bytes:
    """A signature drawn with a finger: a wavy stroke, its length after ``name``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    turns = 2 + len(name) % 5
    points = [
        (10 + x, height / 2 + math.sin(x / (width - 20) * turns * 2 * math.pi) * height / 3)
        for x in range(0, width - 20, 4)
    ]
    pen.line(points, fill=(20, 30, 90, 255), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def doorstep_jpeg(width: int = 160, height: int = 120) -> bytes:
    """A photo of a parcel at a door (a brown box before a blue door)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (60, 90, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 3 // 4, width, height), fill=(120, 120, 120))
    draw.rectangle((width // 3, height // 2, width * 2 // 3, height * 7 // 8), fill=(170, 120, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def leg_pings(
    start: tuple[float, float],
    end: tuple[float, float],
    leave: datetime,
    arrive: datetime,
    every: timedelta,
) -> list[tuple[float, float, datetime]]:
    """Positions every ``every`` on the straight line from ``start`` to ``end``, leaving
    at ``leave`` and arriving at ``arrive`` (the arrival itself included)."""
    span = (arrive - leave).total_seconds()
    step = max(every.total_seconds(), 1.0)
    count = max(1, math.ceil(span / step))
    points = []
    for n in range(1, count + 1):
        share = min(1.0, n * step / span) if span > 0 else 1.0
        at = leave + timedelta(seconds=span * share)
        points.append(
            (
                round(start[0] + (end[0] - start[0]) * share, 6),
                round(start[1] + (end[1] - start[1]) * share, 6),
                at,
            )
        )
    return points


__all__ = [
    "DriverPhone",
    "PhoneRefused",
    "action",
    "data_url",
    "delivery",
    "doorstep_jpeg",
    "leg_pings",
    "signature_png",
]
