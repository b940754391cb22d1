"""The relay's bookkeeping, step by step, on a real kiosk.db with a recording publisher.

``RecordingPublisher`` is a second implementation of the relay's ``Publisher`` port (the MQTT
client is the first): it keeps what was published and the test answers each publish with a
PUBACK reason code of its choice, at the moment it chooses, on a manual clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.protocol.mqtt import Ack, ResendRange
from kiosk.store.outbox import OutboxRow, SqliteOutbox, open_outbox
from kiosk.sync.backoff import Backoff
from kiosk.sync.client import PublishOptions, PublishOutcome
from kiosk.sync.relay import OutboxRelay
from tests.integration.sync_kit import Lane, make_settings


@dataclass
class RecordingPublisher:
    connected: bool = True
    refuse: bool = False
    receive_maximum: int = 65535
    sent: dict[int, tuple[int, PublishOptions]] = field(default_factory=dict)
    log: list[int] = field(default_factory=list)
    next_mid: int = 1

    def publish(self, topic: str, payload: bytes, options: PublishOptions) -> int | None:
        if self.refuse:
            return None
        seq = int(dict(options.user_properties)["seq"])
        mid, self.next_mid = self.next_mid, self.next_mid + 1
        self.sent[mid] = (seq, options)
        self.log.append(seq)
        return mid


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    kit = Lane(tmp_path / "var" / "kiosk.db")
    yield kit
    kit.close()


@pytest.fixture
def store(lane: Lane) -> Iterator[SqliteOutbox]:
    repo = open_outbox(lane.db_path)
    yield repo
    repo.close()


def _relay(
    lane: Lane, store: SqliteOutbox, publisher: RecordingPublisher, clock: Clock, window: int
) -> OutboxRelay:
    settings = make_settings(lane.db_path, 1, window=window, retry_min_s=1.0, retry_max_s=8.0)
    backoff = Backoff(1.0, 8.0, random.Random(7))
    return OutboxRelay(store, publisher, settings, clock=clock, wall=clock, backoff=backoff)


def _ack(relay: OutboxRelay, publisher: RecordingPublisher, mid: int, code: int = 0) -> None:
    relay.on_published(PublishOutcome(mid, code, "Not authorized" if code else "Success"))
    del publisher.sent[mid]


def test_the_window_bounds_what_is_in_flight_and_refills_by_quarters(
    lane: Lane, store: SqliteOutbox
) -> None:
    lane.sell_in_batches(30)
    publisher, clock = RecordingPublisher(), Clock()
    relay = _relay(lane, store, publisher, clock, window=8)
    relay.tick()
    assert publisher.log == [1, 2, 3, 4, 5, 6, 7, 8]
    _ack(relay, publisher, 1)
    relay.tick()  # one free slot of eight: not worth a read yet
    assert len(publisher.log) == 8
    _ack(relay, publisher, 2)
    relay.tick()
    assert publisher.log[8:] == [9, 10]
    assert len(publisher.sent) == 8 == relay.stats.max_in_flight
    assert lane.states() == {"sent": 2, "pending": 28}  # written before reading again


def test_a_refused_row_stays_pending_and_is_published_again_after_the_pause(
    lane: Lane, store: SqliteOutbox
) -> None:
    lane.sell_in_batches(4)
    publisher, clock = RecordingPublisher(), Clock()
    relay = _relay(lane, store, publisher, clock, window=4)
    relay.tick()
    _ack(relay, publisher, 1)
    _ack(relay, publisher, 2, code=0x87)
    _ack(relay, publisher, 3)
    _ack(relay, publisher, 4)
    relay.tick()
    assert publisher.log == [1, 2, 3, 4]  # paused
    assert lane.states() == {"sent": 3, "pending": 1}
    assert relay.stats.last_refusal == "0x87 Not authorized"
    clock.now += 8.0
    relay.tick()
    assert publisher.log == [1, 2, 3, 4, 2]  # only the refused one, in seq order
    assert [r[3] for r in lane.rows()] == [1, 1, 1, 1]  # one attempt each so far


def test_a_resend_larger_than_the_window_publishes_every_seq(
    lane: Lane, store: SqliteOutbox
) -> None:
    lane.sell_in_batches(12)
    store.record_acks(
        [(g, Ack(12, ())) for g in ("inventory", "finance")], ("inventory", "finance")
    )
    publisher, clock = RecordingPublisher(), Clock()
    relay = _relay(lane, store, publisher, clock, window=4)
    assert relay.request_resend(ResendRange(2, None), last_seq=12) == (2, 12)
    for _ in range(10):
        relay.tick()
        for mid in list(publisher.sent):
            _ack(relay, publisher, mid)
    assert publisher.log == list(range(2, 13))
    assert relay.idle
    assert lane.states() == {"settled": 12}


def test_a_publish_paho_refuses_is_retried_without_a_gap(lane: Lane, store: SqliteOutbox) -> None:
    lane.sell_in_batches(3)
    publisher, clock = RecordingPublisher(refuse=True), Clock()
    relay = _relay(lane, store, publisher, clock, window=4)
    relay.tick()
    assert publisher.log == []
    publisher.refuse = False
    relay.tick()
    assert publisher.log == [1, 2, 3]


def test_nothing_is_published_while_disconnected(lane: Lane, store: SqliteOutbox) -> None:
    lane.sell_in_batches(3)
    publisher, clock = RecordingPublisher(connected=False), Clock()
    relay = _relay(lane, store, publisher, clock, window=4)
    relay.tick()
    assert publisher.log == []
    publisher.connected = True
    relay.tick()
    assert publisher.log == [1, 2, 3]
    options = publisher.sent[1][1]
    assert options.qos == 1 and not options.retain
    assert options.content_type == "application/json"


class OrderedStore(SqliteOutbox):
    """The real repository, noting the order of the relay's outbox reads and result writes."""

    def __init__(self, inner: SqliteOutbox) -> None:
        super().__init__(inner._db)
        self.calls: list[str] = []

    def pending_after(self, after_seq: int, limit: int) -> list[OutboxRow]:
        self.calls.append(f"read>{after_seq}")
        return super().pending_after(after_seq, limit)

    def record_publish_results(self, sent: Sequence[int], failed: Sequence[int]) -> None:
        self.calls.append(f"write {list(sent)} {list(failed)}")
        super().record_publish_results(sent, failed)


