"""Paying a return out: card refunds at the terminal, recording the refund, slip and drawer.
Pure core, on the lane thread (``kiosk.lane_returns`` calls it for ``return_confirm``).

The order of the writes is the guarantee (docs/returns-and-shifts.md):

1. each card part is an attempt committed ``pending`` (with the return's draft) BEFORE the
   terminal is asked to refund it to the original payment's reference; its answer is
   committed after. A timeout or a lost link leaves it ``unknown`` and the refund waits: the
   next ``return_confirm`` asks again with the SAME intent id (a terminal answers a repeat with
   its first approval, so nothing is refunded twice). A decline may be retried, or paid in
   cash (``method`` cash) when nothing is unknown;
2. when every card part is approved, ``RefundStore.record_refund`` commits the refund in ONE
   transaction: the refunded quantities checked again, the sealed ``pos.sale.refunded/1``
   event (journal + outbox), the refund rows, the member ledger rows (points and stored value
   given back, earned points taken back: no terminal is asked for them), the slip's print job
   and the draft dropped;
3. only then the slip prints (``kiosk.lane_printing``) and, when cash goes back, the drawer
   opens (``Tendering.pulse_drawer``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kiosk.errors import DeviceError, LaneError, PaymentError
from kiosk.payments import PaymentResult
from kiosk.receipt_refund import refund_slip
from kiosk.refunds import CompletedRefund, RefundAttempt, RefundRecord, RefundTender, SaleLookup
from kiosk.returns import OriginalSale, RefundPlan
from kiosk.staff import StaffMember
from kiosk.timefmt import local_display

if TYPE_CHECKING:
    from kiosk.checkout import Lane
    from kiosk.lane_returns import Returns

logger = logging.getLogger(__name__)


class Payout:
    """Pays out the refunds of one lane; holds no state of its own."""

    def __init__(self, lane: Lane, returns: Returns) -> None:
        self.lane = lane
        self.returns = returns

    def pay_out(
        self,
        draft: dict[str, Any],
        staff: StaffMember,
        sale: OriginalSale,
        found: SaleLookup,
        plan: RefundPlan,
        to_cash: bool,
    ) -> bool:
        """Refund ``plan``; True once it is recorded, False while a card part waits."""
        lane = self.lane
        card = self._card_parts(draft, sale, plan, to_cash)
        if card is None:
            return False
        tenders, moved = card
        tenders.extend(
            RefundTender(
                part.account,
                part.amount,
                lane.deps.ids.new_id(),
                part.account,
                points=part.points,
            )
            for part in plan.member
        )
        if moved:
            tenders.append(RefundTender("cash", moved, lane.deps.ids.new_id(), "card"))
        if plan.cash:
            kinds = {t.type for t in sale.tenders if t.route == "cash"}
            origin = "cash" if "cash" in kinds or not kinds else "+".join(sorted(kinds))
            tenders.append(RefundTender("cash", plan.cash, lane.deps.ids.new_id(), origin))
        self._record(draft, staff, sale, found, plan, tuple(tenders))
        return True

    def _card_parts(
        self, draft: dict[str, Any], sale: OriginalSale, plan: RefundPlan, to_cash: bool
    ) -> tuple[list[RefundTender], int] | None:
        """Refund each card part at the terminal: the tenders and the amount moved to cash,
        or None while a part is declined or unknown (the refund waits)."""
        lane = self.lane
        store = self.returns.store
        refund_id = str(draft["refund_id"])
        attempts = store.attempts(refund_id)
        unknown = [a for a in attempts if a.status in ("pending", "unknown")]
        if to_cash and unknown:
            raise LaneError(
                f"the card refund {unknown[0].intent_id} has an unknown outcome: send "
                "return_confirm without a method to ask the terminal again",
                code="blocked",
            )
        tenders: list[RefundTender] = []
        moved = 0
        waiting = False
        for part in plan.card:
            mine = [a for a in attempts if a.tender_idx == part.tender_idx]
            done = next((a for a in mine if a.status == "approved"), None)
            if done is not None:
                tenders.append(self._card_tender(done, part.last4))
                continue
            if to_cash:
                moved += part.amount
                continue
            open_ = next((a for a in mine if a.status in ("pending", "unknown")), None)
            attempt = open_ or RefundAttempt(
                lane.deps.ids.new_id(),
                refund_id,
                part.tender_idx,
                part.amount,
                sale.currency,
                part.original_ref,
            )
            if open_ is None:
                store.record_attempt(attempt, draft)
                self.returns.note_draft(draft)
            result = self._ask_terminal(attempt)
            if result.outcome == "approved":
                store.update_attempt(
                    attempt.intent_id, "approved", result.ref, result.auth, result.last4
                )
                lane.emit(
                    "refund_approved", method="card", amount=part.amount, intent=attempt.intent_id
                )
                done = RefundAttempt(
                    attempt.intent_id,
                    refund_id,
                    part.tender_idx,
                    part.amount,
                    sale.currency,
                    part.original_ref,
                    "approved",
                    result.ref,
                    result.auth,
                    result.last4,
                )
                tenders.append(self._card_tender(done, part.last4))
            elif result.outcome == "declined":
                store.update_attempt(attempt.intent_id, "declined", detail=result.message)
                lane.emit("refund_declined", method="card", message=result.message)
                waiting = True
            else:
                store.update_attempt(attempt.intent_id, "unknown", detail=result.outcome)
                lane.emit("refund_unknown", method="card", outcome=result.outcome)
                waiting = True
        return None if waiting else (tenders, moved)

    def _ask_terminal(self, attempt: RefundAttempt) -> PaymentResult:
        lane = self.lane
        lane.emit(
            "refund_processing", method="card", amount=attempt.amount, intent=attempt.intent_id
        )
        try:
            return lane.deps.terminal.refund(
                attempt.as_intent(),
                attempt.original_ref,
                attempt.amount,
                lane.config.payments.terminal_timeout_s,
            )
        except (PaymentError, DeviceError) as exc:
            logger.error(
                "card refund failed",
                extra={
                    "kiosk": lane.config.kiosk.id,
                    "intent": attempt.intent_id,
                    "error": str(exc),
                },
            )
            return PaymentResult("disconnected", message=str(exc))

    @staticmethod
    def _card_tender(attempt: RefundAttempt, last4: str | None) -> RefundTender:
        return RefundTender(
            "card",
            attempt.amount,
            attempt.intent_id,
            "card",
            tender_idx=attempt.tender_idx,
            original_ref=attempt.original_ref,
            ref=attempt.ref,
            auth=attempt.auth,
            last4=attempt.last4 or last4,
        )

    def _record(
        self,
        draft: dict[str, Any],
        staff: StaffMember,
        sale: OriginalSale,
        found: SaleLookup,
        plan: RefundPlan,
        tenders: tuple[RefundTender, ...],
    ) -> None:
        lane = self.lane
        deps = lane.deps
        cfg = lane.config
        refund = CompletedRefund(
            refund_id=str(draft["refund_id"]),
            event_id=deps.ids.new_id(),
            kiosk_id=cfg.kiosk.id,
            store_id=cfg.store.id,
            boot=deps.boot,
            occurred_at=lane.now_iso(),
            business_day=lane.today().isoformat(),
            staff=staff.staff_id,
            original=sale,
            plan=plan,
            tenders=tenders,
        )
        local_time = local_display(deps.clock.now(), deps.tz)
        rates = {**cfg.tax.codes, **found.rates}
        slips = []

        def slip(record: RefundRecord) -> dict[str, Any]:
            document = refund_slip(
                refund,
                record.refund_no,
                record.seq,
                cfg.store,
                cfg.receipt,
                local_time,
                found.language,
                rates,
            )
            slips.append(document)
            return document.to_dict()

        record = self.returns.store.record_refund(refund, slip)
        self.returns.note_draft(None)
        lane.emit(
            "refund_completed",
            refund_id=refund.refund_id,
            refund_no=record.refund_no,
            seq=record.seq,
            receipt_no=sale.receipt_no,
            due=refund.due,
            cash=refund.cash_out,
            hash=record.hash,
        )
        logger.info(
            "refund recorded",
            extra={"kiosk": cfg.kiosk.id, "refund": refund.refund_id, "seq": record.seq},
        )
        if slips:
            lane.printing.show(slips[0])
        lane.printing.run_pending()
        if refund.cash_out > 0:
            lane.tendering.pulse_drawer()
