"""A completed sale as the core hands it to the store, the receipt and the sale event. Pure core."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.basket import Adjustment, Line
from kiosk.loyalty import MemberActivity
from kiosk.payments import Tender
from kiosk.pricing import Totals


@dataclass(frozen=True, slots=True)
class AttendantAction:
    """Something an attendant did during the sale: ``kind`` is an intervention reason or an
    action (``age_check``, ``void``, ``price_override``...), ``at`` an RFC 3339 UTC time."""

    kind: str
    staff: str
    at: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CompletedSale:
    """Everything needed to record, publish and print a paid sale.

    ``seq``, ``prev_hash`` and ``hash`` are not here: the store assigns them inside the sale's
    transaction (``kiosk.ports.LaneStore.complete_sale``).
    """

    sale_id: str
    event_id: str
    kiosk_id: str
    store_id: str
    boot: int
    occurred_at: str  # RFC 3339 UTC, e.g. 2026-11-27T09:15:02Z
    business_day: str  # ISO date of the store's business day
    currency: str
    language: str
    lines: tuple[Line, ...]  # active lines only, in scan order
    totals: Totals
    cash_rounding: int  # minor units added (+) or removed (-) by cash rounding
    tenders: tuple[Tender, ...]
    member_id: str | None = None
    attendant_actions: tuple[AttendantAction, ...] = ()
    basket_adjustments: tuple[Adjustment, ...] = ()
    # The member's points earned and redeemed and stored value used (None without a member).
    loyalty: MemberActivity | None = None
    # The coupons the sale redeemed: (code, promotion ids), recorded in the sale's transaction.
    redeemed_coupons: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    @property
    def change(self) -> int:
        return sum(t.change for t in self.tenders)


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """What the store answers once the sale's transaction has committed."""

    seq: int
    receipt_no: str
    prev_hash: str
    hash: str
