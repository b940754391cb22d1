"""The outbox relay: kiosk.db's outbox to the broker, in seq order, with a bounded window.

Runs on the sync agent's one thread (``tick`` after every network round). kiosk.db is the
buffer, never paho: at most ``window`` event publishes (and fewer than the broker's Receive
Maximum) are unacknowledged at any time, and the next rows are read from the outbox only when
PUBACKs free room. Sources, oldest first:

1. ``sent`` rows whose application acks did not come within the ack timeout (the wait doubles
   with each attempt, up to 16 x the timeout, so consumers that are down for hours are not
   flooded); consumers deduplicate on ``event_id``.
2. ``resend`` ranges asked for by a command (settled rows too; purged ones from the journal).
3. ``pending`` rows after the relay's cursor, in seq order.

Every PUBACK reason code is checked. Success (0x00) and 0x10 "no matching subscribers" mark
the row ``sent`` (0x10 is counted and logged: the event waits for acks, it was not delivered).
A failure (>= 0x80) leaves the row as it was, is logged with the reason, and pauses publishing
with exponential backoff; the failed seq is published again after the pause. Results are
written to kiosk.db in batches (one short transaction per batch; the agent writes a round's
results in its acks' transaction), before the outbox is read again, except when no unwritten
result can change what the read returns: then the next rows go to paho first and the results
are written right after (``tick``), so the broker has work while the commit waits for the disk.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from kiosk.protocol.mqtt import ResendRange
from kiosk.sync.backoff import Backoff
from kiosk.sync.client import PublishOptions, PublishOutcome
from kiosk.sync.ports import OutboxRow, SyncStore
from kiosk.sync.settings import SyncSettings

logger = logging.getLogger(__name__)

Kind = Literal["new", "republish", "resend"]
FLUSH_EVERY_S: Final = 0.2
MAX_DUE_CHECK_S: Final = 5.0


class Publisher(Protocol):
    @property
    def connected(self) -> bool: ...
    @property
    def receive_maximum(self) -> int:
        """How many QoS 1 publishes the broker accepts in flight (its Receive Maximum)."""
        ...

    def publish(self, topic: str, payload: bytes, options: PublishOptions) -> int | None: ...


@dataclass(frozen=True, slots=True)
class _Flight:
    seq: int
    event_id: str
    kind: Kind


@dataclass
class RelayStats:
    in_flight: int = 0
    max_in_flight: int = 0
    published: int = 0
    delivered: int = 0
    no_subscribers: int = 0
    refused: int = 0
    republished: int = 0
    resent: int = 0
    last_puback_at: float | None = None  # wall-clock time of the last event PUBACK
    last_refusal: str = ""


class OutboxRelay:
    def __init__(
        self,
        store: SyncStore,
        publisher: Publisher,
        settings: SyncSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._window = settings.window
        self._ack_timeout_s = settings.ack_timeout_s
        self._clock = clock
        self._wall = wall
        self._backoff = backoff or Backoff(settings.retry_min_s, settings.retry_max_s)
        self._due_every = max(0.05, min(MAX_DUE_CHECK_S, settings.ack_timeout_s / 4))
        self._in_flight: dict[int, _Flight] = {}
        self._seqs: set[int] = set()
        self._cursor = 0
        self._resends: deque[list[int]] = deque()
        self._sent: list[int] = []
        self._failed: list[int] = []
        self._last_flush = 0.0
        self._paused_until = 0.0
        self._next_due_check = 0.0
        self.stats = RelayStats()

    # --------------------------------------------------------------------------- PUBACKs
    def owns(self, mid: int) -> bool:
        return mid in self._in_flight

    def on_published(self, outcome: PublishOutcome) -> None:
        flight = self._in_flight.pop(outcome.mid, None)
        if flight is None:
            return
        self._seqs.discard(flight.seq)
        self.stats.in_flight = len(self._in_flight)
        extra = {"seq": flight.seq, "event": flight.event_id, "reason_code": outcome.reason_code}
        if outcome.failed:
            self._refused(flight, outcome, extra)
            return
        self._backoff.reset()
        self.stats.delivered += 1
        self.stats.last_puback_at = self._wall()
        self._sent.append(flight.seq)
        if outcome.no_subscribers:
            if self.stats.no_subscribers == 0:
                logger.warning(
                    "the broker has no subscriber for seq %d (0x10): events wait for acks",
                    flight.seq,
                    extra=extra,
                )
            self.stats.no_subscribers += 1

    def _refused(self, flight: _Flight, outcome: PublishOutcome, extra: dict[str, object]) -> None:
        self.stats.refused += 1
        self.stats.last_refusal = f"0x{outcome.reason_code:02x} {outcome.reason}"
        self._failed.append(flight.seq)
        delay = self._backoff.next_delay()
        self._paused_until = max(self._paused_until, self._clock() + delay)
        if flight.kind == "new":
            self._cursor = min(self._cursor, flight.seq - 1)
        elif flight.kind == "resend":
            self._resends.appendleft([flight.seq, flight.seq])
        logger.error(
            "broker refused seq %d: 0x%02x %s; retrying in %.2f s",
            flight.seq,
            outcome.reason_code,
            outcome.reason,
            delay,
            extra=extra,
        )

    # -------------------------------------------------------------------------- commands
    def request_resend(self, wanted: ResendRange, last_seq: int) -> tuple[int, int]:
        """Queue ``wanted`` (``to_seq`` None: up to ``last_seq``); returns the range queued,
        empty (``from > to``) when nothing of it exists yet."""
        to_seq = last_seq if wanted.to_seq is None else min(wanted.to_seq, last_seq)
        if wanted.from_seq <= to_seq:
            self._resends.append([wanted.from_seq, to_seq])
            logger.info("resend of seq %d..%d queued", wanted.from_seq, to_seq)
        return wanted.from_seq, to_seq

    # ------------------------------------------------------------------------------ tick
    @property
    def idle(self) -> bool:
        """True when nothing is in flight, queued for resend or waiting to be written."""
        return not (self._in_flight or self._resends or self._sent or self._failed)

    def take_results(self) -> tuple[list[int], list[int]]:
        """The PUBACK outcomes not yet written (sent, failed), for a caller that writes them
        with other things in one transaction (the agent, with a round's acks). Hand them
        back with ``give_back`` when that write failed."""
        results = (self._sent, self._failed)
        self._sent, self._failed = [], []
        return results

    def give_back(self, results: tuple[Sequence[int], Sequence[int]]) -> None:
        sent, failed = results
        self._sent[:0] = sent
        self._failed[:0] = failed

    def flush(self) -> None:
        """Write the PUBACK outcomes gathered so far (one short transaction per batch)."""
        if self._sent or self._failed:
            sent, failed = self._sent, self._failed
            self._store.record_publish_results(sent, failed)
            self._sent, self._failed = [], []
        self._last_flush = self._clock()

    def tick(self) -> None:
        now = self._clock()
        # The broker's Receive Maximum caps the window too; one slot is left for the state
        # and command answers.
        window = min(self._window, max(1, self._publisher.receive_maximum - 1))
        room = window - len(self._in_flight)
        fill = self._publisher.connected and now >= self._paused_until
        # Read more rows only once a quarter of the window is free: fewer, bigger batches.
        fill = fill and (room >= max(1, window // 4) or not self._in_flight)
        due = fill and now >= self._next_due_check
        # Publish first, write after: the broker has the next rows while the commit waits for
        # the disk. Only when no unwritten result can make the outbox hand a row out again:
        # no failure (it rewinds the cursor), no republish check (a republished row whose
        # PUBACK is unwritten is still due), no sent seq past the cursor (a resend's).
        early = fill and not due and not self._failed
        early = early and max(self._sent, default=0) <= self._cursor
        flush = fill or not self._in_flight or now - self._last_flush >= FLUSH_EVERY_S
        if flush and not early:
            self.flush()
        if not fill:
            return
        if due:
            room = self._republish_due(room)
            if room > 0:
                self._next_due_check = now + self._due_every
        room = self._resend(room)
        if room > 0:
            self._publish_pending(room)
        if early:
            self.flush()

    def _republish_due(self, room: int) -> int:
        rows = self._store.due_for_republish(self._ack_timeout_s, room + len(self._in_flight))
        return self._publish_rows(rows, room, "republish")

    def _resend(self, room: int) -> int:
        while room > 0 and self._resends:
            span = self._resends[0]
            limit = room + len(self._in_flight)
            rows = self._store.rows_in_range(span[0], span[1], limit)
            room = self._publish_rows(rows, room, "resend", span)
            seen_all = not rows or span[0] > rows[-1].seq
            if span[0] > span[1] or (len(rows) < limit and seen_all):
                self._resends.popleft()
        return room

    def _publish_pending(self, room: int) -> None:
        rows = self._store.pending_after(self._cursor, room + len(self._in_flight))
        before = self._cursor
        self._publish_rows(rows, room, "new")
        if rows and self._cursor > before:
            logger.debug("published up to seq %d", self._cursor)

    def _publish_rows(
        self, rows: Sequence[OutboxRow], room: int, kind: Kind, span: list[int] | None = None
    ) -> int:
        """Publish ``rows`` not already in flight while there is room; returns the room left
        (0 when paho refused one). Advances the cursor (new) or the span (resend)."""
        for row in rows:
            if room <= 0:
                break
            if row.seq not in self._seqs:
                if not self._publish(row, kind):
                    return 0
                room -= 1
            if kind == "new":
                self._cursor = max(self._cursor, row.seq)
            elif span is not None:
                span[0] = row.seq + 1
        return room

    def _publish(self, row: OutboxRow, kind: Kind) -> bool:
        options = PublishOptions(
            qos=1, user_properties=(("event_id", row.event_id), ("seq", str(row.seq)))
        )
        mid = self._publisher.publish(row.topic, row.payload.encode("utf-8"), options)
        if mid is None:
            return False
        self._in_flight[mid] = _Flight(row.seq, row.event_id, kind)
        self._seqs.add(row.seq)
        self.stats.published += 1
        if kind == "republish":
            self.stats.republished += 1
            logger.info("republishing unacked seq %d", row.seq, extra={"seq": row.seq})
        elif kind == "resend":
            self.stats.resent += 1
        self.stats.in_flight = len(self._in_flight)
        self.stats.max_in_flight = max(self.stats.max_in_flight, len(self._in_flight))
        return True
