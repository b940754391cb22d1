"""Taking payment and completing the sale. Pure core, on the lane thread.

The order of writes is the guarantee (architecture.md §4):

1. a ``PaymentIntent`` is recorded (committed) before the terminal or wallet is asked;
2. its outcome, together with the lane snapshot holding the new tender, is committed in one
   transaction before anything else happens;
3. when nothing remains to pay, the sale, its journal entry and outbox event are committed in
   one transaction (``LaneStore.complete_sale``, see ``kiosk.lane_completion``); only then is
   "paid" shown and the receipt printed. A printer or drawer fault never undoes a paid sale.

An intent whose outcome is unknown (terminal timeout, disconnect, a crash while waiting) becomes
a ``payment_unknown`` intervention that an attendant resolves from the terminal's own journal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.basket import Line
from kiosk.errors import DeviceError, InvalidCommand, LaneError, PaymentError
from kiosk.interventions import Intervention, blocking, open_of
from kiosk.lane_protocol import Command
from kiosk.lane_state import LaneState
from kiosk.payments import Method, PaymentIntent, PaymentResult, Tender, mask_code
from kiosk.pricing import Totals, cash_due, line_gross, price_basket
from kiosk.staff import StaffMember

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)


class Tendering:
    """Payment handling for one lane; holds no state of its own (all of it is ``lane.state``)."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    # ------------------------------------------------------------------ figures
    @property
    def state(self) -> LaneState:
        return self.lane.state

    def line_gross(self, line: Line) -> int:
        cfg = self.lane.config
        return line_gross(line, cfg.store.currency, cfg.tax.rounding_mode)

    def totals(self) -> Totals:
        return price_basket(
            self.state.basket, self.lane.config.tax, self.lane.config.store.currency
        )

    def remaining(self, totals: Totals | None = None) -> int:
        totals = totals or self.totals()
        return totals.due + self.state.cash_rounding - self.state.paid

    # ------------------------------------------------------------------ starting payment
    def _check_can_pay(self, method: str) -> None:
        lane = self.lane
        if method not in lane.config.payments.methods:
            raise InvalidCommand(
                f"payment method {method!r} is not enabled here "
                f"({', '.join(lane.config.payments.methods)})"
            )
        if self.state.mode not in ("scanning", "paying"):
            raise LaneError("there is no sale to pay", code="wrong_state")
        if self.state.basket.is_empty():
            raise LaneError("the basket is empty", code="wrong_state")
        waiting = [i for i in blocking(self.state.interventions) if i.reason != "cash_payment"]
        if waiting:
            raise LaneError(
                "an attendant must clear: " + ", ".join(i.reason for i in waiting), code="blocked"
            )
        # Refuse before any money moves if the sale could not be recorded afterwards.
        lane.deps.store.check_writable()

    def cmd_pay(self, command: Command) -> None:
        method = command.text("method")
        if "code" in command.args and method != "wallet":
            raise InvalidCommand("pay.code is only for method 'wallet'")
        if "amount" in command.args and method == "cash":
            raise InvalidCommand(
                "pay.amount is not used for cash: the attendant enters what was tendered"
            )
        self._check_can_pay(method)
        remaining = self.remaining()
        if self.state.mode == "paying" and self.state.tenders and remaining <= 0:
            # Paid in full but not recorded yet (kiosk.db failed at the sale's commit): retry.
            self.complete_if_paid()
            return
        amount = int(command.args.get("amount", remaining))
        if not 0 < amount <= remaining:
            raise InvalidCommand(
                f"pay.amount {amount} must be from 1 to the {remaining} still to pay"
            )
        if self.state.mode != "paying":
            self.state.mode = "paying"
            self.lane.touch()
            self.lane.emit("payment_started", due=remaining)
        if method == "cash":
            if not open_of(self.state.interventions, "cash_payment"):
                self.lane.open_intervention("cash_payment", amount=remaining)
            return
        if method == "wallet":
            if "code" in command.args:
                self._charge("wallet", amount, command.text("code"))
            else:
                self.state.awaiting_wallet = True
                self.state.awaiting_wallet_amount = amount
                self.lane.touch()
                self.lane.emit("wallet_code_needed", amount=amount)
            return
        self._charge("card", amount, None)

    def wallet_code_scanned(self, code: str) -> None:
        if self.state.mode not in ("scanning", "paying") or self.state.basket.is_empty():
            self.lane.emit(
                "scan_rejected",
                reason="nothing_to_pay",
                message="Scan your items first, then your payment code.",
            )
            return
        self._check_can_pay("wallet")
        remaining = self.remaining()
        if self.state.mode != "paying":
            self.state.mode = "paying"
            self.lane.emit("payment_started", due=remaining)
        asked = self.state.awaiting_wallet_amount if self.state.awaiting_wallet else 0
        self._charge("wallet", asked if 0 < asked <= remaining else remaining, code)

    def cmd_cancel_payment(self, _command: Command) -> None:
        if self.state.mode != "paying":
            raise LaneError("no payment is in progress", code="wrong_state")
        if self.state.tenders:
            raise LaneError("part of the sale is already paid; pay the rest", code="wrong_state")
        if self.unknown_payments_of_this_sale():
            raise LaneError(
                "a payment of this sale has an unknown outcome: an attendant must resolve it",
                code="blocked",
            )
        for item in open_of(self.state.interventions, "cash_payment"):
            self.lane.close_intervention(item, "customer", "reject")
        self.state.mode = "scanning"
        self.state.awaiting_wallet = False
        self.state.awaiting_wallet_amount = 0
        self.lane.touch()
        self.lane.emit("payment_cancelled")

    def unknown_payments_of_this_sale(self) -> list[Intervention]:
        return [
            i
            for i in open_of(self.state.interventions, "payment_unknown")
            if i.detail.get("sale_id") == self.state.sale_id
        ]

    def _commit(self, write: Callable[[dict[str, Any]], object]) -> None:
        """Run a store write that also commits the lane snapshot, and note it as saved."""
        snapshot = self.state.to_snapshot()
        write(snapshot)
        self.lane.note_saved(snapshot)

    # ------------------------------------------------------------------ card and wallet
    def _charge(self, method: Method, amount: int, code: str | None) -> None:
        lane = self.lane
        deps = lane.deps
        assert self.state.sale_id is not None
        intent = PaymentIntent(
            deps.ids.new_id(),
            self.state.sale_id,
            method,
            amount,
            lane.config.store.currency,
            detail=mask_code(code) if code else "",
        )
        self.state.awaiting_wallet = False
        self.state.awaiting_wallet_amount = 0
        self._commit(lambda snapshot: deps.store.record_intent(intent, snapshot))
        lane.emit("payment_processing", method=method, amount=amount, intent=intent.intent_id)
        timeout = lane.config.payments.terminal_timeout_s
        try:
            if method == "card":
                result = deps.terminal.charge(intent, timeout)
            else:
                assert code is not None
                result = deps.wallet.charge(intent, code, timeout)
        except (PaymentError, DeviceError) as exc:
            logger.error(
                "payment adapter failed",
                extra={
                    "kiosk": lane.config.kiosk.id,
                    "sale": self.state.sale_id,
                    "intent": intent.intent_id,
                    "error": str(exc),
                },
            )
            result = PaymentResult(outcome="disconnected", message=str(exc))
        self._apply_result(intent, result)

    def _apply_result(self, intent: PaymentIntent, result: PaymentResult) -> None:
        lane = self.lane
        store = lane.deps.store
        if result.outcome == "approved":
            taken = result.amount if 0 < result.amount <= intent.amount else intent.amount
            self.state.tenders.append(
                Tender(
                    intent.method,
                    taken,
                    intent.intent_id,
                    tendered=taken,
                    ref=result.ref,
                    auth=result.auth,
                    last4=result.last4,
                )
            )
            self._commit(
                lambda snapshot: store.update_intent(
                    intent.intent_id,
                    "approved",
                    result.ref,
                    result.auth,
                    result.last4,
                    lane_snapshot=snapshot,
                )
            )
            lane.emit(
                "payment_approved", method=intent.method, amount=taken, remaining=self.remaining()
            )
            self.complete_if_paid()
            return
        if result.outcome == "declined":
            self._commit(
                lambda snapshot: store.update_intent(
                    intent.intent_id, "declined", detail=result.message, lane_snapshot=snapshot
                )
            )
            lane.emit("payment_declined", method=intent.method, message=result.message)
            return
        self._commit(
            lambda snapshot: store.update_intent(
                intent.intent_id, "unknown", detail=result.outcome, lane_snapshot=snapshot
            )
        )
        lane.emit("payment_unknown", method=intent.method, outcome=result.outcome)
        lane.open_intervention(
            "payment_unknown",
            intent=intent.intent_id,
            method=intent.method,
            amount=intent.amount,
            sale_id=intent.sale_id,
        )

    def resolve_unknown_payment(
        self, item: Intervention, command: Command, approve: bool, staff: StaffMember
    ) -> None:
        """An attendant read the terminal's own journal: the payment happened (``approve``,
        with its ``ref``) and counts for its sale, or it did not (``reject``)."""
        lane = self.lane
        store = lane.deps.store
        intent_id = str(item.detail.get("intent"))
        this_sale = item.detail.get("sale_id") == self.state.sale_id and self.state.mode in (
            "scanning",
            "paying",
        )
        if approve:
            ref = command.args.get("ref")
            if not ref:
                raise InvalidCommand("approving an unknown payment needs the terminal's 'ref'")
            auth = command.args.get("auth")
            if this_sale:
                amount = int(item.detail.get("amount", 0))
                self.state.mode = "paying"
                self.state.tenders.append(
                    Tender(
                        item.detail.get("method", "card"),
                        amount,
                        intent_id,
                        tendered=amount,
                        ref=str(ref),
                        auth=auth,
                    )
                )
            lane.record_action("payment_confirmed", staff, f"{intent_id} ref {ref}")
        else:
            lane.record_action("payment_rejected", staff, intent_id)
        # Closed in the snapshot committed with the intent's outcome: after a crash the
        # intervention can never be resolved (and the payment counted) a second time.
        lane.close_intervention(item, staff.staff_id, "approve" if approve else "reject")
        if approve:
            self._commit(
                lambda snapshot: store.update_intent(
                    intent_id, "approved", str(ref), auth, lane_snapshot=snapshot
                )
            )
            if this_sale:
                self.complete_if_paid()
        else:
            self._commit(
                lambda snapshot: store.update_intent(
                    intent_id, "declined", detail="rejected by attendant", lane_snapshot=snapshot
                )
            )

    # ------------------------------------------------------------------ cash
    def cmd_cash(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        self._check_can_pay("cash")
        tendered = command.integer("tendered")
        if not 0 < tendered <= lane.config.cash.max_tendered:
            raise InvalidCommand(
                f"cash.tendered {tendered} must be from 1 to {lane.config.cash.max_tendered}"
            )
        remaining = self.remaining()
        payable, rounding = cash_due(remaining, lane.config.cash)
        if tendered >= payable:
            amount, change = payable, tendered - payable
        elif tendered >= remaining:
            # Between the exact amount and the cash-rounded one: take the exact amount, no
            # rounding line, and give the difference back, so nothing is ever overpaid.
            amount, change, rounding = remaining, tendered - remaining, 0
        else:
            amount, change, rounding = tendered, 0, 0
        assert self.state.sale_id is not None
        if self.state.mode != "paying":
            self.state.mode = "paying"
            lane.emit("payment_started", due=remaining)
        intent = PaymentIntent(
            lane.deps.ids.new_id(),
            self.state.sale_id,
            "cash",
            amount,
            lane.config.store.currency,
            status="approved",
            detail=f"tendered {tendered} change {change} by {staff.staff_id}",
        )
        self.state.cash_rounding += rounding
        self.state.tenders.append(
            Tender("cash", amount, intent.intent_id, tendered=tendered, change=change)
        )
        lane.record_action("cash_payment", staff, f"tendered {tendered} change {change}")
        for item in open_of(self.state.interventions, "cash_payment"):  # closed in the same commit
            lane.close_intervention(item, staff.staff_id, "approve")
        self._commit(lambda snapshot: lane.deps.store.record_intent(intent, snapshot))
        lane.emit(
            "cash_taken",
            tendered=tendered,
            amount=amount,
            change=change,
            rounding=rounding,
            remaining=self.remaining(),
        )
        # The sale is recorded (and its receipt printed) before the drawer opens: the pulse
        # and the drawer-switch check can hold the lane for a second, and a paid sale must
        # never wait on a relay.
        self.complete_if_paid()
        self.pulse_drawer()

    def cancel_cash(self, item: Intervention, staff: StaffMember) -> None:
        self.lane.close_intervention(item, staff.staff_id, "reject")
        if not self.state.tenders:
            self.state.mode = "scanning"
            self.lane.touch()
            self.lane.emit("payment_cancelled")

    def pulse_drawer(self) -> None:
        """Pulse the drawer open; a relay fault, or a drawer switch still reporting closed
        after the pulse (a jammed drawer), is a ``drawer_fault`` intervention."""
        drawer = self.lane.deps.drawer
        try:
            drawer.open()
            if drawer.is_open() is False:
                raise DeviceError("the drawer did not open (its switch still reports closed)")
        except DeviceError as exc:
            self.lane.emit("device_fault", device="drawer", message=str(exc))
            if not open_of(self.state.interventions, "drawer_fault"):
                self.lane.open_intervention("drawer_fault", message=str(exc))
            return
        self.lane.emit("drawer_opened")

    def complete_if_paid(self) -> None:
        """Record the sale when nothing remains to pay (``kiosk.lane_completion``)."""
        self.lane.completion.complete_if_paid()
