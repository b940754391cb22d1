"""Birth, Will, clean stop, telemetry and fleet commands of ``kiosk sync`` (real Mosquitto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import kiosk
from kiosk.protocol.mqtt import command_request
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

STATE = f"pos/v1/{KIOSK}/state"
TELEMETRY = f"pos/v1/{KIOSK}/telemetry"
CMD_REQ = f"pos/v1/{KIOSK}/cmd/req"
CMD_RES = f"pos/v1/{KIOSK}/cmd/res"


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


def test_birth_is_retained_and_describes_the_kiosk(broker: Broker, lane: Lane) -> None:
    lane.store.boot()
    boot = lane.store.boot()  # the lane counts boots; the agent only reads the counter
    lane.db.conn.execute(
        "INSERT INTO kiosk_state (key, value) VALUES ('catalog_version', 'c-2026-11-27')"
    )
    lane.sell(7)
    early = Watcher(broker.port, STATE, client_id="early").start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)):
            wait_until(lambda: early.payloads(STATE), 10, "the birth")
            late = Watcher(broker.port, STATE, client_id="late").start()  # gets the retained one
            try:
                birth = wait_until(lambda: late.payloads(STATE), 10, "the retained birth")[-1]
            finally:
                late.stop()
    finally:
        early.stop()
    assert birth == {
        "online": True,
        "boot": boot,
        "fw": kiosk.__version__,
        "config_version": 0,
        "catalog_version": "c-2026-11-27",
        "last_seq": 7,
        "outbox_pending": 7,
        "oldest_pending_s": birth["oldest_pending_s"],
    }
    assert 0 <= birth["oldest_pending_s"] < 60
    assert late.messages[-1][2] is True  # retained
    assert lane.store.boot() == boot + 1  # the agent did not count a boot of its own


def test_clean_stop_publishes_offline_once_before_disconnecting(broker: Broker, lane: Lane) -> None:
    watcher = Watcher(broker.port, STATE).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)) as runner:
            wait_until(lambda: watcher.payloads(STATE), 10, "the birth")
            runner.halt()
        wait_until(lambda: len(watcher.payloads(STATE)) == 2, 10, "the offline state")
        # A Will would be a third message: a clean DISCONNECT discards it.
        late = Watcher(broker.port, STATE, client_id="late").start()
        retained = wait_until(lambda: late.payloads(STATE), 10, "the retained state")
        late.stop()
    finally:
        watcher.stop()
    assert [p["online"] for p in watcher.payloads(STATE)] == [True, False]
    assert retained == [{"online": False, "boot": 0}]


def test_telemetry_reports_the_backlog_at_qos_0(broker: Broker, lane: Lane) -> None:
    lane.sell(4)
    watcher = Watcher(broker.port, TELEMETRY).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port, telemetry_s=0.2)):
            reports = wait_until(lambda: len(watcher.payloads(TELEMETRY)) >= 3, 10, "telemetry")
            del reports
            last = watcher.payloads(TELEMETRY)[-1]
    finally:
        watcher.stop()
    assert last["outbox"]["last_seq"] == 4
    assert last["outbox"]["unsettled"] == 4  # no consumer: published (0x10) but never acked
    assert last["outbox"]["unpublished"] == 0
    assert last["relay"]["no_subscribers"] == 4
    assert last["relay"]["last_puback_at"].endswith("Z")
    assert last["disk_free_bytes"] > 0
    assert last["broker"] == f"127.0.0.1:{broker.port}"
    assert all(retain is False for _t, _p, retain, _props in watcher.messages)


def test_ping_answers_on_the_response_topic_with_the_correlation_data(
    broker: Broker, lane: Lane
) -> None:
    lane.sell(2)
    fleet = Watcher(broker.port, "fleet/replies/#", CMD_RES).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)):
            wait_until(lambda: lane.states()["sent"] == 2, 10, "two sent")
            fleet.publish(
                CMD_REQ,
                command_request("c-1", "ping"),
                ResponseTopic="fleet/replies/7",
                CorrelationData=b"\x01corr",
            )
            wait_until(lambda: fleet.payloads("fleet/replies/7"), 10, "the ping answer")
    finally:
        fleet.stop()
    topic, payload, _retain, props = fleet.messages[0]
    answer = json.loads(payload)
    assert topic == "fleet/replies/7"
    assert props.CorrelationData == b"\x01corr"
    assert answer["cmd_id"] == "c-1" and answer["status"] == "ok"
    assert answer["result"]["pong"] is True and answer["result"]["last_seq"] == 2
    audit = lane.db.conn.execute("SELECT kind, detail FROM audit").fetchall()
    assert [kind for kind, _ in audit] == ["command"]
    assert json.loads(audit[0][1])["reply_to"] == "fleet/replies/7"


def test_resend_republishes_settled_events_once_per_request(broker: Broker, lane: Lane) -> None:
    lane.sell(8)
    consumer = Consumer(broker.port).start()
    fleet = Watcher(broker.port, CMD_RES, STATE).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)) as runner:
            wait_until(lambda: lane.states() == {"settled": 8}, 10, "all settled")
            request = command_request("r-1", "resend", {"from_seq": 3, "to_seq": 5})
            fleet.publish(CMD_REQ, request)
            fleet.publish(CMD_REQ, request)  # a redelivery: answered, not run again
            wait_until(lambda: len(fleet.payloads(CMD_RES)) == 2, 10, "two answers")
            wait_until(lambda: len(consumer.seqs()) == 11, 10, "three events again")
            fleet.publish(CMD_REQ, command_request("r-2", "resend", {"from_seq": 7}))
            wait_until(lambda: len(consumer.seqs()) == 13, 10, "7 and 8 again")
            resent = runner.agent.relay.stats.resent
    finally:
        fleet.stop()
        consumer.stop()
    answers = fleet.payloads(CMD_RES)
    assert answers[0] == answers[1]
    assert answers[0]["result"] == {"from_seq": 3, "to_seq": 5, "queued": 3, "last_seq": 8}
    assert consumer.seqs() == [1, 2, 3, 4, 5, 6, 7, 8, 3, 4, 5, 7, 8]
    assert resent == 5
    assert lane.states() == {"settled": 8}  # a resend never unsettles a row
    assert len(lane.db.conn.execute("SELECT * FROM audit").fetchall()) == 2


@pytest.mark.parametrize(
    ("request_payload", "status", "error"),
    [
        (command_request("b-1", "resend", {"from_seq": 0}), "rejected", "resend range 0..None"),
        (command_request("b-2", "resend", {"seq": 3}), "rejected", "unknown argument 'seq'"),
        (command_request("b-3", "self_destruct"), "rejected", "unknown command 'self_destruct'"),
        (command_request("b-4", "open_drawer"), "rejected", "open_drawer is not available"),
        (command_request("b-5", "ping", {"x": 1}), "rejected", "ping takes no arguments"),
        ({"cmd_id": "b-6", "cmd": "ping", "extra": 1}, "rejected", "unknown field 'extra'"),
    ],
)
def test_bad_commands_are_rejected_with_the_reason_and_audited(
    broker: Broker, lane: Lane, request_payload: dict[str, object], status: str, error: str
) -> None:
    fleet = Watcher(broker.port, CMD_RES, STATE).start()
    try:
        with AgentThread(make_settings(lane.db_path, broker.port)):
            wait_until(lambda: fleet.payloads(STATE), 10, "the birth: subscribed")
            fleet.publish(CMD_REQ, request_payload)
            answer = wait_until(lambda: fleet.payloads(CMD_RES), 10, "an answer")[0]
    finally:
        fleet.stop()
    assert answer["cmd_id"] == request_payload["cmd_id"]
    assert answer["status"] == status
    assert error in answer["result"]["error"]
    (detail,) = lane.db.conn.execute("SELECT detail FROM audit WHERE kind='command'").fetchone()
    assert json.loads(detail)["status"] == status
