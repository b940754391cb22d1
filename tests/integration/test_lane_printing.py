"""Receipts as print jobs in kiosk.db, through the lane on a real kiosk.db (``lane_kit``).

A receipt job is queued inside the sale's transaction and printed once after the COMMIT; a
printer fault fails the job (never the sale), raises a ``printer_fault`` task and keeps the
receipt on screen; paper near its end is an attendant task before the paper runs out; failed
jobs go again only on an attendant's ``retry_print``; a ``reprint`` is a new, audited job
marked REPRINT. Crashes are simulated at every step of a job (the fake printer, or its status
query, raises ``Crash``, which nothing in the lane catches, then ``kit.restart()``): nothing
ever prints twice by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from kiosk.errors import StoreError
from kiosk.hw.escpos_render import feed_and_cut, render_receipt
from kiosk.printing import fault_code, reprint_job_id, status_fault
from kiosk.receipt import Receipt
from kiosk.receipt_text import REPRINT_MARK
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.print_jobs import SqlitePrintJobs
from tests.integration.lane_kit import (
    MILK,
    WATER,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)

RECEIPT_1 = "s0001-k01-1"
RECEIPT_2 = "s0001-k01-2"


class Crash(BaseException):
    """The process dying: nothing in the lane catches it."""


def sell_water(kit: LaneKit) -> list[dict[str, Any]]:
    kit.cmd("scan", code=WATER)
    return kit.cmd("pay", method="card")


def reasons(kit: LaneKit) -> list[str]:
    return [i["reason"] for i in kit.view()["interventions"]]


def open_of(kit: LaneKit, reason: str) -> list[dict[str, Any]]:
    return [i for i in kit.view()["interventions"] if i["reason"] == reason]


def job(kit: LaneKit, job_id: str) -> dict[str, Any]:
    found = [j for j in kit.print_jobs() if j["job_id"] == job_id]
    assert len(found) == 1, kit.print_jobs()
    return found[0]


# ------------------------------------------------------------------------------ the normal case
def test_a_receipt_job_is_queued_with_the_sale_and_printed_once(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = sell_water(kit)
    assert names(events)[-2:] == ["sale_completed", "receipt_printed"]
    assert only(events, "receipt_printed") == {
        "event": "receipt_printed",
        "receipt_no": RECEIPT_1,
        "job": RECEIPT_1,
    }
    assert kit.print_jobs() == [
        {
            "job_id": RECEIPT_1,
            "kind": "receipt",
            "seq": 1,
            "state": "done",
            "attempts": 1,
            "error": None,
            "requested_by": None,
        }
    ]
    assert kit.printed == [RECEIPT_1]
    shown = kit.view()["last_receipt"]
    assert (shown["receipt_no"], shown["barcode"], shown["printed"]) == (
        RECEIPT_1,
        f"R{RECEIPT_1}",
        True,
    )
    assert shown["print_error"] is None
    assert RECEIPT_1 in shown["text"]
    assert kit.snapshot()["last_receipt"]["printed"] is True  # committed with the job's state
    kit.restart()
    kit.restart()
    assert kit.printed == [RECEIPT_1]  # restarts print nothing again
    assert kit.restored == []


def test_the_printed_bytes_hold_the_receipt_barcode_and_the_cut(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    sell_water(kit)
    printer = kit.kiosk.printer
    (printed,) = printer.jobs
    document = kit.kiosk.store.print_job(RECEIPT_1)
    assert document is not None
    receipt = Receipt.from_dict(document.document)
    assert printed.data == render_receipt(receipt, printer.profile, None).data
    assert printed.data.startswith(b"\x1b@")  # ESC @
    assert b"\x1dkI" in printed.data  # GS k 73: CODE128 of the receipt number
    assert b"\x1dh" in printed.data and b"\x1dw" in printed.data
    assert printed.data.endswith(feed_and_cut(printer.profile))  # GS V: the cut
    assert printed.barcode == f"R{RECEIPT_1}"
    assert RECEIPT_1 in printed.text
    assert "示例超市".encode("gb18030") in printed.data  # Chinese in the printer's own mode
    assert printer.output == printed.data  # what the python-escpos Dummy received


def test_the_receipt_job_commits_in_the_sale_transaction(tmp_path: Path) -> None:
    """A crash right after the sale's COMMIT (at the printer's status query, before the job
    started) leaves the sale AND its queued receipt job."""
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)

    def die() -> dict[str, Any]:
        raise Crash

    kit.kiosk.printer.status = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        kit.cmd("pay", method="card")
    assert kit.count("sales") == 1
    assert [(j["job_id"], j["state"], j["seq"]) for j in kit.print_jobs()] == [
        (RECEIPT_1, "queued", 1)
    ]


# ------------------------------------------------------------------------------ faults
def test_paper_out_at_payment_keeps_the_sale_and_offers_the_receipt_on_screen(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.printer.run_out_of_paper()
    events = sell_water(kit)
    assert names(events)[-3:] == ["sale_completed", "receipt_not_printed", "intervention_opened"]
    failed = only(events, "receipt_not_printed")
    assert (failed["receipt_no"], failed["job"]) == (RECEIPT_1, RECEIPT_1)
    assert failed["message"] == "paper_out: the printer is out of paper"
    assert kit.count("sales") == 1  # the paid sale stands
    assert job(kit, RECEIPT_1)["state"] == "failed"
    assert job(kit, RECEIPT_1)["attempts"] == 0  # refused before a byte was sent
    assert job(kit, RECEIPT_1)["error"].startswith("paper_out:")
    (fault,) = open_of(kit, "printer_fault")
    assert fault["blocking"] is False
    assert fault["detail"] == {
        "message": "paper_out: the printer is out of paper",
        "receipt_no": RECEIPT_1,
        "job": RECEIPT_1,
    }
    view = kit.view()
    assert view["mode"] == "complete"
    shown = view["last_receipt"]
    assert (shown["printed"], shown["barcode"]) == (False, f"R{RECEIPT_1}")  # QR on screen
    assert shown["print_error"].startswith("paper_out:")
    assert RECEIPT_1 in shown["text"]
    assert kit.kiosk.light.state == "attention"
    assert kit.printed == []


def test_an_attendant_refills_and_retries_and_the_receipt_prints_once(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.printer.run_out_of_paper()
    sell_water(kit)
    assert error_of(kit.cmd("retry_print"))["code"] == "not_allowed"
    kit.login()
    # Not refilled yet: the retry fails again, still one printer_fault for the job.
    again = kit.cmd("retry_print")
    assert names(again) == ["receipt_not_printed"]
    assert len(open_of(kit, "printer_fault")) == 1
    kit.kiosk.printer.refill()
    events = kit.cmd("retry_print")
    assert names(events) == ["receipt_printed", "intervention_cleared"]
    assert only(events, "intervention_cleared")["staff"] == "E01"
    assert kit.printed == [RECEIPT_1]
    assert job(kit, RECEIPT_1)["state"] == "done"
    assert job(kit, RECEIPT_1)["attempts"] == 1
    assert kit.view()["last_receipt"]["printed"] is True
    assert reasons(kit) == []
    retried = kit.audit("print_retried")
    assert [(a["job"], a["staff"]) for a in retried] == [(RECEIPT_1, "E01"), (RECEIPT_1, "E01")]
    # Done now: a second retry is refused, and a new copy is a reprint.
    refused = error_of(kit.cmd("retry_print", job=RECEIPT_1))
    assert refused["code"] == "wrong_state"
    assert "use reprint" in refused["message"]
    assert error_of(kit.cmd("retry_print"))["code"] == "not_found"
    assert kit.printed == [RECEIPT_1]


def test_retry_print_refuses_an_unknown_job(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login()
    refused = error_of(kit.cmd("retry_print", job="nope"))
    assert (refused["code"], refused["message"]) == (
        "not_found",
        "there is no receipt print job 'nope'",
    )


def test_paper_running_out_mid_job_fails_the_job_and_the_retry_prints_it_whole(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    printer = kit.kiosk.printer
    printer.run_out_of_paper_mid_job(after_bytes=100)
    events = sell_water(kit)
    assert only(events, "receipt_not_printed")["message"].startswith("paper_out: the paper ran out")
    (torn,) = printer.torn
    assert (torn.job_id, torn.complete, len(torn.data)) == (RECEIPT_1, False, 100)
    assert job(kit, RECEIPT_1)["attempts"] == 1  # sent, and failed
    assert printer.status()["paper"] == "out"
    printer.refill()
    kit.login()
    assert "receipt_printed" in names(kit.cmd("retry_print", job=RECEIPT_1))
    assert [j.job_id for j in printer.jobs] == [RECEIPT_1]
    assert printer.jobs[0].complete is True
    assert printer.output == torn.data + printer.jobs[0].data


def test_an_offline_printer_fails_each_receipt_and_back_online_retries_nothing(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.printer.go_offline()
    sell_water(kit)
    sell_water(kit)
    faults = open_of(kit, "printer_fault")
    assert [f["detail"]["job"] for f in faults] == [RECEIPT_1, RECEIPT_2]
    assert all(f["detail"]["message"].startswith("offline:") for f in faults)
    kit.kiosk.printer.come_back()
    events = kit.device("printer", "back_online")
    assert names(events) == ["device_status"]
    assert kit.printed == []  # failed jobs wait for an attendant
    assert len(open_of(kit, "printer_fault")) == 2
    kit.login()
    assert only(kit.cmd("retry_print"), "receipt_printed")["job"] == RECEIPT_2  # the newest
    assert only(kit.cmd("retry_print"), "receipt_printed")["job"] == RECEIPT_1
    assert kit.printed == [RECEIPT_2, RECEIPT_1]


def test_a_printer_fault_blocks_nothing_and_the_next_receipt_prints(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.printer.open_cover()
    events = sell_water(kit)
    assert only(events, "receipt_not_printed")["message"].startswith("cover_open:")
    kit.kiosk.printer.close_cover()
    assert "receipt_printed" in names(sell_water(kit))
    assert kit.printed == [RECEIPT_2]
    assert [f["detail"]["job"] for f in open_of(kit, "printer_fault")] == [RECEIPT_1]


# ------------------------------------------------------------------------------ paper low
def test_paper_near_end_is_an_attendant_task_before_the_paper_runs_out(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    printer = kit.kiosk.printer
    printer.paper_near_end()
    events = sell_water(kit)
    assert names(events)[-3:] == ["sale_completed", "intervention_opened", "receipt_printed"]
    (low,) = open_of(kit, "paper_low")
    assert low["blocking"] is False
    assert kit.printed == [RECEIPT_1]  # near end still prints
    assert kit.kiosk.light.state == "attention"
    # Once: the next sales raise no second task, even after an attendant cleared it.
    sell_water(kit)
    assert len(open_of(kit, "paper_low")) == 1
    kit.login()
    kit.cmd("clear", intervention="paper_low", resolution="approve")
    kit.logout()
    sell_water(kit)
    assert open_of(kit, "paper_low") == []
    assert kit.snapshot()["paper_low_noted"] is True
    # Refilled: the next near-end raises it again.
    printer.refill()
    sell_water(kit)
    assert kit.snapshot()["paper_low_noted"] is False
    printer.paper_near_end()
    sell_water(kit)
    assert len(open_of(kit, "paper_low")) == 1


def test_a_refill_closes_the_paper_low_task_by_itself(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.printer.paper_near_end()
    sell_water(kit)
    kit.kiosk.printer.refill()
    events = kit.device("printer", "paper_ok")
    cleared = only(events, "intervention_cleared")
    assert (cleared["reason"], cleared["staff"], cleared["resolution"]) == (
        "paper_low",
        "device",
        "approve",
    )
    assert reasons(kit) == []
    audit = kit.audit("intervention_cleared")
    assert [(a["reason"], a["staff"]) for a in audit] == [("paper_low", "device")]


def test_paper_low_survives_a_restart_and_is_not_raised_twice(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.printer.paper_near_end()
    sell_water(kit)
    kit.restart()
    kit.kiosk.printer.paper_near_end()
    sell_water(kit)
    assert len(open_of(kit, "paper_low")) == 1


# ------------------------------------------------------------------------------ reprint
def test_a_reprint_is_a_new_audited_job_marked_reprint(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    sell_water(kit)
    assert error_of(kit.cmd("reprint"))["code"] == "not_allowed"
    kit.login()
    events = kit.cmd("reprint")
    first = reprint_job_id(RECEIPT_1, 1)
    assert first == f"{RECEIPT_1}/reprint-1"
    assert names(events) == ["reprint_queued", "receipt_printed"]
    assert only(events, "reprint_queued") == {
        "event": "reprint_queued",
        "receipt_no": RECEIPT_1,
        "job": first,
        "staff": "E01",
    }
    assert only(events, "receipt_printed") == {
        "event": "receipt_printed",
        "receipt_no": RECEIPT_1,
        "job": first,
    }
    original, copy = kit.kiosk.printer.jobs
    assert REPRINT_MARK in copy.text
    assert REPRINT_MARK not in original.text
    assert "重印".encode("gb18030") in copy.data
    mark, rule, rest = copy.text.split("\n", 2)
    assert (mark.strip(), rule, rest) == (REPRINT_MARK, "-" * 42, original.text)  # same receipt
    assert job(kit, first) == {
        "job_id": first,
        "kind": "reprint",
        "seq": 1,
        "state": "done",
        "attempts": 1,
        "error": None,
        "requested_by": "E01",
    }
    assert kit.audit("receipt_reprinted") == [
        {
            "job": first,
            "receipt_no": RECEIPT_1,
            "seq": 1,
            "copy": 1,
            "staff": "E01",
            "original_state": "done",
        }
    ]
    assert only(kit.cmd("reprint", receipt_no=RECEIPT_1), "receipt_printed")["job"] == (
        f"{RECEIPT_1}/reprint-2"
    )
    assert kit.printed == [RECEIPT_1, first, f"{RECEIPT_1}/reprint-2"]
    assert job(kit, RECEIPT_1)["state"] == "done"  # the original is untouched


def test_reprint_defaults_to_the_last_receipt_after_the_screen_moved_on(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login()
    refused = error_of(kit.cmd("reprint"))
    assert (refused["code"], refused["message"]) == (
        "not_found",
        "there is no receipt to reprint yet",
    )
    kit.logout()
    sell_water(kit)
    kit.cmd("scan", code=MILK)
    kit.cmd("pay", method="card")
    kit.cmd("new_sale")
    assert kit.view()["last_receipt"] is None
    kit.login()
    assert only(kit.cmd("reprint"), "reprint_queued")["receipt_no"] == RECEIPT_2
    assert only(kit.cmd("reprint", receipt_no=RECEIPT_1), "reprint_queued")["job"] == (
        f"{RECEIPT_1}/reprint-1"
    )


@pytest.mark.parametrize(
    ("receipt_no", "code", "message"),
    [
        ("s0001-k01-9", "not_found", "there is no receipt 's0001-k01-9' to reprint"),
        (f"{RECEIPT_1}/reprint-1", "not_found", "to reprint"),
        ("  ", "invalid_command", "reprint.receipt_no must not be blank"),
    ],
)
def test_reprint_refuses_what_is_not_a_receipt(
    tmp_path: Path, receipt_no: str, code: str, message: str
) -> None:
    kit = make_kiosk(tmp_path)
    sell_water(kit)
    kit.login()
    kit.cmd("reprint")
    refused = error_of(kit.cmd("reprint", receipt_no=receipt_no))
    assert refused["code"] == code
    assert message in refused["message"]
    assert kit.count("print_jobs") == 2


def test_a_failed_reprint_is_a_printer_fault_of_its_own_job(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    sell_water(kit)
    kit.kiosk.printer.go_offline()
    kit.login()
    events = kit.cmd("reprint")
    assert names(events) == ["reprint_queued", "receipt_not_printed", "intervention_opened"]
    (fault,) = open_of(kit, "printer_fault")
    assert fault["detail"]["job"] == f"{RECEIPT_1}/reprint-1"
    assert kit.view()["last_receipt"]["printed"] is True  # the original did print
    kit.kiosk.printer.come_back()
    assert "receipt_printed" in names(kit.cmd("retry_print"))
    assert kit.printed == [RECEIPT_1, f"{RECEIPT_1}/reprint-1"]


# ------------------------------------------------------------------------------ crashes
def crash_in_status(kit: LaneKit) -> None:
    """Dies at the status query before the job starts: the job is still queued."""

    def die() -> dict[str, Any]:
        raise Crash

    kit.kiosk.printer.status = die  # type: ignore[method-assign]


def crash_before_bytes(kit: LaneKit) -> None:
    """Dies after 'printing' was committed, before any byte reached the printer."""

    def die(job_id: str, receipt: Receipt) -> None:
        raise Crash

    kit.kiosk.printer.print_receipt = die  # type: ignore[method-assign]


def crash_after_bytes(kit: LaneKit) -> None:
    """Dies after the printer printed the receipt, before 'done' was committed."""
    printer = kit.kiosk.printer
    port = printer.print_receipt

    def print_then_die(job_id: str, receipt: Receipt) -> None:
        port(job_id, receipt)
        raise Crash

    printer.print_receipt = print_then_die  # type: ignore[method-assign]


def test_a_restart_with_a_queued_receipt_prints_it_once(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    crash_in_status(kit)
    with pytest.raises(Crash):
        kit.cmd("pay", method="card")
    restored = kit.restart()
    assert names(restored) == ["receipt_printed"]
    assert kit.printed == [RECEIPT_1]
    assert job(kit, RECEIPT_1)["state"] == "done"
    view = kit.view()
    assert view["mode"] == "complete"
    assert view["last_receipt"]["receipt_no"] == RECEIPT_1  # back on screen
    assert view["last_receipt"]["printed"] is True
    kit.restart()
    assert kit.printed == [RECEIPT_1]


@pytest.mark.parametrize("crash", [crash_before_bytes, crash_after_bytes])
def test_a_restart_while_printing_makes_the_job_uncertain_and_never_reprints_it(
    tmp_path: Path, crash: Any
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    crash(kit)
    with pytest.raises(Crash):
        kit.cmd("pay", method="card")
    assert job(kit, RECEIPT_1)["state"] == "printing"
    came_out = list(kit.printed)
    restored = kit.restart()
    assert names(restored) == ["intervention_opened"]
    opened = restored[0]
    assert opened["reason"] == "print_uncertain"
    assert opened["detail"]["job"] == RECEIPT_1
    assert opened["detail"]["receipt_no"] == RECEIPT_1
    assert job(kit, RECEIPT_1)["state"] == "uncertain"
    assert open_of(kit, "print_uncertain")[0]["blocking"] is False
    assert kit.printed == came_out  # not sent again
    # A second restart: no second intervention, still not reprinted.
    assert kit.restart() == []
    assert len(open_of(kit, "print_uncertain")) == 1
    assert kit.printed == came_out
    # retry_print does not apply; the attendant reprints, which closes the task.
    kit.login()
    assert error_of(kit.cmd("retry_print", job=RECEIPT_1))["code"] == "wrong_state"
    events = kit.cmd("reprint")
    assert names(events) == ["reprint_queued", "receipt_printed", "intervention_cleared"]
    assert only(events, "intervention_cleared")["reason"] == "print_uncertain"
    assert kit.printed == [*came_out, f"{RECEIPT_1}/reprint-1"]


@pytest.mark.parametrize("crash", [None, crash_in_status, crash_before_bytes, crash_after_bytes])
def test_killing_the_kiosk_at_any_step_of_a_job_never_prints_twice(
    tmp_path: Path, crash: Any
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    if crash is None:
        kit.cmd("pay", method="card")
    else:
        crash(kit)
        with pytest.raises(Crash):
            kit.cmd("pay", method="card")
    for _ in range(3):
        kit.restart()
    assert kit.printed.count(RECEIPT_1) <= 1
    state = job(kit, RECEIPT_1)["state"]
    if crash in (None, crash_in_status):
        assert (kit.printed, state) == ([RECEIPT_1], "done")
    else:
        assert state == "uncertain"
        assert len(open_of(kit, "print_uncertain")) == 1
    assert kit.count("sales") == 1
    assert kit.count("print_jobs") == 1


def test_a_sale_completed_at_restart_queues_and_prints_its_receipt_once(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    # The sale's transaction fails, and so does saving the storage fault: kiosk.db is left as
    # a crash between the payment's commit and the sale's leaves it.
    kit.kiosk.db.execute(
        "CREATE TEMP TRIGGER crash_sales BEFORE INSERT ON sales "
        "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )
    kit.kiosk.db.execute(
        "CREATE TEMP TRIGGER crash_lane BEFORE UPDATE ON lane "
        'WHEN NEW.snapshot LIKE \'%"reason":"storage"%\' '
        "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )
    assert kit.cmd("pay", method="card")[0]["code"] == "storage"
    assert kit.count("print_jobs") == 0  # rolled back with the sale
    restored = kit.restart()
    assert names(restored)[-2:] == ["sale_completed", "receipt_printed"]
    assert kit.printed == [RECEIPT_1]
    kit.restart()
    assert kit.printed == [RECEIPT_1]


# ------------------------------------------------------------------------------ store
def test_a_job_move_commits_the_lane_snapshot_and_the_audit_row_together(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    sell_water(kit)
    store: SqliteLaneStore = kit.kiosk.store
    store.queue_print("t-1", "reprint", {"receipt_no": "x"}, audit=("queued", {"n": 1}))
    store.move_print("t-1", "printing", lane_snapshot={"marker": 1}, audit=("moved", {"n": 2}))
    assert kit.snapshot() == {"marker": 1}
    assert kit.audit("queued") == [{"n": 1}]
    assert kit.audit("moved") == [{"n": 2}]
    with pytest.raises(StoreError, match="print job t-1 cannot become queued: it is printing"):
        store.move_print("t-1", "queued", lane_snapshot={"marker": 2}, audit=("moved", {"n": 3}))
    assert kit.snapshot() == {"marker": 1}  # nothing of the refused move was written
    assert kit.audit("moved") == [{"n": 2}]


def test_jobs_with_a_prefix_are_found_by_their_id_range(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "k.db")
    from kiosk.store.migrations import migrate

    migrate(db)
    jobs = SqlitePrintJobs(db)
    for job_id in ("r-1", "r-1/reprint-1", "r-1/reprint-2", "r-10", "r-1/reprint-10", "r-2"):
        jobs.queue(job_id, "test", {"text": job_id})
    found = [j.job_id for j in jobs.with_prefix("r-1/reprint-")]
    assert found == ["r-1/reprint-1", "r-1/reprint-2", "r-1/reprint-10"]
    assert jobs.with_prefix("zz") == []
    with pytest.raises(StoreError, match="prefix must not be empty"):
        jobs.with_prefix("")
    with pytest.raises(StoreError, match="id must not be empty"):
        jobs.queue(" ", "test", {})
    jobs.fail("r-2", "offline: refused before sending")  # queued -> failed
    failed = jobs.get("r-2")
    assert failed is not None
    assert (failed.state, failed.attempts) == ("failed", 0)


# ------------------------------------------------------------------------------ status rules
@pytest.mark.parametrize(
    ("status", "fault"),
    [
        ({"online": True, "paper": "ok", "cover_open": False}, None),
        ({"online": True, "paper": "near_end", "cover_open": False}, None),
        ({"online": None, "paper": "unknown", "cover_open": None}, None),
        ({"online": True, "paper": "out", "cover_open": False}, "paper_out: "),
        ({"online": True, "paper": "ok", "cover_open": True}, "cover_open: "),
        ({"online": False, "paper": "out", "cover_open": True}, "offline: "),
        (
            {"online": False, "paper": "ok", "error": "not_found: no printer at 10.0.0.9"},
            "not_found: no printer at 10.0.0.9",
        ),
        ({"online": True, "paper": "ok", "error": "autocutter error"}, "offline: the printer"),
    ],
)
def test_the_printer_status_gives_the_fault_that_fails_a_job(
    status: Mapping[str, Any], fault: str | None
) -> None:
    found = status_fault(status)
    if fault is None:
        assert found is None
    else:
        assert found is not None and found.startswith(fault)


def test_a_fault_message_without_a_known_code_counts_as_offline() -> None:
    assert fault_code("no_font: install fonts-noto-cjk") == "no_font"
    assert fault_code("usb write error") == "offline"
