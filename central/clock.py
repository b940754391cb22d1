"""Wall-clock time as RFC 3339 UTC text, for row timestamps and state messages (any thread).

Only timestamps come from here; timeouts use ``time.monotonic`` where they are measured.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_text() -> str:
    """``2026-11-27T09:15:02.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def today_utc() -> str:
    return datetime.now(UTC).date().isoformat()
