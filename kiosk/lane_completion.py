"""Completing a paid sale: recording it, then the receipt. Pure core, on the lane thread.

When the tenders cover the sale, ``complete_if_paid`` builds the ``CompletedSale`` and commits
it with its journal entry, outbox event and the next lane snapshot in ONE transaction
(``LaneStore.complete_sale``, idempotent on the sale id, so a retry after a crash or a storage
fault never records it twice). Only after that commit is the sale shown as paid and the receipt
printed; a printer fault becomes a ``printer_fault`` intervention and never undoes the sale.
Called by ``kiosk.tendering`` after each payment and by ``kiosk.lane_recovery`` at start-up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.errors import DeviceError
from kiosk.interventions import open_of
from kiosk.lane_state import LaneState
from kiosk.receipt import build_receipt, render_text
from kiosk.sale import CompletedSale
from kiosk.timefmt import local_display

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)


class Completion:
    """Records the sale of one lane; holds no state of its own."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    def complete_if_paid(self) -> None:
        lane = self.lane
        totals = lane.tendering.totals()
        if lane.tendering.remaining(totals) > 0:
            return
        deps = lane.deps
        cfg = lane.config
        state = lane.state
        assert state.sale_id is not None
        now = deps.clock.now()
        sale = CompletedSale(
            sale_id=state.sale_id,
            event_id=deps.ids.new_id(),
            kiosk_id=cfg.kiosk.id,
            store_id=cfg.store.id,
            boot=deps.boot,
            occurred_at=lane.now_iso(),
            business_day=lane.today().isoformat(),
            currency=cfg.store.currency,
            language=state.language,
            lines=tuple(state.basket.active_lines()),
            totals=totals,
            cash_rounding=state.cash_rounding,
            tenders=tuple(state.tenders),
            member_id=state.member.member_id if state.member else None,
            attendant_actions=tuple(state.actions),
            basket_adjustments=tuple(state.basket.adjustments),
        )
        after = LaneState(
            mode="complete", language=state.language, interventions=open_of(state.interventions)
        )
        committed = after.to_snapshot()
        record = deps.store.complete_sale(sale, committed)
        lane.state = after
        lane.note_saved(committed)
        receipt = build_receipt(sale, record, cfg.store, cfg.receipt, local_display(now, deps.tz))
        text = render_text(receipt, cfg.receipt.width)
        after.last_receipt = {
            "receipt_no": record.receipt_no,
            "seq": record.seq,
            "barcode": receipt.barcode,
            "text": text,
        }
        lane.touch()
        logger.info(
            "sale completed",
            extra={
                "kiosk": cfg.kiosk.id,
                "sale": sale.sale_id,
                "seq": record.seq,
                "event": sale.event_id,
            },
        )
        lane.emit(
            "sale_completed",
            sale_id=sale.sale_id,
            seq=record.seq,
            receipt_no=record.receipt_no,
            due=totals.due + sale.cash_rounding,
            paid=sale.paid,
            change=sale.change,
            hash=record.hash,
        )
        try:
            deps.printer.print_text(record.receipt_no, text, receipt.barcode)
            lane.emit("receipt_printed", receipt_no=record.receipt_no)
        except DeviceError as exc:
            lane.emit("receipt_not_printed", receipt_no=record.receipt_no, message=str(exc))
            if not open_of(lane.state.interventions, "printer_fault"):
                lane.open_intervention(
                    "printer_fault", message=str(exc), receipt_no=record.receipt_no
                )
