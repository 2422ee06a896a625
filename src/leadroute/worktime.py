"""Working time in a rep's own time zone: next start, and deadlines in working hours.

Intervals are wall-clock times in the rep's zone, so they follow daylight
saving changes (a 09:00 start stays 09:00 local on both sides of a change).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from leadroute.models import Rep

__all__ = ["add_working_time", "available_days", "next_work_start", "working_intervals"]

_HORIZON_DAYS = 400


def working_intervals(rep: Rep, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The rep's working intervals (UTC, in order) that end after ``start``, skipping away windows.

    Without ``working_hours`` the rep is always working (one open-ended interval).
    """
    hours = rep.hours_minutes
    if hours is None:
        yield start, datetime.max.replace(tzinfo=UTC)
        return
    zone = rep.zone
    day = start.astimezone(zone).date() - timedelta(days=1)
    for _ in range(_HORIZON_DAYS):
        for s, e in hours[day.weekday()]:
            a, b = _interval(day, s, e, zone)
            if b <= start:
                continue
            yield from _minus_away(rep, max(a, start), b)
        day += timedelta(days=1)


def _interval(day: date, start: int, end: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """The UTC bounds of local minutes ``start``..``end`` of ``day`` (``end`` 1440 is midnight)."""
    a = datetime.combine(day, time(start // 60, start % 60), tzinfo=zone)
    b = (
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        if end >= 24 * 60
        else datetime.combine(day, time(end // 60, end % 60), tzinfo=zone)
    )
    return a.astimezone(UTC), b.astimezone(UTC)


def _minus_away(rep: Rep, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
    pieces = [(a, b)]
    for w in rep.away:
        ws, we = w.start.astimezone(UTC), w.end.astimezone(UTC)
        nxt: list[tuple[datetime, datetime]] = []
        for x, y in pieces:
            if we <= x or ws >= y:
                nxt.append((x, y))
                continue
            if x < ws:
                nxt.append((x, ws))
            if we < y:
                nxt.append((we, y))
        pieces = nxt
    yield from (p for p in pieces if p[0] < p[1])


def next_work_start(rep: Rep, at: datetime) -> datetime | None:
    """When the rep is next at work at or after ``at`` (``at`` itself if working now)."""
    for a, _b in working_intervals(rep, at):
        return a
    return None


def add_working_time(rep: Rep, start: datetime, duration: timedelta) -> datetime:
    """The moment when ``duration`` of the rep's working time has passed since ``start``.

    >>> from datetime import timezone
    >>> rep = Rep(id="li", timezone="Asia/Shanghai", working_hours={"mon": ("09:00-18:00",)})
    >>> monday_5pm = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)      # 17:00 in Shanghai
    >>> add_working_time(rep, monday_5pm, timedelta(hours=2)).isoformat()  # 1h Monday + 1h next Monday
    '2026-03-09T02:00:00+00:00'
    """
    left = duration
    for a, b in working_intervals(rep, start):
        if b - a >= left:
            return a + left
        left -= b - a
    return datetime.max.replace(tzinfo=UTC)


def available_days(rep: Rep, today: date, period_days: int) -> int:
    """Local days in the ``period_days`` ending ``today`` on which the rep could work.

    A day counts when some of its working time (all of it, without
    ``working_hours``) is outside every ``away`` window.

    >>> from datetime import timezone
    >>> from leadroute.models import TimeWindow
    >>> utc = timezone.utc
    >>> away = TimeWindow(start=datetime(2026, 3, 1, tzinfo=utc), end=datetime(2026, 3, 21, tzinfo=utc))
    >>> available_days(Rep(id="li", away=(away,)), date(2026, 3, 30), 30)
    10
    """
    zone = rep.zone
    hours = rep.hours_minutes
    count = 0
    for back in range(period_days):
        day = today - timedelta(days=back)
        spans = [(0, 24 * 60)] if hours is None else list(hours[day.weekday()])
        for s, e in spans:
            a, b = _interval(day, s, e, zone)
            if any(True for _ in _minus_away(rep, a, b)):
                count += 1
                break
    return count
