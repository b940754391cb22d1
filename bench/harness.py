"""Measuring helpers shared by the benchmarks: statistics, same-run floors, interleaving.

Runs on the bench's single main thread. Every figure is kept as raw nanosecond samples and
summarised with linearly interpolated percentiles (the numpy default): p99 of 300 samples lies
between the 297th and the 298th smallest.

Floors are the cost of the bare mechanism the kiosk cannot beat on this machine, measured in the
same run and on the same file system as the figure they stand beside:

- ``FsyncFloor``: ``os.pwrite`` of 512 bytes into a preallocated file, then ``os.fdatasync``.
- ``SqliteCommitFloor``: one ``INSERT`` of a 100-byte row in autocommit mode into a plain
  table of a database with ``journal_mode=WAL`` and ``synchronous=FULL`` (one WAL append and
  one sync per call), exactly the pragmas kiosk.db uses.

``interleave`` runs samplers in small blocks, round after round, so that a noisy neighbour on a
shared machine hits the figure and its floor alike instead of whichever ran during the burst.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

NS_PER_MS = 1_000_000
FLOOR_ROW = "x" * 100
FSYNC_WRITE = b"k" * 512
FSYNC_FILE_BYTES = 1 << 20


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be 0..100, got {q}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def p50(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def p99(samples: Sequence[float]) -> float:
    return percentile(samples, 99)


def latency_ms(samples_ns: Sequence[int]) -> dict[str, Any]:
    """n, p50, p90, p99, max and mean of nanosecond samples, in milliseconds (3 decimals)."""

    def ms(value: float) -> float:
        return round(value / NS_PER_MS, 3)

    return {
        "n": len(samples_ns),
        "p50_ms": ms(percentile(samples_ns, 50)),
        "p90_ms": ms(percentile(samples_ns, 90)),
        "p99_ms": ms(percentile(samples_ns, 99)),
        "max_ms": ms(max(samples_ns)),
        "mean_ms": ms(sum(samples_ns) / len(samples_ns)),
    }


def ratio(value: float, floor: float) -> float:
    """``value / floor`` rounded to 2 decimals; a zero floor is an error, not infinity."""
    if floor <= 0:
        raise ValueError(f"floor must be positive to make a ratio, got {floor}")
    return round(value / floor, 2)


def interleave(samplers: Sequence[Callable[[], None]], rounds: int, block: int) -> None:
    """Call each sampler ``block`` times in turn, ``rounds`` times over."""
    if rounds < 1 or block < 1:
        raise ValueError(f"rounds and block must be 1 or more, got {rounds} and {block}")
    for _ in range(rounds):
        for sampler in samplers:
            for _ in range(block):
                sampler()


def timed_ns(action: Callable[[], object]) -> int:
    """Nanoseconds ``action()`` took (perf_counter_ns)."""
    started = time.perf_counter_ns()
    action()
    return time.perf_counter_ns() - started


class FsyncFloor:
    """Small write + fdatasync on a file in ``folder``; call it to take one sample."""

    def __init__(self, folder: Path) -> None:
        self.samples: list[int] = []
        self._fd = os.open(folder / "fsync-floor.bin", os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._fd, b"\0" * FSYNC_FILE_BYTES, 0)
        os.fsync(self._fd)
        self._slot = 0

    def __call__(self) -> None:
        offset = (self._slot % (FSYNC_FILE_BYTES // len(FSYNC_WRITE))) * len(FSYNC_WRITE)
        self._slot += 1
        started = time.perf_counter_ns()
        os.pwrite(self._fd, FSYNC_WRITE, offset)
        os.fdatasync(self._fd)
        self.samples.append(time.perf_counter_ns() - started)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SqliteCommitFloor:
    """One autocommitted INSERT into a WAL, synchronous=FULL database in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.samples: list[int] = []
        self._conn = sqlite3.connect(folder / "commit-floor.db", isolation_level=None)
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self._conn.close()
            raise RuntimeError(f"floor database could not be put in WAL mode ({mode})")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, v TEXT)")

    def __call__(self) -> None:
        conn = self._conn
        started = time.perf_counter_ns()
        conn.execute("INSERT INTO floor (v) VALUES (?)", (FLOOR_ROW,))
        self.samples.append(time.perf_counter_ns() - started)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def result(
    name: str,
    *,
    figures: dict[str, Any],
    floor: dict[str, Any],
    ratios: dict[str, float],
    primary: str,
    goal: str,
    met: bool,
    params: dict[str, Any],
) -> dict[str, Any]:
    """One benchmark's JSON document. ``ratio`` is ``ratios[primary]``, the one the goal is
    about; ``ratios`` holds it and the others worth reading."""
    return {
        "name": name,
        "figures": figures,
        "floor": floor,
        "ratio": ratios[primary],
        "ratios": ratios,
        "goal": goal,
        "met": bool(met),
        "params": params,
    }
