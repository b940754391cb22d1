"""When and where a promotion runs: date range, days of the week, hours of the day. Pure core.

Called from the lane thread (through ``kiosk.promotions.engine``) and by the promotion file
parser. Times are the store's local wall-clock time: the lane passes ``now`` in the context and
the engine never reads a clock, so the same basket at the same moment gives the same result on
every kiosk and on the central side.

A ``Schedule`` is active at ``now`` when all of these hold:

- ``start <= now`` (when ``start`` is set) and ``now < end`` (when ``end`` is set);
- ``now``'s weekday is in ``days`` (when ``days`` is not empty; 0 is Monday, 6 is Sunday);
- ``now``'s minute of the day falls in one of ``hours`` (when ``hours`` is not empty), each a
  half-open window ``[from, to)`` of minutes since midnight; ``to`` may be 1440 (``24:00``).
  A window never crosses midnight: write ``22:00-24:00`` and ``00:00-02:00``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

DAY_NAMES: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY: Final = 1440


@dataclass(frozen=True, slots=True)
class Schedule:
    """A promotion's time window. The default is always active."""

    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    days: frozenset[int] = frozenset()  # weekday numbers, 0 = Monday; empty = every day
    hours: tuple[tuple[int, int], ...] = ()  # [from, to) minutes of the day; empty = all day

    def is_active(self, now: datetime) -> bool:
        """Whether the promotion runs at ``now`` (store-local wall-clock time)."""
        if self is ALWAYS:
            return True
        wall = now if now.tzinfo is None else now.replace(tzinfo=None)
        if self.start is not None and wall < self.start:
            return False
        if self.end is not None and wall >= self.end:
            return False
        if self.days and wall.weekday() not in self.days:
            return False
        if self.hours:
            minute = wall.hour * 60 + wall.minute
            return any(low <= minute < high for low, high in self.hours)
        return True


ALWAYS: Final = Schedule()


def parse_day(name: str) -> int:
    """``"mon"`` .. ``"sun"`` (any case, or the full English name) to 0 .. 6."""
    key = name.strip().lower()[:3]
    if len(name.strip()) < 3 or key not in DAY_NAMES:
        raise ValueError(f"{name!r} is not a day of the week; use one of {', '.join(DAY_NAMES)}")
    return DAY_NAMES.index(key)


def _minute(text: str, window: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{window!r} is not a window like '08:00-12:30'")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        raise ValueError(f"{text.strip()!r} in {window!r} is not a time of day (00:00 to 24:00)")
    return value


def parse_hours(window: str) -> tuple[int, int]:
    """``"08:00-12:30"`` to ``(480, 750)``; ``24:00`` is allowed as an end."""
    low_text, sep, high_text = window.partition("-")
    if not sep:
        raise ValueError(f"{window!r} is not a window like '08:00-12:30'")
    low, high = _minute(low_text, window), _minute(high_text, window)
    if low >= high:
        raise ValueError(
            f"{window!r} must end after it starts; a window never crosses midnight "
            "(write '22:00-24:00' and '00:00-02:00')"
        )
    return low, high


def parse_moment(text: str, *, end: bool) -> datetime:
    """An ISO date or date-time (store-local) to a datetime.

    A bare date as a start means 00:00 of that day; as an end it means the whole day is
    included (the end is 00:00 of the next day, exclusive). A time zone is refused: promotion
    times are store-local wall-clock times.
    """
    value = text.strip()
    if "T" not in value and " " not in value:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO date (2026-11-27)") from None
        moment = datetime.combine(day, time())
        return moment + timedelta(days=1) if end else moment
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date-time (2026-11-27T08:00)") from None
    if moment.tzinfo is not None:
        raise ValueError(f"{text!r} has a time zone; write the store's local time without one")
    return moment
