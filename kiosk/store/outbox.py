"""The sync side's repository over the outbox: what ``kiosk sync`` reads and writes in kiosk.db.

Used only by the sync agent, on its one thread, over its OWN connection (``open_outbox``), so it
never shares a connection or a transaction with the lane. Every write is a short
``BEGIN IMMEDIATE`` transaction over a bounded number of rows (``CHUNK``), so the lane's sale
transaction never waits long for the write lock; reads are single statements (WAL: they never
block the lane).

Row life: ``pending`` (written with the sale) -> ``sent`` (the broker PUBACKed it) ->
``settled`` (every required consumer group acked it). A group's ``up_to_seq`` acks are one
watermark per group (``kiosk_state`` key ``ack_mark:{group}``, never above the last seq in the
outbox when it was raised), so the common ack costs a few statements, not a write per row;
``event_ids`` acks are recorded on their rows, ``acks`` being a JSON object
``{group: acked_at}``. A row is acked by a group when its seq is at or under the group's mark
or its ``acks`` names the group. A PUBACK never moves a row backwards (a settled row
republished by a ``resend`` stays settled); acks are recorded whatever the row's state (an ack
can overtake the PUBACK bookkeeping); duplicate acks and acks for unknown events change nothing.

Purging deletes a seq prefix of rows settled more than N days ago and records the last purged
seq in ``kiosk_state`` as ``outbox_purged_through``. A resend of a purged seq is rebuilt from
the journal (``journal.body`` plus ``journal.hash`` is the sealed event), byte for byte the
payload that was first published.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlite_utils

from kiosk.protocol.canonical import canonical_json
from kiosk.protocol.mqtt import Ack, event_topic
from kiosk.store.db import open_db, translate_errors, write_transaction
from kiosk.store.migrations import migrate

logger = logging.getLogger(__name__)

CHUNK: Final[int] = 500
MAX_REPUBLISH_DOUBLINGS: Final[int] = 4  # an unacked row waits at most 16 x the ack timeout
_NOW: Final[str] = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_COLUMNS: Final[str] = "seq, event_id, topic, payload"
_MARK: Final[str] = "ack_mark:"  # kiosk_state key prefix: a group's up_to_seq watermark


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    event_id: str
    topic: str
    payload: str


@dataclass(frozen=True, slots=True)
class AckCounts:
    acked: int = 0
    settled: int = 0
    unknown: int = 0


@dataclass(frozen=True, slots=True)
class OutboxStats:
    unsettled: int
    unpublished: int
    oldest_unsettled_s: float
    last_seq: int


@dataclass(frozen=True, slots=True)
class KioskStatus:
    boot: int
    catalog_version: str
    config_version: int


def _path(group: str) -> str:
    """The JSON path of a group's entry in ``acks`` (group names are ``[a-z0-9-]``)."""
    return f'$."{group}"'


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _acked_by_all(groups: Sequence[str]) -> tuple[str, list[str]]:
    """SQL true for an outbox row every one of ``groups`` acked, by its watermark (an
    ``up_to_seq`` ack) or on the row (an ``event_ids`` ack), and its parameters."""
    mark = "(SELECT CAST(value AS INTEGER) FROM kiosk_state WHERE key = ?)"
    one = f"(seq <= coalesce({mark}, 0) OR json_type(acks, ?) IS NOT NULL)"
    return " AND ".join(one for _ in groups), [x for g in groups for x in (_MARK + g, _path(g))]


