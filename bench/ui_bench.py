"""Issue 6 benchmarks: the Kivy touchscreen, each figure beside a plain Kivy app's floor.

Main thread. Starts its own Xvfb (``Xvfb -displayfd``, 1280x800x24, no TCP) per benchmark and runs
every measurement in a child process (``python -m bench.ui_driver MODE``), one app per process,
as Kivy wants. Children are interleaved with their floors (figure, floor, figure, floor ...)
so a noisy neighbour hits both.

- ``ui_scan`` (13): scan to basket row rendered, p50/p99, in a basket of ``ui_lines`` lines,
  beside an empty app's input-to-frame time (a Label's text changed, to the next frame).
  Goal: p99 ≤ 2× the floor's p99.
- ``ui_frames`` (14): frame time p99 while scrolling a ``ui_lines``-line basket, idle and while
  ``kiosk sync`` drains a backlog of ``ui_drain_backlog`` sales into a private Mosquitto (with a
  stand-in consumer acking), beside a bare RecycleView of as many plain Label rows scrolled the
  same way (and, for reading, one with no rows). Goal: p99 ≤ 1.5× the bare RecycleView's p99,
  both idle and during the drain.
- ``ui_start`` (15): spawn to the first frame of the attract screen at ``sim_products`` (1k and
  250k in ``make bench``), beside an empty Kivy app's spawn to first frame. Goal: ≤ 1.2×.
- ``ui_memory`` (16): resident memory of ``kiosk run`` (fake devices) on a ``ui_memory_products``
  catalog after the first ``ui_sales[0]`` sales and after ``ui_sales[1]``. Goals: the second no
  more than 10 % above the first, and at most 150 MiB. Beside an empty Kivy app's first frame
  (same window, no multisampling, as the kiosk); ``params`` break both down (anonymous,
  file-backed, the Mesa/LLVM libraries, the brk heap, kiosk.db mapped) and give the kiosk's
  figures above the empty app.

Rendering is Mesa's llvmpipe (software) under Xvfb: a frame costs far more CPU here than on a
Pi's GPU, for the figure and its floor alike.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from bench.fixtures import Context, Mosquitto, demo_init, fill_outbox
from bench.harness import latency_ms, p50, p99, ratio, result
from bench.sync_drain import Acker, Outbox, reap, start_agent
from kiosk.app import read_config

SCAN: Final = "ui_scan"
FRAMES: Final = "ui_frames"
START: Final = "ui_start"
MEMORY: Final = "ui_memory"
SCAN_GOAL: Final = 2.0
FRAMES_GOAL: Final = 1.5
START_GOAL: Final = 1.2
MEMORY_GROWTH_GOAL: Final = 1.10
MEMORY_MIB_GOAL: Final = 150.0
CHILD_TIMEOUT_S: Final = 600.0


@contextmanager
def xvfb(width: int = 1280, height: int = 800) -> Iterator[dict[str, str]]:
    """A private Xvfb on a free display; yields the environment for children."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise RuntimeError("Xvfb is not installed (Debian package xvfb: make deps installs it)")
    read_fd, write_fd = os.pipe()
    screen = f"{width}x{height}x24"
    argv = [binary, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"]
    process = subprocess.Popen(
        argv,
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "r") as pipe:
            display = pipe.readline().strip()
        if not display:
            raise RuntimeError(f"Xvfb exited ({process.poll()}) without naming a display")
        home = tempfile.mkdtemp(prefix="kivy-bench-")
        env = dict(os.environ, DISPLAY=f":{display}", KIVY_HOME=home, KIOSK_LOG_LEVEL="WARNING")
        env.pop("WAYLAND_DISPLAY", None)
        try:
            yield env
        finally:
            shutil.rmtree(home, ignore_errors=True)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def child(env: dict[str, str], mode: str, folder: Path, *args: str) -> dict[str, Any]:
    """Run one ``bench.ui_driver`` measurement; its JSON result."""
    out = folder / f"{mode}-{time.monotonic_ns()}.json"
    argv = [sys.executable, "-m", "bench.ui_driver", mode, "--out", str(out), *args]
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"ui_driver {mode} failed ({done.returncode}): {done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def timed_start(env: dict[str, str], mode: str, folder: Path, *args: str) -> int:
    """Nanoseconds from spawning a ``start`` child to its ``attract`` line."""
    out = folder / f"{mode}-{time.monotonic_ns()}.json"
    argv = [sys.executable, "-m", "bench.ui_driver", mode, "--out", str(out), *args]
    started = time.perf_counter_ns()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(CHILD_TIMEOUT_S, process.kill)
    watchdog.start()
    took: int | None = None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "attract":
                took = time.perf_counter_ns() - started
                break
        _, err = process.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        watchdog.cancel()
    if took is None or process.returncode != 0:
        raise RuntimeError(f"ui_driver {mode} did not show its first screen: {err[-3000:]}")
    return took


def codes_file(ctx: Context, products: int) -> Path:
    path = ctx.scratch / f"ui-codes-{products}.txt"
    if not path.exists():
        _, codes = ctx.catalog(products)
        path.write_text("\n".join(codes[:2000]), encoding="utf-8")
    return path


def fresh_kiosk(ctx: Context, products: int) -> Path:
    """A new kiosk on the ``products`` catalog: a child leaves its basket in the lane snapshot,
    so every child that fills a basket gets its own kiosk."""
    catalog, _ = ctx.catalog(products)
    return demo_init(ctx.folder(f"ui-kiosk-{products}"), catalog)


def _kiosk_args(ctx: Context, products: int) -> list[str]:
    config = fresh_kiosk(ctx, products)
    return ["--config", str(config), "--codes", str(codes_file(ctx, products))]


# -- 13: scan to row ---------------------------------------------------------------------------
def run_scan(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    folder = ctx.folder("ui-scan")
    figure: list[int] = []
    floor: list[int] = []
    with xvfb() as env:
        for _ in range(sizes.ui_rounds):
            got = child(  # a fresh kiosk each round: a child leaves its basket behind
                env, "scan", folder, *_kiosk_args(ctx, sizes.ui_products),
                "--lines", str(sizes.ui_lines), "--scans", str(sizes.ui_scans),
            )  # fmt: skip
            figure += got["samples_ns"]
            floor += child(env, "empty_input", folder, "--scans", str(sizes.ui_scans))["samples_ns"]
    ratios = {"p99": ratio(p99(figure), p99(floor)), "p50": ratio(p50(figure), p50(floor))}
    return result(
        SCAN,
        figures={"scan_to_row_rendered": latency_ms(figure)},
        floor={"empty_app_input_to_frame": latency_ms(floor)},
        ratios=ratios,
        primary="p99",
        goal=f"scan-to-row p99 with a {sizes.ui_lines}-line basket <= {SCAN_GOAL:g}x the "
        "empty app's input-to-frame p99",
        met=ratios["p99"] <= SCAN_GOAL,
        params={"basket_lines": sizes.ui_lines, "scans": len(figure), "maxfps": 60},
    )


# -- 14: frame times while scrolling -----------------------------------------------------------
def _scroll(env: dict[str, str], ctx: Context, folder: Path, config: Path) -> list[int]:
    sizes = ctx.sizes
    args = ["--config", str(config), "--codes", str(codes_file(ctx, sizes.ui_products))]
    got = child(
        env, "scroll", folder, *args,
        "--lines", str(sizes.ui_lines), "--frames", str(sizes.ui_frames),
    )  # fmt: skip
    samples: list[int] = got["samples_ns"]
    return samples


def _bare(env: dict[str, str], ctx: Context, folder: Path, rows: int) -> list[int]:
    args = ["--rows", str(rows), "--frames", str(ctx.sizes.ui_frames)]
    samples: list[int] = child(env, "empty_scroll", folder, *args)["samples_ns"]
    return samples


def run_frames(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    folder = ctx.folder("ui-frames")
    idle: list[int] = []
    drain: list[int] = []
    bare: list[int] = []
    empty: list[int] = []
    drained_during = 0
    with xvfb() as env:
        for _ in range(sizes.ui_rounds):
            idle += _scroll(env, ctx, folder, fresh_kiosk(ctx, sizes.ui_products))
            bare += _bare(env, ctx, folder, sizes.ui_lines)
            empty += _bare(env, ctx, folder, 0)
        for _ in range(sizes.ui_rounds):
            drain_config = fresh_kiosk(ctx, sizes.ui_products)
            samples, published = _scroll_during_drain(env, ctx, folder, drain_config)
            drain += samples
            drained_during += published
            bare += _bare(env, ctx, folder, sizes.ui_lines)
    ratios = {
        "idle_p99": ratio(p99(idle), p99(bare)),
        "drain_p99": ratio(p99(drain), p99(bare)),
        "drain_vs_idle_p99": ratio(p99(drain), p99(idle)),
        "idle_vs_no_rows_p99": ratio(p99(idle), p99(empty)),
    }
    worst = max(ratios["idle_p99"], ratios["drain_p99"])
    return result(
        FRAMES,
        figures={"scroll_idle": latency_ms(idle), "scroll_during_drain": latency_ms(drain)},
        floor={"bare_recycleview": latency_ms(bare), "recycleview_no_rows": latency_ms(empty)},
        ratios={**ratios, "worst_p99": worst},
        primary="worst_p99",
        goal=f"frame p99 scrolling a {sizes.ui_lines}-line basket, idle and during a sync "
        f"drain, <= {FRAMES_GOAL:g}x a bare RecycleView of as many rows",
        met=worst <= FRAMES_GOAL,
        params={
            "basket_lines": sizes.ui_lines,
            "frames": sizes.ui_frames,
            "rounds": sizes.ui_rounds,
            "drain_backlog": sizes.ui_drain_backlog,
            "published_during_drain_scrolls": drained_during,
            "maxfps": 0,
        },
    )


def _scroll_during_drain(
    env: dict[str, str], ctx: Context, folder: Path, config_path: Path
) -> tuple[list[int], int]:
    """Scroll while the agent drains a fresh backlog on the same kiosk.db."""
    config = read_config(config_path)
    db_path = Path(config.paths.db)
    backlog = ctx.sizes.ui_drain_backlog
    fill_outbox(db_path, config.kiosk.id, config.store.id, backlog)
    outbox = Outbox.open(db_path)
    try:
        before = outbox.published()
        with Mosquitto(folder / "broker") as broker:
            log = folder / "acker.log"
            with Acker(broker.port, config.kiosk.id, backlog, log):
                agent = start_agent(config_path.parent, db_path, broker.port)
                try:
                    samples = _scroll(env, ctx, folder, config_path)
                    published = outbox.published() - before
                finally:
                    reap(agent)
    finally:
        outbox.close()
    if published <= 0:
        raise RuntimeError("the sync agent published nothing while the basket scrolled")
    return samples, published


# -- 15: cold start ------------------------------------------------------------------------------
def run_start(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    small, large = sizes.sim_products
    folder = ctx.folder("ui-start")
    args = {n: ["--config", str(ctx.kiosk(n))] for n in (small, large)}
    starts: dict[int, list[int]] = {small: [], large: []}
    floor: list[int] = []
    with xvfb() as env:
        timed_start(env, "empty_start", folder)  # warm the page cache, compile bytecode
        for n in (small, large):
            timed_start(env, "start", folder, *args[n])
        for _ in range(sizes.ui_start_runs):
            floor.append(timed_start(env, "empty_start", folder))
            for n in (small, large):
                starts[n].append(timed_start(env, "start", folder, *args[n]))
    ratios = {
        "large_vs_small_p50": ratio(p50(starts[large]), p50(starts[small])),
        "small_vs_empty_app_p50": ratio(p50(starts[small]), p50(floor)),
    }
    return result(
        START,
        figures={f"attract_{n}_products": latency_ms(starts[n]) for n in (small, large)},
        floor={"empty_kivy_app_first_frame": latency_ms(floor)},
        ratios=ratios,
        primary="large_vs_small_p50",
        goal=f"median start to the attract screen at {large} products <= {START_GOAL:g}x "
        f"the median at {small}",
        met=ratios["large_vs_small_p50"] <= START_GOAL,
        params={"runs": sizes.ui_start_runs, "products": [small, large]},
    )


# -- 16: memory ----------------------------------------------------------------------------------
def _mib(kib: dict[str, int]) -> dict[str, float]:
    return {key: round(value / 1024, 1) for key, value in kib.items()}


MEMORY_CODES: Final = 2000  # distinct products the memory kiosk sells, drawn over its catalog


def spread_codes_file(ctx: Context, products: int) -> Path:
    """``MEMORY_CODES`` GTINs drawn at random (seeded) from the whole catalog, not its first
    rows: a day's scans touch pages all over the catalog's tables and indexes, and the
    catalog connection memory-maps kiosk.db, so those pages count in the resident set."""
    path = ctx.scratch / f"ui-memory-codes-{products}.txt"
    if not path.exists():
        _, codes = ctx.catalog(products)
        drawn = random.Random(16).sample(codes, min(MEMORY_CODES, len(codes)))
        path.write_text("\n".join(drawn), encoding="utf-8")
    return path


def run_memory(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    first, last = sizes.ui_sales
    folder = ctx.folder("ui-memory")
    products = sizes.ui_memory_products
    config = fresh_kiosk(ctx, products)
    codes = spread_codes_file(ctx, products)
    with xvfb() as env:
        got = child(
            env, "memory", folder, "--config", str(config), "--codes", str(codes),
            "--sales", str(last), "--checkpoints", str(first), str(last),
        )  # fmt: skip
        empty = child(env, "empty_start", folder)  # an empty Kivy app, for scale
    rss = got["rss_kib"]
    mib = _mib(rss)
    floor_mib = round(empty["rss_kib"] / 1024, 1)
    growth = ratio(rss[str(last)], rss[str(first)])
    met = growth <= MEMORY_GROWTH_GOAL and mib[str(last)] <= MEMORY_MIB_GOAL
    breakdown = {key: _mib(value) for key, value in got["breakdown_kib"].items()}
    breakdown["empty_app"] = _mib(empty["breakdown_kib"])
    return result(
        MEMORY,
        figures={f"rss_{key}": {"mib": value} for key, value in mib.items()},
        floor={"empty_kivy_app_rss": {"mib": floor_mib}},
        ratios={
            f"after_{last}_vs_{first}_sales": growth,
            f"after_{last}_vs_empty_app": ratio(rss[str(last)], empty["rss_kib"]),
        },
        primary=f"after_{last}_vs_{first}_sales",
        goal=f"RSS after {last} sales <= {MEMORY_GROWTH_GOAL:g}x after {first}, and <= "
        f"{MEMORY_MIB_GOAL:g} MiB with {products} products",
        met=met,
        params={
            "products": products,
            "sales": [first, last],
            "distinct_products_sold": MEMORY_CODES,
            # what the goal leaves the kiosk above an empty Kivy app of the same window
            "mib_above_empty_app": {key: round(value - floor_mib, 1) for key, value in mib.items()},
            "goal_room_above_empty_app_mib": round(MEMORY_MIB_GOAL - floor_mib, 1),
            # MiB: rss = anon + file + shmem; graphics_libs, heap and kiosk_db are parts of it
            "breakdown_mib": breakdown,
        },
    )
