"""The kiosk's presence and health on MQTT: birth, Will, clean-stop offline, telemetry.

Called on the sync agent's thread. ``pos/v1/{kiosk}/state`` is retained, QoS 1:

- the birth ``{"online": true, "boot", "fw", "config_version", "catalog_version", "last_seq",
  "outbox_pending", "oldest_pending_s"}`` on every connect (``outbox_pending`` counts rows not yet
  settled; ``oldest_pending_s`` is the age of the oldest of them);
- the Will ``{"online": false, "boot"}``, which the broker publishes when the connection dies
  without a DISCONNECT; a clean stop publishes the same message itself before disconnecting.

``pos/v1/{kiosk}/telemetry`` (QoS 0, not retained) every ``telemetry_s``: the outbox backlog,
what the relay did, the last PUBACK time, free disk space under kiosk.db, the broker in use and
what the consumer groups' retained ``central/state`` messages last said.

The boot number is the lane's ``kiosk_state.boot`` counter, read (never incremented) here.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kiosk
from kiosk.errors import StoreError
from kiosk.protocol.mqtt import birth_payload, state_topic, telemetry_topic, will_payload
from kiosk.sync.client import PublishOptions
from kiosk.sync.ports import SyncStore
from kiosk.sync.relay import Publisher, RelayStats
from kiosk.sync.settings import SyncSettings

logger = logging.getLogger(__name__)

RETAINED = PublishOptions(qos=1, retain=True)
TELEMETRY = PublishOptions(qos=0)


def iso_time(wall: float | None) -> str | None:
    if wall is None:
        return None
    return (
        datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class StateReporter:
    def __init__(
        self,
        store: SyncStore,
        publisher: Publisher,
        settings: SyncSettings,
        relay_stats: RelayStats,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._settings = settings
        self._relay = relay_stats
        self._clock = clock
        self._wall = wall
        self._boot = 0
        self._next_telemetry = 0.0
        self.central: dict[str, bool] = {}
        self.broker = ""

    @property
    def state_topic(self) -> str:
        return state_topic(self._settings.kiosk_id)

    def _read_boot(self) -> int:
        try:
            self._boot = self._store.kiosk_status().boot
        except StoreError as exc:
            logger.warning("kiosk.db unreadable, keeping boot %d: %s", self._boot, exc)
        return self._boot

    def will(self) -> tuple[str, bytes]:
        """The Will for the next connect: topic and payload (read just before connecting)."""
        return self.state_topic, _json(will_payload(self._read_boot()))

    def birth(self) -> dict[str, Any]:
        status = self._store.kiosk_status()
        self._boot = status.boot
        stats = self._store.stats()
        return birth_payload(
            boot=status.boot,
            fw=kiosk.__version__,
            config_version=status.config_version,
            catalog_version=status.catalog_version,
            last_seq=stats.last_seq,
            outbox_pending=stats.unsettled,
            oldest_pending_s=stats.oldest_unsettled_s,
        )

    def publish_birth(self) -> int | None:
        payload = self.birth()
        logger.info(
            "online: boot %d, last seq %d, %d unsettled",
            payload["boot"],
            payload["last_seq"],
            payload["outbox_pending"],
        )
        self._next_telemetry = 0.0  # a first telemetry right after the birth
        return self._publisher.publish(self.state_topic, _json(payload), RETAINED)

    def publish_offline(self) -> int | None:
        """The clean-stop message (same as the Will), retained, before DISCONNECT."""
        return self._publisher.publish(
            self.state_topic, _json(will_payload(self._read_boot())), RETAINED
        )

    def telemetry(self) -> dict[str, Any]:
        stats = self._store.stats()
        relay = self._relay
        try:
            disk_free: int | None = shutil.disk_usage(Path(self._settings.db_path).parent).free
        except OSError:
            disk_free = None
        return {
            "at": iso_time(self._wall()),
            "boot": self._boot,
            "broker": self.broker,
            "outbox": {
                "unsettled": stats.unsettled,
                "unpublished": stats.unpublished,
                "oldest_unsettled_s": round(stats.oldest_unsettled_s, 3),
                "last_seq": stats.last_seq,
            },
            "relay": {
                "in_flight": relay.in_flight,
                "published": relay.published,
                "delivered": relay.delivered,
                "no_subscribers": relay.no_subscribers,
                "refused": relay.refused,
                "republished": relay.republished,
                "resent": relay.resent,
                "last_refusal": relay.last_refusal,
                "last_puback_at": iso_time(relay.last_puback_at),
            },
            "disk_free_bytes": disk_free,
            "central": dict(sorted(self.central.items())),
        }

    def tick(self) -> None:
        """Publish telemetry when it is due (only while connected)."""
        now = self._clock()
        if now < self._next_telemetry or not self._publisher.connected:
            return
        self._next_telemetry = now + self._settings.telemetry_s
        topic = telemetry_topic(self._settings.kiosk_id)
        self._publisher.publish(topic, _json(self.telemetry()), TELEMETRY)
