"""The outbox relay against a real Mosquitto and real kiosk.db files: order, window, acks.

The agent runs on a thread (``AgentThread``) with its own kiosk.db connection while the test's
"lane" completes sales through ``SqliteLaneStore.complete_sale``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.mosquitto import Broker
from tests.integration.conftest import KIOSK
from tests.integration.sync_kit import (
    AgentThread,
    Consumer,
    Lane,
    Watcher,
    make_settings,
    wait_until,
)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker").start()
    yield b
    b.kill()


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    kit = Lane(tmp_path / "var" / "kiosk.db")
    yield kit
    kit.close()


def test_events_are_published_in_seq_order_with_a_bounded_window(
    broker: Broker, lane: Lane
) -> None:
    lane.sell(300)
    consumer = Consumer(broker.port).start()
    settings = make_settings(lane.db_path, broker.port, window=10)
    try:
        with AgentThread(settings) as runner:
            wait_until(lambda: lane.states()["settled"] == 300, 30, "300 settled rows")
            stats = runner.agent.relay.stats
    finally:
        consumer.stop()
    assert consumer.seqs() == list(range(1, 301))  # each once, in seq order
    assert stats.max_in_flight == 10  # the window was filled and never exceeded
    first = consumer.deliveries[0]
    assert first.topic == f"pos/v1/{KIOSK}/evt/sale.completed"
    assert first.user_properties == {"event_id": lane.event_ids()[0], "seq": "1"}
    assert first.content_type == "application/json"
    assert stats.refused == 0 and stats.republished == 0


def test_published_payload_is_the_outbox_row_byte_for_byte(broker: Broker, lane: Lane) -> None:
    lane.sell(3)
    watcher = Watcher(broker.port, f"pos/v1/{KIOSK}/evt/#").start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)):
            wait_until(lambda: len(watcher.messages) == 3, 10, "3 events")
    finally:
        watcher.stop()
    stored = [r[0] for r in lane.db.conn.execute("SELECT payload FROM outbox ORDER BY seq")]
    assert [m[1].decode() for m in watcher.messages] == stored


def test_rows_settle_only_when_every_required_group_acked(broker: Broker, lane: Lane) -> None:
    lane.sell(20)
    inventory = Consumer(broker.port, groups=("inventory",), client_id="inv").start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)) as runner:
            wait_until(lambda: inventory.acked_up_to == 20, 10, "inventory acks")
            wait_until(
                lambda: runner.agent.acks.stats.messages >= 1 and lane.states()["sent"] == 20,
                10,
                "the inventory ack recorded",
            )
            wait_until(lambda: _mark(lane, "inventory") == 20, 10, "inventory's mark recorded")
            assert lane.states() == {"sent": 20}  # finance has not acked: nothing settles
            inventory.publish_ack("finance", {"up_to_seq": 12})
            wait_until(lambda: lane.states()["settled"] == 12, 10, "12 settled")
            ids = lane.event_ids()
            inventory.publish_ack("finance", {"event_ids": ids[12:20]})
            wait_until(lambda: lane.states()["settled"] == 20, 10, "all settled")
    finally:
        inventory.stop()
    assert (_mark(lane, "inventory"), _mark(lane, "finance")) == (20, 12)  # up_to_seq acks
    assert [set(json.loads(r[4])) for r in lane.rows()] == [set()] * 12 + [{"finance"}] * 8


def _mark(lane: Lane, group: str) -> int:
    """A group's up_to_seq watermark in kiosk.db (0 before its first ack)."""
    row = lane.db.conn.execute(
        "SELECT value FROM kiosk_state WHERE key = ?", (f"ack_mark:{group}",)
    ).fetchone()
    return int(row[0]) if row else 0


