"""Print jobs in kiosk.db: every receipt, reprint and test page is a row with a state.

``queued -> printing -> done`` or ``failed``. The job id of a sale's receipt is its receipt
number, so a receipt can never be queued twice; a reprint is a separate, explicit job
(``reprint`` kind, with who asked for it) and is audited by the caller. After a crash a job left
``printing`` may or may not have come out of the printer: ``recover()`` marks it ``uncertain``
and it is never sent again automatically (an attendant decides).

Used on the lane thread (queueing with the sale; running jobs) and by ``kiosk hw test``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import sqlite_utils

from kiosk.errors import StoreError
from kiosk.store.db import translate_errors, write_transaction

JobKind = Literal["receipt", "reprint", "test", "report"]
JobState = Literal["queued", "printing", "done", "failed", "uncertain"]

_NOW: Final[str] = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_COLUMNS: Final[str] = "job_id, kind, seq, state, document, attempts, error, requested_by"


@dataclass(frozen=True, slots=True)
class PrintJob:
    job_id: str
    kind: JobKind
    seq: int | None
    state: JobState
    document: Mapping[str, Any]
    attempts: int = 0
    error: str | None = None
    requested_by: str | None = None


def _job(row: tuple[Any, ...]) -> PrintJob:
    job_id, kind, seq, state, document, attempts, error, requested_by = row
    return PrintJob(job_id, kind, seq, state, json.loads(document), attempts, error, requested_by)


def insert_job(
    conn: sqlite3.Connection,
    job_id: str,
    kind: JobKind,
    document: Mapping[str, Any],
    seq: int | None = None,
    requested_by: str | None = None,
) -> None:
    """Insert a queued job inside the caller's transaction (used by ``complete_sale``)."""
    conn.execute(
        "INSERT INTO print_jobs (job_id, kind, seq, document, requested_by) VALUES (?,?,?,?,?)",
        (job_id, kind, seq, json.dumps(document, ensure_ascii=False), requested_by),
    )


class SqlitePrintJobs:
    """The print-job table on one connection (one thread at a time)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._conn: sqlite3.Connection = db.conn

    def queue(
        self,
        job_id: str,
        kind: JobKind,
        document: Mapping[str, Any],
        seq: int | None = None,
        requested_by: str | None = None,
    ) -> PrintJob:
        """Queue a job; queueing an existing job id raises StoreError (nothing prints twice)."""
        with write_transaction(self._conn) as conn:
            if conn.execute("SELECT 1 FROM print_jobs WHERE job_id = ?", (job_id,)).fetchone():
                raise StoreError(f"print job {job_id} already exists")
            insert_job(conn, job_id, kind, document, seq, requested_by)
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> PrintJob | None:
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else _job(row)

    def _move(
        self,
        job_id: str,
        allowed: tuple[str, ...],
        state: JobState,
        error: str | None,
        count_attempt: bool = False,
    ) -> None:
        marks = ",".join("?" for _ in allowed)
        with write_transaction(self._conn) as conn:
            cursor = conn.execute(
                f"UPDATE print_jobs SET state = ?, error = ?, updated_at = {_NOW}, "
                f"attempts = attempts + ? WHERE job_id = ? AND state IN ({marks})",
                (state, error, 1 if count_attempt else 0, job_id, *allowed),
            )
            if cursor.rowcount != 1:
                found = conn.execute(
                    "SELECT state FROM print_jobs WHERE job_id = ?", (job_id,)
                ).fetchone()
                where = f"it is {found[0]}" if found else "there is no such job"
                raise StoreError(f"print job {job_id} cannot become {state}: {where}")

    def start(self, job_id: str) -> None:
        """queued -> printing (committed before the first byte is sent)."""
        self._move(job_id, ("queued",), "printing", None, count_attempt=True)

    def retry(self, job_id: str) -> None:
        """failed -> queued: the printer is fixed and the same job may go again (the failed
        attempt printed nothing the printer reported)."""
        self._move(job_id, ("failed",), "queued", None)

    def finish(self, job_id: str) -> None:
        self._move(job_id, ("printing",), "done", None)

    def fail(self, job_id: str, error: str) -> None:
        self._move(job_id, ("printing",), "failed", error)

    def pending(self) -> list[PrintJob]:
        """Queued jobs, oldest first."""
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs WHERE state = 'queued' "
                "ORDER BY created_at, job_id"
            ).fetchall()
        return [_job(r) for r in rows]

    def recover(self) -> list[PrintJob]:
        """At start-up: jobs left 'printing' by a crash become 'uncertain'; returns them."""
        with write_transaction(self._conn) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs WHERE state = 'printing'"
            ).fetchall()
            conn.execute(
                f"UPDATE print_jobs SET state = 'uncertain', updated_at = {_NOW}, "
                "error = 'the kiosk stopped while printing' WHERE state = 'printing'"
            )
        return [_job(r) for r in rows]

    def count_for(self, seq: int) -> int:
        with translate_errors():
            return int(
                self._conn.execute(
                    "SELECT count(*) FROM print_jobs WHERE seq = ?", (seq,)
                ).fetchone()[0]
            )
