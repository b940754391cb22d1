"""Benchmark 2: barcode lookup (``SqliteCatalog.by_gtin``) at 1 000 and 1 000 000 products.

Main thread. Two demo kiosks hold generated catalogs of the two sizes. The keys are GTINs drawn
at random (seeded, with replacement) from each catalog, as the lane passes them: 14 digits, all
hits. One untimed pass over every key checks each is found and warms the caches; then the keys
are timed in batches: ``time.perf_counter_ns`` around a loop of ``batch`` calls, divided by
``batch``, gives one per-call sample per batch (so the timer's own cost is spread thin).

The floor is a Python dict lookup measured with the same harness: ``dict.get`` on a dict of the
same size mapping the same 14-digit GTINs, called through the same loop over the same keys.
Batches of the four series (lookup small, lookup large, dict small, dict large) are interleaved.

Goals (issue 2): per-call p50 at 1M ≤ 1.3× at 1k; and ≤ 150× the dict lookup, checked at both
sizes against a dict of the same size (a preloaded catalog would be that dict).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from bench.fixtures import Context
from bench.harness import p50, percentile, ratio, result
from kiosk.app import read_config
from kiosk.store import SqliteCatalog, open_catalog_reader

NAME: Final = "lookup"
GOAL_SIZE_RATIO: Final = 1.3
GOAL_DICT_RATIO: Final = 150.0

Lookup = Callable[[str], object]


def per_call_ns(fn: Lookup, keys: Sequence[str], start: int, batch: int) -> float:
    """Mean nanoseconds per call of ``fn`` over ``keys[start:start + batch]``."""
    chunk = keys[start : start + batch]
    started = time.perf_counter_ns()
    for key in chunk:
        fn(key)
    return (time.perf_counter_ns() - started) / len(chunk)


def summary_ns(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "batches": len(samples),
        "p50_ns": round(p50(samples), 1),
        "mean_ns": round(sum(samples) / len(samples), 1),
        "p99_ns": round(percentile(samples, 99), 1),
    }


def check_hits(fn: Lookup, keys: Sequence[str], what: str) -> None:
    misses = sum(1 for key in keys if fn(key) is None)
    if misses:
        raise RuntimeError(f"{what}: {misses} of {len(keys)} GTINs not found")


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    small, large = sizes.lookup_products
    batch, calls = sizes.lookup_batch, max(sizes.lookup_calls, sizes.lookup_batch)
    rng = random.Random(4)
    series: dict[str, tuple[Lookup, list[str]]] = {}
    dbs = []
    try:
        for n in (small, large):
            _, gtins = ctx.catalog(n)
            # The connection the lane looks products up on (read-only, memory-mapped).
            db = open_catalog_reader(read_config(ctx.kiosk(n)).paths.db)
            dbs.append(db)
            keys = rng.choices(gtins, k=calls)
            table = {gtin: i for i, gtin in enumerate(gtins)}
            series[f"by_gtin_{n}"] = (SqliteCatalog(db).by_gtin, keys)
            series[f"dict_get_{n}"] = (table.get, keys)
        for name, (fn, keys) in series.items():
            check_hits(fn, keys, name)
        samples: dict[str, list[float]] = {name: [] for name in series}
        for start in range(0, calls - batch + 1, batch):
            for name, (fn, keys) in series.items():
                samples[name].append(per_call_ns(fn, keys, start, batch))
    finally:
        for db in dbs:
            db.conn.close()
    s, d = samples, f"dict_get_{large}"
    big, little = f"by_gtin_{large}", f"by_gtin_{small}"
    ratios = {
        "large_vs_small_p50": ratio(p50(s[big]), p50(s[little])),
        "large_vs_dict_p50": ratio(p50(s[big]), p50(s[d])),
        "small_vs_dict_p50": ratio(p50(s[little]), p50(s[f"dict_get_{small}"])),
        "large_vs_small_mean": ratio(sum(s[big]) / len(s[big]), sum(s[little]) / len(s[little])),
    }
    met = (
        ratios["large_vs_small_p50"] <= GOAL_SIZE_RATIO
        and ratios["large_vs_dict_p50"] <= GOAL_DICT_RATIO
        and ratios["small_vs_dict_p50"] <= GOAL_DICT_RATIO
    )
    return result(
        NAME,
        figures={little: summary_ns(s[little]), big: summary_ns(s[big])},
        floor={name: summary_ns(s[name]) for name in s if name.startswith("dict_get_")},
        ratios=ratios,
        primary="large_vs_small_p50",
        goal=(
            f"by_gtin p50 at {large} <= {GOAL_SIZE_RATIO:g}x at {small}, and at each size "
            f"<= {GOAL_DICT_RATIO:g}x dict.get on a dict of that size"
        ),
        met=met,
        params={"products": [small, large], "calls": calls, "batch": batch},
    )
