"""The lane's durable state in kiosk.db: snapshot, payment intents, completed sales, print jobs,
audit.

``SqliteLaneStore`` implements ``kiosk.ports.LaneStore``. It is used by the lane (core) thread
only, on its own connection; every method has committed when it returns. ``save_lane`` runs on
every scan: it is one UPDATE that commits by itself (one WAL append and fsync).

``complete_sale`` is ONE ``BEGIN IMMEDIATE`` transaction: next seq and prev_hash from the last
journal row, the sealed ``pos.sale.completed/1`` event, rows in journal, sales, sale_lines,
sale_tenders and outbox, the member's ledger rows (``kiosk.store.loyalty``), the coupon
redemptions (``kiosk.store.promotions``) and the new lane snapshot. It is idempotent on
``sale_id``: completing a sale that is already recorded returns its ``SaleRecord`` and writes
nothing, so a retry after a crash or an error never records a sale twice.

Print jobs (``kiosk.store.print_jobs``) go through the same connection: ``queue_print`` and
``move_print`` commit the job's new state together with the lane snapshot and an audit row when
given, so what the screen shows, the job's state and who asked for it never disagree.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import sqlite_utils

from kiosk.errors import StorageFull, StorageReadOnly, StoreError
from kiosk.payments import IntentStatus, PaymentIntent
from kiosk.pricing import TaxLine
from kiosk.printing import JobKind, JobState, PrintJob
from kiosk.protocol.sale_event import (
    SALE_COMPLETED,
    qty_text,
    sale_completed_event,
    seal_with_body,
)
from kiosk.sale import CompletedSale, SaleRecord
from kiosk.store.db import translate_errors, write_transaction
from kiosk.store.journal import append_event, last_seq, next_link
from kiosk.store.loyalty import write_sale_entries
from kiosk.store.print_jobs import SqlitePrintJobs, insert_job
from kiosk.store.promotions import write_coupon_redemptions
from kiosk.store.refunds import SqliteRefunds
from kiosk.store.shifts import SqliteShifts

logger = logging.getLogger(__name__)

_NOW: Final[str] = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_LAST4: Final = re.compile(r"[0-9]{4}")
_INTENT_COLUMNS: Final[str] = (
    "intent_id, sale_id, method, amount, currency, status, ref, auth, last4, detail"
)
# Builds the receipt document (JSON-able) once the sale's seq is known, inside its transaction.
ReceiptBuilder = Callable[[SaleRecord], Mapping[str, Any]]
# An audit row (kind, detail) written in the same transaction as a print job's change.
Audit = tuple[str, Mapping[str, Any]]
MIN_FREE_DISK_BYTES: Final[int] = 16 * 1024 * 1024
RESERVE_BYTES: Final[int] = 256 * 1024


@dataclass(frozen=True, slots=True)
class StoredSale:
    """A recorded sale as read back for a reprint: the sealed event plus what only the
    receipt needs (the customer's language and the tax breakdown with rates)."""

    seq: int
    sale_id: str
    receipt_no: str
    language: str
    event: Mapping[str, Any]
    taxes: tuple[TaxLine, ...]


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _check_last4(last4: str | None) -> None:
    if last4 is not None and not _LAST4.fullmatch(last4):
        raise StoreError(f"last4 must be exactly 4 digits, got {len(last4)} characters")


class SqliteLaneStore:
    """``kiosk.ports.LaneStore`` over kiosk.db for the kiosk ``kiosk_id``."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        kiosk_id: str,
        *,
        min_free_disk_bytes: int = MIN_FREE_DISK_BYTES,
        reserve_bytes: int = RESERVE_BYTES,
    ) -> None:
        self._db = db
        self._conn: sqlite3.Connection = db.conn
        self._kiosk_id = kiosk_id
        self._min_free_disk = min_free_disk_bytes
        self._reserve = reserve_bytes
        self._jobs = SqlitePrintJobs(self._conn)
        self.refunds = SqliteRefunds(self._conn, kiosk_id)
        self.shifts = SqliteShifts(self._conn, kiosk_id)

    # -- health ------------------------------------------------------------------------------
    def _db_dir(self) -> Path | None:
        with translate_errors():
            row = self._conn.execute("PRAGMA database_list").fetchone()
        return Path(row[2]).parent if row is not None and row[2] else None

    def check_writable(self) -> None:
        """Raise StorageReadOnly or StorageFull unless a sale could be recorded right now.

        Checks, cheapest first: ``PRAGMA query_only``; a real write (a ``reserve_bytes`` blob
        in ``kiosk_state``) inside a transaction that is rolled back, which fails on a
        read-only file, folder or connection and on a page limit that is already reached; the
        pages left under ``PRAGMA max_page_count``; the free disk space of the DB's folder.
        """
        conn = self._conn
        with translate_errors():
            if conn.execute("PRAGMA query_only").fetchone()[0]:
                raise StorageReadOnly("kiosk.db is open query-only: nothing can be recorded")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO kiosk_state (key, value) "
                    "VALUES ('write_probe', zeroblob(?))",
                    (self._reserve,),
                )
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
            max_pages = int(conn.execute("PRAGMA max_page_count").fetchone()[0])
            free_pages = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        if (max_pages - pages + free_pages) * page_size < self._reserve:
            raise StorageFull(f"kiosk.db is at its size limit ({max_pages} pages)")
        folder = self._db_dir()
        if folder is not None:
            try:
                free = shutil.disk_usage(folder).free
            except OSError as exc:
                raise StorageReadOnly(f"cannot read the disk of {folder}: {exc}") from exc
            if free < self._min_free_disk:
                raise StorageFull(f"only {free} bytes free on the disk of {folder}")
            if not os.access(folder, os.W_OK):
                raise StorageReadOnly(f"the folder {folder} is not writable")

    # -- lane snapshot -----------------------------------------------------------------------
    def load_lane(self) -> Mapping[str, Any] | None:
        with translate_errors():
            row = self._conn.execute("SELECT snapshot FROM lane WHERE id = 1").fetchone()
        if row is None or row[0] is None:
            return None
        snapshot: dict[str, Any] = json.loads(row[0])
        return snapshot

    def save_lane(self, snapshot: Mapping[str, Any]) -> None:
        text = _dumps(snapshot)
        with translate_errors():
            self._conn.execute(
                f"UPDATE lane SET snapshot = ?, updated_at = {_NOW} WHERE id = 1", (text,)
            )

    # -- payment intents ---------------------------------------------------------------------
    def _write_snapshot(self, conn: sqlite3.Connection, snapshot: str | None) -> None:
        if snapshot is not None:
            conn.execute(
                f"UPDATE lane SET snapshot = ?, updated_at = {_NOW} WHERE id = 1", (snapshot,)
            )

    def record_intent(
        self, intent: PaymentIntent, lane_snapshot: Mapping[str, Any] | None = None
    ) -> None:
        """Insert the intent (and replace the lane snapshot when given) in one transaction.
        An intent id that is already recorded raises StoreError."""
        _check_last4(intent.last4)
        snapshot = None if lane_snapshot is None else _dumps(lane_snapshot)
        with write_transaction(self._conn) as conn:
            try:
                conn.execute(
                    f"INSERT INTO payment_intents ({_INTENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        intent.intent_id,
                        intent.sale_id,
                        intent.method,
                        intent.amount,
                        intent.currency,
                        intent.status,
                        intent.ref,
                        intent.auth,
                        intent.last4,
                        intent.detail,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(
                    f"payment intent {intent.intent_id} cannot be recorded: {exc}"
                ) from exc
            self._write_snapshot(conn, snapshot)

    def update_intent(
        self,
        intent_id: str,
        status: IntentStatus,
        ref: str | None = None,
        auth: str | None = None,
        last4: str | None = None,
        detail: str = "",
        lane_snapshot: Mapping[str, Any] | None = None,
    ) -> None:
        """Set the status (and replace the lane snapshot when given) in one transaction.

        ``ref``/``auth``/``last4`` None and ``detail`` "" keep the stored values. An unknown
        ``intent_id`` raises StoreError and changes nothing.
        """
        _check_last4(last4)
        snapshot = None if lane_snapshot is None else _dumps(lane_snapshot)
        with write_transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE payment_intents SET status = ?, ref = coalesce(?, ref), "
                "auth = coalesce(?, auth), last4 = coalesce(?, last4), "
                "detail = CASE WHEN ? = '' THEN detail ELSE ? END, "
                f"updated_at = {_NOW} WHERE intent_id = ?",
                (status, ref, auth, last4, detail, detail, intent_id),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no payment intent {intent_id} to update")
            self._write_snapshot(conn, snapshot)

    def intent(self, intent_id: str) -> PaymentIntent | None:
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_INTENT_COLUMNS} FROM payment_intents WHERE intent_id = ?", (intent_id,)
            ).fetchone()
        return None if row is None else PaymentIntent(*row)

    def unresolved_intents(self) -> list[PaymentIntent]:
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT {_INTENT_COLUMNS} FROM payment_intents "
                "WHERE status IN ('pending', 'unknown') ORDER BY created_at, intent_id"
            ).fetchall()
        return [PaymentIntent(*row) for row in rows]

    # -- sales -------------------------------------------------------------------------------
    def complete_sale(
        self,
        sale: CompletedSale,
        lane_snapshot: Mapping[str, Any],
        receipt: ReceiptBuilder | None = None,
    ) -> SaleRecord:
        if sale.kiosk_id != self._kiosk_id:
            raise StoreError(f"sale {sale.sale_id} is for kiosk {sale.kiosk_id}, not this one")
        snapshot = _dumps(lane_snapshot)
        conn = self._conn
        with write_transaction(conn):
            existing = conn.execute(
                "SELECT s.seq, s.receipt_no, j.prev_hash, j.hash FROM sales s "
                "JOIN journal j ON j.seq = s.seq WHERE s.sale_id = ?",
                (sale.sale_id,),
            ).fetchone()
            if existing is not None:
                logger.warning("sale %s is already recorded as seq %s", sale.sale_id, existing[0])
                return SaleRecord(int(existing[0]), str(existing[1]), existing[2], existing[3])
            seq, prev_hash = next_link(conn)
            sealed, body = seal_with_body(sale_completed_event(sale, seq, prev_hash))
            payload = append_event(conn, SALE_COMPLETED, sealed, body)
            self._insert_sale(conn, sale, sealed, payload.decode("utf-8"))
            write_sale_entries(conn, sale, seq)
            write_coupon_redemptions(conn, sale)
            self._write_snapshot(conn, snapshot)
            record = SaleRecord(seq, str(sealed["receipt_no"]), prev_hash, str(sealed["hash"]))
            if receipt is not None:
                insert_job(conn, record.receipt_no, "receipt", receipt(record), seq=seq)
        logger.info("sale %s recorded as seq %d (%s)", sale.sale_id, seq, sealed["receipt_no"])
        return record

    @staticmethod
    def _insert_sale(
        conn: sqlite3.Connection, sale: CompletedSale, sealed: Mapping[str, Any], body: str
    ) -> None:
        seq = sealed["seq"]
        totals = sale.totals
        taxes = [
            {"code": t.code, "rate": str(t.rate), "base": t.base, "tax": t.tax}
            for t in totals.taxes
        ]
        conn.execute(
            "INSERT INTO sales (seq, sale_id, event_id, receipt_no, business_day, occurred_at, "
            "currency, language, gross, discount, tax, rounding, due, paid, change, item_count, "
            "member_id, taxes, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                seq,
                sale.sale_id,
                sale.event_id,
                sealed["receipt_no"],
                sale.business_day,
                sale.occurred_at,
                sale.currency,
                sale.language,
                totals.gross,
                totals.discount,
                totals.tax,
                sale.cash_rounding,
                sealed["totals"]["due"],
                sale.paid,
                sale.change,
                totals.item_count,
                sale.member_id,
                json.dumps(taxes),
                body,
            ),
        )
        priced = {p.line_no: p for p in totals.lines}
        conn.executemany(
            "INSERT INTO sale_lines (seq, line_no, sku, gtin, name, qty, unit, unit_price, "
            "gross, discount, amount, tax_code, tax) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    seq,
                    line.line_no,
                    line.sku,
                    line.gtin,
                    line.name(sale.language),
                    qty_text(line.qty),
                    line.unit,
                    line.unit_price,
                    priced[line.line_no].gross,
                    priced[line.line_no].discount,
                    priced[line.line_no].amount,
                    priced[line.line_no].tax_code,
                    priced[line.line_no].tax,
                )
                for line in sale.lines
            ],
        )
        conn.executemany(
            "INSERT INTO sale_tenders (seq, idx, type, amount, tendered, change, intent_id, "
            "ref, auth, last4) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    seq,
                    i,
                    t.type,
                    t.amount,
                    t.tendered,
                    t.change,
                    t.intent_id,
                    t.ref,
                    t.auth,
                    t.last4,
                )
                for i, t in enumerate(sale.tenders, start=1)
            ],
        )

    def _stored(self, where: str, params: tuple[object, ...]) -> list[StoredSale]:
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT seq, sale_id, receipt_no, language, body, taxes FROM sales {where}",
                params,
            ).fetchall()
        return [
            StoredSale(
                seq=int(seq),
                sale_id=str(sale_id),
                receipt_no=str(receipt_no),
                language=str(language),
                event=json.loads(body),
                taxes=tuple(
                    TaxLine(t["code"], Decimal(t["rate"]), int(t["base"]), int(t["tax"]))
                    for t in json.loads(taxes)
                ),
            )
            for seq, sale_id, receipt_no, language, body, taxes in rows
        ]

    def sale_by_receipt(self, receipt_no: str) -> StoredSale | None:
        found = self._stored("WHERE receipt_no = ?", (receipt_no,))
        return found[0] if found else None

    def last_sales(self, n: int) -> list[StoredSale]:
        """The ``n`` most recent sales, newest first."""
        return self._stored("ORDER BY seq DESC LIMIT ?", (n,))

    def last_seq(self) -> int:
        """The highest seq in the journal (0 before the first event)."""
        with translate_errors():
            return last_seq(self._conn)

    # -- print jobs --------------------------------------------------------------------------
    def _with(
        self, lane_snapshot: Mapping[str, Any] | None, audit: Audit | None
    ) -> Callable[[sqlite3.Connection], None]:
        snapshot = None if lane_snapshot is None else _dumps(lane_snapshot)
        audit_row = None if audit is None else (audit[0], _dumps(audit[1]))

        def also(conn: sqlite3.Connection) -> None:
            if snapshot is not None:
                self._write_snapshot(conn, snapshot)
            if audit_row is not None:
                conn.execute("INSERT INTO audit (kind, detail) VALUES (?, ?)", audit_row)

        return also

    def print_job(self, job_id: str) -> PrintJob | None:
        return self._jobs.get(job_id)

    def print_jobs(self, state: JobState | None = None) -> list[PrintJob]:
        return self._jobs.jobs(state)

    def print_jobs_with_prefix(self, prefix: str) -> list[PrintJob]:
        return self._jobs.with_prefix(prefix)

    def last_receipt_job(self) -> PrintJob | None:
        return self._jobs.last_receipt()

    def queue_print(
        self,
        job_id: str,
        kind: JobKind,
        document: Mapping[str, Any],
        seq: int | None = None,
        requested_by: str | None = None,
        audit: Audit | None = None,
    ) -> None:
        self._jobs.queue(job_id, kind, document, seq, requested_by, self._with(None, audit))

    def move_print(
        self,
        job_id: str,
        state: JobState,
        error: str | None = None,
        lane_snapshot: Mapping[str, Any] | None = None,
        audit: Audit | None = None,
    ) -> None:
        self._jobs.move(job_id, state, error, self._with(lane_snapshot, audit))

    # -- audit and boot ----------------------------------------------------------------------
    def record_audit(self, kind: str, detail: Mapping[str, Any]) -> None:
        text = _dumps(detail)
        with translate_errors():
            self._conn.execute("INSERT INTO audit (kind, detail) VALUES (?, ?)", (kind, text))

    def boot(self) -> int:
        """Count one more start of the kiosk and return the new boot number (1 first)."""
        with write_transaction(self._conn) as conn:
            row = conn.execute(
                "INSERT INTO kiosk_state (key, value) VALUES ('boot', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 "
                "RETURNING value"
            ).fetchone()
        return int(row[0])
