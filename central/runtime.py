"""The consumer runtime: the loop that turns received messages into committed, acked batches.

``ConsumerRuntime.run(stop)`` is the consumer thread (the CLI's main thread). Each turn:

1. take a batch from the link's inbox: up to ``batch_size`` messages or ``batch_ms`` after the
   first one, whichever comes first;
2. ``Applier.apply`` it in one transaction (retrying with backoff while the database is
   unavailable; nothing is acked meanwhile);
3. after COMMIT: PUBACK every message of the batch, then publish each touched kiosk's
   application ack on ``pos/v1/{kiosk}/ack/{group}``: ``up_to_seq`` = its contiguous seq, plus
   ``event_ids`` of events applied (or seen again) beyond a gap;
4. ask kiosks whose seq gap outlived the reorder timeout to ``resend`` the missing range;
5. (inventory) publish pending low-stock alerts from the outbox.

A crash anywhere loses nothing: unacked messages are redelivered by the broker (persistent
session) and recognised by ``event_id``.

Under systemd (``Type=notify``, systemd/kiosk-central-*.service) the loop sends ``READY=1``
once it runs, ``WATCHDOG=1`` from its own turns (so a stuck loop is restarted) and
``STOPPING=1`` when it stops: ``SdNotify``, one datagram to ``$NOTIFY_SOCKET`` (central may not
import ``kiosk.app.sd_notify``, the kiosk's copy of the protocol).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from central.alerts import mark_published, pending_alerts
from central.apply import (
    APPLIED,
    DUPLICATE,
    PARKED,
    Applier,
    BatchResult,
    DatabaseUnavailable,
    Inbound,
)
from central.chain import kiosk_progress, read_progress
from central.clock import utc_now_text
from central.config import ConsumerConfig
from central.gaps import GapTracker
from central.mqtt_link import ConsumerLink, Published
from central.storage import read_only
from kiosk.protocol.mqtt import (
    MAX_ACK_IDS,
    ack_payload,
    ack_topic,
    command_request,
    command_request_topic,
    command_response_topic,
    resend_request,
)

logger = logging.getLogger(__name__)

ALERT_POLL_S = 0.5
ALERT_RETRY_S = 30.0
STATS_EVERY_S = 30.0


def resend_command(from_seq: int, to_seq: int) -> tuple[str, dict[str, Any]]:
    """A ``resend`` command for the kiosk's cmd/req topic and its id (the correlation data)."""
    cmd_id = str(uuid.uuid4())
    return cmd_id, command_request(cmd_id, "resend", resend_request(from_seq, to_seq))


