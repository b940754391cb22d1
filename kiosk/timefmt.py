"""Time formatting rules: RFC 3339 UTC stamps and the store's business day. Pure core."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T09:15:02.123Z``: UTC, millisecond precision. ``moment`` must be aware."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; pass an aware one")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def business_day(moment: datetime, tz: tzinfo, cutoff_hour: int) -> date:
    """The store's business day: local date, but times before ``cutoff_hour`` (e.g. 04:00)
    still belong to the previous day, so a late-night shift closes on one day."""
    local = moment.astimezone(tz)
    day = local.date()
    if local.hour < cutoff_hour:
        day -= timedelta(days=1)
    return day


def local_display(moment: datetime, tz: tzinfo) -> str:
    """``2026-11-27 17:15`` in the store's time zone, for receipts and screens."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
