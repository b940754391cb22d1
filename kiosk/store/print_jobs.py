"""Print jobs in kiosk.db: every receipt, reprint and test page is a row with a state.

``queued -> printing -> done`` or ``failed`` (the transitions are ``kiosk.printing.TRANSITIONS``).
The job id of a sale's receipt is its receipt number, so a receipt can never be queued twice; a
reprint is a separate, explicit job (``reprint`` kind, with who asked for it) and is audited by
the caller. After a crash a job left ``printing`` may or may not have come out of the printer:
``recover()`` marks it ``uncertain`` and it is never sent again automatically (an attendant
decides).

Every change is one transaction; ``queue`` and ``move`` take an ``also`` callback that runs
inside it (``SqliteLaneStore`` uses it to commit the lane snapshot or an audit row together
with the job's new state). Used on the lane thread (queueing with the sale; running jobs) and
by ``kiosk hw test``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, Final

import sqlite_utils

from kiosk.errors import StoreError
from kiosk.printing import JOB_STATES, TRANSITIONS, JobKind, JobState, PrintJob
from kiosk.store.db import translate_errors, write_transaction

__all__ = ["JobKind", "JobState", "PrintJob", "SqlitePrintJobs", "insert_job"]

_NOW: Final[str] = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_COLUMNS: Final[str] = "job_id, kind, seq, state, document, attempts, error, requested_by"

# Runs inside a job's transaction, on its connection.
Also = Callable[[sqlite3.Connection], None]


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

    def __init__(self, db: sqlite_utils.Database | sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection = db if isinstance(db, sqlite3.Connection) else db.conn

    def queue(
        self,
        job_id: str,
        kind: JobKind,
        document: Mapping[str, Any],
        seq: int | None = None,
        requested_by: str | None = None,
        also: Also | None = None,
    ) -> PrintJob:
        """Queue a job; queueing an existing job id raises StoreError (nothing prints twice)."""
        if not job_id.strip():
            raise StoreError("a print job id must not be empty")
        with write_transaction(self._conn) as conn:
            if conn.execute("SELECT 1 FROM print_jobs WHERE job_id = ?", (job_id,)).fetchone():
                raise StoreError(f"print job {job_id} already exists")
            insert_job(conn, job_id, kind, document, seq, requested_by)
            if also is not None:
                also(conn)
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> PrintJob | None:
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else _job(row)

    def move(
        self, job_id: str, state: JobState, error: str | None = None, also: Also | None = None
    ) -> None:
        """Move a job to ``state`` (allowed only from the states in ``TRANSITIONS``); moving to
        ``printing`` counts an attempt. StoreError names the job and the state it is in."""
        if state not in JOB_STATES:
            raise StoreError(f"unknown print job state {state!r}")
        allowed = TRANSITIONS.get(state, ())
        marks = ",".join("?" for _ in allowed)
        with write_transaction(self._conn) as conn:
            cursor = conn.execute(
                f"UPDATE print_jobs SET state = ?, error = ?, updated_at = {_NOW}, "
                f"attempts = attempts + ? WHERE job_id = ? AND state IN ({marks})",
                (state, error, 1 if state == "printing" else 0, job_id, *allowed),
            )
            if cursor.rowcount != 1:
                found = conn.execute(
                    "SELECT state FROM print_jobs WHERE job_id = ?", (job_id,)
                ).fetchone()
                where = f"it is {found[0]}" if found else "there is no such job"
                raise StoreError(f"print job {job_id} cannot become {state}: {where}")
            if also is not None:
                also(conn)

    def start(self, job_id: str) -> None:
        """queued -> printing (committed before the first byte is sent)."""
        self.move(job_id, "printing")

    def retry(self, job_id: str) -> None:
        """failed -> queued: the printer is fixed and the same job may go again (the failed
        attempt printed nothing the printer reported)."""
        self.move(job_id, "queued")

    def finish(self, job_id: str) -> None:
        self.move(job_id, "done")

    def fail(self, job_id: str, error: str) -> None:
        """printing -> failed, or queued -> failed when the printer refused before any byte."""
        self.move(job_id, "failed", error)

    def jobs(self, state: JobState | None = None, seq: int | None = None) -> list[PrintJob]:
        """Jobs in ``state`` and/or of sale ``seq`` (all when neither), oldest first."""
        where: list[str] = []
        params: list[object] = []
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if seq is not None:
            where.append("seq = ?")
            params.append(seq)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs {clause}ORDER BY created_at, rowid",
                tuple(params),
            ).fetchall()
        return [_job(r) for r in rows]

    def pending(self) -> list[PrintJob]:
        """Queued jobs, oldest first."""
        return self.jobs("queued")

    def last_receipt(self) -> PrintJob | None:
        """The receipt job of the most recent sale (receipts are queued in seq order, so this
        reads the table backwards from its end and stops at the first receipt)."""
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs WHERE kind = 'receipt' "
                "ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
        return None if row is None else _job(row)

    def with_prefix(self, prefix: str) -> list[PrintJob]:
        """Jobs whose id starts with ``prefix`` (a range on the primary key), oldest first."""
        if not prefix:
            raise StoreError("a print job id prefix must not be empty")
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM print_jobs WHERE job_id >= ? AND job_id < ? "
                "ORDER BY created_at, rowid",
                (prefix, upper),
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
