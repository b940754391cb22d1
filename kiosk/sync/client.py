"""The paho-mqtt wrapper: connection, broker list, resubscribe, manual acks, our own message types.

The only module that imports paho (with ``kiosk.sync.mqtt_properties``, which packs the
PUBLISH properties). It runs on the sync agent's one thread: ``poll(timeout)``
connects when it is time to (brokers tried in order; after a whole round fails, exponential
backoff with jitter), runs one round of paho's network loop, and then hands what happened to
the ``ClientHandler`` *outside* paho's callbacks: ``on_connected``, ``on_disconnected``,
``on_published`` (a ``PublishOutcome`` per PUBACK, with its MQTT v5 reason code) and
``on_messages`` (a batch of frozen ``InboundMessage``). Handlers never see a paho object.

Sessions: MQTT v5, client id = kiosk id, clean start OFF with a session expiry, so acks and
commands published while the kiosk was away are delivered when it is back. Every subscription
given to ``subscribe`` is renewed on every connect (a broker that lost its state, or a backup
broker, has none). Inbound QoS 1 messages are acknowledged only after ``on_messages`` returned;
when it raises (kiosk.db unavailable) the same batch is offered again a second later and the
broker keeps redelivering it after a reconnect (a message is acknowledged only on the connection
that delivered it).

The Will (the retained offline state) is computed by the ``will`` callable before every
connect attempt, so it carries the current boot number.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Protocol

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from kiosk.errors import ConfigError
from kiosk.sync.backoff import Backoff
from kiosk.sync.mqtt_properties import PackedProperties, paho_properties
from kiosk.sync.settings import BrokerAddress, SyncSettings

logger = logging.getLogger(__name__)

JSON: Final = "application/json"
NO_MATCHING_SUBSCRIBERS: Final = 0x10
FAILURE: Final = 0x80
# Room in paho's own in-flight count for control messages (state, responses) beside the window.
CONTROL_HEADROOM: Final = 16
HANDLER_RETRY_S: Final = 1.0
MAX_RECEIVE: Final = 65535


@dataclass(frozen=True, slots=True)
class InboundMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    response_topic: str | None = None
    correlation_data: bytes | None = None
    content_type: str | None = None
    user_properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """The broker's answer to one QoS 1 publish (QoS 0 ones are reported as success)."""

    mid: int
    reason_code: int
    reason: str

    @property
    def failed(self) -> bool:
        return self.reason_code >= FAILURE

    @property
    def no_subscribers(self) -> bool:
        """0x10: accepted (a success PUBACK) but nobody received it: not a delivery."""
        return self.reason_code == NO_MATCHING_SUBSCRIBERS


@dataclass(frozen=True, slots=True)
class PublishOptions:
    qos: int = 1
    retain: bool = False
    content_type: str | None = JSON
    user_properties: tuple[tuple[str, str], ...] = ()
    response_topic: str | None = None
    correlation_data: bytes | None = None


class ClientHandler(Protocol):
    def on_connected(self, broker: BrokerAddress, session_present: bool) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...
    def on_published(self, outcome: PublishOutcome) -> None: ...
    def on_messages(self, messages: Sequence[InboundMessage]) -> None: ...


