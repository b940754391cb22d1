"""Issue 4 benchmark: the lane's scan-to-basket time while ``kiosk sync`` drains a backlog.

Main thread: the lane (``kiosk.app.build_headless`` on a demo kiosk, driven by
``bench.lane_driver.LaneDriver`` exactly as ``scan_commit`` drives it: a real scan with its
durable commit, sales of 1..50 lines paid by card between scans, untimed). ``python -m
kiosk.sync`` runs in its own process on the SAME kiosk.db, as on a kiosk, against a private
Mosquitto (``bench.fixtures.Mosquitto``) with a stand-in consumer that acks every 50 ms
(``bench.sync_drain.Acker``), so the agent both publishes (reads, PUBACK results written) and
settles (acks written).

A round: with the agent stopped, ``lane_drain_backlog`` sales are recorded in the kiosk's
outbox (``bench.fixtures.fill_outbox``, untimed); the agent starts and, once it has marked its
first rows sent, blocks of ``block`` scans alternate:

- **during drain**: the broker runs and the agent drains (the block counts only while the
  outbox still has unsettled rows at its start);
- **idle**: the broker process is stopped (SIGSTOP; SIGCONT after the block): with its window
  full and no PUBACK or ack coming, the agent does no kiosk.db work, as when the backlog is
  empty. Stopping the broker instead of the agent never leaves kiosk.db's write lock held by a
  stopped process.

Rounds repeat (a new backlog each) until ``lane_drain_scans`` scans were timed during drain.
The idle figure is the floor: same lane, same kiosk.db, same moment, interleaved block by block.

Goal (issue 4): scan p99 during drain ≤ 1.2 × the idle scan p99.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from bench.fixtures import Context, Mosquitto, fill_outbox
from bench.harness import latency_ms, p50, p99, percentile, ratio, result
from bench.lane_driver import LaneDriver, headless, scannable_demo_codes
from bench.sync_drain import POLL_S, TIMEOUT_S, Acker, Outbox, reap, start_agent
from kiosk.app import read_config

NAME: Final = "lane_under_drain"
GOAL_RATIO: Final = 1.2
WARMUP_SCANS: Final = 50
MAX_ROUNDS: Final = 10


def _wait_first_sent(outbox: Outbox, backlog: int, agent: Any, log: Path) -> None:
    """Until the agent has marked some of the backlog sent (it is connected and draining)."""
    deadline = time.monotonic() + TIMEOUT_S
    while outbox.counts()[0] >= backlog:
        if agent.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the agent did not start draining: {log.read_text()[-2000:]}")
        time.sleep(POLL_S)


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    config_path = ctx.demo_kiosk("lane-drain")
    config = read_config(config_path)
    db_path = Path(config.paths.db)
    folder = config_path.parent
    drain: list[int] = []
    idle: list[int] = []
    sent_in_drain_blocks = 0
    drain_block_s = 0.0
    rounds = 0
    with (
        Mosquitto(folder / "broker") as broker,
        Acker(broker.port, config.kiosk.id, 0, folder / "acker.log"),
        headless(config_path) as kiosk,
    ):
        driver = LaneDriver(kiosk, scannable_demo_codes(), sizes.max_lines, seed=5)
        for _ in range(WARMUP_SCANS):
            driver.scan_timed()
        outbox = Outbox.open(db_path)
        try:
            while len(drain) < sizes.lane_drain_scans and rounds < MAX_ROUNDS:
                rounds += 1
                backlog = sizes.lane_drain_backlog
                fill_outbox(db_path, config.kiosk.id, config.store.id, backlog, seed=100 + rounds)
                sync_folder = folder / f"sync-{rounds}"
                agent = start_agent(sync_folder, db_path, broker.port)
                try:
                    _wait_first_sent(outbox, backlog, agent, sync_folder / "sync.log")
                    while len(drain) < sizes.lane_drain_scans:
                        if outbox.counts()[1] == 0:
                            break
                        published, started = outbox.published(), time.perf_counter()
                        drain.extend(driver.scan_timed() for _ in range(sizes.block))
                        drain_block_s += time.perf_counter() - started
                        sent_in_drain_blocks += outbox.published() - published
                        broker.pause()
                        try:
                            idle.extend(driver.scan_timed() for _ in range(sizes.block))
                        finally:
                            broker.resume()
                finally:
                    agent.terminate()
                    reap(agent)
        finally:
            outbox.close()
    if not drain or not idle:
        raise RuntimeError("the agent drained the backlog before any scan was timed")
    ratios = {
        "drain_p99_vs_idle_p99": ratio(p99(drain), p99(idle)),
        "drain_p50_vs_idle_p50": ratio(p50(drain), p50(idle)),
        "drain_p90_vs_idle_p90": ratio(percentile(drain, 90), percentile(idle, 90)),
    }
    primary = "drain_p99_vs_idle_p99"
    return result(
        NAME,
        figures={
            "scan_during_drain": latency_ms(drain),
            "sent_during_drain_blocks": sent_in_drain_blocks,
            "drain_rate_during_blocks": round(sent_in_drain_blocks / max(drain_block_s, 1e-9)),
        },
        floor={"scan_idle": latency_ms(idle)},
        ratios=ratios,
        primary=primary,
        goal=f"scan p99 while sync drains <= {GOAL_RATIO:g}x idle scan p99",
        met=ratios[primary] <= GOAL_RATIO,
        params={
            "backlog": sizes.lane_drain_backlog,
            "rounds": rounds,
            "block": sizes.block,
            "max_lines": sizes.max_lines,
        },
    )
