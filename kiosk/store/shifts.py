"""Shifts in kiosk.db: opening, cash pickups, the events of a shift's range, and the close.

``SqliteShifts`` implements ``kiosk.ports.ShiftStore`` on the lane's connection (the lane
thread only; ``SqliteLaneStore.shifts``). Every method has committed when it returns. At most
one shift is open per kiosk (a partial unique index); a shift covers the journal from the seq
after the previous shift close up to the seq before its own close.

``close`` is ONE ``BEGIN IMMEDIATE`` transaction: the next seq and prev_hash, the range's
sale and refund events read from the journal under the write lock (nothing can slip in between
the figures and the close), the caller's builder turns them into the unsealed
``pos.shift.closed/1`` event and the Z report document, the event is sealed into the chain
(``journal`` + ``outbox``), the shift row closed with its figures and the report's print job
queued.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, Final

from kiosk.errors import LaneError, StoreError
from kiosk.protocol.sale_event import seal_with_body
from kiosk.protocol.shift_event import SHIFT_CLOSED, shift_number
from kiosk.shift import REFUND, SALE, ClosingRange, ShiftCloseRecord, ShiftRow
from kiosk.store.db import translate_errors, write_transaction
from kiosk.store.journal import append_event, next_link
from kiosk.store.print_jobs import insert_job

_COLUMNS: Final[str] = (
    "shift_id, number, per, status, opened_at, opened_by, float_amount, closed_at, closed_by, "
    "counted, first_seq, last_seq, close_seq"
)
# Turns the closing range into (the unsealed shift.closed event, the Z report document).
CloseBuilder = Callable[[ClosingRange], tuple[Mapping[str, Any], Mapping[str, Any]]]


def _row(row: tuple[Any, ...]) -> ShiftRow:
    return ShiftRow(*row)


class SqliteShifts:
    """The shift tables on one connection (the lane thread's)."""

    def __init__(self, conn: sqlite3.Connection, kiosk_id: str) -> None:
        self._conn = conn
        self._kiosk_id = kiosk_id

    def current(self) -> ShiftRow | None:
        """The open shift, or None."""
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM shifts WHERE status = 'open'"
            ).fetchone()
        return None if row is None else _row(row)

    def get(self, shift_id: str) -> ShiftRow | None:
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM shifts WHERE shift_id = ?", (shift_id,)
            ).fetchone()
        return None if row is None else _row(row)

    def open(self, per: str, staff_id: str, float_amount: int, at: str) -> ShiftRow:
        """Open the next shift (``{kiosk}-shift-{n}``); LaneError when one is open already."""
        with write_transaction(self._conn) as conn:
            found = conn.execute("SELECT shift_id FROM shifts WHERE status = 'open'").fetchone()
            if found is not None:
                raise LaneError(f"shift {found[0]} is still open", code="wrong_state")
            number = int(conn.execute("SELECT coalesce(max(number), 0) FROM shifts").fetchone()[0])
            shift_id = shift_number(self._kiosk_id, number + 1)
            conn.execute(
                "INSERT INTO shifts (shift_id, number, per, status, opened_at, opened_by, "
                "float_amount) VALUES (?,?,?, 'open', ?,?,?)",
                (shift_id, number + 1, per, at, staff_id, float_amount),
            )
        shift = self.get(shift_id)
        assert shift is not None
        return shift

    def add_pickup(self, shift_id: str, amount: int, staff_id: str, reason: str, at: str) -> None:
        """Record cash taken out of the drawer (a skim) during the open shift ``shift_id``."""
        with write_transaction(self._conn) as conn:
            if (
                conn.execute(
                    "SELECT 1 FROM shifts WHERE shift_id = ? AND status = 'open'", (shift_id,)
                ).fetchone()
                is None
            ):
                raise StoreError(f"shift {shift_id} is not open")
            conn.execute(
                "INSERT INTO cash_movements (shift_id, kind, amount, staff_id, reason, at) "
                "VALUES (?, 'pickup', ?,?,?,?)",
                (shift_id, amount, staff_id, reason, at),
            )

    def pickups(self, shift_id: str) -> list[int]:
        with translate_errors():
            return self._pickups(self._conn, shift_id)

    @staticmethod
    def _pickups(conn: sqlite3.Connection, shift_id: str) -> list[int]:
        rows = conn.execute(
            "SELECT amount FROM cash_movements WHERE shift_id = ? AND kind = 'pickup' ORDER BY id",
            (shift_id,),
        ).fetchall()
        return [int(r[0]) for r in rows]

    @staticmethod
    def _first_seq(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT coalesce(max(close_seq), 0) + 1 FROM shifts").fetchone()[0])

    @staticmethod
    def _events(
        conn: sqlite3.Connection, first_seq: int, last_seq: int
    ) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        rows = conn.execute(
            "SELECT type, body FROM journal WHERE seq BETWEEN ? AND ? AND type IN (?, ?) "
            "ORDER BY seq",
            (first_seq, last_seq, SALE, REFUND),
        ).fetchall()
        return tuple((str(kind), json.loads(body)) for kind, body in rows)

    def open_range(self) -> ClosingRange:
        """The range a close would cover now (for an X report): ``seq``/``prev_hash`` are those
        the close would take; nothing is written."""
        with translate_errors():
            conn = self._conn
            seq, prev_hash = next_link(conn)
            first = self._first_seq(conn)
            shift = conn.execute("SELECT shift_id FROM shifts WHERE status = 'open'").fetchone()
            pickups = self._pickups(conn, str(shift[0])) if shift else []
            return ClosingRange(
                seq,
                prev_hash,
                first,
                seq - 1,
                prev_hash,
                self._events(conn, first, seq - 1),
                tuple(pickups),
            )

    def close(
        self, shift_id: str, staff_id: str, counted: int, at: str, build: CloseBuilder
    ) -> ShiftCloseRecord:
        """Close the open shift ``shift_id`` in ONE transaction (see the module docstring)."""
        with write_transaction(self._conn) as conn:
            found = conn.execute(
                "SELECT status FROM shifts WHERE shift_id = ?", (shift_id,)
            ).fetchone()
            if found is None or found[0] != "open":
                raise LaneError(f"shift {shift_id} is not open", code="wrong_state")
            seq, prev_hash = next_link(conn)
            first = self._first_seq(conn)
            closing = ClosingRange(
                seq,
                prev_hash,
                first,
                seq - 1,
                prev_hash,
                self._events(conn, first, seq - 1),
                tuple(self._pickups(conn, shift_id)),
            )
            event, report = build(closing)
            sealed, body = seal_with_body(event)
            append_event(conn, SHIFT_CLOSED, sealed, body)
            conn.execute(
                "UPDATE shifts SET status = 'closed', closed_at = ?, closed_by = ?, counted = ?, "
                "first_seq = ?, last_seq = ?, close_seq = ?, report = ? WHERE shift_id = ?",
                (
                    at,
                    staff_id,
                    counted,
                    first,
                    seq - 1,
                    seq,
                    json.dumps(report, ensure_ascii=False),
                    shift_id,
                ),
            )
            insert_job(conn, f"{shift_id}/Z", "report", report)
        return ShiftCloseRecord(seq, str(sealed["hash"]), sealed)
