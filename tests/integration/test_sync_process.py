"""``python -m kiosk.sync --config FILE`` as a process: SIGKILL mid-publish, SIGTERM, bad config."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.mosquitto import Broker
from tests.integration.conftest import KIOSK
from tests.integration.sync_kit import (
    ROOT,
    AgentProcess,
    Consumer,
    Lane,
    Watcher,
    wait_until,
    write_config,
)

STATE = f"pos/v1/{KIOSK}/state"


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


def test_agent_killed_mid_publish_leaves_its_will_and_loses_nothing_after_restart(
    tmp_path: Path, broker: Broker, lane: Lane
) -> None:
    lane.store.boot()
    lane.sell_in_batches(3000)
    config = write_config(tmp_path, lane.db_path, broker.port, window=50, ack_timeout_s=2.0)
    consumer = Consumer(broker.port).start()
    watcher = Watcher(broker.port, STATE).start()
    agent = AgentProcess(config, tmp_path / "agent.log")
    try:
        agent.start()
        wait_until(lambda: len(consumer.seqs()) >= 500, 30, "publishing under way")
        agent.kill()  # SIGKILL between publishes and PUBACKs
        offline = wait_until(
            lambda: [p for p in watcher.payloads(STATE) if not p["online"]], 10, "the Will"
        )
        assert offline == [{"online": False, "boot": 1}]
        with consumer.lock:
            acked = set(consumer.acked_ids)
        assert lane.settled_ids() <= acked  # nothing settled without both groups' acks
        assert lane.states()["settled"] < 3000
        agent.start()
        wait_until(lambda: lane.states() == {"settled": 3000}, 60, "all settled after restart")
        assert agent.signal(signal.SIGTERM) == 0
    finally:
        agent.kill()
        watcher.stop()
        consumer.stop()
    assert set(consumer.counts()) == set(lane.event_ids())
    assert consumer.contiguous == 3000
    births = [p for p in watcher.payloads(STATE) if p["online"]]
    assert len(births) == 2 and births[1]["boot"] == 1


def test_sigterm_stops_cleanly_with_offline_published_first(
    tmp_path: Path, broker: Broker, lane: Lane
) -> None:
    config = write_config(tmp_path, lane.db_path, broker.port)
    watcher = Watcher(broker.port, STATE).start()
    agent = AgentProcess(config, tmp_path / "agent.log")
    try:
        agent.start()
        wait_until(lambda: watcher.payloads(STATE), 20, "the birth")
        assert agent.signal(signal.SIGTERM) == 0
        wait_until(lambda: len(watcher.payloads(STATE)) == 2, 10, "offline")
    finally:
        agent.kill()
        watcher.stop()
    assert [p["online"] for p in watcher.payloads(STATE)] == [True, False]
    log = [json.loads(line) for line in (tmp_path / "agent.log").read_text().splitlines()]
    messages = [entry["msg"] for entry in log]
    assert "signal SIGTERM: stopping" in messages
    assert messages[-1] == "stopped"


def test_a_bad_sync_setting_exits_2_naming_the_key(tmp_path: Path, lane: Lane) -> None:
    config = write_config(tmp_path, lane.db_path, 1883, window=0)
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.sync", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "config key 'sync.window': 0 must be at least 1" in result.stderr
