"""Benchmark 1: scan to basket for one item, including its durable commit.

Main thread. Times ``Lane.handle({"cmd": "scan", "code": ...})`` on a real headless lane over a
demo kiosk.db: barcode classification, the catalog lookup, the basket change and the lane
snapshot's ``UPDATE`` committed with ``synchronous=FULL`` (the scan is durable when ``handle``
returns). Sales of 1..50 lines are paid by card between scans (untimed).

Floors, interleaved block by block with the scans, on the same file system: a raw 512-byte
``pwrite`` + ``fdatasync`` and a raw sqlite insert+commit (WAL, synchronous=FULL).
Goal (issue 2): scan p99 ≤ 3× the raw sqlite insert+commit p99.
"""

from __future__ import annotations

from statistics import mean
from typing import Any, Final

from bench.fixtures import Context
from bench.harness import (
    FsyncFloor,
    SqliteCommitFloor,
    interleave,
    latency_ms,
    p50,
    p99,
    ratio,
    result,
)
from bench.lane_driver import LaneDriver, headless, scannable_demo_codes

NAME: Final = "scan_commit"
GOAL_RATIO: Final = 3.0
WARMUP_SCANS: Final = 50


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    config = ctx.demo_kiosk("scan")
    rounds = max(1, sizes.scans // sizes.block)
    with (
        headless(config) as kiosk,
        FsyncFloor(config.parent) as fsync_floor,
        SqliteCommitFloor(config.parent) as sqlite_floor,
    ):
        driver = LaneDriver(kiosk, scannable_demo_codes(), sizes.max_lines, seed=1)
        for _ in range(min(WARMUP_SCANS, sizes.scans)):
            driver.scan_timed()
        scans: list[int] = []
        interleave(
            [lambda: scans.append(driver.scan_timed()), fsync_floor, sqlite_floor],
            rounds,
            sizes.block,
        )
        lines_per_sale = driver.sales_lines
    scan = latency_ms(scans)
    floor_sqlite = latency_ms(sqlite_floor.samples)
    floor_fsync = latency_ms(fsync_floor.samples)
    ratios = {
        "p99_vs_sqlite_commit_p99": ratio(p99(scans), p99(sqlite_floor.samples)),
        "p50_vs_sqlite_commit_p50": ratio(p50(scans), p50(sqlite_floor.samples)),
        "p99_vs_fdatasync_p99": ratio(p99(scans), p99(fsync_floor.samples)),
        "p50_vs_fdatasync_p50": ratio(p50(scans), p50(fsync_floor.samples)),
    }
    primary = "p99_vs_sqlite_commit_p99"
    return result(
        NAME,
        figures={
            "scan": scan,
            "sales_paid": len(lines_per_sale),
            "lines_per_sale_mean": round(mean(lines_per_sale), 1) if lines_per_sale else 0.0,
        },
        floor={"sqlite_insert_commit": floor_sqlite, "fdatasync": floor_fsync},
        ratios=ratios,
        primary=primary,
        goal=f"scan p99 <= {GOAL_RATIO:g}x raw sqlite insert+commit p99",
        met=ratios[primary] <= GOAL_RATIO,
        params={"scans": len(scans), "block": sizes.block, "max_lines": sizes.max_lines},
    )
