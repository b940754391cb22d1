"""The real clock and the id source: ``SystemClock`` and ``RandomIds``.

``SystemClock`` implements ``kiosk.ports.Clock`` over the operating system's clocks.
``RandomIds`` implements ``kiosk.ports.IdSource``: UUIDv7 text (RFC 9562, laid out by
``kiosk.protocol.ids.uuid7``) from the clock's milliseconds and random bytes.

Ids from one ``RandomIds`` strictly increase: when the clock has not moved past the last id's
millisecond (a burst, or the clock stepped back) the new id takes the next millisecond instead,
so the embedded time may run a few milliseconds ahead during a burst and never goes backwards.
Order across restarts follows the wall clock.

Threads: any; ``RandomIds.new_id`` is guarded by a lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kiosk.ports import Clock
from kiosk.protocol.ids import RANDOM_BYTES, uuid7

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SystemClock:
    """Wall time in UTC from the OS, and ``time.monotonic`` for durations."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class RandomIds:
    """Time-ordered unique ids (UUIDv7 text) from a clock and a source of random bytes."""

    def __init__(self, clock: Clock, randbytes: Callable[[int], bytes] = os.urandom) -> None:
        self._clock = clock
        self._randbytes = randbytes
        self._last_ms = -1
        self._lock = threading.Lock()

    def new_id(self) -> str:
        now = self._clock.now()
        if now.tzinfo is None:
            raise ValueError(f"the clock gave a naive datetime {now!r}; it must be UTC-aware")
        unix_ms = (now - _UNIX_EPOCH) // timedelta(milliseconds=1)
        with self._lock:
            unix_ms = max(unix_ms, self._last_ms + 1)
            self._last_ms = unix_ms
        return uuid7(unix_ms, self._randbytes(RANDOM_BYTES))
