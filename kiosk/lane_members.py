"""The lane's members: identifying the customer, and paying with points or stored value. Pure
core, on the lane thread.

``kiosk.checkout.Lane`` dispatches the commands ``member`` (a member code; a scanned member card
comes here through ``kiosk.lane_items``), ``member_phone`` (a phone number typed on the keypad)
and ``redeem`` (points or stored value as a tender) to ``MemberDesk``; ``kiosk.lane_completion``
asks it for the sale's ``MemberActivity`` and ``kiosk.lane_view`` for the view's ``loyalty``.

A typed phone number goes straight to the ``Members`` port, which looks it up by its keyed hash:
it is never kept in the lane state, an event, a log line or an error message; only the masked
number (``138****1234``) is.

Points and stored value are tenders recorded like cash: an ``approved`` payment intent and the
lane snapshot holding the tender, in one transaction, no terminal. The member ledger itself is
written with the sale (``LaneStore.complete_sale``). Before each redemption the member's
balances and what was spent today are read again from the ledger (``MemberLedger``) and the
caps of ``kiosk.loyalty.allowance`` apply; the lane cannot take more than they allow, so a
balance never goes below zero.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kiosk import loyalty
from kiosk.errors import InvalidCommand, LaneError
from kiosk.interventions import blocking
from kiosk.lane_protocol import Command, wrong_state
from kiosk.loyalty import Account, LoyaltyError, MemberActivity
from kiosk.members import Member, check_phone
from kiosk.payments import PaymentIntent, Tender
from kiosk.ports import MemberLedger
from kiosk.pricing import Totals

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)


class MemberDesk:
    """Members and their accounts for one lane; holds no state of its own (``lane.state``)."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    # ------------------------------------------------------------------ identifying
    def cmd_member(self, command: Command) -> None:
        self.identify_by_code(command.text("code"))

    def identify_by_code(self, code: str) -> None:
        """A member code, scanned (a member card) or sent with ``member``."""
        member = self.lane.deps.members.by_code(code)
        if member is None:
            self.lane.emit(
                "scan_rejected",
                reason="unknown_member",
                message="That member code is not known here.",
            )
            return
        self._identify(member, "code")

    def cmd_member_phone(self, command: Command) -> None:
        """A phone number typed on the keypad; looked up by its keyed hash, never kept."""
        phone = command.text("phone")
        try:
            check_phone(phone)
        except ValueError as exc:
            raise InvalidCommand(f"member_phone.phone: {exc}") from None
        member = self.lane.deps.members.by_phone(phone)
        if member is None:
            self.lane.emit(
                "scan_rejected",
                reason="unknown_phone",
                message="No member has that phone number here.",
            )
            return
        self._identify(member, "phone")

    def _identify(self, member: Member, how: str) -> None:
        lane = self.lane
        lane.require_selling()
        lane.state.member = self._with_balances(member)
        lane.touch()
        logger.info(
            "member identified",
            extra={
                "kiosk": lane.config.kiosk.id,
                "sale": lane.state.sale_id,
                "member": member.member_id,
                "by": how,
            },
        )
        lane.emit(
            "member_identified",
            member=member.member_id,
            level=member.level,
            phone=member.masked_phone,
        )

    def _ledger(self) -> MemberLedger | None:
        """The member ledger, or None when this kiosk keeps no member accounts."""
        if not self.lane.config.loyalty.enabled:
            return None
        return self.lane.deps.ledger

    def _with_balances(self, member: Member) -> Member:
        """``member`` with its balances and today's spending read from the ledger now."""
        ledger = self._ledger()
        if ledger is None:
            return member
        day = self.lane.today().isoformat()
        balances = ledger.balances(member.member_id)
        spent = ledger.spent_on(member.member_id, day)
        return replace(
            member,
            points=balances.points,
            stored_value=balances.stored_value,
            points_spent_today=spent.points,
            stored_value_spent_today=spent.stored_value,
            balances_day=day,
        )

    # ------------------------------------------------------------------ what may be spent
    def _spent_today(self, member: Member, account: Account) -> int:
        if member.balances_day != self.lane.today().isoformat():
            return 0  # read on an earlier business day: nothing of today is in the ledger yet
        if account == "points":
            return member.points_spent_today
        return member.stored_value_spent_today

    def _allowance(self, member: Member, account: Account) -> int:
        cfg = self.lane.config.loyalty
        balance = member.points if account == "points" else member.stored_value
        used = loyalty.in_sale(self.lane.state.tenders, account)
        return loyalty.allowance(cfg, account, balance, self._spent_today(member, account), used)

    def _reason(self, member: Member, account: Account) -> str:
        cfg = self.lane.config.loyalty
        balance = member.points if account == "points" else member.stored_value
        used = loyalty.in_sale(self.lane.state.tenders, account)
        spent = self._spent_today(member, account)
        return loyalty.limit_reason(cfg, account, balance, spent, used)

    def payable(self, member: Member, account: Account, remaining: int) -> int:
        """The most of ``remaining`` (minor units) ``account`` can pay now."""
        allowed = self._allowance(member, account)
        if account == "stored_value":
            return max(0, min(remaining, allowed))
        cfg = self.lane.config.loyalty
        amount = min(remaining, loyalty.points_value(allowed, cfg))
        return max(0, amount - amount % loyalty.redeem_step(cfg))

    # ------------------------------------------------------------------ redeeming
    def _check_can_pay(self) -> None:
        lane = self.lane
        state = lane.state
        if state.mode not in ("scanning", "paying"):
            raise wrong_state("there is no sale to pay")
        if state.basket.is_empty():
            raise wrong_state("the basket is empty")
        waiting = [i for i in blocking(state.interventions) if i.reason != "cash_payment"]
        if waiting:
            raise LaneError(
                "an attendant must clear: " + ", ".join(i.reason for i in waiting), code="blocked"
            )
        lane.deps.store.check_writable()

    def cmd_redeem(self, command: Command) -> None:
        """Pay (part of) the sale with the member's points or stored value."""
        account = command.text("type")
        if account not in loyalty.ACCOUNTS:
            raise InvalidCommand(f"redeem.type {account!r} must be points or stored_value")
        lane = self.lane
        state = lane.state
        if state.member is None:
            raise wrong_state("no member is identified: scan the member card or type the phone")
        if self._ledger() is None:
            raise wrong_state("this kiosk keeps no member points or stored value")
        self._check_can_pay()
        tendering = lane.tendering
        remaining = tendering.remaining()
        if state.mode == "paying" and state.tenders and remaining <= 0:
            tendering.complete_if_paid()  # paid in full, not yet recorded: record it now
            return
        member = state.member = self._with_balances(state.member)
        payable = self.payable(member, account, remaining)
        if "amount" in command.args:
            amount = command.integer("amount")
            if not 0 < amount <= remaining:
                raise InvalidCommand(
                    f"redeem.amount {amount} must be from 1 to the {remaining} still to pay"
                )
        else:
            amount = payable
        if amount <= 0:
            step = loyalty.redeem_step(lane.config.loyalty)
            if account == "points" and self._allowance(member, account) and remaining < step:
                raise LaneError(
                    f"the {remaining} still to pay is less than one point is worth ({step})",
                    code="limit",
                )
            raise LaneError(
                f"no {account} can be used now: {self._reason(member, account)}", code="limit"
            )
        points = self._points_for(amount) if account == "points" else 0
        if amount > payable:
            raise LaneError(
                f"{account} can pay at most {payable} of this sale now: "
                f"{self._reason(member, account)}",
                code="limit",
            )
        self._take(member, account, amount, points)

    def _points_for(self, amount: int) -> int:
        try:
            return loyalty.points_for(amount, self.lane.config.loyalty)
        except LoyaltyError as exc:
            raise InvalidCommand(f"redeem.amount: {exc}") from None

    def _take(self, member: Member, account: Account, amount: int, points: int) -> None:
        lane = self.lane
        state = lane.state
        assert state.sale_id is not None
        remaining_before = lane.tendering.remaining()
        if state.mode != "paying":
            state.mode = "paying"
            lane.emit("payment_started", due=remaining_before)
        state.awaiting_wallet = False
        state.awaiting_wallet_amount = 0
        what = f"{points} points" if account == "points" else "stored value"
        intent = PaymentIntent(
            lane.deps.ids.new_id(),
            state.sale_id,
            account,
            amount,
            lane.config.store.currency,
            status="approved",
            detail=f"member {member.member_id}: {what}",
        )
        state.tenders.append(Tender(account, amount, intent.intent_id, points=points))
        snapshot = state.to_snapshot()
        lane.deps.store.record_intent(intent, snapshot)
        lane.note_saved(snapshot)
        balance = member.points if account == "points" else member.stored_value
        lane.emit(
            "payment_approved",
            method=account,
            amount=amount,
            remaining=lane.tendering.remaining(),
        )
        lane.emit(
            "member_redeemed",
            type=account,
            amount=amount,
            points=points,
            balance=balance - loyalty.in_sale(state.tenders, account),
        )
        lane.tendering.complete_if_paid()

    # ------------------------------------------------------------------ the sale and the view
    def sale_activity(self, totals: Totals) -> MemberActivity | None:
        """What the sale being completed does to the member's accounts (None without a
        member). Earning uses the tenders as taken; the balances after the sale are read from
        the ledger now (they only go on the receipt)."""
        state = self.lane.state
        member = state.member
        if member is None:
            return None
        cfg = self.lane.config.loyalty
        redeemed = loyalty.in_sale(state.tenders, "points")
        used = loyalty.in_sale(state.tenders, "stored_value")
        ledger = self._ledger()
        earned = 0
        points_after: int | None = None
        stored_after: int | None = None
        if ledger is not None:
            earned = loyalty.points_earned(totals, state.tenders, cfg, member.level)
            balances = ledger.balances(member.member_id)
            points_after = balances.points - redeemed + earned
            stored_after = balances.stored_value - used
        return MemberActivity(
            member_id=member.member_id,
            level=member.level,
            masked_phone=member.masked_phone,
            points_earned=earned,
            points_redeemed=redeemed,
            stored_value_used=used,
            points_balance=points_after,
            stored_value_balance=stored_after,
        )

    def view(self, totals: Totals) -> dict[str, Any] | None:
        """The view's ``loyalty``: the member's balances less this sale's member tenders, what
        the basket earns, and what points and stored value can pay now (None without a member
        or without member accounts)."""
        lane = self.lane
        state = lane.state
        member = state.member
        if member is None or self._ledger() is None:
            return None
        remaining = lane.tendering.remaining(totals) if state.mode in ("scanning", "paying") else 0
        return {
            "points": member.points - loyalty.in_sale(state.tenders, "points"),
            "stored_value": member.stored_value - loyalty.in_sale(state.tenders, "stored_value"),
            "points_to_earn": loyalty.points_earned(
                totals, state.tenders, lane.config.loyalty, member.level
            ),
            "points_payable": self.payable(member, "points", remaining),
            "stored_value_payable": self.payable(member, "stored_value", remaining),
        }
