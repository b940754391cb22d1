"""Printing receipts as jobs in kiosk.db: run, fail, retry, reprint, recover. Pure core.

Runs on the lane thread. A sale's receipt job is queued inside the sale's own transaction
(``LaneStore.complete_sale`` with a receipt builder, see ``kiosk.lane_completion``); after that
COMMIT ``run_pending`` prints every queued job, one at a time:

1. the printer's status is asked: paper near its end opens a ``paper_low`` task (once, until
   the paper is seen refilled), paper ok closes it; a fault (offline, paper out, cover open)
   fails the job without sending a byte;
2. the job becomes ``printing`` (committed together with the lane snapshot), then
   ``ReceiptPrinter.print_receipt``;
3. ``done``, or ``failed`` with the printer's message: a ``receipt_not_printed`` event, a
   non-blocking ``printer_fault`` intervention for that job, and the view keeps the receipt on
   screen (``last_receipt`` with its text and the barcode / QR payload). A paid sale is never
   undone by a printer fault.

A failed job is sent again only by an attendant (``retry_print``); a ``reprint`` is a NEW job
``<receipt_no>/reprint-<n>`` of kind ``reprint`` whose document is marked as a reprint, queued
with its audit row in one transaction. At start-up (``recover``) a job left ``printing`` by a
crash may or may not have come out: it becomes ``uncertain`` with a ``print_uncertain``
intervention and is never sent again by itself; queued jobs are printed. So nothing prints
twice by accident.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from kiosk.errors import DeviceError, InvalidCommand
from kiosk.interventions import DEVICE, Intervention, open_of
from kiosk.lane_protocol import Command, not_found, wrong_state
from kiosk.printing import (
    JobState,
    PrintJob,
    fault_code,
    paper_of,
    reprint_job_id,
    reprint_prefix,
    status_fault,
)
from kiosk.receipt import Receipt, render_text
from kiosk.staff import StaffMember

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)

# The job kinds the lane prints (refund slips are receipts; X/Z shift reports are "report"
# jobs, kiosk.lane_shift); test pages belong to other programs.
LANE_KINDS: Final[tuple[str, ...]] = ("receipt", "reprint", "report")

PAPER_LOW_MESSAGE: Final = "the receipt paper is near its end: load a new roll"
UNCERTAIN_MESSAGE: Final = (
    "the kiosk stopped while this receipt was printing: check whether it came out and "
    "reprint it only if it did not"
)


class Printing:
    """The receipt printer's jobs for one lane; holds no state of its own."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    # ------------------------------------------------------------------ the on-screen receipt
    def show(self, receipt: Receipt, printed: bool = False, error: str | None = None) -> None:
        """Put ``receipt`` in the view's ``last_receipt`` (the on-screen receipt)."""
        lane = self.lane
        lane.state.last_receipt = {
            "receipt_no": receipt.receipt_no,
            "seq": receipt.seq,
            "barcode": receipt.barcode,
            "currency": receipt.currency,
            "due": receipt.totals.due,
            "paid": sum(t.amount for t in receipt.tenders),
            "change": receipt.change,
            "text": render_text(receipt, lane.config.receipt.width),
            "printed": printed,
            "print_error": error,
        }
        lane.touch()

    def _mark_shown(self, receipt_no: str, printed: bool, error: str | None) -> None:
        shown = self.lane.state.last_receipt
        if shown is not None and shown.get("receipt_no") == receipt_no:
            self.lane.state.last_receipt = {**shown, "printed": printed, "print_error": error}
            self.lane.touch()

    # ------------------------------------------------------------------ running jobs
    def run_pending(self) -> None:
        """Print every queued receipt and reprint job, oldest first."""
        for job in self.lane.deps.store.print_jobs("queued"):
            if job.kind in LANE_KINDS:
                self.run(job)

    def run(self, job: PrintJob) -> bool:
        """Print one queued job; True when it printed. Faults are events and interventions."""
        lane = self.lane
        receipt_no = job.receipt_no or job.job_id
        try:
            receipt = Receipt.from_dict(job.document)
        except (KeyError, TypeError, ValueError) as exc:
            logger.error(
                "print job document cannot be read",
                extra={"kiosk": lane.config.kiosk.id, "job": job.job_id, "error": str(exc)},
            )
            self._failed(job, receipt_no, f"document: the receipt cannot be read ({exc!r})")
            return False
        if (
            job.kind == "receipt"
            and lane.state.mode == "complete"
            and lane.state.last_receipt is None
        ):
            self.show(receipt)  # a receipt queued before a restart: on screen again
        fault = self.check_printer()
        if fault is not None:
            self._failed(job, receipt_no, fault)
            return False
        self._move(job.job_id, "printing")
        try:
            lane.deps.printer.print_receipt(job.job_id, receipt)
        except DeviceError as exc:
            self._failed(job, receipt_no, str(exc))
            return False
        except ValueError as exc:  # the adapter refused the job itself (id, barcode)
            logger.error(
                "printer refused the job",
                extra={"kiosk": lane.config.kiosk.id, "job": job.job_id, "error": str(exc)},
            )
            self._failed(job, receipt_no, f"refused: {exc}")
            return False
        self._mark_shown(receipt_no, True, None)
        self.device_recovered(ask=False)
        self._move(job.job_id, "done")
        lane.emit("receipt_printed", receipt_no=receipt_no, job=job.job_id)
        return True

    def _failed(self, job: PrintJob, receipt_no: str, message: str) -> None:
        lane = self.lane
        logger.warning(
            "receipt not printed",
            extra={"kiosk": lane.config.kiosk.id, "job": job.job_id, "error": message},
        )
        lane.emit("receipt_not_printed", receipt_no=receipt_no, job=job.job_id, message=message)
        if job.kind == "receipt":  # a failed reprint says nothing about the original
            self._mark_shown(receipt_no, False, message)
        if not self._open_for_job("printer_fault", job.job_id):
            lane.open_intervention(
                "printer_fault", message=message, receipt_no=receipt_no, job=job.job_id
            )
        self._move(job.job_id, "failed", message)

    def _move(
        self,
        job_id: str,
        state: JobState,
        error: str | None = None,
        audit: tuple[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Commit the job's new state together with the lane as it is now."""
        lane = self.lane
        snapshot = lane.state.to_snapshot()
        lane.deps.store.move_print(job_id, state, error, lane_snapshot=snapshot, audit=audit)
        lane.note_saved(snapshot)

    def _open_for_job(self, reason: str, job_id: str | None) -> list[Intervention]:
        return [
            i
            for i in open_of(self.lane.state.interventions, reason)
            if i.detail.get("job") == job_id
        ]

    # ------------------------------------------------------------------ printer status
    def check_printer(self) -> str | None:
        """Ask the printer before a job: note its paper, answer its fault (None: it can print)."""
        try:
            status = dict(self.lane.deps.printer.status())
        except DeviceError as exc:  # the port says status() never raises; be safe anyway
            message = str(exc)
            return (
                message
                if message.split(":", 1)[0] == fault_code(message)
                else f"offline: {message}"
            )
        self.note_paper(paper_of(status))
        return status_fault(status)

    def note_paper(self, paper: str) -> None:
        if paper == "near_end":
            self.paper_low()
        elif paper == "ok":
            self.paper_refilled()

    def paper_low(self) -> None:
        """Paper near its end: one ``paper_low`` task, until the paper is seen refilled."""
        state = self.lane.state
        already = state.paper_low_noted or bool(open_of(state.interventions, "paper_low"))
        if not state.paper_low_noted:
            state.paper_low_noted = True
            self.lane.touch()
        if not already:
            self.lane.open_intervention("paper_low", message=PAPER_LOW_MESSAGE)

    def paper_refilled(self) -> None:
        state = self.lane.state
        if state.paper_low_noted:
            state.paper_low_noted = False
            self.lane.touch()
        for item in open_of(state.interventions, "paper_low"):
            self.lane.close_intervention(item, DEVICE, "approve")

    def device_fault(self, message: str) -> None:
        """The printer reported a fault while no job ran: one ``printer_fault`` without a job
        (closed by the printer itself once it can print again)."""
        if not self._open_for_job("printer_fault", None):
            self.lane.open_intervention("printer_fault", message=message, receipt_no=None, job=None)

    def device_recovered(self, ask: bool = True) -> None:
        """The printer may print again: close its job-less ``printer_fault`` if its status (when
        ``ask``) shows no fault. Faults of receipts that did not print stay for an attendant."""
        if not self._open_for_job("printer_fault", None):
            return
        if ask:
            try:
                status = dict(self.lane.deps.printer.status())
            except DeviceError:
                return
            self.note_paper(paper_of(status))
            if status_fault(status) is not None:
                return
        for item in self._open_for_job("printer_fault", None):
            self.lane.close_intervention(item, DEVICE, "approve")

    # ------------------------------------------------------------------ start-up
    def recover(self) -> None:
        """After a start: jobs left ``printing`` become ``uncertain`` (each with its
        ``print_uncertain`` intervention, committed together); queued jobs are printed."""
        lane = self.lane
        for job in lane.deps.store.print_jobs("printing"):
            if job.kind not in LANE_KINDS:
                continue
            receipt_no = job.receipt_no or job.job_id
            logger.warning(
                "print job interrupted by a restart",
                extra={"kiosk": lane.config.kiosk.id, "job": job.job_id},
            )
            if not self._open_for_job("print_uncertain", job.job_id):
                lane.open_intervention(
                    "print_uncertain",
                    message=UNCERTAIN_MESSAGE,
                    receipt_no=receipt_no,
                    job=job.job_id,
                )
            self._move(job.job_id, "uncertain", "the kiosk stopped while printing")
        self.run_pending()

    # ------------------------------------------------------------------ attendant commands
    def cmd_retry_print(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        store = lane.deps.store
        job_id = command.text("job") if "job" in command.args else self._last_failed_job()
        job = store.print_job(job_id)
        if job is None or job.kind not in LANE_KINDS:
            raise not_found(f"there is no receipt print job {job_id!r}")
        if job.state != "failed":
            hint = "; use reprint for a new copy" if job.state in ("done", "uncertain") else ""
            raise wrong_state(
                f"print job {job_id} is {job.state}: only a failed job can be retried{hint}"
            )
        audit = {
            "job": job_id,
            "receipt_no": job.receipt_no,
            "staff": staff.staff_id,
            "error": job.error,
        }
        self._move(job_id, "queued", audit=("print_retried", audit))
        queued = store.print_job(job_id)
        assert queued is not None
        if self.run(queued):
            self._close_job_tasks(job_id, staff)

    def _last_failed_job(self) -> str:
        for item in reversed(open_of(self.lane.state.interventions, "printer_fault")):
            job = item.detail.get("job")
            if isinstance(job, str):
                return job
        raise not_found(
            "no receipt is waiting for a retry (no open printer_fault with a job): give 'job'"
        )

    def cmd_reprint(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        store = lane.deps.store
        receipt_no = command.text("receipt_no").strip()
        if "receipt_no" in command.args and not receipt_no:
            raise InvalidCommand("reprint.receipt_no must not be blank")
        if not receipt_no:
            receipt_no = self._last_receipt_no()
        original = store.print_job(receipt_no)
        if original is None or original.kind != "receipt":
            raise not_found(f"there is no receipt {receipt_no!r} to reprint")
        number = len(store.print_jobs_with_prefix(reprint_prefix(receipt_no))) + 1
        job_id = reprint_job_id(receipt_no, number)
        document = {**original.document, "reprint": True}
        audit = {
            "job": job_id,
            "receipt_no": receipt_no,
            "seq": original.seq,
            "copy": number,
            "staff": staff.staff_id,
            "original_state": original.state,
        }
        store.queue_print(
            job_id,
            "reprint",
            document,
            seq=original.seq,
            requested_by=staff.staff_id,
            audit=("receipt_reprinted", audit),
        )
        lane.emit("reprint_queued", receipt_no=receipt_no, job=job_id, staff=staff.staff_id)
        queued = store.print_job(job_id)
        assert queued is not None
        if self.run(queued):
            # the customer has the receipt now: the original's open tasks are done
            self._close_job_tasks(receipt_no, staff)
            self._close_job_tasks(job_id, staff)

    def _last_receipt_no(self) -> str:
        shown = self.lane.state.last_receipt
        if shown is not None and isinstance(shown.get("receipt_no"), str):
            return str(shown["receipt_no"])
        last = self.lane.deps.store.last_receipt_job()
        if last is None:
            raise not_found("there is no receipt to reprint yet")
        return last.job_id

    def _close_job_tasks(self, job_id: str, staff: StaffMember) -> None:
        for reason in ("printer_fault", "print_uncertain"):
            for item in self._open_for_job(reason, job_id):
                self.lane.close_intervention(item, staff.staff_id, "approve")
