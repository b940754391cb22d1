"""Exponential backoff with jitter, for reconnecting to brokers and retrying refused publishes.

Used on the sync agent's one thread. Delay n (0-based) is ``min(max_s, min_s * 2**n)`` with
"equal jitter": a random point in its upper half, so a fleet of kiosks that lost the same
broker does not come back in lockstep, and no wait is shorter than half the nominal delay.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    min_s: float
    max_s: float
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise ValueError(f"backoff needs 0 < min_s <= max_s, got {self.min_s}, {self.max_s}")

    def nominal(self) -> float:
        """The delay before jitter for the next failure (without counting it)."""
        # 2**64 is far beyond any max_s; the cap keeps the power finite.
        return min(self.max_s, math.ldexp(self.min_s, min(self.failures, 64)))

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait before the next try."""
        cap = self.nominal()
        self.failures += 1
        return cap / 2 + self.rng.uniform(0, cap / 2)

    def reset(self) -> None:
        self.failures = 0
