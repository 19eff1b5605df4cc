"""Builders for small routing problems near (0°, 0°): a depot, stops a few km apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hub.routing import Location, Shift, Stop, Vehicle

DAY = date(2025, 6, 2)
DEPOT = Location(0.0, 0.0, "depot")
REFERENCE = Path(__file__).resolve().parents[2] / "reference"  # tests/reference
LIMIT = 0.5  # seconds per solve: these problems are tiny


def at(hour: float, day: date = DAY) -> datetime:
    """``hour`` o'clock (UTC) on ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def shift(day: date = DAY, start: float = 8, end: float = 18, **kwargs: object) -> Shift:
    return Shift(at(start, day), at(end, day), **kwargs)  # type: ignore[arg-type]


def vehicle(vid: str = "van1", **kwargs: object) -> Vehicle:
    kwargs.setdefault("shifts", (shift(),))
    return Vehicle(vid, DEPOT, **kwargs)  # type: ignore[arg-type]


def stop(sid: str, north_km: float = 1.0, east_km: float = 0.0, **kwargs: object) -> Stop:
    """A stop ``north_km``/``east_km`` from the depot (one degree is about 111 km)."""
    return Stop(sid, Location(north_km / 111.2, east_km / 111.2, sid), **kwargs)  # type: ignore[arg-type]


def ring(count: int, radius_km: float = 3.0, **kwargs: object) -> list[Stop]:
    """``count`` stops spread around the depot."""
    import math

    return [
        stop(
            f"s{n}",
            radius_km * math.cos(2 * math.pi * n / count),
            radius_km * math.sin(2 * math.pi * n / count),
            **kwargs,
        )
        for n in range(count)
    ]
