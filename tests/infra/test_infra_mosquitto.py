"""The private broker fixture itself works: start, publish, kill, restart on the same port."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.infra.mosquitto import Broker


def _retained(port: int, topic: str) -> bytes | None:
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        got.append(message.payload)
        done.set()

    def on_connect(c: mqtt.Client, *_args: object) -> None:
        c.subscribe(topic, qos=1)

    client.on_message = on_message
    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        done.wait(2)
    finally:
        client.loop_stop()
        client.disconnect()
    return got[0] if got else None


def test_broker_keeps_retained_messages_across_a_clean_restart(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker").start()
    try:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        client.publish("t/retained", b"hello", qos=1, retain=True).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        port = broker.port
        broker.restart()
        assert broker.port == port
        assert _retained(broker.port, "t/retained") == b"hello"
        broker.kill()
        assert not broker.running
    finally:
        broker.kill()
