"""Broker faults end to end: the store broker crashes (SIGKILL) in the middle of a burst of
sales, and the broker is down while 10 000 sales are made; afterwards every sale is applied
exactly once by inventory and finance, with the kiosks' totals."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.e2e.invariant import invariant_check
from tests.e2e.stack import BACKLOG_SYNC, Burst, Stack, deploy, wait_until

logger = logging.getLogger(__name__)

BURST = 150  # sales per kiosk through kiosk sim, about 3 s
# Sales queued while the broker is down. The lane makes the first ones through kiosk sim
# (20 ms each); the 10 000 of the issue are written by the kiosk's store in bulk (0.5 ms each,
# the same rows a sale commits), since 10 000 through kiosk sim would take over three minutes.
OUTAGE_SIM_SALES = 20
OUTAGE_BULK_SALES = 10_000


def test_broker_killed_mid_burst_and_restarted_loses_and_doubles_no_sale(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url)
    k1 = d.kiosks[0]
    bursts = [Burst(stack.sim(kiosk), BURST).start() for kiosk in d.kiosks]
    wait_until(
        lambda: k1.outbox_states().get("settled", 0) >= 20,
        30,
        "the first sales settled",
        stack.diagnostics,
    )
    d.broker.kill()  # SIGKILL: what arrived since the last autosave (1 s) is lost
    sold_at_kill = [b.done for b in bursts]
    assert all(n < BURST for n in sold_at_kill), "the burst ended before the crash"
    wait_until(
        lambda: all(
            b.done >= n + 20 or b.done == BURST for b, n in zip(bursts, sold_at_kill, strict=True)
        ),
        30,
        "the lanes to keep selling while the broker is dead",
    )
    d.broker.start()
    for burst in bursts:
        burst.join()

    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)
    assert set(report.last_seq.values()) == {BURST}
    assert all(proc.running for proc in stack.procs), "an agent or consumer died"


@pytest.mark.timeout(150)
def test_broker_down_while_10000_sales_are_made_then_up_delivers_each_once(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url, kiosk_ids=("s0001-k01",), sync=BACKLOG_SYNC)
    kiosk = d.kiosks[0]
    d.broker.stop()

    sim = stack.sim(kiosk)
    sim.sell_many(OUTAGE_SIM_SALES)
    sim.close()
    started = time.monotonic()
    kiosk.bulk_sales(OUTAGE_BULK_SALES)
    bulk_s = time.monotonic() - started
    total = OUTAGE_SIM_SALES + OUTAGE_BULK_SALES
    assert kiosk.outbox_states() == {"pending": total}  # nothing left while the broker was down

    d.broker.start()
    report = invariant_check([kiosk], url, timeout=100, diagnostics=stack.diagnostics)
    assert report.last_seq == {kiosk.kiosk_id: total}
    assert all(proc.running for proc in stack.procs), "an agent or consumer died"
    logger.info("%d sales written in %.1f s, drained in %.1f s", total, bulk_s, report.settle_s)
