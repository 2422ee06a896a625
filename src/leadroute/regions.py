"""Hierarchical region codes.

A region code is a dash-separated path such as ``CN``, ``CN-BJ`` or
``CN-BJ-CY``. A territory covers a region when it equals it or is one of its
ancestors: ``CN`` covers ``CN-BJ`` and ``CN-BJ-CY``; ``CN-BJ`` does not cover
``CN`` or ``CN-SH``. The territory ``*`` covers every region.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
import math

__all__ = ["WILDCARD", "haversine_km", "normalize_region", "region_covers", "region_prefixes"]

WILDCARD = "*"
_EARTH_RADIUS_KM = 6371.0088


def normalize_region(code: str) -> str:
    """Upper-case a region code and strip spaces around its parts (``cn-bj`` -> ``CN-BJ``)."""
    parts = [p.strip().upper() for p in code.strip().split("-")]
    return "-".join(p for p in parts if p)


@functools.lru_cache(maxsize=65536)
def region_prefixes(code: str) -> tuple[str, ...]:
    """Every ancestor of ``code`` and the code itself, shortest first.

    >>> region_prefixes("CN-BJ-CY")
    ('CN', 'CN-BJ', 'CN-BJ-CY')
    """
    parts = code.split("-")
    return tuple("-".join(parts[: i + 1]) for i in range(len(parts)))


def region_covers(territory: str, region: str) -> bool:
    """Whether ``territory`` covers ``region`` (both already normalized).

    >>> region_covers("CN", "CN-BJ"), region_covers("CN-BJ", "CN-SH")
    (True, False)
    """
    if territory == WILDCARD:
        return True
    return region == territory or region.startswith(territory + "-")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