class Phase(Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"


@dataclass
class _Received:
    message: InboundMessage
    mid: int
    connection: int  # packet ids mean something only on the connection that delivered them


@dataclass
class _Events:
    """What paho's callbacks reported during one loop round, in order."""

    items: list[tuple[str, Any]] = field(default_factory=list)


class MqttClient:
    def __init__(
        self,
        settings: SyncSettings,
        handler: ClientHandler,
        will: Callable[[], tuple[str, bytes]],
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._handler = handler
        self._will = will
        self._clock = clock
        self._backoff = backoff or Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._subscriptions: dict[str, int] = {}
        self._phase = Phase.IDLE
        self._index = 0
        self._next_attempt = 0.0
        self._deadline = 0.0
        self._broker: BrokerAddress | None = None
        self._connection = 0
        self.receive_maximum = MAX_RECEIVE  # the broker's, from its CONNACK
        self._events = _Events()
        self._unhandled: list[_Received] = []
        self._retry_handler_at = 0.0
        self._paho = self._build()

    # ------------------------------------------------------------------------ set-up
    def _build(self) -> paho.Client:
        s = self._settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.kiosk_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        client.max_inflight_messages_set(s.window + CONTROL_HEADROOM)
        client.max_queued_messages_set(s.window + CONTROL_HEADROOM)
        client.connect_timeout = s.connect_timeout_s
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls is not None:
            try:
                client.tls_set(
                    ca_certs=s.tls.ca_file,
                    certfile=s.tls.cert_file,
                    keyfile=s.tls.key_file,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError("sync.tls_ca_file", f"TLS files cannot be used: {exc}") from exc
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now when connected, and again on every connect."""
        self._subscriptions[topic] = qos
        if self._phase is Phase.CONNECTED:
            self._paho.subscribe(topic, qos=qos)

    @property
    def connected(self) -> bool:
        return self._phase is Phase.CONNECTED

    @property
    def broker(self) -> BrokerAddress | None:
        """The broker connected to (None when not connected)."""
        return self._broker if self._phase is Phase.CONNECTED else None

    # ------------------------------------------------------------------ paho callbacks
    # These run inside paho's loop: they only record what happened.
    def _on_connect(
        self, _c: paho.Client, _u: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        receive_maximum = int(getattr(props, "ReceiveMaximum", MAX_RECEIVE))
        self._events.items.append(
            ("connack", (reason, bool(flags.session_present), receive_maximum))
        )

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self._events.items.append(("disconnect", str(reason)))

    def _on_publish(self, _c: paho.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        self._events.items.append(("puback", PublishOutcome(mid, int(reason.value), str(reason))))

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        props = msg.properties
        user = getattr(props, "UserProperty", None) or []
        message = InboundMessage(
            topic=msg.topic,
            payload=bytes(msg.payload),
            qos=msg.qos,
            retain=bool(msg.retain),
            response_topic=getattr(props, "ResponseTopic", None),
            correlation_data=getattr(props, "CorrelationData", None),
            content_type=getattr(props, "ContentType", None),
            user_properties=tuple((str(k), str(v)) for k, v in user),
        )
        self._events.items.append(("message", _Received(message, msg.mid, self._connection)))

    # ------------------------------------------------------------------------ the loop
    def poll(self, timeout: float, wait: Callable[[float], object] = time.sleep) -> None:
        """Connect if due, run one network round (up to ``timeout`` s), dispatch its events.

        With no connection, waits with ``wait`` (the agent passes its stop event's ``wait``).
        """
        now = self._clock()
        if self._phase is Phase.IDLE:
            if now < self._next_attempt:
                wait(min(timeout, self._next_attempt - now))
                return
            if not self._attempt(now):
                return
        rc = self._paho.loop(timeout)
        self._dispatch()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS and self._phase is not Phase.IDLE:
            self._lost(f"network loop ended: {paho.error_string(rc)}")
        elif self._phase is Phase.CONNECTING and self._clock() > self._deadline:
            logger.warning(
                "no CONNACK from %s within %.1f s", self._broker, self._settings.connect_timeout_s
            )
            self._paho.disconnect()
            self._lost("no CONNACK")
        self._offer_unhandled()

    def _attempt(self, now: float) -> bool:
        """Open a connection to the current broker; False when it cannot be reached."""
        broker = self._settings.brokers[self._index]
        topic, payload = self._will()
        self._paho.will_set(
            topic,
            payload,
            qos=1,
            retain=True,
            properties=paho_properties(PacketTypes.WILLMESSAGE, PublishOptions()),
        )
        connect_props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect_props.SessionExpiryInterval = self._settings.session_expiry_s
        try:
            self._paho.connect(
                broker.host,
                broker.port,
                keepalive=self._settings.keepalive_s,
                clean_start=False,
                properties=connect_props,
            )
        except (OSError, ssl.SSLError) as exc:
            logger.warning("cannot reach broker %s: %s", broker, exc, extra={"broker": str(broker)})
            self._round_failed(now)
            return False
        self._phase = Phase.CONNECTING
        self._broker = broker
        self._connection += 1
        self._deadline = now + self._settings.connect_timeout_s
        return True

    def _round_failed(self, now: float) -> None:
        """This broker failed: try the next one now, or wait after a whole round."""
        self._phase = Phase.IDLE
        self._index += 1
        if self._index >= len(self._settings.brokers):
            self._index = 0
            delay = self._backoff.next_delay()
            self._next_attempt = now + delay
            logger.info("no broker reachable; next round in %.2f s", delay)
        else:
            self._next_attempt = now

    def _lost(self, reason: str) -> None:
        was_connected = self._phase is Phase.CONNECTED
        self._phase = Phase.IDLE
        if was_connected:
            logger.warning("connection to %s lost: %s", self._broker, reason)
            self._index = 0  # the primary first again
            self._next_attempt = self._clock() + self._backoff.next_delay()
            self._handler.on_disconnected(reason)
        else:
            self._round_failed(self._clock())

    def _dispatch(self) -> None:
        events, self._events.items = self._events.items, []
        received: list[_Received] = []
        for kind, value in events:
            if kind == "connack":
                reason, session_present, receive_maximum = value
                self._connack(reason, session_present, receive_maximum)
            elif kind == "disconnect":
                if self._phase is not Phase.IDLE:
                    self._lost(value)
            elif kind == "puback":
                self._handler.on_published(value)
            else:
                received.append(value)
        if received:
            self._unhandled.extend(received)
            self._retry_handler_at = 0.0

    def _connack(self, reason: ReasonCode, session_present: bool, receive_maximum: int) -> None:
        broker = self._broker
        if reason.is_failure:
            logger.error("broker %s refused the connection: %s", broker, reason)
            self._paho.disconnect()
            self._round_failed(self._clock())
            return
        assert broker is not None
        # paho ignores the broker's Receive Maximum (and cannot change its own in-flight
        # limit once connected): the relay reads it and keeps its window under it.
        self.receive_maximum = max(1, receive_maximum)
        self._phase = Phase.CONNECTED
        self._backoff.reset()
        logger.info(
            "connected to %s (session %s)",
            broker,
            "resumed" if session_present else "new",
            extra={"broker": str(broker)},
        )
        for topic, qos in self._subscriptions.items():
            self._paho.subscribe(topic, qos=qos)
        self._handler.on_connected(broker, session_present)

    def _offer_unhandled(self) -> None:
        if not self._unhandled or self._clock() < self._retry_handler_at:
            return
        batch = self._unhandled
        try:
            self._handler.on_messages([r.message for r in batch])
        except Exception:
            logger.exception("%d inbound message(s) not handled; retrying", len(batch))
            self._retry_handler_at = self._clock() + HANDLER_RETRY_S
            return
        self._unhandled = []
        for item in batch:
            # A message from an earlier connection is not acknowledged: the broker redelivers
            # it (a resumed session) and its packet id may now name another message.
            if item.message.qos > 0 and item.connection == self._connection and self.connected:
                self._paho.ack(item.mid, item.message.qos)

    # ---------------------------------------------------------------------- publishing
    def publish(self, topic: str, payload: bytes, options: PublishOptions) -> int | None:
        """Hand one message to paho; returns its mid, or None when paho refused it.

        A message handed over while the connection is dropping stays in paho's (bounded)
        session and is sent again on reconnect, so it keeps its mid.
        """
        info = self._paho.publish(
            topic,
            payload,
            qos=options.qos,
            retain=options.retain,
            properties=PackedProperties(options),
        )
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            return int(info.mid)
        logger.warning("paho refused a publish to %s: %s", topic, paho.error_string(info.rc))
        return None

    def disconnect(self) -> None:
        """A clean DISCONNECT (the broker then discards the Will); no reconnect follows."""
        was = self._phase
        self._phase = Phase.IDLE
        self._next_attempt = float("inf")
        if was is not Phase.IDLE:
            self._paho.disconnect()
            self._dispatch()