def test_duplicate_unknown_and_malformed_acks_are_harmless(
    broker: Broker, lane: Lane, caplog: pytest.LogCaptureFixture
) -> None:
    lane.sell(10)
    consumer = Consumer(broker.port, mode=None).start()
    caplog.set_level(logging.WARNING, logger="kiosk.sync")
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)) as runner:
            wait_until(lambda: lane.states()["sent"] == 10, 10, "10 sent")
            ids = lane.event_ids()
            for group in ("inventory", "finance"):
                consumer.publish_ack(group, {"up_to_seq": 4})
                consumer.publish_ack(group, {"up_to_seq": 4})  # duplicate
                consumer.publish_ack(group, {"event_ids": ["no-such-event", ids[5]]})
            consumer.client.publish(f"pos/v1/{KIOSK}/ack/finance", b"{not json", qos=1)
            consumer.client.publish(f"pos/v1/{KIOSK}/ack/finance", b'{"up_to_seq": -3}', qos=1)
            consumer.client.publish(f"pos/v1/{KIOSK}/ack/finance", b'{"up_to": 3}', qos=1)
            acks = runner.agent.acks.stats
            wait_until(lambda: acks.rejected == 3, 10, "three bad acks rejected")
            wait_until(lambda: acks.unknown_ids == 2, 10, "the unknown id counted per group")
            settled = {r[0] for r in lane.rows() if r[2] == "settled"}
            assert settled == {1, 2, 3, 4, 6}
            consumer.publish_ack("inventory", {"up_to_seq": 10})
            consumer.publish_ack("finance", {"up_to_seq": 10})
            wait_until(lambda: lane.states() == {"settled": 10}, 10, "all settled")
    finally:
        consumer.stop()
    assert "ack is not JSON" in caplog.text
    assert "ack.up_to_seq -3 is outside" in caplog.text
    assert "unknown field 'up_to'" in caplog.text


def test_a_puback_no_matching_subscribers_is_not_a_delivery(broker: Broker, lane: Lane) -> None:
    lane.sell(5)
    with AgentThread(make_settings(lane.db_path, broker.port, ack_timeout_s=0.5)) as runner:
        stats = runner.agent.relay.stats
        wait_until(lambda: stats.no_subscribers >= 5, 10, "five 0x10 PUBACKs")
        # Accepted by the broker, so marked sent; nobody got them, so nothing settles.
        wait_until(lambda: lane.states() == {"sent": 5}, 5, "five sent rows")
        consumer = Consumer(broker.port).start()
        try:
            # Unacked past the ack timeout: republished, now received and acked.
            wait_until(lambda: lane.states() == {"settled": 5}, 15, "settled after republish")
        finally:
            consumer.stop()
        assert stats.republished >= 5
    assert sorted(set(consumer.seqs())) == [1, 2, 3, 4, 5]
    attempts = [r[3] for r in lane.rows()]
    assert all(a >= 2 for a in attempts)


def test_new_sales_made_while_the_agent_runs_are_published(broker: Broker, lane: Lane) -> None:
    consumer = Consumer(broker.port).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port, window=5)):
            for _ in range(5):
                lane.sell(20)
            wait_until(lambda: lane.states() == {"settled": 100}, 20, "100 settled")
    finally:
        consumer.stop()
    assert consumer.seqs() == list(range(1, 101))


def test_acks_published_while_the_agent_is_away_arrive_with_its_session(
    broker: Broker, lane: Lane
) -> None:
    lane.sell(5)
    consumer = Consumer(broker.port, mode=None).start()
    settings = make_settings(lane.db_path, broker.port)
    try:
        with AgentThread(settings):
            wait_until(lambda: lane.states() == {"sent": 5}, 10, "five sent")
        # The agent is gone (clean stop; its session lives on at the broker).
        for group in ("inventory", "finance"):
            consumer.publish_ack(group, {"up_to_seq": 5}).wait_for_publish(5)  # at the broker
        with AgentThread(settings) as runner:
            wait_until(lambda: lane.states() == {"settled": 5}, 10, "settled by queued acks")
            assert runner.agent.relay.stats.published == 0  # nothing had to be sent again
    finally:
        consumer.stop()
    assert consumer.seqs() == [1, 2, 3, 4, 5]


def test_the_brokers_receive_maximum_caps_the_window(tmp_path: Path, lane: Lane) -> None:
    broker = Broker(tmp_path / "small", extra_config="max_inflight_messages 5").start()
    lane.sell(40)
    consumer = Consumer(broker.port).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port, window=100)) as runner:
            wait_until(lambda: lane.states() == {"settled": 40}, 20, "40 settled")
            assert runner.agent.client.receive_maximum == 5
            assert runner.agent.relay.stats.max_in_flight == 4  # one slot for control messages
    finally:
        consumer.stop()
        broker.kill()
    assert consumer.seqs() == list(range(1, 41))
