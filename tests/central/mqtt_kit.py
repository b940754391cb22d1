"""Test kit for the central consumers against a private Mosquitto.

``KioskSide`` is a plain paho client that publishes sealed events as kiosks would and records
what central sends back (application acks, resend commands, alerts, the group state).
``InProcessConsumer`` runs a real consumer (link, applier, runtime) on a thread;
``ConsumerProcess`` runs ``python -m central.cli`` as a child process that tests can SIGKILL.
``wait_until`` polls a condition with a deadline (never a bare sleep).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.apply import Applier
from central.config import CentralConfig, load_config
from central.finance import FinanceHandler
from central.inventory import InventoryHandler
from central.mqtt_link import ConsumerLink
from central.runtime import ConsumerRuntime
from central.storage import init_schema, make_engine
from tests.central.factory import payload_of, topic_of

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)


def write_config(
    folder: Path, port: int, *, db_url: str | None = None, extra: str = "", **consumer: Any
) -> Path:
    """A central.toml for the test broker on ``port``; ``consumer`` overrides [consumer] keys."""
    settings = {
        "batch_size": 200,
        "batch_ms": 20,
        "reorder_timeout_s": 0.3,
        "resend_interval_s": 0.5,
        **consumer,
    }
    lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    url = db_url or f"sqlite:///{folder / 'central.db'}"
    text = "\n".join(
        [
            "[database]",
            f'url = "{url}"',
            "[[broker]]",
            'host = "127.0.0.1"',
            f"port = {port}",
            "[mqtt]",
            "keepalive_s = 5",
            "reconnect_min_s = 0.05",
            "reconnect_max_s = 0.5",
            "[consumer]",
            *lines,
            "[kiosks]",
            'stores = ["s0001"]',
            "[inventory.low_stock]",
            'SKU0001 = "5"',
            extra,
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "central.toml"
    path.write_text(text + "\n", encoding="utf-8")
    engine = make_engine(url)
    init_schema(engine)
    engine.dispose()
    return path


@dataclass(frozen=True)
class Received:
    topic: str
    data: Any
    retain: bool
    response_topic: str | None
    correlation: bytes | None


class KioskSide:
    """Publishes as kiosks and records what central publishes to them and about itself."""

    TOPICS = (
        "pos/v1/+/ack/#",
        "pos/v1/+/cmd/req",
        "pos/v1/store/+/alert/#",
        "pos/v1/central/state/#",
    )

    def __init__(self, port: int) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

        def on_connect(client: mqtt.Client, *_: Any) -> None:
            client.subscribe([(t, 1) for t in self.TOPICS])

        def on_subscribe(*_: Any) -> None:
            subscribed.set()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert subscribed.wait(10), "the kiosk-side client did not subscribe"

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        props = message.properties
        item = Received(
            message.topic,
            json.loads(message.payload) if message.payload else None,
            bool(message.retain),
            getattr(props, "ResponseTopic", None),
            getattr(props, "CorrelationData", None),
        )
        with self._lock:
            self.received.append(item)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def publish(self, *events: dict[str, Any]) -> None:
        infos = [self.client.publish(topic_of(e), payload_of(e), qos=1) for e in events]
        for info in infos:
            info.wait_for_publish(30)

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.topic == topic]

    def acked_up_to(self, kiosk: str, group: str) -> int:
        acks = self.on(f"pos/v1/{kiosk}/ack/{group}")
        return max((a.data.get("up_to_seq", 0) for a in acks), default=0)

    def wait_acked(self, kiosk: str, group: str, seq: int, timeout: float = 30.0) -> None:
        wait_until(
            lambda: self.acked_up_to(kiosk, group) >= seq,
            timeout,
            f"{group} to ack {kiosk} up to seq {seq}",
        )

    def state(self, group: str) -> Any:
        states = self.on(f"pos/v1/central/state/{group}")
        return states[-1].data if states else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class InProcessConsumer:
    """A real consumer of ``which`` group on a thread, wired like ``kiosk-central``."""

    def __init__(
        self, config_path: Path, which: str, client_id: str, busy_timeout_ms: int = 30_000
    ) -> None:
        config: CentralConfig = load_config(config_path)
        self.engine = make_engine(config.database_url, sqlite_busy_timeout_ms=busy_timeout_ms)
        handler = (
            InventoryHandler(config.inventory)
            if which == "inventory"
            else FinanceHandler(config.finance)
        )
        self.applier = Applier(
            self.engine, handler, config.kiosks, config.consumer.max_payload_bytes, client_id
        )
        self.link = ConsumerLink(config.mqtt, handler.group, client_id, receive_maximum=400)
        self.runtime = ConsumerRuntime(
            self.applier,
            self.link,
            self.engine,
            config.consumer,
            publish_alerts=which == "inventory",
        )
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self.runtime.run, args=(self.stop_event,), daemon=True
        )

    def __enter__(self) -> InProcessConsumer:
        self.link.start()
        self.thread.start()
        wait_until(self.link.connected.is_set, 10, "the consumer to connect")
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop_event.set()
        self.thread.join(10)
        self.link.stop()
        self.engine.dispose()


class ConsumerProcess:
    """``python -m central.cli <which>`` as a child process (its log in ``folder``)."""

    def __init__(self, config_path: Path, which: str, client_id: str) -> None:
        self.args = [
            sys.executable,
            "-m",
            "central.cli",
            "--log-level",
            "INFO",
            which,
            "--config",
            str(config_path),
            "--client-id",
            client_id,
        ]
        self.log_path = config_path.parent / f"{client_id}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ConsumerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(15)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