class SdNotify:
    """systemd's notify protocol from ``$NOTIFY_SOCKET`` / ``$WATCHDOG_USEC`` (no-op without)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | bytes | None = (
            b"\0" + address[1:].encode() if address.startswith("@") else address or None
        )
        usec = env.get("WATCHDOG_USEC", "")
        mine = env.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid())
        self.every_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 and mine else None
        self._next = 0.0

    def send(self, state: str) -> None:
        if self.address is None:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(state.encode(), self.address)
        except OSError as exc:  # nobody listens: make run's listener is gone after start
            logger.info("sd_notify %s not sent: %s", state.split("\n", maxsplit=1)[0], exc)

    def watchdog(self, now: float) -> None:
        if self.every_s is not None and now >= self._next:
            self._next = now + self.every_s
            self.send("WATCHDOG=1")


@dataclass
class Stats:
    applied: int = 0
    duplicates: int = 0
    parked: int = 0
    batches: int = 0
    resends: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.applied += result.count(APPLIED)
        self.duplicates += result.count(DUPLICATE)
        self.parked += result.count(PARKED)


class ConsumerRuntime:
    def __init__(
        self,
        applier: Applier,
        link: ConsumerLink,
        engine: Engine,
        config: ConsumerConfig,
        *,
        publish_alerts: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.applier = applier
        self.link = link
        self.engine = engine
        self.config = config
        self.group = applier.group
        self.publish_alerts = publish_alerts
        self.clock = clock
        self.gaps = GapTracker(
            config.reorder_timeout_s, config.resend_interval_s, config.resend_max_interval_s, clock
        )
        self.stats = Stats()
        self._alerts_in_flight: dict[int, Published] = {}
        self._next_alert_poll = 0.0
        self._next_stats = clock() + STATS_EVERY_S
        self.notify = SdNotify()

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set (the current batch is finished first)."""
        try:
            with self.engine.connect() as conn:
                for progress in read_progress(read_only(conn), self.group):
                    self.gaps.observe(progress)
        except SQLAlchemyError as exc:
            logger.error("cannot read the kiosks' seq state at start (gaps found later): %s", exc)
        self.notify.send(f"READY=1\nSTATUS={self.group} consumer running")
        while not stop.is_set():
            self.notify.watchdog(self.clock())
            batch = self._take_batch()
            if batch:
                self._process(batch, stop)
            try:
                self._ask_for_resends()
                if self.publish_alerts:
                    self._publish_alerts()
            except SQLAlchemyError as exc:
                logger.error("database unavailable for resends/alerts, trying later: %s", exc)
            self._log_stats()
        self.notify.send("STOPPING=1")

    def _take_batch(self) -> list[Inbound]:
        inbox = self.link.inbox
        try:
            batch = [inbox.get(timeout=0.1)]
        except queue.Empty:
            return []
        deadline = self.clock() + self.config.batch_ms / 1000
        while len(batch) < self.config.batch_size:
            try:
                batch.append(inbox.get_nowait())
                continue
            except queue.Empty:
                remaining = deadline - self.clock()
            if remaining <= 0:
                break
            try:
                batch.append(inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[Inbound], stop: threading.Event) -> None:
        delay = 0.1
        while True:
            try:
                result = self.applier.apply(batch)
                break
            except DatabaseUnavailable as exc:
                logger.error(
                    "database unavailable, batch of %d kept for later: %s", len(batch), exc
                )
                if stop.wait(delay):
                    return  # not acked: the broker redelivers after the restart
                delay = min(delay * 2, 10.0)
        self.link.ack(batch)
        self.stats.add(result)
        for kiosk_id, progress in sorted(result.progress.items()):
            self._send_ack(kiosk_id, progress.contiguous_seq, result.beyond.get(kiosk_id, []))
            self.gaps.observe(progress)

    def _send_ack(self, kiosk_id: str, up_to_seq: int, beyond: list[str]) -> None:
        topic = ack_topic(kiosk_id, self.group)
        ids = list(dict.fromkeys(beyond))
        first = ids[:MAX_ACK_IDS]
        if up_to_seq > 0 or first:
            self.link.publish(
                topic, ack_payload(up_to_seq if up_to_seq > 0 else None, tuple(first))
            )
        for i in range(MAX_ACK_IDS, len(ids), MAX_ACK_IDS):
            self.link.publish(topic, ack_payload(None, tuple(ids[i : i + MAX_ACK_IDS])))

    def _ask_for_resends(self) -> None:
        due = self.gaps.due()
        if not due:
            return
        with self.engine.connect() as conn:
            fresh = [kiosk_progress(read_only(conn), self.group, kiosk) for kiosk, _ in due]
        for progress in fresh:
            self.gaps.observe(progress)  # another instance may have filled it meanwhile
        for kiosk_id, (first, last) in self.gaps.due():
            cmd_id, command = resend_command(first, last)
            self.link.publish(
                command_request_topic(kiosk_id),
                command,
                response_topic=command_response_topic(kiosk_id),
                correlation=cmd_id.encode("ascii"),
            )
            self.gaps.requested(kiosk_id)
            self.stats.resends += 1
            logger.warning(
                "kiosk %s: seq %d..%d still missing for %s, resend asked (cmd %s)",
                kiosk_id,
                first,
                last,
                self.group,
                cmd_id,
            )

    def _publish_alerts(self) -> None:
        now = self.clock()
        if now < self._next_alert_poll:
            return
        self._next_alert_poll = now + ALERT_POLL_S
        done = [i for i, p in self._alerts_in_flight.items() if p.done]
        for i in [i for i, p in self._alerts_in_flight.items() if now - p.sent_at > ALERT_RETRY_S]:
            self._alerts_in_flight.pop(i)  # lost with a connection: publish it again below
        if done:
            with self.engine.begin() as conn:
                mark_published(conn, done, utc_now_text())
        with self.engine.connect() as conn:
            pending = pending_alerts(read_only(conn))
        for i in done:
            self._alerts_in_flight.pop(i, None)
        if not self.link.connected.is_set():
            return
        for alert in pending:
            if alert.id not in self._alerts_in_flight:
                self._alerts_in_flight[alert.id] = self.link.publish(alert.topic, alert.payload)

    def _log_stats(self) -> None:
        now = self.clock()
        if now < self._next_stats:
            return
        self._next_stats = now + STATS_EVERY_S
        s = self.stats
        rate = s.applied / max(now - s.started, 1e-9)
        logger.info(
            "%s: %d applied (%.0f/s), %d duplicates, %d parked, %d batches, %d resends, gaps %s",
            self.group,
            s.applied,
            rate,
            s.duplicates,
            s.parked,
            s.batches,
            s.resends,
            self.gaps.open_gaps() or "none",
        )
