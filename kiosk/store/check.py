"""``kiosk db check``: integrity, schema version, hash chain, outbox and sales consistency.

Called by the CLI and by ``kiosk.store.backup.restore`` (on the backup before it is used), on
the caller's thread. Reads only; walks the journal once in seq order, streaming, so memory
does not grow with the number of sales. Every problem is a sentence naming the seq or table;
``CheckReport.ok`` is true when there is none.

What is checked:

- ``PRAGMA integrity_check`` (``quick_check`` with ``quick=True``) and ``foreign_key_check``;
- the schema version against this software's ``SCHEMA_VERSION``;
- the journal: seq starts at 1 and has no gap, each ``prev_hash`` is the hash before it (the
  genesis hash first), each ``hash`` is ``chain_hash(prev_hash, seq, body)`` recomputed, each
  body is canonical JSON whose seq, prev_hash and event_id match its row;
- every journal row has its outbox row (except the settled prefix ``kiosk sync`` purged, up to
  ``kiosk_state.outbox_purged_through``) and the outbox payload is the same sealed event;
- every ``sale.completed`` entry has its sales row; the sales body is the same sealed event;
  the sales columns (receipt, totals) and its lines (count, Σ gross) agree with the event.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import sqlite_utils

from kiosk.protocol.canonical import GENESIS_HASH, canonical_json, chain_hash, is_hash
from kiosk.protocol.sale_event import SALE_COMPLETED, event_body
from kiosk.store.migrations import SCHEMA_VERSION, too_new_message

MAX_PROBLEMS: Final[int] = 200

_WALK: Final[str] = """
SELECT j.seq, j.event_id, j.type, j.body, j.prev_hash, j.hash,
       o.seq, o.event_id, o.payload,
       s.seq, s.event_id, s.receipt_no, s.gross, s.discount, s.tax, s.rounding, s.due, s.body,
       (SELECT count(*) FROM sale_lines l WHERE l.seq = j.seq),
       (SELECT coalesce(sum(l.gross), 0) FROM sale_lines l WHERE l.seq = j.seq)
