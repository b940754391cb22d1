"""Completing a paid sale: recording it and queueing its receipt, then printing. Pure core, on
the lane thread.

When the tenders cover the sale, ``complete_if_paid`` builds the ``CompletedSale`` and commits
it with its journal entry, outbox event, member ledger rows, coupon redemptions (with their
``coupon_redeemed`` audit rows), the next lane snapshot AND its receipt print job in ONE
transaction (``LaneStore.complete_sale`` with a receipt builder; idempotent on the sale id, so a
retry after a crash or a storage fault never records it, or queues its receipt, twice). Only
after that commit is the sale shown as paid, with the receipt on screen, and the queued job
printed (``kiosk.lane_printing``); a printer fault becomes a ``printer_fault`` intervention and
never undoes the sale. Called by ``kiosk.tendering`` after each payment and by
``kiosk.lane_recovery`` at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kiosk.receipt import Receipt, build_receipt
from kiosk.sale import CompletedSale, SaleRecord
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
            loyalty=lane.members.sale_activity(totals),
            redeemed_coupons=tuple(
                (code, tuple(rule_ids)) for code, rule_ids in sorted(state.redeemed_coupons.items())
            ),
        )
        local_time = local_display(now, deps.tz)
        built: list[Receipt] = []

        def receipt_document(record: SaleRecord) -> Mapping[str, Any]:
            receipt = build_receipt(sale, record, cfg.store, cfg.receipt, local_time)
            built.append(receipt)
            return receipt.to_dict()

        after = state.next_sale(state.language, "complete")
        committed = after.to_snapshot()
        record = deps.store.complete_sale(sale, committed, receipt=receipt_document)
        lane.state = after
        lane.note_saved(committed)
        receipt = built[0] if built else self._recorded_receipt(sale, record, local_time)
        lane.printing.show(receipt)
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
        lane.printing.run_pending()

    def _recorded_receipt(
        self, sale: CompletedSale, record: SaleRecord, local_time: str
    ) -> Receipt:
        """The receipt of a sale that was already recorded (a retried completion): its queued
        job's document; a sale recorded without one gets its receipt job queued now."""
        lane = self.lane
        store = lane.deps.store
        job = store.print_job(record.receipt_no)
        if job is not None:
            return Receipt.from_dict(job.document)
        receipt = build_receipt(sale, record, lane.config.store, lane.config.receipt, local_time)
        store.queue_print(record.receipt_no, "receipt", receipt.to_dict(), seq=record.seq)
        return receipt
