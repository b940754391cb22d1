"""The consumers against a real Mosquitto: acks after commit, duplicates, bad payloads, gaps and
resends, alerts, the group state, two instances in one share group."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from central.storage import make_engine
from central.storage.schema import (
    alerts_outbox,
    dead_letters,
    ledger_lines,
    processed_events,
    sales,
    shifts,
    stock_items,
)
from kiosk.protocol import seal
from tests.central.factory import Item, KioskChain, payload_of, topic_of
from tests.central.mqtt_kit import InProcessConsumer, KioskSide, wait_until, write_config
from tests.infra.mosquitto import Broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "broker").start()
    yield broker
    broker.kill()


@pytest.fixture
def kiosk_side(broker: Broker) -> Iterator[KioskSide]:
    side = KioskSide(broker.port)
    yield side
    side.close()


@pytest.fixture
def config_path(tmp_path: Path, broker: Broker) -> Path:
    return write_config(tmp_path / "central", broker.port)


@contextmanager
def closing_engine(engine: Engine) -> Iterator[Engine]:
    try:
        yield engine
    finally:
        engine.dispose()


def engine_of(config_path: Path) -> Engine:
    return make_engine(f"sqlite:///{config_path.parent / 'central.db'}")


def scalar(engine: Engine, query: object) -> object:
    with engine.connect() as conn:
        return conn.execute(query).scalar()  # type: ignore[call-overload]


def test_sales_are_applied_once_by_each_group_and_acked_after_commit(
    config_path: Path, kiosk_side: KioskSide
) -> None:
    chain = KioskChain()
    events = chain.sales(30, items=[Item("SKU0001", "1"), Item("BANANA", "0.25", "kg", 1580)])
    with (
        InProcessConsumer(config_path, "inventory", "inv-1"),
        InProcessConsumer(config_path, "finance", "fin-1"),
    ):
        kiosk_side.publish(*events)
        kiosk_side.wait_acked(chain.kiosk_id, "inventory", 30)
        kiosk_side.wait_acked(chain.kiosk_id, "finance", 30)
        kiosk_side.publish(events[4], events[29])  # duplicates: acked again, applied never
        wait_until(
            lambda: (
                len(kiosk_side.on("pos/v1/s0001-k01/ack/finance")) >= 2
                and kiosk_side.on("pos/v1/s0001-k01/ack/finance")[-1].data == {"up_to_seq": 30}
                and len(kiosk_side.on("pos/v1/s0001-k01/ack/inventory")) >= 2
            ),
            10,
            "re-acks",
        )
    engine = engine_of(config_path)
    assert scalar(engine, select(func.count()).select_from(processed_events)) == 60
    assert scalar(engine, select(func.count()).select_from(sales)) == 30
    assert scalar(engine, select(func.sum(sales.c.due))) == sum(e["totals"]["due"] for e in events)
    tender = select(func.sum(ledger_lines.c.amount)).where(ledger_lines.c.account == "tender")
    assert scalar(engine, tender) == sum(e["totals"]["due"] for e in events)
    on_hand = select(stock_items.c.sku, stock_items.c.on_hand_milli).order_by(stock_items.c.sku)
    with engine.connect() as conn:
        assert conn.execute(on_hand).all() == [("BANANA", -7500), ("SKU0001", -30000)]
    for group in ("inventory", "finance"):
        for ack in kiosk_side.on(f"pos/v1/s0001-k01/ack/{group}"):
            assert set(ack.data) <= {"up_to_seq", "event_ids"} and not ack.retain


def test_bad_payloads_are_parked_and_the_next_good_event_is_applied(
    config_path: Path, kiosk_side: KioskSide
) -> None:
    chain = KioskChain()
    good = chain.sale()
    tampered = chain.sale()
    tampered["totals"]["due"] += 1
    stranger = KioskChain("s0999-k01", "s0999").sale()
    voided = seal(
        {
            **{k: v for k, v in KioskChain().sale().items() if k != "hash"},
            "schema": "pos.sale.voided/1",
        }
    )
    with InProcessConsumer(config_path, "finance", "fin-1"):
        kiosk_side.publish_raw("pos/v1/s0001-k01/evt/sale.completed", b"{not json")
        kiosk_side.publish_raw("pos/v1/s0001-k01/evt/sale.completed", b"x" * (300 * 1024))
        kiosk_side.publish_raw("pos/v1/s0001-k01/evt/sale.voided", payload_of(voided))
        kiosk_side.publish_raw(topic_of(stranger), payload_of(stranger))
        kiosk_side.publish_raw(topic_of(tampered), payload_of(tampered))
        kiosk_side.publish(good)
        kiosk_side.wait_acked(chain.kiosk_id, "finance", 1)
        engine = engine_of(config_path)
        wait_until(lambda: scalar(engine, select(func.count()).select_from(dead_letters)) == 5, 10)
    with engine.connect() as conn:
        codes = list(
            conn.execute(select(dead_letters.c.reason_code).order_by(dead_letters.c.id)).scalars()
        )
    assert codes == ["malformed", "oversized", "unknown_schema", "unknown_kiosk", "hash_mismatch"]
    assert scalar(engine, select(func.count()).select_from(sales)) == 1


def test_a_gap_past_the_reorder_timeout_asks_the_kiosk_to_resend(
    config_path: Path, kiosk_side: KioskSide
) -> None:
    chain = KioskChain()
    e1, e2, e3, e4 = chain.sales(4)
    with InProcessConsumer(config_path, "inventory", "inv-1"):
        kiosk_side.publish(e1, e3, e4)
        wait_until(
            lambda: any(
                a.data == {"up_to_seq": 1, "event_ids": [e3["event_id"], e4["event_id"]]}
                or a.data.get("event_ids") == [e4["event_id"]]
                for a in kiosk_side.on("pos/v1/s0001-k01/ack/inventory")
            ),
            10,
            "ack",
        )
        request = wait_until(lambda: kiosk_side.on("pos/v1/s0001-k01/cmd/req"), 10, "a resend")[0]
        assert request.data["cmd"] == "resend"
        assert request.data["args"] == {"from_seq": 2, "to_seq": 2}
        assert request.response_topic == "pos/v1/s0001-k01/cmd/res"
        assert request.correlation == request.data["cmd_id"].encode()
        kiosk_side.publish(e2)
        kiosk_side.wait_acked(chain.kiosk_id, "inventory", 4)
        resends = len(kiosk_side.on("pos/v1/s0001-k01/cmd/req"))
        # the gap is closed: no more resend requests (the interval is 0.5 s)
        kiosk_side.publish(KioskChain("s0001-k02").sale())
        kiosk_side.wait_acked("s0001-k02", "inventory", 1)
    assert len(kiosk_side.on("pos/v1/s0001-k01/cmd/req")) == resends


def test_low_stock_alert_is_published_for_the_store(
    config_path: Path, kiosk_side: KioskSide
) -> None:
    chain = KioskChain()
    engine = engine_of(config_path)
    published = (
        select(func.count())
        .select_from(alerts_outbox)
        .where(alerts_outbox.c.published_at.is_not(None))
    )
    with InProcessConsumer(config_path, "inventory", "inv-1"):
        kiosk_side.publish(chain.sale([Item("SKU0001", "2")]))
        alert = wait_until(lambda: kiosk_side.on("pos/v1/store/s0001/alert/low-stock"), 10, "alert")
        wait_until(lambda: scalar(engine, published) == 1, 5, "the alert marked published")
    assert alert[0].data["sku"] == "SKU0001" and alert[0].data["on_hand"] == "-2"
    assert alert[0].data["alert_id"].startswith("low-stock:")


def test_group_state_is_retained_online_then_offline_on_a_clean_stop(
    config_path: Path, kiosk_side: KioskSide, broker: Broker
) -> None:
    with InProcessConsumer(config_path, "finance", "fin-1"):
        wait_until(lambda: kiosk_side.state("finance") and kiosk_side.state("finance")["online"], 5)
        late = KioskSide(broker.port)  # a newcomer gets the retained state
        try:
            wait_until(lambda: late.state("finance"), 5, "the retained state")
            assert late.on("pos/v1/central/state/finance")[0].retain
        finally:
            late.close()
    wait_until(lambda: kiosk_side.state("finance")["online"] is False, 5, "offline")


def test_one_instance_stopping_leaves_the_group_online(
    config_path: Path, kiosk_side: KioskSide
) -> None:
    with InProcessConsumer(config_path, "finance", "fin-a"):
        with InProcessConsumer(config_path, "finance", "fin-b"):
            wait_until(
                lambda: kiosk_side.state("finance") and kiosk_side.state("finance")["online"], 5
            )
        wait_until(
            lambda: (
                [s.data["online"] for s in kiosk_side.on("pos/v1/central/state/finance")][-2:]
                == [False, True]
            ),
            5,
            "online again after fin-b stopped",
        )
    wait_until(lambda: kiosk_side.state("finance")["online"] is False, 5)


def test_two_instances_in_one_group_split_the_load_and_apply_each_event_once(
    tmp_path: Path, broker: Broker, kiosk_side: KioskSide, db_url: str
) -> None:
    config_path = write_config(tmp_path / "central", broker.port, db_url=db_url)
    chains = [KioskChain(f"s0001-k0{i}") for i in range(1, 5)]
    events = [e for c in chains for e in c.sales(100)]
    with (
        InProcessConsumer(config_path, "finance", "fin-a"),
        InProcessConsumer(config_path, "finance", "fin-b"),
    ):
        kiosk_side.publish(*events)
        for c in chains:
            kiosk_side.wait_acked(c.kiosk_id, "finance", 100)
    engine = make_engine(db_url)
    with closing_engine(engine), engine.connect() as conn:
        by: dict[str, int] = dict(
            conn.execute(
                select(processed_events.c.applied_by, func.count()).group_by(
                    processed_events.c.applied_by
                )
            ).all()
        )
        assert conn.execute(select(func.count(func.distinct(sales.c.event_id)))).scalar() == 400
        assert conn.execute(select(func.count()).select_from(sales)).scalar() == 400
    assert set(by) == {"fin-a", "fin-b"} and sum(by.values()) == 400
    assert min(by.values()) > 50  # both took a real share


def test_a_shift_close_sent_through_the_broker_is_reconciled(
    config_path: Path, kiosk_side: KioskSide
) -> None:
    chain = KioskChain()
    chain.sales(5)
    chain.sale(cash=True)
    close = chain.shift_closed()
    with InProcessConsumer(config_path, "finance", "fin-1"):
        kiosk_side.publish(*chain.events)
        kiosk_side.wait_acked(chain.kiosk_id, "finance", close["seq"])
    with engine_of(config_path).connect() as conn:
        assert conn.execute(select(shifts.c.status)).scalar() == "reconciled"


def test_consumer_reconnects_after_a_broker_crash_and_applies_resent_events_once(
    config_path: Path, broker: Broker
) -> None:
    chain = KioskChain()
    events = chain.sales(400)
    side = KioskSide(broker.port)
    with InProcessConsumer(config_path, "finance", "fin-1") as consumer:
        side.publish(*events[:200])
        side.wait_acked(chain.kiosk_id, "finance", 50)
        side.close()
        broker.kill()  # whatever it had not saved is gone
        broker.start()
        side = KioskSide(broker.port)
        wait_until(consumer.link.connected.is_set, 15, "the consumer to reconnect")
        wait_until(lambda: (side.state("finance") or {}).get("online"), 10, "online again")
        # like a kiosk: republish everything not acked yet, then the rest
        side.publish(*events)
        side.wait_acked(chain.kiosk_id, "finance", 400)
    side.close()
    assert consumer.runtime.stats.duplicates >= 50  # the republished, already applied ones
    engine = engine_of(config_path)
    assert scalar(engine, select(func.count()).select_from(sales)) == 400
    assert scalar(engine, select(func.count(func.distinct(sales.c.seq)))) == 400


def test_consumer_uses_the_next_broker_when_the_first_is_down(
    tmp_path: Path, broker: Broker, kiosk_side: KioskSide
) -> None:
    down = Broker(tmp_path / "down")  # never started: its port refuses connections
    path = write_config(tmp_path / "central", down.port)
    text = path.read_text().replace(
        "[mqtt]", f'[[broker]]\nhost = "127.0.0.1"\nport = {broker.port}\n[mqtt]', 1
    )
    path.write_text(text)
    chain = KioskChain()
    with InProcessConsumer(path, "inventory", "inv-1"):
        kiosk_side.publish(*chain.sales(3))
        kiosk_side.wait_acked(chain.kiosk_id, "inventory", 3)


def test_nothing_is_acked_while_the_database_is_unavailable(
    config_path: Path, kiosk_side: KioskSide, caplog: pytest.LogCaptureFixture
) -> None:
    chain = KioskChain()
    blocker = sqlite3.connect(config_path.parent / "central.db", isolation_level=None)
    with InProcessConsumer(config_path, "finance", "fin-1", busy_timeout_ms=20):
        blocker.execute("BEGIN EXCLUSIVE")
        kiosk_side.publish(*chain.sales(5))
        wait_until(lambda: "database unavailable, batch of" in caplog.text, 10, "a failed batch")
        assert kiosk_side.on("pos/v1/s0001-k01/ack/finance") == []
        blocker.execute("ROLLBACK")
        kiosk_side.wait_acked(chain.kiosk_id, "finance", 5)
    blocker.close()
    assert scalar(engine_of(config_path), select(func.count()).select_from(sales)) == 5
