"""Test kit for ``kiosk sync``: settings, the agent (thread or process), a consumer, a watcher.

Everything talks to a private Mosquitto (``tests.infra.mosquitto.Broker``) and real kiosk.db
files. The ``Consumer`` stands in for a central consumer group: it subscribes to the kiosk's
events with a persistent session, records every delivery and acks what it received, either
``{"up_to_seq": n}`` for the contiguous prefix (from its own ack thread) or ``{"event_ids":
[id]}`` per message. ``wait_until`` polls a condition with a deadline (never a bare sleep).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.config import BrokerConfig, Config, KioskConfig, PathsConfig, StoreConfig
from kiosk.protocol.sale_event import SALE_COMPLETED, sale_completed_event, seal_with_body
from kiosk.store.db import open_db, write_transaction
from kiosk.store.journal import append_event, next_link
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.migrations import migrate
from kiosk.store.outbox import SqliteOutbox, open_outbox
from kiosk.sync.agent import SyncAgent
from kiosk.sync.settings import SyncSettings
from tests.integration.conftest import KIOSK, STORE, SaleFactory

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("inventory", "finance")
FAST = {
    "reconnect_min_s": 0.05,
    "reconnect_max_s": 0.4,
    "retry_min_s": 0.05,
    "retry_max_s": 0.4,
    "connect_timeout_s": 2.0,
    "keepalive_s": 5,
    "telemetry_s": 60.0,
    "ack_timeout_s": 60.0,
    "stop_timeout_s": 3.0,
}


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)


def make_settings(
    db_path: Path, port: int | list[int], *, broker: dict[str, Any] | None = None, **sync: Any
) -> SyncSettings:
    """Settings for the test kiosk: ``port`` (or a list: the broker list, in order), ``broker``
    extra ``[broker]`` values (username, password, tls), ``sync`` the ``[sync]`` table."""
    table: dict[str, Any] = {**FAST, **sync}
    ports = port if isinstance(port, list) else [port]
    if len(ports) > 1:
        table["brokers"] = [f"127.0.0.1:{p}" for p in ports]
    config = Config(
        store=StoreConfig(id=STORE),
        kiosk=KioskConfig(id=KIOSK),
        paths=PathsConfig(db=str(db_path)),
        broker=BrokerConfig(host="127.0.0.1", port=ports[0], **(broker or {})),
    )
    return SyncSettings.from_config(config, table)


def write_config(folder: Path, db_path: Path, port: int, **sync: Any) -> Path:
    """A kiosk.toml for ``python -m kiosk.sync`` with a ``[sync]`` table."""
    lines = [
        "[store]",
        f'id = "{STORE}"',
        "[kiosk]",
        f'id = "{KIOSK}"',
        "[paths]",
        f'data_dir = "{db_path.parent}"',
        f'db = "{db_path}"',
        "[broker]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "[sync]",
        *(f"{key} = {json.dumps(value)}" for key, value in {**FAST, **sync}.items()),
    ]
    path = folder / "kiosk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the lane side
@dataclass
class Lane:
    """The lane's side of kiosk.db: sales through ``SqliteLaneStore.complete_sale``."""

    db_path: Path
    factory: SaleFactory = field(default_factory=SaleFactory)

    def __post_init__(self) -> None:
        self.db = open_db(self.db_path)
        migrate(self.db)
        self.store = SqliteLaneStore(self.db, KIOSK, min_free_disk_bytes=0)

    def sell(self, n: int) -> list[int]:
        """Complete ``n`` sales; returns their seqs."""
        return [self.store.complete_sale(self.factory.make(lines=1), {}).seq for _ in range(n)]

    def sell_in_batches(self, n: int, batch: int = 500) -> None:
        """``n`` sale events written by the store's journal, ``batch`` per transaction: the
        same journal and outbox rows as ``complete_sale`` writes, much faster, for backlogs."""
        conn = self.db.conn
        for start in range(0, n, batch):
            with write_transaction(conn):
                for _ in range(min(batch, n - start)):
                    seq, prev_hash = next_link(conn)
                    event = sale_completed_event(self.factory.make(lines=1), seq, prev_hash)
                    sealed, body = seal_with_body(event)
                    append_event(conn, SALE_COMPLETED, sealed, body)

    def event_ids(self) -> list[str]:
        return [r[0] for r in self.db.conn.execute("SELECT event_id FROM journal ORDER BY seq")]

    def states(self) -> Counter[str]:
        return Counter(r[0] for r in self.db.conn.execute("SELECT state FROM outbox"))

    def rows(self) -> list[tuple[int, str, str, int, str]]:
        return [
            (int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]))
            for r in self.db.conn.execute(
                "SELECT seq, event_id, state, attempts, acks FROM outbox ORDER BY seq"
            )
        ]

    def settled_ids(self) -> set[str]:
        return {
            r[0] for r in self.db.conn.execute("SELECT event_id FROM outbox WHERE state='settled'")
        }

    def close(self) -> None:
        self.db.close()


