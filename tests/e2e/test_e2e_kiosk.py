"""Kiosk-side faults end to end: `kiosk sync` killed (SIGKILL) after it published events but
before their PUBACKs reached it, and killed at random while draining a backlog. The restarted
agent publishes those events again; the consumers apply each once."""

from __future__ import annotations

import os
import signal
from functools import partial
from pathlib import Path

from tests.e2e.invariant import invariant_check, processed_seqs
from tests.e2e.stack import BACKLOG_SYNC, Stack, deploy, wait_until


def queued_bytes(port: int) -> int:
    """Bytes in flight on the loopback TCP connections of ``port``: unread by the listener
    (its sockets' receive queues) plus unsent by the clients (their send queues)."""
    total = 0
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            tx, rx = (int(v, 16) for v in fields[4].split(":"))
            if state != "01":  # ESTABLISHED
                continue
            if int(local.split(":")[1], 16) == port:
                total += rx
            elif int(remote.split(":")[1], 16) == port:
                total += tx
    return total


def test_agent_killed_between_publish_and_puback_publishes_again_and_nothing_doubles(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url, kiosk_ids=("s0001-k01",))
    kiosk, agent = d.kiosks[0], d.agents["s0001-k01"]
    sim = stack.sim(kiosk)
    sim.sell_many(10)
    sim.close()
    wait_until(lambda: kiosk.outbox_states() == {"settled": 10}, 30, "the first sales settled")

    # Freeze the broker: it reads nothing, so no PUBACK comes back, while the kernel still
    # takes the agent's bytes. Queue sales and let the agent publish a window of them.
    assert d.broker.process is not None
    os.kill(d.broker.process.pid, signal.SIGSTOP)
    try:
        kiosk.bulk_sales(300)
        wait_until(
            lambda: queued_bytes(d.broker.port) > 50_000,
            20,
            "the agent to publish into the frozen broker",
        )
        agent.kill()
    finally:
        os.kill(d.broker.process.pid, signal.SIGCONT)

    # The broker now reads those PUBLISHes of a dead client and delivers them: central applies
    # events whose rows the kiosk still holds as never published. Only the first few: its
    # PUBACK to the dead peer is answered with a TCP reset, which drops the unread rest.
    def applied_but_pending() -> set[int]:
        pending = {r[0] for r in kiosk.query("SELECT seq FROM outbox WHERE state = 'pending'")}
        return pending & processed_seqs(url, "finance", kiosk.kiosk_id)

    wait_until(
        lambda: len(applied_but_pending()) >= 1,
        20,
        "central to apply events the dead agent never saw acknowledged",
        stack.diagnostics,
    )
    agent.start()
    report = invariant_check([kiosk], url, diagnostics=stack.diagnostics)
    assert report.last_seq == {kiosk.kiosk_id: 310}


def test_agents_killed_while_draining_a_backlog_lose_and_double_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url, agents=False, sync=BACKLOG_SYNC)
    for kiosk in d.kiosks:
        kiosk.bulk_sales(3000)
    agents = [stack.agent(kiosk) for kiosk in d.kiosks]
    for kiosk, agent in zip(d.kiosks, agents, strict=True):
        wait_until(
            partial(kiosk.settled_at_least, 300),
            30,
            f"{kiosk.kiosk_id} to drain its first rows",
            stack.diagnostics,
            interval=0.01,
        )
        agent.kill()
        assert kiosk.outbox_states().get("settled", 0) < 3000, "drained before the kill"
        agent.start()

    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)
    assert set(report.last_seq.values()) == {3000}
