"""Per-kiosk seq gap timers: when to ask a kiosk to resend. Pure (the clock is passed in).

Used by the consumer thread (``central.runtime``). Events may arrive out of order (QoS 1
redelivery, two instances, a kiosk republishing), so a gap is first given ``reorder_timeout_s``
to fill by itself. If it is still open then, the runtime asks the kiosk to ``resend`` the
missing range, and asks again after ``resend_interval_s``, doubling up to
``resend_max_interval_s`` while the gap stays open. A gap that moves (its first missing seq
changes) starts a new timer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from central.chain import Progress


@dataclass(slots=True)
class _Gap:
    missing: tuple[int, int]
    opened_at: float
    due_at: float
    interval: float
    requests: int = 0


class GapTracker:
    def __init__(
        self,
        reorder_timeout_s: float,
        resend_interval_s: float,
        resend_max_interval_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.reorder_timeout_s = reorder_timeout_s
        self.resend_interval_s = resend_interval_s
        self.resend_max_interval_s = resend_max_interval_s
        self.clock = clock
        self._gaps: dict[str, _Gap] = {}

    def observe(self, progress: Progress) -> None:
        """Record where ``progress.kiosk_id`` stands after a batch (or a fresh read)."""
        missing = progress.missing
        kiosk = progress.kiosk_id
        if missing is None:
            self._gaps.pop(kiosk, None)
            return
        gap = self._gaps.get(kiosk)
        if gap is not None and gap.missing[0] == missing[0]:
            gap.missing = missing
            return
        now = self.clock()
        self._gaps[kiosk] = _Gap(missing, now, now + self.reorder_timeout_s, self.resend_interval_s)

    def due(self) -> list[tuple[str, tuple[int, int]]]:
        """Kiosks whose gap outlived its timer: (kiosk, (from_seq, to_seq)), by kiosk."""
        now = self.clock()
        return sorted((k, g.missing) for k, g in self._gaps.items() if now >= g.due_at)

    def requested(self, kiosk_id: str) -> None:
        """A resend was just asked for: wait the (growing) interval before asking again."""
        gap = self._gaps[kiosk_id]
        gap.requests += 1
        gap.due_at = self.clock() + gap.interval
        gap.interval = min(gap.interval * 2, self.resend_max_interval_s)

    def open_gaps(self) -> dict[str, tuple[int, int]]:
        return {k: g.missing for k, g in sorted(self._gaps.items())}
