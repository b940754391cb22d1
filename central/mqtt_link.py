"""The consumer's MQTT v5 connection (the one module that imports paho).

``ConsumerLink`` owns a network thread (``mqtt-<client id>``) that connects to the configured
brokers in order (primary first, exponential backoff with jitter between rounds) with a
persistent session (clean start off, session expiry set, fixed client id), subscribes the
group's shared subscription ``$share/{group}/pos/v1/+/evt/#`` at QoS 1, and publishes the
retained online state on ``pos/v1/central/state/{group}`` (the Will says offline). Received
events become ``Inbound`` messages in ``inbox``; they are PUBACKed only when the consumer
thread calls ``ack`` after its database commit (paho ``manual_ack``). A message received on an
earlier connection is never acked on a later one (``generation``): the broker redelivers it and
the consumer sees a duplicate. With several instances in a group, an instance that sees the
group's state turn offline while it is itself running publishes online again, so the retained
state reads offline only when no instance is up.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from central.apply import Inbound
from central.clock import utc_now_text
from central.config import BrokerEndpoint, MqttConfig
from kiosk.protocol.mqtt import (
    central_state_payload,
    central_state_topic,
    shared_events_subscription,
)

logger = logging.getLogger(__name__)


class Published:
    """A QoS 1 publish in flight: ``done`` once the broker's PUBACK arrived."""

    def __init__(self, info: mqtt.MQTTMessageInfo | None) -> None:
        self._info = info
        self.sent_at = time.monotonic()

    @property
    def done(self) -> bool:
        return self._info is not None and self._info.is_published()


class ConsumerLink:
    def __init__(
        self, config: MqttConfig, group: str, client_id: str, receive_maximum: int = 1000
    ) -> None:
        self.config = config
        self.group = group
        self.client_id = client_id
        self.receive_maximum = max(1, min(receive_maximum, 65535))
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.connected = threading.Event()
        self.state_topic = central_state_topic(group)
        self._clients: dict[int, mqtt.Client] = {}
        self._current: mqtt.Client | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._accepted = False
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- called by the consumer
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-{self.client_id}", daemon=True
        )
        self._thread.start()

    def ack(self, messages: Sequence[Inbound]) -> int:
        """PUBACK ``messages`` (in order) that came on the current connection; how many."""
        sent = 0
        with self._lock:
            client = self._current
            if client is None:
                return 0
            for m in messages:
                if m.qos > 0 and m.generation == self._generation:
                    client.ack(m.mid, m.qos)
                    sent += 1
        return sent

    def publish(
        self,
        topic: str,
        payload: dict[str, Any] | str,
        *,
        retain: bool = False,
        response_topic: str | None = None,
        correlation: bytes | None = None,
    ) -> Published:
        """Publish JSON at QoS 1 (nothing is sent while disconnected: ``done`` stays False)."""
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        properties = None
        if response_topic is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.ResponseTopic = response_topic
            properties.CorrelationData = correlation or b""
        with self._lock:
            client = self._current
            if client is None or not self.connected.is_set():
                return Published(None)
            info = client.publish(topic, text, qos=1, retain=retain, properties=properties)
        return Published(info if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish offline (retained), DISCONNECT cleanly (no Will), end the network thread."""
        self._stopping.set()
        with self._lock:
            client = self._current if self.connected.is_set() else None
        if client is not None:
            offline = json.dumps(central_state_payload(False, utc_now_text()))
            info = client.publish(self.state_topic, offline, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                logger.warning("could not publish offline state before stopping: %s", exc)
            client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the MQTT network thread did not end within %.1f s", timeout)

    # ----------------------------------------------------------------- network thread
    def _client_for(self, index: int) -> mqtt.Client:
        client = self._clients.get(index)
        if client is not None:
            return client
        endpoint = self.config.brokers[index]
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if endpoint.tls:
            client.tls_set(
                ca_certs=endpoint.ca_file or None,
                certfile=endpoint.cert_file or None,
                keyfile=endpoint.key_file or None,
            )
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password or None)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._clients[index] = client
        return client

    def _connect_properties(self) -> Properties:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.config.session_expiry_s
        properties.ReceiveMaximum = self.receive_maximum
        return properties

    def _run(self) -> None:
        index = 0
        delay = self.config.reconnect_min_s
        while not self._stopping.is_set():
            endpoint = self.config.brokers[index]
            try:
                session_up = self._session(index, endpoint)
            except Exception:
                logger.exception("MQTT connection to %s:%d failed", endpoint.host, endpoint.port)
                self.connected.clear()
                session_up = False
            if self._stopping.is_set():
                break
            if session_up:
                index, delay = 0, self.config.reconnect_min_s
            else:
                index = (index + 1) % len(self.config.brokers)
                if index == 0:
                    delay = min(delay * 2, self.config.reconnect_max_s)
            self._stopping.wait(delay * random.uniform(0.5, 1.0))

    def _session(self, index: int, endpoint: BrokerEndpoint) -> bool:
        """One connection to ``endpoint`` until it ends; True if it was accepted (CONNACK)."""
        client = self._client_for(index)
        client.will_set(
            self.state_topic, json.dumps(central_state_payload(False, utc_now_text())), 1, True
        )
        self._accepted = False
        with self._lock:
            # Messages of the last connection are stale from here on: never PUBACK them on this
            # one (the broker redelivers them; they come back as duplicates if committed).
            self._generation += 1
            self._current = None
        try:
            client.connect(
                endpoint.host,
                endpoint.port,
                keepalive=self.config.keepalive_s,
                clean_start=False,
                properties=self._connect_properties(),
            )
        except (OSError, ValueError) as exc:
            logger.warning("cannot connect to %s:%d: %s", endpoint.host, endpoint.port, exc)
            return False
        with self._lock:
            self._current = client
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            rc = client.loop(timeout=0.2)
        self.connected.clear()
        if not self._stopping.is_set():
            logger.warning("MQTT connection to %s:%d ended: %s", endpoint.host, endpoint.port, rc)
        return self._accepted

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            logger.error("the broker refused %s: %s", self.client_id, reason)
            return
        self._accepted = True
        client.subscribe(
            [
                (shared_events_subscription(self.group), SubscribeOptions(qos=1)),
                (self.state_topic, SubscribeOptions(qos=1)),
            ]
        )
        online = json.dumps(central_state_payload(True, utc_now_text()))
        client.publish(self.state_topic, online, qos=1, retain=True)
        self.connected.set()
        logger.info(
            "%s connected (session present: %s), group %s",
            self.client_id,
            flags.session_present,
            self.group,
        )

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self.connected.clear()
        logger.info("%s disconnected: %s", self.client_id, reason)

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = "(topic is not UTF-8)"
        if topic == self.state_topic:
            client.ack(message.mid, message.qos)
            self._on_group_state(client, bytes(message.payload))
            return
        self.inbox.put(
            Inbound(topic, bytes(message.payload), message.mid, message.qos, self._generation)
        )

    def _on_group_state(self, client: mqtt.Client, payload: bytes) -> None:
        try:
            online = json.loads(payload).get("online")
        except (ValueError, AttributeError):
            logger.warning("unreadable group state on %s: %r", self.state_topic, payload[:200])
            return
        if online is False and not self._stopping.is_set():
            logger.info(
                "group %s reported offline while %s runs: online again", self.group, self.client_id
            )
            state = json.dumps(central_state_payload(True, utc_now_text()))
            client.publish(self.state_topic, state, qos=1, retain=True)
