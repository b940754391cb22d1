"""Refunds in kiosk.db: the return in progress, card refund attempts, and recorded refunds.

``SqliteRefunds`` implements ``kiosk.ports.RefundStore`` on the lane's connection (the lane
thread only; ``SqliteLaneStore.refunds``). Every method has committed when it returns.

- ``return_draft`` (one row) holds the return the attendant is building, so a restart in the
  middle of a return finds it again; ``save_draft`` replaces it.
- ``refund_intents`` is the ledger of card refunds asked of the terminal: a row is committed
  ``pending`` (with the draft) BEFORE the terminal is asked, and its outcome after, as
  payment intents are (``kiosk.tendering``).
- ``record_refund`` is ONE ``BEGIN IMMEDIATE`` transaction: the refunded quantities are
  checked against what earlier refunds took (a second refund of the same units is refused),
  the next seq and prev_hash, the sealed ``pos.sale.refunded/1`` event, rows in ``journal``,
  ``outbox``, ``refunds``, ``refund_lines`` and ``refund_tenders``, the member's ledger rows
  (``kiosk.store.loyalty.write_refund_entries``: points and stored value given back, earned
  points taken back), the refund slip's print job, and the draft cleared. It is idempotent on
  the refund id.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from kiosk.errors import LaneError, StoreError
from kiosk.payments import IntentStatus
from kiosk.protocol.refund_event import SALE_REFUNDED, sale_refunded_event
from kiosk.protocol.sale_event import seal_with_body
from kiosk.refunds import CompletedRefund, RefundAttempt, RefundRecord, SaleLookup
from kiosk.returns import QTY_SCALE, Refunded, milli
from kiosk.store.db import translate_errors, write_transaction
from kiosk.store.journal import append_event, next_link
from kiosk.store.loyalty import refund_activity, write_refund_entries
from kiosk.store.print_jobs import insert_job

logger = logging.getLogger(__name__)

_NOW: Final[str] = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_ATTEMPT_COLUMNS: Final[str] = (
    "intent_id, refund_id, tender_idx, amount, currency, original_ref, status, ref, auth, "
    "last4, detail"
)
# Builds the refund slip document once the refund's seq is known, inside its transaction.
SlipBuilder = Callable[[RefundRecord], Mapping[str, Any]]


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SqliteRefunds:
    """The refund tables on one connection (the lane thread's)."""

    def __init__(self, conn: sqlite3.Connection, kiosk_id: str) -> None:
        self._conn = conn
        self._kiosk_id = kiosk_id

    # -- the return in progress --------------------------------------------------------------
    def load_draft(self) -> Mapping[str, Any] | None:
        with translate_errors():
            row = self._conn.execute("SELECT draft FROM return_draft WHERE id = 1").fetchone()
        if row is None or row[0] is None:
            return None
        draft: dict[str, Any] = json.loads(row[0])
        return draft

    def save_draft(self, draft: Mapping[str, Any] | None) -> None:
        text = None if draft is None else _dumps(draft)
        with translate_errors():
            self._conn.execute(
                f"UPDATE return_draft SET draft = ?, updated_at = {_NOW} WHERE id = 1", (text,)
            )

    # -- the original sale and what was refunded of it ----------------------------------------
    def original(self, receipt_no: str) -> SaleLookup | None:
        """The recorded sale with receipt number ``receipt_no``, or None."""
        with translate_errors():
            row = self._conn.execute(
                "SELECT body, language, taxes FROM sales WHERE receipt_no = ?", (receipt_no,)
            ).fetchone()
        if row is None:
            return None
        rates = {str(t["code"]): Decimal(str(t["rate"])) for t in json.loads(row[2])}
        return SaleLookup(json.loads(row[0]), str(row[1]), rates)

    @staticmethod
    def _refunded(conn: sqlite3.Connection, original_seq: int) -> Refunded:
        units = {
            int(line_no): int(total)
            for line_no, total in conn.execute(
                "SELECT line_no, sum(qty_milli) FROM refund_lines WHERE original_seq = ? "
                "GROUP BY line_no",
                (original_seq,),
            )
        }
        card = {
            int(idx): int(total)
            for idx, total in conn.execute(
                "SELECT t.tender_idx, sum(t.amount) FROM refund_tenders t "
                "JOIN refunds r ON r.seq = t.seq WHERE r.original_seq = ? AND t.type = 'card' "
                "GROUP BY t.tender_idx",
                (original_seq,),
            )
        }
        cash = conn.execute(
            "SELECT coalesce(sum(t.amount), 0) FROM refund_tenders t "
            "JOIN refunds r ON r.seq = t.seq WHERE r.original_seq = ? AND t.type = 'cash'",
            (original_seq,),
        ).fetchone()[0]
        return Refunded(units, card, int(cash))

    def refunded(self, original_seq: int) -> Refunded:
        """Everything earlier refunds gave back of the sale at ``original_seq``."""
        with translate_errors():
            return self._refunded(self._conn, original_seq)

    def refund_numbers(self, original_seq: int) -> list[str]:
        """The refund numbers of the sale at ``original_seq``, oldest first."""
        with translate_errors():
            rows = self._conn.execute(
                "SELECT refund_no FROM refunds WHERE original_seq = ? ORDER BY seq",
                (original_seq,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def is_refund(self, number: str) -> bool:
        """True when ``number`` is the number of a recorded refund (a refund slip)."""
        with translate_errors():
            row = self._conn.execute(
                "SELECT 1 FROM refunds WHERE refund_no = ?", (number,)
            ).fetchone()
        return row is not None

    # -- card refunds asked of the terminal --------------------------------------------------
    def record_attempt(
        self, attempt: RefundAttempt, draft: Mapping[str, Any] | None = None
    ) -> None:
        """Insert the attempt (``pending``) and, when given, the draft, in one transaction."""
        with write_transaction(self._conn) as conn:
            try:
                conn.execute(
                    f"INSERT INTO refund_intents ({_ATTEMPT_COLUMNS}) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        attempt.intent_id,
                        attempt.refund_id,
                        attempt.tender_idx,
                        attempt.amount,
                        attempt.currency,
                        attempt.original_ref,
                        attempt.status,
                        attempt.ref,
                        attempt.auth,
                        attempt.last4,
                        attempt.detail,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(
                    f"refund attempt {attempt.intent_id} cannot be recorded: {exc}"
                ) from exc
            if draft is not None:
                conn.execute(
                    f"UPDATE return_draft SET draft = ?, updated_at = {_NOW} WHERE id = 1",
                    (_dumps(draft),),
                )

    def update_attempt(
        self,
        intent_id: str,
        status: IntentStatus,
        ref: str | None = None,
        auth: str | None = None,
        last4: str | None = None,
        detail: str = "",
    ) -> None:
        """Record the terminal's answer (``None`` and ``""`` keep the stored values)."""
        with write_transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE refund_intents SET status = ?, ref = coalesce(?, ref), "
                "auth = coalesce(?, auth), last4 = coalesce(?, last4), "
                "detail = CASE WHEN ? = '' THEN detail ELSE ? END, "
                f"updated_at = {_NOW} WHERE intent_id = ?",
                (status, ref, auth, last4, detail, detail, intent_id),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no refund attempt {intent_id} to update")

    def attempts(self, refund_id: str) -> list[RefundAttempt]:
        """The card refunds asked for ``refund_id``, oldest first."""
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT {_ATTEMPT_COLUMNS} FROM refund_intents WHERE refund_id = ? "
                "ORDER BY created_at, rowid",
                (refund_id,),
            ).fetchall()
        return [RefundAttempt(*row) for row in rows]

    # -- recording a refund ------------------------------------------------------------------
    def record_refund(
        self, refund: CompletedRefund, slip: SlipBuilder | None = None
    ) -> RefundRecord:
        """Record ``refund`` in ONE transaction (see the module docstring). A refund that
        would take more of a line than is left raises ``LaneError`` (``wrong_state``) and
        writes nothing."""
        if refund.kiosk_id != self._kiosk_id:
            raise StoreError(f"refund {refund.refund_id} is for kiosk {refund.kiosk_id}")
        original = refund.original
        with write_transaction(self._conn) as conn:
            existing = conn.execute(
                "SELECT r.seq, r.refund_no, j.prev_hash, j.hash FROM refunds r "
                "JOIN journal j ON j.seq = r.seq WHERE r.refund_id = ?",
                (refund.refund_id,),
            ).fetchone()
            if existing is not None:
                logger.warning("refund %s is already recorded", refund.refund_id)
                conn.execute(f"UPDATE return_draft SET draft = NULL, updated_at = {_NOW}")
                return RefundRecord(int(existing[0]), str(existing[1]), existing[2], existing[3])
            done = self._refunded(conn, original.seq)
            for line in refund.plan.lines:
                sold = original.line(line.line_no)
                if milli(line.qty, "refund") > done.left(sold):
                    raise LaneError(
                        f"receipt {original.receipt_no} line {line.line_no}: only "
                        f"{Decimal(done.left(sold)) / QTY_SCALE} left to refund",
                        code="wrong_state",
                    )
            seq, prev_hash = next_link(conn)
            loyalty = refund_activity(conn, refund)
            sealed, body = seal_with_body(sale_refunded_event(refund, seq, prev_hash, loyalty))
            payload = append_event(conn, SALE_REFUNDED, sealed, body)
            self._insert(conn, refund, sealed, payload.decode("utf-8"))
            if loyalty is not None:
                write_refund_entries(conn, refund, loyalty, seq, str(sealed["refund_no"]))
            record = RefundRecord(seq, str(sealed["refund_no"]), prev_hash, str(sealed["hash"]))
            if slip is not None:
                insert_job(conn, record.refund_no, "receipt", slip(record))
            conn.execute(f"UPDATE return_draft SET draft = NULL, updated_at = {_NOW}")
        logger.info(
            "refund %s of %s recorded as seq %d",
            refund.refund_id,
            original.receipt_no,
            seq,
        )
        return record

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, refund: CompletedRefund, sealed: Mapping[str, Any], body: str
    ) -> None:
        seq = sealed["seq"]
        totals = sealed["totals"]
        conn.execute(
            "INSERT INTO refunds (seq, refund_id, event_id, refund_no, original_seq, "
            "original_receipt_no, business_day, occurred_at, staff_id, currency, gross, "
            "discount, tax, rounding, due, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                seq,
                refund.refund_id,
                refund.event_id,
                sealed["refund_no"],
                refund.original.seq,
                refund.original.receipt_no,
                refund.business_day,
                refund.occurred_at,
                refund.staff,
                refund.original.currency,
                totals["gross"],
                totals["discount"],
                totals["tax"],
                totals["rounding"],
                totals["due"],
                body,
            ),
        )
        conn.executemany(
            "INSERT INTO refund_lines (seq, line_no, original_seq, sku, qty_milli, gross, "
            "discount, tax) VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    seq,
                    line.line_no,
                    refund.original.seq,
                    line.sku,
                    milli(line.qty, "refund"),
                    line.gross,
                    line.discount,
                    line.tax,
                )
                for line in refund.plan.lines
            ],
        )
        conn.executemany(
            "INSERT INTO refund_tenders (seq, idx, type, amount, original_type, tender_idx, "
            "intent_id, original_ref, ref, auth, last4, points) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    seq,
                    i,
                    t.type,
                    t.amount,
                    t.original_type,
                    t.tender_idx,
                    t.intent_id,
                    t.original_ref,
                    t.ref,
                    t.auth,
                    t.last4,
                    t.points,
                )
                for i, t in enumerate(refund.tenders, start=1)
            ],
        )
