"""Stable hashing: the same input gives the same digest in any process.

Nothing here depends on ``PYTHONHASHSEED``, set or dict iteration order, or
``random``; randomness in leadroute is a digest of its inputs.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "stable_digest", "unit_draw"]

_TWO_64 = float(2**64)


def canonical_json(obj: Any) -> str:
    """Serialize ``obj`` with sorted keys and no insignificant whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_digest(*parts: object, length: int = 16) -> str:
    """Hex digest (``length`` characters) of the canonical JSON of ``parts``.

    >>> stable_digest("policy", "lead-1") == stable_digest("policy", "lead-1")
    True
    """
    data = canonical_json(list(parts)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:length]


def unit_draw(*parts: object) -> float:
    """A number in ``[0, 1)`` drawn from the SHA-256 of ``parts``.

    Uniform for practical purposes and identical on every machine.

    >>> 0.0 <= unit_draw(7, "lead-1") < 1.0
    True
    """
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    value = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    return value / _TWO_64