def test_the_next_rows_are_published_before_the_last_results_are_written(
    lane: Lane, store: SqliteOutbox
) -> None:
    lane.sell_in_batches(12)
    ordered, publisher, clock = OrderedStore(store), RecordingPublisher(), Clock()
    relay = _relay(lane, ordered, publisher, clock, window=4)
    clock.now += 0.1
    relay.tick()  # the first round also checks for rows due again: nothing unwritten yet
    for mid in (1, 2):
        _ack(relay, publisher, mid)
    ordered.calls.clear()
    relay.tick()
    assert ordered.calls == ["read>4", "write [1, 2] []"]  # published first, then written
    assert publisher.log == [1, 2, 3, 4, 5, 6]
    assert lane.states() == {"sent": 2, "pending": 10}


def test_after_a_refusal_the_results_are_written_before_the_outbox_is_read(
    lane: Lane, store: SqliteOutbox
) -> None:
    lane.sell_in_batches(8)
    ordered, publisher, clock = OrderedStore(store), RecordingPublisher(), Clock()
    relay = _relay(lane, ordered, publisher, clock, window=4)
    relay.tick()
    _ack(relay, publisher, 1)
    _ack(relay, publisher, 2, code=0x87)
    _ack(relay, publisher, 3)
    _ack(relay, publisher, 4)
    relay.tick()  # paused after the refusal: results written, nothing read
    clock.now += 8.0
    ordered.calls.clear()
    relay.tick()
    assert ordered.calls[0] == "read>1"  # the cursor went back; 3 and 4 were written before
    assert publisher.log == [1, 2, 3, 4, 2, 5, 6, 7]  # 3 and 4 are not published twice
