"""Shifts at the lane: open with a float, cash pickups, the X report and the closing Z report.
Pure core, on the lane thread.

Commands (docs/returns-and-shifts.md): ``shift_open``, ``cash_pickup``, ``x_report``,
``shift_close``; each needs an attendant. A shift is opened ``per`` ``kiosk`` (any attendant
may take pickups and close it) or ``attendant`` (only the one who opened it, or a
supervisor). One shift is open at a time; its range is the journal from the seq after the
previous close to the seq before its own close, so every sale and refund falls in exactly one
shift, even one made while no shift was open.

- ``x_report`` adds up the range so far (``kiosk.shift``) and prints it (a ``report`` job);
  nothing is reset or published.
- ``shift_close`` with the counted cash commits, in ONE transaction (``ShiftStore.close``), the
  sealed ``pos.shift.closed/1`` event (exactly central's schema: sales and tenders of the
  range, first and last seq, last hash), the closed shift and the Z report's print job; then
  the report prints. A difference between the counted and the expected cash is on the report,
  in the ``shift_closed`` event and in the audit table (``cash_difference``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kiosk.errors import InvalidCommand, NotAllowed
from kiosk.lane_protocol import Command, wrong_state
from kiosk.ports import ShiftStore
from kiosk.protocol.shift_event import shift_closed_event
from kiosk.receipt import Receipt
from kiosk.receipt_refund import shift_report
from kiosk.shift import ClosingRange, ShiftFigures, ShiftRow, shift_figures
from kiosk.staff import StaffMember
from kiosk.timefmt import local_display

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)

PER: tuple[str, ...] = ("kiosk", "attendant")


class Shifts:
    """The shift commands of one lane; holds no state of its own (the shift is in kiosk.db)."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    @property
    def store(self) -> ShiftStore:
        return self.lane.deps.store.shifts

    # ------------------------------------------------------------------ helpers
    def _amount(self, command: Command, key: str, minimum: int) -> int:
        value = int(command.args.get(key, 0))
        most = self.lane.config.cash.max_tendered
        if not minimum <= value <= most:
            raise InvalidCommand(f"{command.name}.{key} {value} must be from {minimum} to {most}")
        return value

    def _open_shift(self) -> ShiftRow:
        shift = self.store.current()
        if shift is None:
            raise wrong_state("no shift is open: open one with shift_open")
        return shift

    @staticmethod
    def _may_handle(shift: ShiftRow, staff: StaffMember, what: str) -> None:
        mine = staff.staff_id == shift.opened_by or staff.can("supervisor")
        if shift.per == "attendant" and not mine:
            raise NotAllowed(
                f"shift {shift.shift_id} is {shift.opened_by}'s: only they or a supervisor "
                f"may {what}"
            )

    def _local(self, iso: str | None = None) -> str:
        deps = self.lane.deps
        if iso is None:
            return local_display(deps.clock.now(), deps.tz)
        return local_display(datetime.fromisoformat(iso.replace("Z", "+00:00")), deps.tz)

    def _figures(self, closing: ClosingRange, shift: ShiftRow, counted: int | None) -> ShiftFigures:
        return shift_figures(
            closing.events,
            currency=self.lane.config.store.currency,
            first_seq=closing.first_seq,
            last_seq=closing.last_seq,
            last_hash=closing.last_hash,
            float_amount=shift.float_amount,
            pickups=closing.pickups,
            counted=counted,
        )

    def _report(
        self,
        figures: ShiftFigures,
        kind: str,
        report_id: str,
        shift: ShiftRow,
        seq: int,
        staff: StaffMember,
        closed: bool,
    ) -> Receipt:
        lane = self.lane
        cfg = lane.config
        rates: dict[str, Decimal] = dict(cfg.tax.codes)
        now = self._local()
        return shift_report(
            figures,
            kind=kind,
            report_id=report_id,
            shift_id=shift.shift_id,
            seq=seq,
            opened=f"{self._local(shift.opened_at)} {shift.opened_by}",
            closed=f"{now} {staff.staff_id}" if closed else None,
            staff=staff.staff_id,
            store=cfg.store,
            receipt_cfg=cfg.receipt,
            local_time=now,
            business_day=lane.today().isoformat(),
            kiosk_id=cfg.kiosk.id,
            language=cfg.receipt.language or cfg.kiosk.default_language,
            rates=rates,
        )

    # ------------------------------------------------------------------ commands
    def cmd_shift_open(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        per = command.text("per", "kiosk")
        if per not in PER:
            raise InvalidCommand(f"shift_open.per must be one of {', '.join(PER)}, not {per!r}")
        float_amount = self._amount(command, "float", 0)
        shift = self.store.open(per, staff.staff_id, float_amount, lane.now_iso())
        lane.emit(
            "shift_opened", shift=shift.shift_id, staff=staff.staff_id, float=float_amount, per=per
        )
        lane.audit_later(
            "shift_opened",
            {"shift": shift.shift_id, "staff": staff.staff_id, "float": float_amount, "per": per},
        )
        if float_amount:
            lane.tendering.pulse_drawer()

    def cmd_cash_pickup(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        shift = self._open_shift()
        self._may_handle(shift, staff, "take cash out of the drawer")
        amount = self._amount(command, "amount", 1)
        reason = command.text("reason", "pickup").strip() or "pickup"
        self.store.add_pickup(shift.shift_id, amount, staff.staff_id, reason, lane.now_iso())
        lane.emit(
            "cash_picked_up",
            shift=shift.shift_id,
            amount=amount,
            staff=staff.staff_id,
            reason=reason,
        )
        lane.tendering.pulse_drawer()

    def cmd_x_report(self, _command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        shift = self._open_shift()
        closing = self.store.open_range()
        figures = self._figures(closing, shift, None)
        store = lane.deps.store
        number = len(store.print_jobs_with_prefix(f"{shift.shift_id}/X-")) + 1
        job_id = f"{shift.shift_id}/X-{number}"
        report = self._report(figures, "x", job_id, shift, closing.last_seq, staff, False)
        store.queue_print(
            job_id,
            "report",
            report.to_dict(),
            requested_by=staff.staff_id,
            audit=("x_report", {"shift": shift.shift_id, "job": job_id, "staff": staff.staff_id}),
        )
        lane.emit("x_report", shift=shift.shift_id, job=job_id, figures=figures.to_dict())
        lane.printing.run_pending()

    def cmd_shift_close(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        shift = self._open_shift()
        self._may_handle(shift, staff, "close it")
        counted = self._amount(command, "counted", 0)
        state = lane.state
        if state.mode == "paying" or (state.mode == "scanning" and not state.basket.is_empty()):
            raise wrong_state("a sale is in progress: finish or cancel it before closing the shift")
        if lane.returns.draft() is not None:
            raise wrong_state("a return is open: confirm or cancel it before closing the shift")
        lane.deps.store.check_writable()
        cfg = lane.config
        deps = lane.deps
        built: list[ShiftFigures] = []

        def build(closing: ClosingRange) -> tuple[dict[str, Any], dict[str, Any]]:
            figures = self._figures(closing, shift, counted)
            built.append(figures)
            event = shift_closed_event(
                event_id=deps.ids.new_id(),
                kiosk_id=cfg.kiosk.id,
                store_id=cfg.store.id,
                seq=closing.seq,
                boot=deps.boot,
                occurred_at=lane.now_iso(),
                business_day=lane.today().isoformat(),
                prev_hash=closing.prev_hash,
                shift_id=shift.shift_id,
                figures=figures,
            )
            report = self._report(
                figures, "z", f"{shift.shift_id}/Z", shift, closing.seq, staff, True
            )
            return event, report.to_dict()

        record = self.store.close(shift.shift_id, staff.staff_id, counted, lane.now_iso(), build)
        figures = built[-1]
        difference = figures.cash.difference
        lane.emit(
            "shift_closed",
            shift=shift.shift_id,
            seq=record.seq,
            hash=record.hash,
            job=f"{shift.shift_id}/Z",
            expected=figures.cash.expected,
            counted=counted,
            difference=difference,
            figures=figures.to_dict(),
        )
        if difference:
            lane.audit_later(
                "cash_difference",
                {
                    "shift": shift.shift_id,
                    "expected": figures.cash.expected,
                    "counted": counted,
                    "difference": difference,
                    "staff": staff.staff_id,
                },
            )
        logger.info(
            "shift closed",
            extra={"kiosk": cfg.kiosk.id, "shift": shift.shift_id, "seq": record.seq},
        )
        lane.printing.run_pending()