def _raise_marks(
    conn: sqlite3.Connection, up_to: Mapping[str, int]
) -> tuple[int, tuple[int, int] | None]:
    """Raise each group's watermark to its ``up_to_seq``, capped at the outbox's last seq
    (inside the caller's transaction, which holds the write lock: no sale can slip in under
    a mark). Returns how many unsettled rows got a new group ack, and the seqs newly
    covered as ``(after, through)`` (None when no mark moved)."""
    (last,) = conn.execute("SELECT max(seq) FROM outbox").fetchone()
    acked = 0
    low = high = None
    for group, seq in up_to.items():
        key = _MARK + group
        row = conn.execute("SELECT CAST(value AS INTEGER) FROM kiosk_state WHERE key = ?", (key,))
        old = int((row.fetchone() or (0,))[0] or 0)
        new = min(seq, int(last or 0))
        if new <= old:
            continue
        (count,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE seq > ? AND seq <= ? AND state != 'settled' "
            "AND json_type(acks, ?) IS NULL",
            (old, new, _path(group)),
        ).fetchone()
        acked += int(count)
        low = old if low is None else min(low, old)
        high = new if high is None else max(high, new)
        conn.execute(
            "INSERT INTO kiosk_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
            "SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (key, new),
        )
    return acked, None if low is None or high is None else (low, high)


def _result_batches(
    sent: Sequence[int], failed: Sequence[int]
) -> Iterator[tuple[Sequence[int], Sequence[int]]]:
    """PUBACK results in batches of at most ``CHUNK`` rows (sent first)."""
    rows = [(seq, True) for seq in sent] + [(seq, False) for seq in failed]
    for chunk in _chunks(rows):
        yield [seq for seq, ok in chunk if ok], [seq for seq, ok in chunk if not ok]


def _write_results(conn: sqlite3.Connection, sent: Sequence[int], failed: Sequence[int]) -> None:
    """PUBACK outcomes, inside the caller's transaction: ``sent`` rows become ``sent`` (a
    settled row stays settled), ``failed`` ones keep their state; both count an attempt."""
    if sent:
        conn.executemany(
            "UPDATE outbox SET "
            "state = CASE state WHEN 'pending' THEN 'sent' ELSE state END, "
            f"sent_at = CASE state WHEN 'settled' THEN sent_at ELSE {_NOW} END, "
            "attempts = attempts + 1 WHERE seq = ?",
            [(seq,) for seq in sent],
        )
    if failed:
        conn.executemany(
            "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", [(seq,) for seq in failed]
        )