FROM journal j
LEFT JOIN outbox o ON o.seq = j.seq
LEFT JOIN sales s ON s.seq = j.seq
ORDER BY j.seq
"""


@dataclass(slots=True)
class CheckReport:
    """The outcome of ``check_db``: ``problems`` (first ``MAX_PROBLEMS``), counts, versions."""

    schema_version: int = 0
    journal_rows: int = 0
    last_seq: int = 0
    sales: int = 0
    problems: list[str] = field(default_factory=list)
    total_problems: int = 0

    @property
    def ok(self) -> bool:
        return self.total_problems == 0

    def add(self, problem: str) -> None:
        self.total_problems += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def summary(self) -> str:
        head = (
            f"schema {self.schema_version}, {self.journal_rows} journal entries "
            f"(last seq {self.last_seq}), {self.sales} sales: "
        )
        if self.ok:
            return head + "ok"
        more = self.total_problems - len(self.problems)
        tail = f"\n  ... and {more} more" if more else ""
        return head + f"{self.total_problems} problem(s)\n  " + "\n  ".join(self.problems) + tail


def _parse(text: object, what: str, seq: int, report: CheckReport) -> Mapping[str, Any] | None:
    try:
        value = json.loads(str(text))
    except ValueError as exc:
        report.add(f"seq {seq}: {what} is not JSON ({exc})")
        return None
    if not isinstance(value, dict):
        report.add(f"seq {seq}: {what} is not a JSON object")
        return None
    return value


def _same_event(
    stored: object, what: str, seq: int, body: str, hash_: str, report: CheckReport
) -> Mapping[str, Any] | None:
    """Check that ``stored`` (a sealed event's JSON) is the journal's event; return it."""
    event = _parse(stored, what, seq, report)
    if event is None:
        return None
    try:
        same_body = event_body(event).decode("utf-8") == body
    except TypeError as exc:
        report.add(f"seq {seq}: {what} cannot be canonicalised ({exc})")
        return None
    if not same_body or event.get("hash") != hash_:
        report.add(f"seq {seq}: {what} differs from the journal entry (changed after commit?)")
    return event


def _check_journal_row(
    row: tuple[Any, ...], expected_prev: str, report: CheckReport
) -> Mapping[str, Any] | None:
    """Check one journal row; return its event (parsed body) when it can be read."""
    seq, event_id, _type, body, prev_hash, hash_ = row[:6]
    if prev_hash != expected_prev:
        report.add(f"seq {seq}: prev_hash does not match the hash of the entry before it")
    if not is_hash(prev_hash) or not is_hash(hash_):
        report.add(f"seq {seq}: prev_hash or hash is not a sha256 hex digest")
        return None
    if chain_hash(prev_hash, seq, str(body).encode("utf-8")) != hash_:
        report.add(f"seq {seq}: journal body does not match its hash (changed after commit?)")
    event = _parse(body, "journal body", seq, report)
    if event is None:
        return None
    try:
        canonical = canonical_json(event).decode("utf-8") == body
    except TypeError as exc:
        report.add(f"seq {seq}: journal body has a value canonical JSON refuses ({exc})")
        return None
    if not canonical:
        report.add(f"seq {seq}: journal body is not in canonical form")
    if (event.get("seq"), event.get("prev_hash"), event.get("event_id")) != (
        seq,
        prev_hash,
        event_id,
    ):
        report.add(f"seq {seq}: journal body's seq, prev_hash or event_id differ from its row")
    return event


def _check_outbox(row: tuple[Any, ...], purged_through: int, report: CheckReport) -> None:
    seq, event_id, _type, body, _prev, hash_ = row[:6]
    out_seq, out_event_id, payload = row[6:9]
    if out_seq is None:
        if seq > purged_through:  # kiosk sync purges old settled rows, a seq prefix
            report.add(f"seq {seq}: no outbox row (the event would never be published)")
        return
    if out_event_id != event_id:
        report.add(f"seq {seq}: outbox event_id differs from the journal's")
    _same_event(payload, "outbox payload", seq, body, hash_, report)


def _check_sale(row: tuple[Any, ...], event: Mapping[str, Any] | None, report: CheckReport) -> None:
    """Check the sales row of a journal row against the journal's event (the hashed truth)."""
    seq, event_id, type_, body, _prev, hash_ = row[:6]
    sale_seq, sale_event_id, receipt_no, gross, discount, tax, rounding, due, sale_body = row[9:18]
    line_count, line_gross = row[18:20]
    if sale_seq is None:
        if type_ == SALE_COMPLETED:
            report.add(f"seq {seq}: sale.completed entry has no sales row")
        return
    report.sales += 1
    if type_ != SALE_COMPLETED:
        report.add(f"seq {seq}: sales row for a journal entry of type {type_}")
    if sale_event_id != event_id:
        report.add(f"seq {seq}: sales event_id differs from the journal's")
    _same_event(sale_body, "sales body", seq, body, hash_, report)
    if event is None:
        return
    totals = event.get("totals") or {}
    columns = {"gross": gross, "discount": discount, "tax": tax, "rounding": rounding, "due": due}
    if receipt_no != event.get("receipt_no") or any(totals.get(k) != v for k, v in columns.items()):
        report.add(f"seq {seq}: sales columns (receipt or totals) differ from the sale event")
    lines = event.get("lines") or []
    if line_count != len(lines) or line_gross != sum(int(x.get("amount", 0)) for x in lines):
        report.add(f"seq {seq}: sale_lines differ from the sale event's lines")


def _check_orphans(conn: sqlite3.Connection, report: CheckReport) -> None:
    for table in ("outbox", "sales"):
        for (seq,) in conn.execute(
            f"SELECT t.seq FROM {table} t LEFT JOIN journal j ON j.seq = t.seq "
            "WHERE j.seq IS NULL ORDER BY t.seq"
        ):
            report.add(f"seq {seq}: {table} row has no journal entry (journal row deleted?)")
    for table, _rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check"):
        report.add(f"a row of {table} refers to a missing row of {parent}")


def _walk_journal(conn: sqlite3.Connection, report: CheckReport) -> None:
    purged = conn.execute(
        "SELECT value FROM kiosk_state WHERE key = 'outbox_purged_through'"
    ).fetchone()
    purged_through = int(purged[0]) if purged and str(purged[0]).isdigit() else 0
    expected_seq = 1
    expected_prev = GENESIS_HASH
    for row in conn.execute(_WALK):
        seq = row[0]
        report.journal_rows += 1
        report.last_seq = seq
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
            report.add(f"journal seq {missing} missing (gap before seq {seq})")
        event = _check_journal_row(row, expected_prev, report)
        _check_outbox(row, purged_through, report)
        _check_sale(row, event, report)
        expected_seq = seq + 1
        expected_prev = row[5]


def check_db(db: sqlite_utils.Database, *, quick: bool = False) -> CheckReport:
    """Check kiosk.db (see the module docstring). Never raises for a problem it can name."""
    conn = db.conn
    report = CheckReport()
    try:
        pragma = "quick_check" if quick else "integrity_check"
        results = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}")]
        if results != ["ok"]:
            for message in results:
                report.add(f"integrity: {message}")
        report.schema_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if report.schema_version > SCHEMA_VERSION:
            report.add(too_new_message(report.schema_version))
            return report
        if report.schema_version < SCHEMA_VERSION:
            report.add(
                f"schema version {report.schema_version} is older than {SCHEMA_VERSION}: "
                "start the kiosk once to migrate it"
            )
            return report
        _walk_journal(conn, report)
        _check_orphans(conn, report)
    except sqlite3.DatabaseError as exc:
        report.add(f"kiosk.db cannot be read: {exc}")
    return report
