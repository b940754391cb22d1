"""Benchmark 4: ``kiosk sim`` start to ready, at 1 000 and 250 000 products.

Main thread (plus one watchdog timer per start that kills a child that hangs). Spawns
``.venv/bin/kiosk sim --config X --json`` with stdin a pipe and times from just before the spawn
to the moment its ``{"event": "ready"}`` line is read; then closes stdin and the sim exits. The
same venv's ``python -c pass`` (interpreter start and exit) is the floor. Runs are interleaved
(floor, small catalog, large catalog, again and again) after one untimed warm-up of each, so
the files are in the page cache and bytecode is compiled: this is a warm start.

Goal (issue 2): median start at 250 000 products ≤ 1.2× the median at 1 000 — the lane must not
preload the catalog.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Final

from bench.fixtures import Context
from bench.harness import latency_ms, p50, ratio, result

NAME: Final = "sim_start"
GOAL_RATIO: Final = 1.2
START_TIMEOUT_S: Final = 60.0


def kiosk_command() -> list[str]:
    """The ``kiosk`` console script beside this interpreter, else ``python -m kiosk.cli``."""
    script = Path(sys.executable).with_name("kiosk")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kiosk.cli"]


def time_to_ready(config: Path) -> int:
    """Nanoseconds from spawning ``kiosk sim --json`` to reading its ready event."""
    env = dict(os.environ, KIOSK_LOG_LEVEL="WARNING")
    argv = [*kiosk_command(), "sim", "--config", str(config), "--json"]
    took: int | None = None
    started = time.perf_counter_ns()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
    watchdog = threading.Timer(START_TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if json.loads(line).get("event") == "ready":
                took = time.perf_counter_ns() - started
                break
    finally:
        watchdog.cancel()
        _, err = proc.communicate(input="", timeout=START_TIMEOUT_S)
    if took is None:
        raise RuntimeError(f"kiosk sim exited ({proc.returncode}) without ready: {err.strip()}")
    if proc.returncode != 0:
        raise RuntimeError(f"kiosk sim exited with {proc.returncode} after ready: {err.strip()}")
    return took


def python_start() -> int:
    """Nanoseconds for this venv's ``python -c pass`` to start and exit."""
    started = time.perf_counter_ns()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter_ns() - started


def run(ctx: Context) -> dict[str, Any]:
    small, large = ctx.sizes.sim_products
    configs = {small: ctx.kiosk(small), large: ctx.kiosk(large)}
    python_start()
    for config in configs.values():
        time_to_ready(config)
    floor: list[int] = []
    starts: dict[int, list[int]] = {n: [] for n in configs}
    for _ in range(ctx.sizes.sim_runs):
        floor.append(python_start())
        for n, config in configs.items():
            starts[n].append(time_to_ready(config))
    ratios = {
        "large_vs_small_p50": ratio(p50(starts[large]), p50(starts[small])),
        "small_vs_python_p50": ratio(p50(starts[small]), p50(floor)),
        "large_vs_python_p50": ratio(p50(starts[large]), p50(floor)),
    }
    primary = "large_vs_small_p50"
    return result(
        NAME,
        figures={f"ready_{n}_products": latency_ms(starts[n]) for n in configs},
        floor={"python_c_pass": latency_ms(floor)},
        ratios=ratios,
        primary=primary,
        goal=f"median start at {large} products <= {GOAL_RATIO:g}x median at {small}",
        met=ratios[primary] <= GOAL_RATIO,
        params={"runs": ctx.sizes.sim_runs, "products": [small, large]},
    )
