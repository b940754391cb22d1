"""Benchmark 3: sale completion commit.

Main thread. A real headless lane on a demo kiosk fills baskets of 1..50 lines (untimed), then
pays each by card with ``Lane.handle({"cmd": "pay", "method": "card"})``. Two figures per sale:

- ``complete_sale``: the ``SqliteLaneStore.complete_sale`` call alone (the one transaction
  holding journal, sale, lines, tenders, outbox, the lane snapshot and the queued receipt
  job), timed by a stopwatch
  wrapped around the lane's own store method;
- ``pay_command``: the whole command (write probe, payment intent recorded, terminal simulator,
  intent updated, the completion commit, receipt rendered and sent to the fake printer).

Floor, one sample after every sale, same file system: a raw sqlite insert+commit (WAL,
synchronous=FULL). Goal (issue 2): complete_sale p99 ≤ 3× the floor's p99.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from statistics import mean
from typing import Any, Final

from bench.fixtures import Context
from bench.harness import SqliteCommitFloor, interleave, latency_ms, p50, p99, ratio, result
from bench.lane_driver import LaneDriver, headless, scannable_demo_codes
from kiosk.sale import CompletedSale, SaleRecord

NAME: Final = "sale_commit"
GOAL_RATIO: Final = 3.0
WARMUP_SALES: Final = 3

CompleteSale = Callable[[CompletedSale, Mapping[str, Any], Any], SaleRecord]


def _stopwatch(inner: CompleteSale, samples: list[int]) -> CompleteSale:
    def complete_sale(
        sale: CompletedSale, lane_snapshot: Mapping[str, Any], receipt: Any = None
    ) -> SaleRecord:
        started = time.perf_counter_ns()
        try:
            return inner(sale, lane_snapshot, receipt)
        finally:
            samples.append(time.perf_counter_ns() - started)

    return complete_sale


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    config = ctx.demo_kiosk("sale")
    commits: list[int] = []
    pays: list[int] = []
    with headless(config) as kiosk, SqliteCommitFloor(config.parent) as floor:
        store = kiosk.store
        # The lane calls deps.store.complete_sale: time exactly that call on the real store.
        setattr(store, "complete_sale", _stopwatch(store.complete_sale, commits))  # noqa: B010
        driver = LaneDriver(kiosk, scannable_demo_codes(), sizes.max_lines, seed=3)

        def one_sale() -> None:
            driver.fill_basket()
            pays.append(driver.pay())

        for _ in range(WARMUP_SALES):
            one_sale()
        del commits[:], pays[:], driver.sales_lines[:]
        interleave([one_sale, floor], rounds=sizes.sales, block=1)
        lines = driver.sales_lines
        floor_samples = floor.samples
    if len(commits) != len(pays):
        raise RuntimeError(f"{len(pays)} payments but {len(commits)} complete_sale calls")
    ratios = {
        "complete_sale_p99_vs_floor_p99": ratio(p99(commits), p99(floor_samples)),
        "complete_sale_p50_vs_floor_p50": ratio(p50(commits), p50(floor_samples)),
        "pay_command_p99_vs_floor_p99": ratio(p99(pays), p99(floor_samples)),
    }
    primary = "complete_sale_p99_vs_floor_p99"
    return result(
        NAME,
        figures={
            "complete_sale": latency_ms(commits),
            "pay_command": latency_ms(pays),
            "lines_per_sale_mean": round(mean(lines), 1),
            "lines_per_sale_max": max(lines),
        },
        floor={"sqlite_insert_commit": latency_ms(floor_samples)},
        ratios=ratios,
        primary=primary,
        goal=f"complete_sale p99 <= {GOAL_RATIO:g}x raw sqlite insert+commit p99",
        met=ratios[primary] <= GOAL_RATIO,
        params={"sales": len(commits), "max_lines": sizes.max_lines},
    )
