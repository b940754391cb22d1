"""central.apply on a real database: exactly once, seq tracking, conflicts and dead letters."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select, text

from central.apply import APPLIED, DUPLICATE, PARKED, Applier, DatabaseUnavailable
from central.chain import Progress
from central.config import FinanceConfig, KioskRegistry
from central.events import Event
from central.finance import FinanceHandler
from central.storage import init_schema, make_engine
from central.storage.schema import (
    dead_letters,
    discrepancies,
    kiosk_chain,
    ledger_lines,
    processed_events,
    sales,
    stock_items,
    stock_movements,
)
from kiosk.protocol import seal
from tests.central.conftest import REGISTRY, inbound
from tests.central.factory import KioskChain


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def on_hand(engine: Engine, sku: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(stock_items.c.on_hand_milli).where(stock_items.c.sku == sku)
            ).scalar_one()
        )


def snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            t.name: sorted(
                tuple(str(v) for v in row if v is not None) for row in conn.execute(select(t))
            )
            for t in (
                processed_events,
                stock_items,
                stock_movements,
                sales,
                ledger_lines,
                kiosk_chain,
            )
        }


def test_apply_records_each_sale_once_and_takes_stock(
    inventory: Applier, chain: KioskChain
) -> None:
    events = chain.sales(3)
    result = inventory.apply([inbound(e) for e in events])
    assert result.outcomes == [APPLIED] * 3
    assert result.progress["s0001-k01"] == Progress("s0001-k01", 3, None)
    assert result.beyond["s0001-k01"] == []
    assert on_hand(inventory.engine, "SKU0001") == -6000
    assert on_hand(inventory.engine, "BANANA") == -3 * 512  # weighed: by weight


def test_apply_changes_nothing_for_a_replayed_batch(
    inventory: Applier, finance: Applier, chain: KioskChain
) -> None:
    messages = [inbound(e) for e in chain.sales(5)]
    for applier in (inventory, finance):
        applier.apply(messages)
    before = snapshot(inventory.engine)
    for applier in (inventory, finance):
        again = applier.apply(messages)
        assert again.outcomes == [DUPLICATE] * 5
        assert again.progress["s0001-k01"].contiguous_seq == 5
    assert snapshot(inventory.engine) == before


def test_apply_counts_a_duplicate_inside_one_batch_once(
    finance: Applier, chain: KioskChain
) -> None:
    first, second = chain.sales(2)
    result = finance.apply([inbound(first), inbound(first), inbound(second), inbound(first)])
    assert result.outcomes == [APPLIED, DUPLICATE, APPLIED, DUPLICATE]
    assert count(finance.engine, sales) == 2


def test_apply_out_of_order_reports_events_beyond_the_gap(
    inventory: Applier, chain: KioskChain
) -> None:
    e1, e2, e3, e4 = chain.sales(4)
    result = inventory.apply([inbound(e1), inbound(e3), inbound(e4)])
    progress = result.progress["s0001-k01"]
    assert (progress.contiguous_seq, progress.next_applied, progress.missing) == (1, 3, (2, 2))
    assert result.beyond["s0001-k01"] == [e3["event_id"], e4["event_id"]]
    filled = inventory.apply([inbound(e2)])
    assert filled.progress["s0001-k01"] == Progress("s0001-k01", 4, None)
    assert filled.beyond["s0001-k01"] == []
    with inventory.engine.connect() as conn:
        row = conn.execute(select(kiosk_chain)).one()
    assert (row.contiguous_seq, row.contiguous_hash) == (4, e4["hash"])


def test_apply_reports_a_duplicate_beyond_the_gap_by_event_id(
    inventory: Applier, chain: KioskChain
) -> None:
    _e1, _e2, e3 = chain.sales(3)
    inventory.apply([inbound(e3)])
    again = inventory.apply([inbound(e3)])
    assert again.outcomes == [DUPLICATE]
    assert again.beyond["s0001-k01"] == [e3["event_id"]]
    assert again.progress["s0001-k01"].contiguous_seq == 0


def test_apply_parks_a_bad_payload_and_applies_the_rest(
    inventory: Applier, chain: KioskChain
) -> None:
    good = chain.sale()
    bad = inbound(good)
    broken = type(bad)(bad.topic, b"{broken", 7)
    result = inventory.apply([broken, bad])
    assert result.outcomes == [PARKED, APPLIED]
    with inventory.engine.connect() as conn:
        row = conn.execute(select(dead_letters)).one()
    assert (row.reason_code, row.topic, row.payload, row.times_seen) == (
        "malformed",
        bad.topic,
        b"{broken",
        1,
    )
    assert row.reason.startswith("malformed: not JSON")


def test_apply_counts_a_parked_payload_seen_again_on_its_row(
    inventory: Applier, chain: KioskChain
) -> None:
    event = chain.sale()
    event["totals"]["due"] += 1
    for _ in range(3):
        assert inventory.apply([inbound(event)]).outcomes == [PARKED]
    with inventory.engine.connect() as conn:
        rows = conn.execute(select(dead_letters)).all()
    assert [(r.reason_code, r.times_seen, r.seq) for r in rows] == [("hash_mismatch", 3, 1)]


def test_the_same_bytes_on_another_topic_are_parked_with_their_own_reason(
    inventory: Applier, chain: KioskChain
) -> None:
    event = chain.sale()
    good = inbound(event)
    wrong_topic = type(good)(good.topic + "/extra", good.payload, 9)
    broken = type(good)(good.topic, b"{broken", 7)
    broken_elsewhere = type(good)(good.topic + "/extra", b"{broken", 8)
    outcomes = inventory.apply([wrong_topic, broken, broken_elsewhere]).outcomes
    assert outcomes == [PARKED, PARKED, PARKED]
    with inventory.engine.connect() as conn:
        rows = conn.execute(select(dead_letters).order_by(dead_letters.c.id)).all()
    # A row's topic and reason always belong together, even for identical bytes.
    assert [(r.topic, r.reason_code, r.times_seen) for r in rows] == [
        (good.topic + "/extra", "bad_topic", 1),
        (good.topic, "malformed", 1),
        (good.topic + "/extra", "malformed", 1),
    ]


def test_apply_keeps_only_the_limit_of_an_oversized_payload(
    engine: Engine, chain: KioskChain
) -> None:
    applier = Applier(engine, FinanceHandler(FinanceConfig()), REGISTRY, 1024, "t")
    message = inbound(chain.sale())
    big = type(message)(message.topic, message.payload + b" " * 5000)
    assert applier.apply([big]).outcomes == [PARKED]
    with engine.connect() as conn:
        row = conn.execute(select(dead_letters)).one()
    assert (row.reason_code, row.payload_size, len(row.payload)) == (
        "oversized",
        len(big.payload),
        1024,
    )


def test_apply_parks_another_event_claiming_an_applied_seq(
    finance: Applier, chain: KioskChain
) -> None:
    first = chain.sale()
    other = KioskChain().sale()  # also seq 1 of s0001-k01, another event
    result = finance.apply([inbound(first), inbound(other)])
    assert result.outcomes == [APPLIED, PARKED]
    with finance.engine.connect() as conn:
        parked = conn.execute(select(dead_letters)).one()
        found = conn.execute(select(discrepancies)).one()
    assert parked.reason_code == "conflict"
    assert f"was applied as event {first['event_id']}" in parked.reason
    assert (found.kind, found.seq, found.event_id) == ("conflict", 1, other["event_id"])
    assert count(finance.engine, sales) == 1


def test_apply_parks_an_event_id_seen_with_other_content(
    finance: Applier, chain: KioskChain
) -> None:
    event = chain.sale()
    finance.apply([inbound(event)])
    twin = seal({**{k: v for k, v in event.items() if k != "hash"}, "boot": 2})
    assert finance.apply([inbound(twin)]).outcomes == [PARKED]
    with finance.engine.connect() as conn:
        assert "this copy differs" in conn.execute(select(dead_letters.c.reason)).scalar_one()


def test_apply_records_a_broken_hash_chain_and_still_stores_the_event(
    finance: Applier, chain: KioskChain
) -> None:
    e1, e2 = chain.sales(2)
    forged = seal({**{k: v for k, v in chain.sale().items() if k != "hash"}, "prev_hash": "a" * 64})
    result = finance.apply([inbound(e1), inbound(e2), inbound(forged)])
    assert result.outcomes == [APPLIED] * 3
    with finance.engine.connect() as conn:
        found = conn.execute(select(discrepancies)).all()
    assert [(d.kind, d.seq) for d in found] == [("chain", 3)]
    assert "is not the hash of seq 2" in found[0].detail
    assert count(finance.engine, sales) == 3


def test_apply_finds_a_chain_break_when_the_earlier_event_comes_later(
    finance: Applier, chain: KioskChain
) -> None:
    e1 = chain.sale()
    forged = seal({**{k: v for k, v in chain.sale().items() if k != "hash"}, "prev_hash": "b" * 64})
    finance.apply([inbound(forged)])
    finance.apply([inbound(e1)])
    with finance.engine.connect() as conn:
        details = list(conn.execute(select(discrepancies.c.detail)).scalars())
    assert details == [
        f"seq 2: prev_hash {'b' * 16}... is not the hash of seq 1 ({e1['hash'][:16]}...)"
    ]


def test_apply_refuses_no_chain_check_for_inventory(inventory: Applier, chain: KioskChain) -> None:
    forged = seal({**{k: v for k, v in chain.sale().items() if k != "hash"}, "prev_hash": "a" * 64})
    assert inventory.apply([inbound(forged)]).outcomes == [APPLIED]
    assert count(inventory.engine, discrepancies) == 0


class ExplodingHandler(FinanceHandler):
    """The finance handler, except that it fails on any sale of seq 2 (a bug in a handler)."""

    def apply(self, conn: Connection, events: Sequence[Event], now: str) -> None:
        if any(e.envelope.seq == 2 for e in events):
            raise KeyError("seq 2")
        super().apply(conn, events, now)


def test_apply_parks_only_the_event_a_handler_fails_on(engine: Engine, chain: KioskChain) -> None:
    applier = Applier(engine, ExplodingHandler(FinanceConfig()), REGISTRY, 65536, "t")
    e1, e2, e3 = chain.sales(3)
    result = applier.apply([inbound(e1), inbound(e2), inbound(e3)])
    assert result.outcomes == [APPLIED, PARKED, APPLIED]
    assert result.progress["s0001-k01"].contiguous_seq == 1
    with engine.connect() as conn:
        reason = conn.execute(select(dead_letters.c.reason)).scalar_one()
    assert reason == "apply_error: the consumer failed on it: KeyError: 'seq 2'"
    assert count(engine, sales) == 2


def test_apply_raises_database_unavailable_and_commits_nothing_while_locked(
    tmp_path: Path, chain: KioskChain
) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    setup = make_engine(url)
    init_schema(setup)
    setup.dispose()
    engine = make_engine(url, sqlite_busy_timeout_ms=50)
    applier = Applier(engine, FinanceHandler(FinanceConfig()), REGISTRY, 65536, "t")
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseUnavailable, match="locked"):
            applier.apply([inbound(chain.sale())])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert count(engine, processed_events) == 0
    assert applier.apply([inbound(chain.events[0])]).outcomes == [APPLIED]
    engine.dispose()


def test_apply_keeps_groups_apart(inventory: Applier, finance: Applier, chain: KioskChain) -> None:
    message = inbound(chain.sale())
    assert inventory.apply([message]).outcomes == [APPLIED]
    assert finance.apply([message]).outcomes == [APPLIED]
    assert (
        count(
            inventory.engine,
            processed_events,
            processed_events.c.event_id == chain.events[0]["event_id"],
        )
        == 2
    )


def test_apply_tracks_each_kiosk_on_its_own(finance: Applier) -> None:
    a, b = KioskChain("s0001-k01"), KioskChain("s0001-k02")
    result = finance.apply([inbound(e) for e in (a.sale(), b.sale(), b.sale(), a.sale())])
    assert {k: p.contiguous_seq for k, p in result.progress.items()} == {
        "s0001-k01": 2,
        "s0001-k02": 2,
    }
    with finance.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kiosk_chain")).scalar_one() == 2


def test_two_appliers_racing_over_the_same_events_apply_each_once(
    engine: Engine, inventory_config: Any
) -> None:
    """Two instances (each its own engine) given the same events in different batches, at once:
    the row locks and the UNIQUE constraints leave exactly one effect per event."""
    from central.inventory import InventoryHandler

    chains = [KioskChain(f"s0001-k0{i}") for i in range(1, 4)]
    events = [e for c in chains for e in c.sales(60)]
    messages = [inbound(e) for e in events]
    url = engine.url.render_as_string(hide_password=False)

    def run(name: str, order: list[Any], size: int) -> list[str]:
        own = make_engine(url)
        applier = Applier(own, InventoryHandler(inventory_config), REGISTRY, 65536, name)
        try:
            return [
                o
                for i in range(0, len(order), size)
                for o in applier.apply(order[i : i + size]).outcomes
            ]
        finally:
            own.dispose()

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run, "a", messages, 25)
        second = pool.submit(run, "b", messages[::-1], 40)
        results = {"a": first.result(60), "b": second.result(60)}
    outcomes = results["a"] + results["b"]
    assert outcomes.count(APPLIED) == len(events) and outcomes.count(PARKED) == 0
    assert outcomes.count(DUPLICATE) == len(events)
    assert count(engine, processed_events, processed_events.c.consumer_group == "inventory") == 180
    assert count(engine, stock_movements) == 360
    assert on_hand(engine, "SKU0001") == -180 * 2000
    with engine.connect() as conn:
        contiguous = set(conn.execute(select(kiosk_chain.c.contiguous_seq)).scalars())
    assert contiguous == {60}


class BrokenRegistry(KioskRegistry):
    """A registry that fails (a bug reached from validation)."""

    def problem(self, kiosk_id: str, store_id: str) -> str | None:
        raise RuntimeError("registry offline")


def test_apply_parks_a_message_whose_validation_fails_unexpectedly(
    engine: Engine, chain: KioskChain
) -> None:
    applier = Applier(engine, FinanceHandler(FinanceConfig()), BrokenRegistry(), 65536, "t")
    assert applier.apply([inbound(chain.sale())]).outcomes == [PARKED]
    with engine.connect() as conn:
        reason = conn.execute(select(dead_letters.c.reason)).scalar_one()
    assert reason == (
        "apply_error: the consumer failed to validate it: RuntimeError('registry offline')"
    )