class SqliteOutbox:
    """``kiosk.sync.ports.SyncStore`` over kiosk.db (see the module docstring)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._conn: sqlite3.Connection = db.conn

    # ------------------------------------------------------------------------------ reads
    def _rows(self, sql: str, params: Sequence[Any]) -> list[OutboxRow]:
        with translate_errors():
            return [
                OutboxRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]))
                for r in self._conn.execute(sql, params)
            ]

    def pending_after(self, after_seq: int, limit: int) -> list[OutboxRow]:
        return self._rows(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )

    def due_for_republish(self, ack_timeout_s: float, limit: int) -> list[OutboxRow]:
        """``sent`` rows unacked for ``ack_timeout_s`` x 2^(attempts - 1), at most 16 x."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'sent' "
            "AND (julianday('now') - julianday(sent_at)) * 86400.0 "
            f">= ? * (1 << min(max(attempts - 1, 0), {MAX_REPUBLISH_DOUBLINGS})) "
            "ORDER BY seq LIMIT ?",
            (ack_timeout_s, limit),
        )

    def rows_in_range(self, from_seq: int, to_seq: int, limit: int) -> list[OutboxRow]:
        out: list[OutboxRow] = []
        with translate_errors():
            cursor = self._conn.execute(
                "SELECT j.seq, j.event_id, j.type, j.body, j.hash, o.topic, o.payload "
                "FROM journal j LEFT JOIN outbox o ON o.seq = j.seq "
                "WHERE j.seq BETWEEN ? AND ? ORDER BY j.seq LIMIT ?",
                (from_seq, to_seq, limit),
            )
            for seq, event_id, type_, body, hash_, stored_topic, stored_payload in cursor:
                if stored_payload is None:  # purged from the outbox: the journal has the event
                    event = json.loads(body)
                    event["hash"] = hash_
                    payload = canonical_json(event).decode("utf-8")
                    topic = event_topic(str(event["kiosk_id"]), str(type_))
                else:
                    payload, topic = str(stored_payload), str(stored_topic)
                out.append(OutboxRow(int(seq), str(event_id), topic, payload))
        return out

    def stats(self) -> OutboxStats:
        with translate_errors():
            unsettled, unpublished, oldest = self._conn.execute(
                "SELECT count(*), coalesce(sum(state = 'pending'), 0), "
                "coalesce((julianday('now') - julianday(min(created_at))) * 86400.0, 0) "
                "FROM outbox WHERE state != 'settled'"
            ).fetchone()
            (last,) = self._conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()
        return OutboxStats(int(unsettled), int(unpublished), max(0.0, float(oldest)), int(last))

    def kiosk_status(self) -> KioskStatus:
        with translate_errors():
            values = dict(
                self._conn.execute(
                    "SELECT key, value FROM kiosk_state "
                    "WHERE key IN ('boot', 'catalog_version', 'config_version')"
                ).fetchall()
            )
        return KioskStatus(
            boot=_as_int(values.get("boot"), "boot"),
            catalog_version=str(values.get("catalog_version") or ""),
            config_version=_as_int(values.get("config_version"), "config_version"),
        )

    # ----------------------------------------------------------------------------- writes
    def record_publish_results(self, sent: Sequence[int], failed: Sequence[int]) -> None:
        for sent_part, failed_part in _result_batches(sent, failed):
            with write_transaction(self._conn) as conn:
                _write_results(conn, sent_part, failed_part)

    def _settle_sql(self, required: Sequence[str], where: str) -> tuple[str, list[str]]:
        conditions, params = _acked_by_all(required)
        return (
            f"UPDATE outbox SET state = 'settled', settled_at = {_NOW} "
            f"WHERE {where} AND state != 'settled' AND {conditions}",
            params,
        )

    def record_acks(
        self,
        acks: Sequence[tuple[str, Ack]],
        required_groups: Sequence[str],
        *,
        sent: Sequence[int] = (),
        failed: Sequence[int] = (),
    ) -> AckCounts:
        """Acks, and the PUBACK results ``sent``/``failed`` gathered meanwhile, written together:
        in the common case (up to ``CHUNK`` rows per group) ONE short transaction."""
        if not required_groups:
            raise ValueError("at least one consumer group must be required to settle rows")
        up_to: dict[str, int] = {}
        ids: dict[str, dict[str, None]] = {}
        for group, ack in acks:
            if ack.up_to_seq is not None:
                up_to[group] = max(up_to.get(group, 0), ack.up_to_seq)
            if ack.event_ids:
                ids.setdefault(group, {}).update(dict.fromkeys(ack.event_ids))
        results = list(_result_batches(sent, failed))
        acked, settled = self._ack_up_to(up_to, required_groups, results)
        unknown = 0
        for group, event_ids in ids.items():
            for chunk in _chunks(list(event_ids)):
                a, s, u = self._ack_ids(group, chunk, required_groups)
                acked, settled, unknown = acked + a, settled + s, unknown + u
        return AckCounts(acked, settled, unknown)

    def _ack_ids(
        self, group: str, event_ids: Sequence[str], required: Sequence[str]
    ) -> tuple[int, int, int]:
        marks = ",".join("?" * len(event_ids))
        where = f"event_id IN ({marks})"
        settle, settle_params = self._settle_sql(required, where)
        with write_transaction(self._conn) as conn:
            (known,) = conn.execute(
                f"SELECT count(*) FROM outbox WHERE {where}", list(event_ids)
            ).fetchone()
            acked = conn.execute(
                f"UPDATE outbox SET acks = json_set(acks, ?, {_NOW}) "
                f"WHERE {where} AND state != 'settled' AND json_type(acks, ?) IS NULL",
                [_path(group), *event_ids, _path(group)],
            ).rowcount
            settled = conn.execute(settle, [*event_ids, *settle_params]).rowcount
        return acked, settled, len(event_ids) - int(known)

    def _ack_up_to(
        self,
        up_to: Mapping[str, int],
        required: Sequence[str],
        results: list[tuple[Sequence[int], Sequence[int]]],
    ) -> tuple[int, int]:
        """Every group's ``up_to_seq`` ack: its watermark is raised (never past the last seq
        in the outbox, so a later sale is never acked in advance), then the rows the raised
        marks newly cover are settled where every required group acked them, at most
        ``CHUNK`` rows per transaction; the next batch of ``results`` is written in each. The
        common round is one transaction."""
        acked = settled = 0
        settle, settle_params = self._settle_sql(required, "seq BETWEEN ? AND ?")
        span: tuple[int, int] | None = None  # seqs still to look at: (after, through)
        while up_to or span is not None or results:
            with write_transaction(self._conn) as conn:
                if results:
                    _write_results(conn, *results.pop(0))
                if up_to:
                    acked_now, span = _raise_marks(conn, up_to)
                    acked += acked_now
                    up_to = {}
                if span is None:
                    continue
                seqs = [
                    int(r[0])
                    for r in conn.execute(
                        "SELECT seq FROM outbox WHERE seq > ? AND seq <= ? "
                        "AND state != 'settled' ORDER BY seq LIMIT ?",
                        (*span, CHUNK),
                    )
                ]
                if seqs:
                    settled += conn.execute(settle, [seqs[0], seqs[-1], *settle_params]).rowcount
                span = (seqs[-1], span[1]) if len(seqs) == CHUNK else None
        return acked, settled

    def settle_acked(self, required_groups: Sequence[str]) -> int:
        conditions, paths = _acked_by_all(required_groups)
        total = 0
        while True:
            with write_transaction(self._conn) as conn:
                changed = conn.execute(
                    f"UPDATE outbox SET state = 'settled', settled_at = {_NOW} WHERE seq IN "
                    f"(SELECT seq FROM outbox WHERE state != 'settled' AND {conditions} "
                    "ORDER BY seq LIMIT ?)",
                    [*paths, CHUNK],
                ).rowcount
            total += changed
            if changed < CHUNK:
                return total

    def purge_settled(self, older_than_days: int) -> int:
        if older_than_days < 1:
            raise ValueError(f"settled rows are kept at least one day, not {older_than_days}")
        age = f"-{int(older_than_days)} days"
        with translate_errors():
            boundary, last = self._conn.execute(
                "SELECT (SELECT min(seq) FROM outbox WHERE state != 'settled' "
                "OR settled_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)), "
                "(SELECT max(seq) FROM outbox)",
                (age,),
            ).fetchone()
        if last is None:
            return 0
        through = int(boundary) - 1 if boundary is not None else int(last)
        total = 0
        while True:
            with write_transaction(self._conn) as conn:
                row = conn.execute(
                    "SELECT max(seq) FROM (SELECT seq FROM outbox WHERE seq <= ? "
                    "ORDER BY seq LIMIT ?)",
                    (through, CHUNK),
                ).fetchone()
                if row[0] is None:
                    break
                high = int(row[0])
                deleted = conn.execute(
                    "DELETE FROM outbox WHERE seq <= ? AND state = 'settled' "
                    "AND settled_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)",
                    (high, age),
                ).rowcount
                if not deleted:
                    break
                total += deleted
                conn.execute(
                    "INSERT INTO kiosk_state (key, value) VALUES ('outbox_purged_through', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = "
                    "max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                    (high,),
                )
        if total:
            logger.info("purged %d settled outbox rows through seq %d", total, through)
        return total

    def audit(self, kind: str, detail: Mapping[str, Any]) -> None:
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        with write_transaction(self._conn) as conn:
            conn.execute("INSERT INTO audit (kind, detail) VALUES (?, ?)", (kind, text))

    def close(self) -> None:
        self._db.close()


def _as_int(value: Any, key: str) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        logger.warning("kiosk_state %s is not a number: %r", key, value)
        return 0


def open_outbox(path: str | os.PathLike[str]) -> SqliteOutbox:
    """``SqliteOutbox`` on a new connection to kiosk.db at ``path`` (schema brought up to date)."""
    db = open_db(path)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return SqliteOutbox(db)