# --------------------------------------------------------------------------- agent runners
class AgentThread:
    """``SyncAgent.run`` on a thread with its own kiosk.db connection; a context manager."""

    def __init__(self, settings: SyncSettings) -> None:
        self.store: SqliteOutbox = open_outbox(settings.db_path)
        self.agent = SyncAgent(settings, self.store)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sync-agent", daemon=True)

    def _run(self) -> None:
        try:
            self.agent.run(self.stop)
        except BaseException as exc:
            self.error = exc
            raise

    def __enter__(self) -> AgentThread:
        self.thread.start()
        return self

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the agent did not stop"

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.halt()
        self.store.close()
        if self.error is not None:
            raise self.error


@dataclass
class AgentProcess:
    """``python -m kiosk.sync --config FILE`` as a child process."""

    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kiosk.sync", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        return self

    def signal(self, sig: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(20)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGKILL)
        self.process = None


# ------------------------------------------------------------------------- MQTT test clients
def _client(client_id: str, port: int, *, persistent: bool) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.reconnect_delay_set(0.05, 0.3)  # type: ignore[arg-type]
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600 if persistent else 0
    client.connect_async(
        "127.0.0.1", port, keepalive=5, clean_start=not persistent, properties=props
    )
    return client


@dataclass
class Delivery:
    seq: int
    event_id: str
    topic: str
    user_properties: dict[str, str]
    content_type: str | None


class Consumer:
    """A stand-in consumer: ``groups`` ack what it received (``mode`` up_to_seq or event_ids;
    None: no acks)."""

    def __init__(
        self,
        port: int,
        *,
        groups: tuple[str, ...] = GROUPS,
        mode: str | None = "up_to_seq",
        client_id: str = "test-consumer",
    ) -> None:
        self.groups = groups
        self.mode = mode
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.seen: set[int] = set()
        self.contiguous = 0
        self.acked_up_to = 0
        self.acked_ids: set[str] = set()
        self.reack = False
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self.client = _client(client_id, port, persistent=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._on_message
        self._acker = threading.Thread(target=self._ack_loop, daemon=True)

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.subscribe(f"pos/v1/{KIOSK}/evt/#", qos=1)

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        event = json.loads(msg.payload)
        props = dict(getattr(msg.properties, "UserProperty", []) or [])
        delivery = Delivery(
            event["seq"],
            event["event_id"],
            msg.topic,
            props,
            getattr(msg.properties, "ContentType", None),
        )
        with self.lock:
            self.deliveries.append(delivery)
            if delivery.seq in self.seen:
                self.reack = True  # a redelivery: its ack may have been lost, ack again
            self.seen.add(delivery.seq)
            while self.contiguous + 1 in self.seen:
                self.contiguous += 1
        if self.mode == "event_ids":
            for group in self.groups:
                self.publish_ack(group, {"event_ids": [delivery.event_id]})
            with self.lock:
                self.acked_ids.add(delivery.event_id)

    def publish_ack(self, group: str, payload: dict[str, Any]) -> mqtt.MQTTMessageInfo:
        return self.client.publish(f"pos/v1/{KIOSK}/ack/{group}", json.dumps(payload), qos=1)

    def _ack_loop(self) -> None:
        while not self._stop.wait(0.02):
            with self.lock:
                upto = self.contiguous
                if upto == 0 or (upto <= self.acked_up_to and not self.reack):
                    continue
                self.reack = False
                self.acked_ids.update(d.event_id for d in self.deliveries if d.seq <= upto)
                self.acked_up_to = upto
            for group in self.groups:
                self.publish_ack(group, {"up_to_seq": upto})

    def start(self) -> Consumer:
        self.client.loop_start()
        if self.mode == "up_to_seq":
            self._acker.start()
        wait_until(self.subscribed.is_set, 10, "the consumer's subscription")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._acker.is_alive():
            self._acker.join(5)
        self.client.disconnect()
        self.client.loop_stop()

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(d.event_id for d in self.deliveries)

    def seqs(self) -> list[int]:
        with self.lock:
            return [d.seq for d in self.deliveries]


class Watcher:
    """Records every message on the given topic filters (retained ones included)."""

    def __init__(self, port: int, *filters: str, client_id: str = "test-watcher") -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool, Any]] = []
        self.filters = filters
        self.subscribed = threading.Event()
        self.client = _client(client_id, port, persistent=False)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        for topic_filter in self.filters:
            client.subscribe(topic_filter, qos=1)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain), msg.properties))

    def start(self) -> Watcher:
        self.client.loop_start()
        wait_until(self.subscribed.is_set, 10, "the watcher's subscription")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def payloads(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for t, p, _r, _p in self.messages if t == topic]

    def publish(self, topic: str, payload: dict[str, Any], **props: Any) -> None:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        for key, value in props.items():
            setattr(properties, key, value)
        info = self.client.publish(topic, json.dumps(payload), qos=1, properties=properties)
        info.wait_for_publish(5)
