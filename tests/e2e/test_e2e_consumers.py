"""Consumer-side faults end to end: a consumer killed (SIGKILL) in the middle of a stream and
restarted, events delivered twice and out of order by a raw publisher, and two instances of
each group sharing the events (PostgreSQL). After each, the same invariant check."""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, select

from central.storage.schema import processed_events
from tests.e2e.invariant import invariant_check, processed_count, processed_seqs
from tests.e2e.stack import BACKLOG_SYNC, GROUPS, Kiosk, RawClient, Stack, deploy, wait_until

BACKLOG = 2500  # sales per kiosk queued before the agents start: a stream of 5000 events


def outbox_messages(kiosk: Kiosk) -> list[tuple[str, bytes]]:
    """Every event of ``kiosk`` as its agent publishes it: (topic, payload bytes)."""
    return [
        (str(topic), str(payload).encode("utf-8"))
        for topic, payload in kiosk.query("SELECT topic, payload FROM outbox ORDER BY seq")
    ]


def applied_at_least(url: str, group: str, count: int) -> bool:
    return processed_count(url, group) >= count


def applied_exactly(url: str, group: str, kiosk_id: str, seqs: set[int]) -> bool:
    return processed_seqs(url, group, kiosk_id) == seqs


def test_consumers_killed_mid_stream_and_restarted_apply_every_sale_once(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(
        stack,
        url,
        agents=False,
        sync=BACKLOG_SYNC,
        consumer={"batch_size": 500, "batch_ms": 100},
    )
    for kiosk in d.kiosks:
        kiosk.bulk_sales(BACKLOG)
    total = BACKLOG * len(d.kiosks)
    for kiosk in d.kiosks:
        stack.agent(kiosk)

    # Each consumer is killed while the stream is flowing into it: after its first committed
    # batches, with most of the stream still to come.
    for group, after in (("finance", 500), ("inventory", 1500)):
        wait_until(
            partial(applied_at_least, url, group, after),
            60,
            f"{group} to apply {after} events",
            stack.diagnostics,
            interval=0.01,
        )
        consumer = stack.consumers[f"{group}-1"]
        consumer.kill()
        applied = processed_count(url, group)
        assert applied < total, f"{group} had applied everything before the kill"
        consumer.start()

    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)
    assert sum(report.last_seq.values()) == total


def test_duplicated_and_reordered_delivery_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url, agents=False)
    for kiosk in d.kiosks:
        sim = stack.sim(kiosk)
        sim.sell_many(30)
        sim.close()
    raw = RawClient(d.broker.port)
    rng = random.Random(4)

    # 1. Before any agent runs: every event twice, the whole lot shuffled across kiosks.
    copies = [m for k in d.kiosks for m in outbox_messages(k)] * 2
    rng.shuffle(copies)
    raw.publish(copies)
    for kiosk in d.kiosks:
        for group in GROUPS:
            wait_until(
                partial(applied_exactly, url, group, kiosk.kiosk_id, set(range(1, 31))),
                30,
                f"{group} to apply all of {kiosk.kiosk_id}",
                stack.diagnostics,
            )
    # 2. The agents publish every event once more, in order: duplicates the consumers ack again,
    #    which is what settles the kiosks' rows.
    for kiosk in d.kiosks:
        stack.agent(kiosk)
    invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)

    # 3. Late copies, newest first, then more sales: still exactly once.
    late = [m for k in d.kiosks for m in reversed(outbox_messages(k))]
    raw.publish(late)
    for kiosk in d.kiosks:
        sim = stack.sim(kiosk)
        sim.sell_many(5, first=30)
        sim.close()
    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)
    raw.close()
    assert set(report.last_seq.values()) == {35}
    duplicates = 0
    for proc in stack.consumers.values():
        assert proc.terminate() == 0
        # "... stopped: N applied, M duplicates, P parked"
        line = next(li for li in proc.log().splitlines() if " stopped: " in li)
        duplicates += int(line.split(" applied, ")[1].split(" duplicates")[0])
    # Per group at least: the second raw copy of 60 events, the agents' 60, the 60 late ones.
    assert duplicates >= len(GROUPS) * 3 * 60, duplicates


def test_two_instances_per_group_share_the_events_and_apply_each_once_on_postgresql(
    stack: Stack, postgres_url: str
) -> None:
    url = postgres_url
    d = deploy(stack, url, agents=False, consumers=False, sync=BACKLOG_SYNC)
    instances = {f"{g}-{n}": g for g in GROUPS for n in (1, 2)}
    stack.start_consumers(d.watcher, d.config, instances)
    for kiosk in d.kiosks:
        sim = stack.sim(kiosk)
        sim.sell_many(20)
        sim.close()
        kiosk.bulk_sales(1000)
    for kiosk in d.kiosks:
        stack.agent(kiosk)

    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)
    assert set(report.last_seq.values()) == {1020}
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(processed_events.c.consumer_group, processed_events.c.applied_by)
        ).all()
    engine.dispose()
    # Both instances of each group took a share of the stream.
    assert {(r.consumer_group, r.applied_by) for r in rows} == {
        (group, cid) for cid, group in instances.items()
    }
