"""The benchmark registry and the run that assembles one JSON document. Main thread.

The five benchmarks of issue 2 in issue order: ``scan_commit`` (1), ``lookup`` (2),
``sale_commit`` (3), ``sim_start`` (4), ``catalog_import`` (5); then the three of issue 3
(hardware): ``scanner_latency`` (6), ``receipt_bytes`` (7), ``payment_devices`` (8); then the
three of issue 4 (sync and central): ``sync_drain`` (9), ``consumer_apply`` (10),
``lane_under_drain`` (11); then ``promotions`` (12, issue 5); then the four of issue 6 (the
touchscreen, ``bench.ui_bench``): ``ui_scan`` (13), ``ui_frames`` (14), ``ui_start`` (15),
``ui_memory`` (16). They run in a different order
(``RUN_ORDER``) so that the 250 000-product kiosk the import builds is reused by ``sim_start``.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from bench import (
    consumer_apply,
    import_speed,
    lane_under_drain,
    lookup,
    payment_devices,
    promotions,
    receipt_bytes,
    sale_commit,
    scan,
    scanner_latency,
    sim_start,
    sync_drain,
    ui_bench,
)
from bench.fixtures import Context

Benchmark = Callable[[Context], dict[str, Any]]

BENCHMARKS: Final[dict[str, Benchmark]] = {
    scan.NAME: scan.run,
    lookup.NAME: lookup.run,
    sale_commit.NAME: sale_commit.run,
    sim_start.NAME: sim_start.run,
    import_speed.NAME: import_speed.run,
    scanner_latency.NAME: scanner_latency.run,
    receipt_bytes.NAME: receipt_bytes.run,
    payment_devices.NAME: payment_devices.run,
    sync_drain.NAME: sync_drain.run,
    consumer_apply.NAME: consumer_apply.run,
    lane_under_drain.NAME: lane_under_drain.run,
    promotions.NAME: promotions.run,
    ui_bench.SCAN: ui_bench.run_scan,
    ui_bench.FRAMES: ui_bench.run_frames,
    ui_bench.START: ui_bench.run_start,
    ui_bench.MEMORY: ui_bench.run_memory,
}
RUN_ORDER: Final[tuple[str, ...]] = (
    scan.NAME,
    sale_commit.NAME,
    import_speed.NAME,
    sim_start.NAME,
    lookup.NAME,
    scanner_latency.NAME,
    receipt_bytes.NAME,
    payment_devices.NAME,
    sync_drain.NAME,
    consumer_apply.NAME,
    lane_under_drain.NAME,
    promotions.NAME,
    ui_bench.START,
    ui_bench.SCAN,
    ui_bench.FRAMES,
    ui_bench.MEMORY,
)


def host() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def _load() -> list[float]:
    """1, 5 and 15-minute load averages: how busy the shared machine was."""
    return [round(x, 2) for x in os.getloadavg()]


def run_suite(
    ctx: Context,
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the chosen benchmarks (every one when ``only`` is empty); the JSON document.

    An unknown name in ``only`` raises ValueError naming it and the known ones.
    """
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}")
    started = time.perf_counter()
    load_before = _load()
    results: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    for name in RUN_ORDER:
        if only and name not in only:
            continue
        if progress is not None:
            progress(name)
        began = time.perf_counter()
        results[name] = BENCHMARKS[name](ctx)
        seconds[name] = round(time.perf_counter() - began, 1)
    return {
        "suite": "kiosk-bench",
        "format": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {**host(), "load_average_before": load_before, "load_average_after": _load()},
        "sizes": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(ctx.sizes).items()
        },
        "scratch": str(ctx.scratch),
        "seconds": {"total": round(time.perf_counter() - started, 1), **seconds},
        "results": [results[name] for name in BENCHMARKS if name in results],
        "all_met": all(r["met"] for r in results.values()),
    }
