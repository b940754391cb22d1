"""A consumer process killed with SIGKILL in the middle of a stream loses nothing and applies
nothing twice once restarted with the same client id (its persistent session); SIGTERM stops it
cleanly with the group's state published offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from central.storage import make_engine
from central.storage.schema import processed_events, stock_items, stock_movements
from tests.central.factory import Item, KioskChain
from tests.central.mqtt_kit import ConsumerProcess, KioskSide, wait_until, write_config
from tests.infra.mosquitto import Broker

TOTAL = 3000


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "broker").start()
    yield broker
    broker.kill()


def test_a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice(
    tmp_path: Path, broker: Broker
) -> None:
    config = write_config(tmp_path / "central", broker.port, batch_size=250, batch_ms=50)
    engine = make_engine(f"sqlite:///{config.parent / 'central.db'}")

    def applied() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(processed_events)).scalar_one()
            )

    chain = KioskChain()
    events = chain.sales(TOTAL, items=[Item("SKU0001", "1"), Item("SKU0002", "2")])
    side = KioskSide(broker.port)
    first = ConsumerProcess(config, "inventory", "inv-crash").start()
    try:
        wait_until(lambda: (side.state("inventory") or {}).get("online"), 20, "the consumer online")
        publisher = threading.Thread(target=side.publish, args=events[: TOTAL // 2], daemon=True)
        publisher.start()
        wait_until(lambda: applied() >= 100, 20, "the first committed batches")
        first.kill()
        at_kill = applied()
        publisher.join(30)
        assert at_kill < TOTAL // 2, "the consumer finished before it was killed: no crash tested"
        wait_until(
            lambda: side.state("inventory") == {**side.state("inventory"), "online": False},
            10,
            "the Will (offline) after SIGKILL",
        )
        side.publish(*events[TOTAL // 2 :])  # queued in the dead consumer's session
        second = ConsumerProcess(config, "inventory", "inv-crash").start()
        side.wait_acked(chain.kiosk_id, "inventory", TOTAL, timeout=60)
        assert second.terminate() == 0, second.log()[-3000:]
        wait_until(lambda: side.state("inventory")["online"] is False, 10, "offline on SIGTERM")
    finally:
        side.close()
        if first.process is not None and first.process.poll() is None:
            first.kill()
    assert applied() == TOTAL
    with engine.connect() as conn:
        moves = conn.execute(select(func.count()).select_from(stock_movements)).scalar_one()
        stock = dict(conn.execute(select(stock_items.c.sku, stock_items.c.on_hand_milli)).all())
    assert moves == 2 * TOTAL
    assert stock == {"SKU0001": -1000 * TOTAL, "SKU0002": -2000 * TOTAL}
    assert "inv-crash stopped:" in second.log()
