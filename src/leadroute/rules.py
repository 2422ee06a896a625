"""Rules: a condition on the lead and the route that handles it.

Kept for compatibility: :class:`Rule` and :func:`check_route` live in
:mod:`leadroute.policy` since 0.2.0.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from leadroute.policy import Rule, check_route

__all__ = ["Rule", "check_route"]
