"""A refund as it is recorded: the money that went back, the card refunds asked of the terminal,
and what the store answers. Pure core, data only.

Built on the lane thread (``kiosk.lane_returns``) from a ``kiosk.returns.RefundPlan`` once the
money has moved, handed to the store (``LaneStore.refunds.record_refund``) and to the
``pos.sale.refunded/1`` event (``kiosk.protocol.refund_event``). A refund of a sale paid with
points or stored value gives them back to the member's account (``RefundTender`` of that type,
a ledger entry written in the refund's transaction) and takes back the points the refunded part
earned (``CompletedRefund.loyalty``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kiosk.loyalty import RefundActivity
from kiosk.payments import IntentStatus, PaymentIntent
from kiosk.returns import MEMBER_ACCOUNTS, OriginalSale, RefundPlan, Route


@dataclass(frozen=True, slots=True)
class RefundTender:
    """Money that went back: ``card`` to ``original_ref`` (answered with ``ref``), ``cash``
    from the drawer, or ``points`` / ``stored_value`` to the member's account (``points``:
    how many points). ``original_type`` is the tender type of the money it returns."""

    type: Route
    amount: int
    intent_id: str
    original_type: str
    tender_idx: int | None = None
    original_ref: str | None = None
    ref: str | None = None
    auth: str | None = None
    last4: str | None = None
    points: int = 0

    def event_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "amount": self.amount}
        for key in ("original_ref", "ref", "auth", "last4"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class CompletedRefund:
    """A refund whose money has moved, as the store records it and the event carries it."""

    refund_id: str
    event_id: str
    kiosk_id: str
    store_id: str
    boot: int
    occurred_at: str
    business_day: str
    staff: str
    original: OriginalSale
    plan: RefundPlan
    tenders: tuple[RefundTender, ...]

    @property
    def due(self) -> int:
        return sum(t.amount for t in self.tenders)

    @property
    def rounding(self) -> int:
        return self.due - self.plan.lines_paid

    @property
    def cash_out(self) -> int:
        return sum(t.amount for t in self.tenders if t.type == "cash")

    def loyalty(self) -> RefundActivity | None:
        """What the refund does to the member's accounts, as planned (None without a member):
        the store caps the earned points taken back at the balance inside its transaction."""
        member_id = self.original.member_id
        if not member_id:
            return None
        back = {a: sum(t.amount for t in self.tenders if t.type == a) for a in MEMBER_ACCOUNTS}
        return RefundActivity(
            member_id=member_id,
            points_refunded=sum(t.points for t in self.tenders if t.type == "points"),
            points_refunded_value=back["points"],
            stored_value_refunded=back["stored_value"],
            points_reversed=self.plan.points_reversed,
        )


def check_tenders(plan: RefundPlan, tenders: Sequence[RefundTender]) -> None:
    """ValueError unless ``tenders`` pay out at least nothing and no more than the sale left."""
    if any(t.amount < 0 for t in tenders):
        raise ValueError("a refund tender is negative")
    if sum(t.amount for t in tenders) != plan.due:
        raise ValueError(
            f"refund tenders add up to {sum(t.amount for t in tenders)}, the plan to {plan.due}"
        )
    for account in MEMBER_ACCOUNTS:
        part = plan.member_back(account)
        given = [t for t in tenders if t.type == account]
        amount, points = sum(t.amount for t in given), sum(t.points for t in given)
        want = (part.amount, part.points) if part else (0, 0)
        if (amount, points) != want:
            raise ValueError(
                f"refund tenders give back {amount} ({points} points) of {account}, "
                f"the plan {want[0]} ({want[1]} points)"
            )


@dataclass(frozen=True, slots=True)
class RefundAttempt:
    """A card refund asked of the terminal, recorded (``pending``) before it is asked, like a
    payment intent; ``sale_id`` of its ``PaymentIntent`` is the refund's id."""

    intent_id: str
    refund_id: str
    tender_idx: int
    amount: int
    currency: str
    original_ref: str
    status: IntentStatus = "pending"
    ref: str | None = None
    auth: str | None = None
    last4: str | None = None
    detail: str = ""

    def as_intent(self) -> PaymentIntent:
        return PaymentIntent(
            self.intent_id, self.refund_id, "card", self.amount, self.currency, self.status
        )


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """What the store answers once a refund's transaction has committed."""

    seq: int
    refund_no: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class SaleLookup:
    """A recorded sale as a return reads it: the sealed event, the customer's language and
    the rate of each tax code it used (for the refund slip's tax table)."""

    event: Mapping[str, Any]
    language: str
    rates: Mapping[str, Decimal]
