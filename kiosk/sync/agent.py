"""``kiosk sync``: the MQTT agent, one thread that ties the client, relay, acks, state and commands.

``SyncAgent(settings, store).run(stop)`` runs on the calling thread until ``stop`` is set:
each round polls the network (``MqttClient.poll``), then lets the relay publish and write its
results, sends telemetry when due and, once an hour, settles rows already acked by every
required group (after a change of ``required_groups``) and purges old settled rows. A kiosk.db
error in a round is logged and the round tried again a second later: PUBACK results wait in
memory and unhandled messages stay unacknowledged, so nothing is lost. Nothing here
shares a thread or a connection with the lane: the store is the agent's own kiosk.db
connection, every write a short transaction.

A clean stop (``stop`` set, e.g. by SIGTERM through ``run_sync``) writes the PUBACKs already
received, publishes the retained offline state, waits (at most ``stop_timeout_s``) for its
PUBACK, and only then sends DISCONNECT, so watchers see "offline" at once and the broker
drops the Will.

``run_sync(config_path, open_store)`` is the process entry: settings from the config file,
its CPU niceness raised to ``[sync] nice`` (default 10: the lane gets the CPU first),
the store from ``open_store(db_path)`` (``kiosk.store.outbox.open_outbox``: handed in by the
entry point because adapters never import each other), SIGTERM/SIGINT handlers, exit code 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Final, Protocol

from kiosk.errors import StoreError
from kiosk.protocol.mqtt import ROOT, command_request_topic
from kiosk.sync.acks import AckHandler
from kiosk.sync.client import InboundMessage, MqttClient, PublishOutcome
from kiosk.sync.commands import CommandHandler
from kiosk.sync.config_file import load_settings
from kiosk.sync.ports import SyncStore
from kiosk.sync.relay import OutboxRelay
from kiosk.sync.settings import BrokerAddress, SyncSettings
from kiosk.sync.state import StateReporter

logger = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_S: Final = 3600.0
STORE_RETRY_S: Final = 1.0
BUSY_POLL_S: Final = 0.02
IDLE_POLL_S: Final = 0.1

StoreOpener = Callable[[str], SyncStore]


class SyncAgent:
    """The sync agent; also the ``ClientHandler`` of its ``MqttClient``."""

    def __init__(
        self,
        settings: SyncSettings,
        store: SyncStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self._clock = clock
        self.client = MqttClient(settings, self, self._will, clock=clock)
        self.relay = OutboxRelay(store, self.client, settings, clock=clock, wall=wall)
        self.state = StateReporter(
            store, self.client, settings, self.relay.stats, clock=clock, wall=wall
        )
        self.acks = AckHandler(store, settings.kiosk_id, settings.required_groups)
        self.commands = CommandHandler(store, self.client, self.relay, settings, wall=wall)
        self._ack_prefix = f"{ROOT}/{settings.kiosk_id}/ack/"
        self._cmd_topic = command_request_topic(settings.kiosk_id)
        self._central_prefix = f"{ROOT}/central/state/"
        self._waiting_for: int | None = None
        self._next_housekeeping = 0.0
        self._birth_owed = False

    def _will(self) -> tuple[str, bytes]:
        return self.state.will()

    # ------------------------------------------------------------------ ClientHandler
    def on_connected(self, broker: BrokerAddress, session_present: bool) -> None:
        self.state.broker = str(broker)
        self._publish_birth()

    def _publish_birth(self) -> None:
        # Runs while the client dispatches a round's events: it must not raise, or the
        # round's other events (PUBACKs) would be lost. A birth that cannot be read from
        # kiosk.db is owed and published on a later round.
        try:
            self.state.publish_birth()
            self._birth_owed = False
        except StoreError as exc:
            logger.error("birth not published (kiosk.db: %s); trying again", exc)
            self._birth_owed = True

    def on_disconnected(self, reason: str) -> None:
        self.state.broker = ""

    def on_published(self, outcome: PublishOutcome) -> None:
        if self.relay.owns(outcome.mid):
            self.relay.on_published(outcome)
            return
        if outcome.mid == self._waiting_for:
            self._waiting_for = None
        if outcome.failed:
            logger.error(
                "broker refused a control message (mid %d): 0x%02x %s",
                outcome.mid,
                outcome.reason_code,
                outcome.reason,
            )

    def on_messages(self, messages: Sequence[InboundMessage]) -> None:
        acks = [m for m in messages if m.topic.startswith(self._ack_prefix)]
        if acks:
            # The round's PUBACK results go in the acks' transaction: one commit, not two.
            results = self.relay.take_results()
            try:
                self.acks.handle(acks, results)
            except BaseException:
                self.relay.give_back(results)
                raise
        for message in messages:
            if message.topic in self.commands.topics:  # cmd/req and the cfg/desired topics
                self.commands.handle(message)
            elif message.topic.startswith(self._central_prefix):
                self._central_state(message)
            elif not message.topic.startswith(self._ack_prefix):
                logger.warning("ignored a message on %s", message.topic)

    def _central_state(self, message: InboundMessage) -> None:
        group = message.topic[len(self._central_prefix) :]
        try:
            online = json.loads(message.payload).get("online")
        except (ValueError, AttributeError):
            online = None
        if isinstance(online, bool):
            self.state.central[group] = online
        else:
            logger.warning("ignored a bad central state on %s", message.topic)

    # ------------------------------------------------------------------------- running
    def start(self) -> None:
        """Subscribe (the client renews the subscriptions on every connect)."""
        self.client.subscribe(f"{ROOT}/{self.settings.kiosk_id}/ack/+", qos=1)
        for topic in self.commands.topics:
            self.client.subscribe(topic, qos=1)
        self.client.subscribe(f"{self._central_prefix}+", qos=1)

    def step(self, wait: Callable[[float], object]) -> None:
        """One round: network, relay, birth if owed, telemetry, housekeeping."""
        timeout = IDLE_POLL_S if self.relay.idle else BUSY_POLL_S
        self.client.poll(timeout, wait)
        self.relay.tick()
        if self._birth_owed and self.client.connected:
            self._publish_birth()
        self.state.tick()
        now = self._clock()
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_EVERY_S
            self._housekeeping()

    def _housekeeping(self) -> None:
        """Settle rows acked under an older group list; purge old settled rows."""
        settled = self.store.settle_acked(self.settings.required_groups)
        if settled:
            logger.info("settled %d rows already acked by every required group", settled)
        self.store.purge_settled(self.settings.purge_after_days)

    def run(self, stop: threading.Event, beat: Callable[[], None] | None = None) -> None:
        """Rounds until ``stop``; ``beat()`` (the service watchdog's proof of life) each round."""
        self.start()
        while not stop.is_set():
            if beat is not None:
                beat()
            try:
                self.step(stop.wait)
            except StoreError:
                # kiosk.db busy or failing: nothing is lost (PUBACK results stay in memory,
                # unhandled messages unacknowledged); try again shortly.
                logger.exception("kiosk.db error; retrying in %.1f s", STORE_RETRY_S)
                stop.wait(STORE_RETRY_S)
        self.shutdown()

    def shutdown(self) -> None:
        """The clean stop: results written, offline published and PUBACKed, DISCONNECT."""
        self._flush_results()
        if self.client.connected:
            self._waiting_for = self.state.publish_offline()
            deadline = self._clock() + self.settings.stop_timeout_s
            while (
                self._waiting_for is not None and self.client.connected and self._clock() < deadline
            ):
                self.client.poll(BUSY_POLL_S)
            if self._waiting_for is not None:
                logger.warning("offline state not acknowledged before stopping")
        self.client.disconnect()
        self._flush_results()
        logger.info("stopped")

    def _flush_results(self) -> None:
        try:
            self.relay.flush()
        except StoreError:
            logger.exception("PUBACK results not written: those rows will be published again")


def lower_priority(nice: int) -> int:
    """Raise this process's CPU niceness to at least ``nice`` (``[sync] nice``), so the lane
    gets the CPU first while a backlog drains; never lowers it (a unit's ``Nice=`` may already
    have set it). Returns the niceness now; a refusal is logged, never fatal."""
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current < nice:
            current = os.nice(nice - current)
            logger.info("CPU niceness raised to %d", current)
    except OSError as exc:
        logger.warning("CPU niceness not changed: %s", exc)
        return -1
    return current


class ServiceHooks(Protocol):
    """The service manager's life cycle (``kiosk.app.sd_notify.ServiceNotifier``)."""

    def ready(self, status: str | None = None) -> None: ...
    def beat(self) -> None: ...
    def stopping(self) -> None: ...


def run_sync(
    config_path: str | os.PathLike[str],
    open_store: StoreOpener,
    service: ServiceHooks | None = None,
) -> int:
    """Run the agent until SIGTERM or SIGINT; returns the exit code (0 after a clean stop).
    ``service`` is told when the agent is ready, each round, and when it stops (systemd).

    Raises ``ConfigError`` for a bad config and ``StoreError`` when kiosk.db cannot be used.
    """
    settings = load_settings(config_path)
    lower_priority(settings.nice)
    store = open_store(settings.db_path)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: stopping", signal.Signals(signum).name)
        if service is not None and not stop.is_set():
            service.stopping()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        logger.info(
            "kiosk sync %s starting: brokers %s, window %d",
            settings.kiosk_id,
            ", ".join(str(b) for b in settings.brokers),
            settings.window,
        )
        agent = SyncAgent(settings, store)
        if service is None:
            agent.run(stop)
        else:
            service.ready(f"relaying {settings.kiosk_id} to {settings.brokers[0]}")
            agent.run(stop, service.beat)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
    return 0
