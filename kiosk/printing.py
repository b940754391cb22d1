"""Print jobs and printer status as the core sees them. Pure core, no I/O.

A print job is a row in kiosk.db (``kiosk.store.print_jobs``) with a state::

    queued -> printing -> done
       |         |-----> failed -> queued (an attendant's retry_print)
       |         '-----> uncertain (the kiosk stopped while printing: never re-sent)
       '-> failed (the printer reported a fault before a byte was sent)

The job id of a sale's receipt is its receipt number; a reprint is a new job
``<receipt_no>/reprint-<n>`` of kind ``reprint``. ``status_fault`` reads the mapping a
``kiosk.ports.ReceiptPrinter.status()`` answers. Used on the lane thread (``kiosk.lane_printing``)
and by the store adapter, which builds ``PrintJob`` values from its rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

JobKind = Literal["receipt", "reprint", "test", "report"]
JobState = Literal["queued", "printing", "done", "failed", "uncertain"]

JOB_KINDS: Final[tuple[str, ...]] = JobKind.__args__  # type: ignore[attr-defined]
JOB_STATES: Final[tuple[str, ...]] = JobState.__args__  # type: ignore[attr-defined]

# Which state a job may move to from which (the store refuses anything else).
TRANSITIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "printing": ("queued",),
    "done": ("printing",),
    "failed": ("printing", "queued"),
    "queued": ("failed",),
    "uncertain": ("printing",),
}

# Printer fault codes: the text before the colon of a DeviceError from a ReceiptPrinter.
FAULT_CODES: Final[tuple[str, ...]] = (
    "offline",
    "paper_out",
    "cover_open",
    "not_found",
    "busy",
    "no_permission",
    "no_font",
)


@dataclass(frozen=True, slots=True)
class PrintJob:
    """One print job. ``document`` is the JSON form of what prints (``Receipt.to_dict()`` for
    receipts and reprints); ``seq`` the sale it belongs to; ``attempts`` how many times its
    bytes were sent; ``error`` the last fault; ``requested_by`` the staff id of a reprint."""

    job_id: str
    kind: JobKind
    seq: int | None
    state: JobState
    document: Mapping[str, Any]
    attempts: int = 0
    error: str | None = None
    requested_by: str | None = None

    @property
    def receipt_no(self) -> str | None:
        value = self.document.get("receipt_no")
        return value if isinstance(value, str) else None


def reprint_prefix(receipt_no: str) -> str:
    """What the id of every reprint of receipt ``receipt_no`` starts with."""
    return f"{receipt_no}/reprint-"


def reprint_job_id(receipt_no: str, n: int) -> str:
    """The id of the ``n``-th reprint (1 first) of receipt ``receipt_no``."""
    if n < 1:
        raise ValueError(f"reprint number must be 1 or more, got {n}")
    return f"{reprint_prefix(receipt_no)}{n}"


def fault_code(message: str) -> str:
    """``paper_out`` for ``"paper_out: ..."``; ``offline`` when the message has no known code."""
    code = message.split(":", 1)[0].strip()
    return code if code in FAULT_CODES else "offline"


def paper_of(status: Mapping[str, Any]) -> str:
    """``ok``, ``near_end``, ``out`` or ``unknown`` (a transport that cannot be read)."""
    paper = status.get("paper")
    return paper if paper in ("ok", "near_end", "out") else "unknown"


def status_fault(status: Mapping[str, Any]) -> str | None:
    """``"<code>: <message>"`` when the printer cannot print now, else None. An unreadable
    status (``online`` None, paper ``unknown``) is no fault: the job itself will tell."""
    error = status.get("error")
    error_text = str(error) if error else ""
    if status.get("online") is False:
        if error_text and error_text.split(":", 1)[0] in FAULT_CODES:
            return error_text
        suffix = f" ({error_text})" if error_text else ""
        return f"offline: the printer does not answer{suffix}"
    if status.get("cover_open") is True:
        return "cover_open: the printer cover is open"
    if paper_of(status) == "out":
        return "paper_out: the printer is out of paper"
    if error_text:
        return f"offline: the printer reports an error ({error_text})"
    return None
