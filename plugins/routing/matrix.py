"""Built-in travel-time provider: great-circle distance times a road factor, per-vehicle speed.

A provider plugin can ask a real routing engine instead: anything with the
:class:`hub.routing.MatrixProvider` ``matrix(locations, vehicle)`` method will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hub.routing import Location, Vehicle

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class HaversineMatrix:
    """Straight-line distance on the sphere × ``road_factor``, driven at the vehicle's speed."""

    road_factor: float = 1.3

    def matrix(
        self, locations: Sequence[Location], vehicle: Vehicle
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distances (m) and durations (s) between all ``locations`` for ``vehicle``."""
        lat = np.radians([loc.lat for loc in locations])
        lon = np.radians([loc.lon for loc in locations])
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        a = (
            np.sin(dlat / 2) ** 2
            + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
        )
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * self.road_factor
        seconds = metres / (vehicle.speed_kmh / 3.6)
        return metres, seconds


@dataclass(frozen=True)
class EuclideanMatrix:
    """Planar distance between (lat, lon) read as (x, y), truncated to ``decimals``.

    ``scale`` multiplies the result (the Solomon benchmark uses one decimal and a scale
    of 10 so every distance is a whole number); duration equals distance.
    """

    decimals: int = 1
    scale: float = 10.0

    def matrix(
        self, locations: Sequence[Location], vehicle: Vehicle
    ) -> tuple[np.ndarray, np.ndarray]:
        """Truncated Euclidean distances; the same numbers serve as durations."""
        x = np.array([loc.lat for loc in locations], dtype=float)
        y = np.array([loc.lon for loc in locations], dtype=float)
        raw = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        factor = 10.0**self.decimals
        truncated = np.floor(raw * factor) / factor * self.scale
        return truncated, truncated
