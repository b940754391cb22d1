"""Application acks from the consumer groups (``pos/v1/{kiosk}/ack/{group}``), into kiosk.db.

Called on the sync agent's thread with every ack message of one network round, which are
recorded together with the relay's PUBACK results of that round (``SyncStore.record_acks``: one
short transaction in the common case). A row is settled once every
group in ``required_groups`` acked it; acks of other groups are recorded too. A malformed ack
(not JSON, wrong shape, another kiosk's topic) is logged with the reason and dropped: it never
stops the agent. Duplicate acks and acks for unknown events change nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.protocol.mqtt import Ack, ProtocolError, parse_ack, parse_ack_topic
from kiosk.sync.client import InboundMessage
from kiosk.sync.ports import SyncStore

logger = logging.getLogger(__name__)


@dataclass
class AckStats:
    messages: int = 0
    rejected: int = 0
    settled: int = 0
    unknown_ids: int = 0


class AckHandler:
    def __init__(self, store: SyncStore, kiosk_id: str, required_groups: Sequence[str]) -> None:
        self._store = store
        self._kiosk_id = kiosk_id
        self._required = tuple(required_groups)
        self.stats = AckStats()

    def parse(self, message: InboundMessage) -> tuple[str, Ack] | None:
        """``(group, ack)``, or None (logged) when the message is not a valid ack for us."""
        try:
            kiosk_id, group = parse_ack_topic(message.topic)
            if kiosk_id != self._kiosk_id:
                raise ProtocolError(f"ack for kiosk {kiosk_id}, not {self._kiosk_id}")
            try:
                data = json.loads(message.payload)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ProtocolError(f"ack is not JSON: {exc}") from None
            return group, parse_ack(data)
        except ProtocolError as exc:
            self.stats.rejected += 1
            logger.warning("ignored a bad ack on %s: %s", message.topic, exc)
            return None

    def handle(
        self,
        messages: Sequence[InboundMessage],
        results: tuple[Sequence[int], Sequence[int]] = ((), ()),
    ) -> None:
        """Record every valid ack among ``messages``, and the relay's PUBACK ``results`` (sent,
        failed) in the same transaction (StoreError propagates: retried later)."""
        acks = [ack for ack in map(self.parse, messages) if ack is not None]
        sent, failed = results
        if not acks:
            if sent or failed:
                self._store.record_publish_results(sent, failed)
            return
        counts = self._store.record_acks(acks, self._required, sent=sent, failed=failed)
        self.stats.messages += len(acks)
        self.stats.settled += counts.settled
        self.stats.unknown_ids += counts.unknown
        logger.debug(
            "%d ack message(s): %d row ack(s), %d settled, %d unknown event id(s)",
            len(acks),
            counts.acked,
            counts.settled,
            counts.unknown,
        )
