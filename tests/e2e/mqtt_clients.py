"""Plain MQTT v5 clients of the end-to-end tests: a watcher of state messages and a raw
publisher of arbitrary bytes (paho's network thread plus the test's thread)."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Watcher:
    """A plain MQTT v5 client recording the kiosks' and consumer groups' state messages."""

    FILTERS = ("pos/v1/+/state", "pos/v1/central/state/+")

    def __init__(self, port: int, username: str | None = None, password: str | None = None):
        self.lock = threading.Lock()
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(0.05, 0.5)  # type: ignore[arg-type]

        def on_connect(client: mqtt.Client, *_: Any) -> None:
            client.subscribe([(f, 1) for f in self.FILTERS])

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.loop_start()
        assert subscribed.wait(10), "the watcher did not subscribe"

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            data = json.loads(msg.payload)
        except ValueError:
            data = {"unreadable": msg.payload.decode("utf-8", "replace")}
        with self.lock:
            self.messages.append((msg.topic, data, bool(msg.retain)))

    def live(self, topic: str, online: bool) -> int:
        """How many messages saying ``online`` arrived live (not as retained) on ``topic``."""
        with self.lock:
            return sum(
                1
                for t, data, retained in self.messages
                if t == topic and not retained and data.get("online") is online
            )

    def reached(self, topic: str, online: bool, count: int) -> bool:
        return self.live(topic, online) >= count

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RawClient:
    """A plain paho MQTT v5 client that publishes arbitrary bytes at QoS 1 (copies of events,
    bad payloads) and waits for the broker's PUBACKs."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert connected.wait(10), f"the raw client did not connect to {port}"

    def publish(self, messages: list[tuple[str, bytes]], timeout: float = 30.0) -> None:
        infos = [self.client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout)
            assert info.is_published(), f"no PUBACK for mid {info.mid}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
