"""The sync side's outbox repository (kiosk.store.outbox) on real kiosk.db files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.protocol.mqtt import Ack
from kiosk.store.check import check_db
from kiosk.store.outbox import CHUNK, SqliteOutbox, open_outbox
from tests.integration.conftest import KIOSK
from tests.integration.sync_kit import Lane

GROUPS = ("inventory", "finance")


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    kit = Lane(tmp_path / "var" / "kiosk.db")
    yield kit
    kit.close()


@pytest.fixture
def outbox(lane: Lane) -> Iterator[SqliteOutbox]:
    repo = open_outbox(lane.db_path)  # its own connection, as kiosk sync has
    yield repo
    repo.close()


def _states(lane: Lane) -> dict[int, str]:
    return {r[0]: r[2] for r in lane.rows()}


def _marks(lane: Lane) -> dict[str, int]:
    return {
        str(k).removeprefix("ack_mark:"): int(v)
        for k, v in lane.db.conn.execute(
            "SELECT key, value FROM kiosk_state WHERE key LIKE 'ack_mark:%'"
        )
    }


def _age(lane: Lane, column: str, seconds: float, where: str = "1") -> None:
    lane.db.conn.execute(
        f"UPDATE outbox SET {column} = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?) WHERE {where}",
        (f"-{seconds} seconds",),
    )


def test_pending_rows_come_in_seq_order_after_the_cursor(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell(6)
    rows = outbox.pending_after(0, 4)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].topic == f"pos/v1/{KIOSK}/evt/sale.completed"
    assert json.loads(rows[0].payload)["event_id"] == rows[0].event_id
    assert [r.seq for r in outbox.pending_after(4, 10)] == [5, 6]
    outbox.record_publish_results([1, 2], [3])
    assert [r.seq for r in outbox.pending_after(0, 10)] == [3, 4, 5, 6]
    assert [(r[0], r[2], r[3]) for r in lane.rows()[:3]] == [
        (1, "sent", 1),
        (2, "sent", 1),
        (3, "pending", 1),
    ]


def test_acks_settle_a_row_only_when_every_required_group_acked(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell(5)
    outbox.record_publish_results([1, 2, 3, 4, 5], [])
    counts = outbox.record_acks([("inventory", Ack(3, ()))], GROUPS)
    assert (counts.acked, counts.settled) == (3, 0)
    counts = outbox.record_acks([("finance", Ack(2, ()))], GROUPS)
    assert (counts.acked, counts.settled) == (2, 2)
    ids = lane.event_ids()
    counts = outbox.record_acks([("finance", Ack(None, (ids[2], ids[4])))], GROUPS)
    assert (counts.acked, counts.settled) == (2, 1)
    assert _states(lane) == {1: "settled", 2: "settled", 3: "settled", 4: "sent", 5: "sent"}
    assert json.loads(lane.rows()[0][4]) == {}  # up_to_seq acks are watermarks
    assert _marks(lane) == {"inventory": 3, "finance": 2}
    acks = json.loads(lane.rows()[2][4])  # an event_ids ack is on its row
    assert set(acks) == {"finance"} and acks["finance"].endswith("Z")


def test_duplicate_and_unknown_acks_change_nothing(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell(3)
    outbox.record_acks([("inventory", Ack(3, ())), ("finance", Ack(1, ()))], GROUPS)
    before = lane.rows()
    ids = lane.event_ids()
    counts = outbox.record_acks(
        [
            ("inventory", Ack(3, ())),
            ("finance", Ack(1, (ids[0], "unknown-1", "unknown-2"))),
            ("inventory", Ack(None, (ids[1],))),
            ("finance", Ack(10**9, ())),  # beyond the last seq: acks what exists
        ],
        GROUPS,
    )
    assert counts.unknown == 2
    assert _states(lane) == {1: "settled", 2: "settled", 3: "settled"}
    assert lane.rows()[0][:4] == before[0][:4]
    again = outbox.record_acks([("finance", Ack(3, ())), ("inventory", Ack(3, ()))], GROUPS)
    assert (again.acked, again.settled, again.unknown) == (0, 0, 0)


def test_an_ack_may_overtake_the_puback_and_the_puback_never_unsettles(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell(2)
    outbox.record_acks([(g, Ack(2, ())) for g in GROUPS], GROUPS)
    assert _states(lane) == {1: "settled", 2: "settled"}
    outbox.record_publish_results([1, 2], [])  # a late PUBACK, or a resend's
    assert _states(lane) == {1: "settled", 2: "settled"}
    assert [r[3] for r in lane.rows()] == [1, 1]


def test_a_large_up_to_seq_ack_is_applied_in_short_transactions(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell_in_batches(3 * CHUNK + 7)
    counts = outbox.record_acks([(g, Ack(3 * CHUNK + 7, ())) for g in GROUPS], GROUPS)
    assert counts.settled == 3 * CHUNK + 7
    assert lane.states() == {"settled": 3 * CHUNK + 7}


def test_sent_rows_are_due_again_after_the_ack_timeout_doubling_per_attempt(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell(3)
    outbox.record_publish_results([1, 2, 3], [])
    assert outbox.due_for_republish(30.0, 10) == []
    _age(lane, "sent_at", 31, "seq IN (1, 2)")
    assert [r.seq for r in outbox.due_for_republish(30.0, 10)] == [1, 2]
    assert [r.seq for r in outbox.due_for_republish(30.0, 1)] == [1]
    outbox.record_publish_results([1], [])  # republished: attempt 2 waits twice as long
    _age(lane, "sent_at", 45, "seq = 1")
    assert [r.seq for r in outbox.due_for_republish(30.0, 10)] == [2]
    _age(lane, "sent_at", 61, "seq = 1")
    assert [r.seq for r in outbox.due_for_republish(30.0, 10)] == [1, 2]
    outbox.record_acks([(g, Ack(1, ())) for g in GROUPS], GROUPS)
    assert [r.seq for r in outbox.due_for_republish(30.0, 10)] == [2]  # settled: never due


def test_a_resend_range_covers_every_state_and_purged_rows(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell(6)
    original = {r.seq: r for r in outbox.rows_in_range(1, 6, 10)}
    outbox.record_publish_results([1, 2, 3, 4], [])
    outbox.record_acks([(g, Ack(4, ())) for g in GROUPS], GROUPS)
    _age(lane, "settled_at", 3 * 86400, "seq <= 3")
    assert outbox.purge_settled(2) == 3
    rows = outbox.rows_in_range(2, 5, 10)
    assert [r.seq for r in rows] == [2, 3, 4, 5]
    assert rows == [original[s] for s in (2, 3, 4, 5)]  # rebuilt byte for byte
    assert [r.seq for r in outbox.rows_in_range(1, 6, 2)] == [1, 2]


def test_purge_removes_only_a_prefix_of_old_settled_rows(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell(8)
    outbox.record_publish_results(list(range(1, 9)), [])
    acks = [(g, Ack(None, tuple(lane.event_ids()[i] for i in (0, 1, 2, 4, 5)))) for g in GROUPS]
    outbox.record_acks(acks, GROUPS)  # seq 4 is not settled
    _age(lane, "settled_at", 40 * 86400)
    _age(lane, "settled_at", 3600, "seq = 2")  # settled an hour ago: kept
    assert outbox.purge_settled(30) == 1
    assert [r[0] for r in lane.rows()] == [2, 3, 4, 5, 6, 7, 8]
    _age(lane, "settled_at", 40 * 86400, "seq = 2")
    assert outbox.purge_settled(30) == 2  # 2 and 3; seq 4 is unsettled, so 5 and 6 stay
    assert [r[0] for r in lane.rows()] == [4, 5, 6, 7, 8]
    (through,) = lane.db.conn.execute(
        "SELECT value FROM kiosk_state WHERE key = 'outbox_purged_through'"
    ).fetchone()
    assert int(through) == 3
    assert check_db(lane.db).ok  # a purged prefix is not a missing outbox row
    lane.db.conn.execute("DELETE FROM outbox WHERE seq = 5")
    assert check_db(lane.db).problems == [
        "seq 5: no outbox row (the event would never be published)"
    ]
    assert outbox.purge_settled(30) == 0
    with pytest.raises(ValueError, match="at least one day"):
        outbox.purge_settled(0)


def test_purge_never_touches_rows_written_after_it_looked(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell(3)
    outbox.record_acks([(g, Ack(3, ())) for g in GROUPS], GROUPS)
    _age(lane, "settled_at", 40 * 86400)
    lane.sell(2)
    assert outbox.purge_settled(30) == 3
    assert _states(lane) == {4: "pending", 5: "pending"}


def test_stats_and_kiosk_status(lane: Lane, outbox: SqliteOutbox) -> None:
    empty = outbox.stats()
    assert (empty.unsettled, empty.unpublished, empty.oldest_unsettled_s, empty.last_seq) == (
        0,
        0,
        0.0,
        0,
    )
    assert outbox.kiosk_status().boot == 0
    lane.store.boot()
    lane.sell(4)
    _age(lane, "created_at", 90, "seq = 1")
    outbox.record_publish_results([1, 2], [])
    outbox.record_acks([(g, Ack(None, (lane.event_ids()[1],))) for g in GROUPS], GROUPS)
    stats = outbox.stats()
    assert (stats.unsettled, stats.unpublished, stats.last_seq) == (3, 2, 4)
    assert 89 < stats.oldest_unsettled_s < 120
    lane.db.conn.execute("INSERT INTO kiosk_state VALUES ('config_version', '7')")
    status = outbox.kiosk_status()
    assert (status.boot, status.catalog_version, status.config_version) == (1, "", 7)


def test_a_broken_kiosk_state_value_reads_as_zero(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.db.conn.execute("INSERT INTO kiosk_state VALUES ('boot', 'many')")
    assert outbox.kiosk_status().boot == 0


def test_settle_acked_after_the_required_groups_changed(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell(3)
    outbox.record_acks([("inventory", Ack(3, ()))], GROUPS)
    assert lane.states() == {"pending": 3}
    assert outbox.settle_acked(("inventory",)) == 3
    assert lane.states() == {"settled": 3}
    with pytest.raises(ValueError, match="at least one consumer group"):
        outbox.record_acks([("inventory", Ack(3, ()))], ())


def test_audit_rows_are_json(lane: Lane, outbox: SqliteOutbox) -> None:
    outbox.audit("command", {"cmd_id": "c-1", "cmd": "ping", "status": "ok"})
    kind, detail = lane.db.conn.execute("SELECT kind, detail FROM audit").fetchone()
    assert kind == "command" and json.loads(detail)["cmd_id"] == "c-1"


def test_the_sync_side_leaves_kiosk_db_consistent(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell(5)
    outbox.record_publish_results([1, 2, 3], [4])
    outbox.record_acks([(g, Ack(2, ())) for g in GROUPS], GROUPS)
    assert check_db(lane.db).ok


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    acks=st.lists(
        st.tuples(
            st.sampled_from(GROUPS),
            st.one_of(
                st.integers(0, 12).map(lambda n: (n, ())),
                st.lists(st.integers(0, 11), max_size=4).map(lambda ix: (None, tuple(ix))),
            ),
        ),
        max_size=8,
    )
)
def test_a_row_is_settled_exactly_when_both_groups_acked_it(
    tmp_path_factory: pytest.TempPathFactory,
    acks: list[tuple[str, tuple[int | None, tuple[int, ...]]]],
) -> None:
    lane = Lane(tmp_path_factory.mktemp("prop") / "kiosk.db")
    repo = open_outbox(lane.db_path)
    try:
        lane.sell_in_batches(10)
        ids = lane.event_ids()
        batch = [
            (group, Ack(up_to, tuple(ids[i] if i < 10 else f"unknown-{i}" for i in ix)))
            for group, (up_to, ix) in acks
            if up_to is not None or ix
        ]
        repo.record_acks(batch, GROUPS)
        covered: dict[str, set[int]] = {g: set() for g in GROUPS}
        for group, ack in batch:
            if ack.up_to_seq is not None:
                covered[group] |= set(range(1, ack.up_to_seq + 1))
            covered[group] |= {ids.index(e) + 1 for e in ack.event_ids if e in ids}
        expected = covered["inventory"] & covered["finance"] & set(range(1, 11))
        assert {s for s, state in _states(lane).items() if state == "settled"} == expected
    finally:
        repo.close()
        lane.close()


def test_a_round_of_results_and_acks_is_one_transaction(lane: Lane, outbox: SqliteOutbox) -> None:
    lane.sell_in_batches(300)
    statements: list[str] = []
    outbox._conn.set_trace_callback(statements.append)
    try:
        acks = [(g, Ack(250, ())) for g in GROUPS]
        counts = outbox.record_acks(acks, GROUPS, sent=list(range(1, 299)), failed=[299])
    finally:
        outbox._conn.set_trace_callback(None)
    assert sum(s.startswith("BEGIN") for s in statements) == 1
    assert (counts.acked, counts.settled) == (500, 250)
    assert _states(lane) == {
        **dict.fromkeys(range(1, 251), "settled"),
        **{seq: "sent" for seq in range(251, 299)},
        299: "pending",
        300: "pending",
    }
    assert [r[3] for r in lane.rows()] == [1] * 299 + [0]


def test_results_beyond_a_chunk_still_go_in_short_transactions(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell_in_batches(CHUNK + 10)
    statements: list[str] = []
    outbox._conn.set_trace_callback(statements.append)
    try:
        outbox.record_acks([("inventory", Ack(5, ()))], GROUPS, sent=list(range(1, CHUNK + 11)))
    finally:
        outbox._conn.set_trace_callback(None)
    assert sum(s.startswith("BEGIN") for s in statements) == 2
    assert lane.states() == {"sent": CHUNK + 10}


def test_an_ack_beyond_the_last_seq_never_acks_a_later_sale(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell(3)
    outbox.record_acks([(g, Ack(10**9, ())) for g in GROUPS], GROUPS)
    assert _marks(lane) == {"inventory": 3, "finance": 3}
    lane.sell(2)
    outbox.record_acks([("inventory", Ack(10**9, ()))], GROUPS)
    assert _states(lane) == {1: "settled", 2: "settled", 3: "settled", 4: "pending", 5: "pending"}
    assert outbox.settle_acked(GROUPS) == 0
    outbox.record_acks([("finance", Ack(4, ()))], GROUPS)
    assert _states(lane)[4] == "settled" and _states(lane)[5] == "pending"


def test_a_mark_raise_settles_rows_the_other_group_acked_by_id(
    lane: Lane, outbox: SqliteOutbox
) -> None:
    lane.sell(4)
    ids = lane.event_ids()
    outbox.record_acks([("finance", Ack(None, (ids[2],)))], GROUPS)
    outbox.record_acks([("inventory", Ack(4, ()))], GROUPS)
    assert _states(lane) == {1: "pending", 2: "pending", 3: "settled", 4: "pending"}
