"""Print jobs in kiosk.db: queued with the sale, never printed twice by accident."""

from __future__ import annotations

import pytest
import sqlite_utils

from kiosk.errors import StoreError
from kiosk.sale import SaleRecord
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.print_jobs import SqlitePrintJobs

from .conftest import SaleFactory


def _receipt(record: SaleRecord) -> dict[str, object]:
    return {"receipt_no": record.receipt_no, "seq": record.seq, "text": "RECEIPT"}


def test_receipt_job_is_queued_in_the_sale_transaction(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    record = store.complete_sale(sales.make(), {"mode": "complete"}, receipt=_receipt)
    jobs = SqlitePrintJobs(db)
    job = jobs.get(record.receipt_no)
    assert job is not None
    assert (job.kind, job.state, job.seq) == ("receipt", "queued", record.seq)
    assert job.document == {"receipt_no": record.receipt_no, "seq": record.seq, "text": "RECEIPT"}
    assert [j.job_id for j in jobs.pending()] == [record.receipt_no]


def test_retried_sale_does_not_queue_a_second_receipt(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    sale = sales.make()
    first = store.complete_sale(sale, {"mode": "complete"}, receipt=_receipt)
    again = store.complete_sale(sale, {"mode": "complete"}, receipt=_receipt)
    assert again == first
    assert SqlitePrintJobs(db).count_for(first.seq) == 1


def test_failing_receipt_builder_rolls_back_the_whole_sale(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    def broken(record: SaleRecord) -> dict[str, object]:
        raise ValueError("renderer bug")

    with pytest.raises(ValueError, match="renderer bug"):
        store.complete_sale(sales.make(), {"mode": "complete"}, receipt=broken)
    assert db.execute("SELECT count(*) FROM sales").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM print_jobs").fetchone()[0] == 0


def test_job_lifecycle_and_refused_transitions(db: sqlite_utils.Database) -> None:
    jobs = SqlitePrintJobs(db)
    jobs.queue("test-1", "test", {"text": "hello"})
    with pytest.raises(StoreError, match="already exists"):
        jobs.queue("test-1", "test", {"text": "again"})
    with pytest.raises(StoreError, match="cannot become done: it is queued"):
        jobs.finish("test-1")
    jobs.start("test-1")
    jobs.fail("test-1", "paper_out: the printer is out of paper")
    failed = jobs.get("test-1")
    assert failed is not None
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert failed.error == "paper_out: the printer is out of paper"
    jobs.retry("test-1")
    jobs.start("test-1")
    jobs.finish("test-1")
    done = jobs.get("test-1")
    assert done is not None
    assert (done.state, done.attempts, done.error) == ("done", 2, None)
    with pytest.raises(StoreError, match="there is no such job"):
        jobs.start("nope")


def test_recover_marks_interrupted_jobs_uncertain_not_queued(db: sqlite_utils.Database) -> None:
    jobs = SqlitePrintJobs(db)
    jobs.queue("a", "test", {"text": "a"})
    jobs.queue("b", "test", {"text": "b"})
    jobs.start("a")
    recovered = jobs.recover()
    assert [j.job_id for j in recovered] == ["a"]
    state_a = jobs.get("a")
    assert state_a is not None
    assert state_a.state == "uncertain"
    assert [j.job_id for j in jobs.pending()] == ["b"]
