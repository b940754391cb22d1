"""The events central applies, as frozen dataclasses, and why a payload was refused.

Pure data, built by ``central.validation`` (the consumer thread) from a payload that passed
every check; the apply code never sees raw JSON. ``Rejection`` carries a stable ``code`` (the
dead-letter reason code) and a ``detail`` naming what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

# Dead-letter reason codes (docs/central.md describes each).
OVERSIZED: Final = "oversized"
MALFORMED: Final = "malformed"
BAD_TOPIC: Final = "bad_topic"
UNKNOWN_SCHEMA: Final = "unknown_schema"
INVALID: Final = "invalid"
UNKNOWN_KIOSK: Final = "unknown_kiosk"
HASH_MISMATCH: Final = "hash_mismatch"
INCONSISTENT: Final = "inconsistent"
CONFLICT: Final = "conflict"
APPLY_ERROR: Final = "apply_error"

REASON_CODES: Final[tuple[str, ...]] = (
    OVERSIZED,
    MALFORMED,
    BAD_TOPIC,
    UNKNOWN_SCHEMA,
    INVALID,
    UNKNOWN_KIOSK,
    HASH_MISMATCH,
    INCONSISTENT,
    CONFLICT,
    APPLY_ERROR,
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a payload is parked instead of applied, plus whatever ids could be read from it."""

    code: str
    detail: str
    kiosk_id: str | None = None
    event_id: str | None = None
    seq: int | None = None

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The fields every kiosk event carries (the hash-chain position and where it is from)."""

    schema: str
    event_type: str
    event_id: str
    kiosk_id: str
    store_id: str
    seq: int
    boot: int
    occurred_at: str
    business_day: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Discount:
    kind: str
    amount: int


@dataclass(frozen=True, slots=True)
class SaleLine:
    line_no: int
    sku: str
    qty: Decimal
    unit: str
    amount: int  # the line's gross
    discounts: tuple[Discount, ...]
    tax_code: str
    tax: int


@dataclass(frozen=True, slots=True)
class TenderPaid:
    type: str
    amount: int
    tendered: int = 0
    change: int = 0


@dataclass(frozen=True, slots=True)
class SaleTotals:
    gross: int
    discount: int
    tax: int
    rounding: int
    due: int


@dataclass(frozen=True, slots=True)
class SaleMember:
    """A sale's ``member``: points earned and redeemed, stored value used (minor units)."""

    member_id: str
    points_earned: int = 0
    points_redeemed: int = 0
    stored_value_used: int = 0


@dataclass(frozen=True, slots=True)
class RefundMember:
    """A refund's ``member``: points and stored value given back, earned points taken back
    (``points_unrecovered`` of them the kiosk's ledger could not take)."""

    member_id: str
    points_refunded: int = 0
    stored_value_refunded: int = 0
    points_reversed: int = 0
    points_unrecovered: int = 0


@dataclass(frozen=True, slots=True)
class SaleCompleted:
    """``pos.sale.completed/1``; ``tax_mode`` is derived from the totals (see central.md)."""

    receipt_no: str
    currency: str
    lines: tuple[SaleLine, ...]
    totals: SaleTotals
    tenders: tuple[TenderPaid, ...]
    tax_mode: str  # inclusive | exclusive
    member: SaleMember | None = None


@dataclass(frozen=True, slots=True)
class ShiftTender:
    type: str
    count: int
    amount: int
    change: int


@dataclass(frozen=True, slots=True)
class ShiftSales:
    count: int
    gross: int
    discount: int
    tax: int
    rounding: int
    due: int


@dataclass(frozen=True, slots=True)
class ShiftClosed:
    """``pos.shift.closed/1`` (defined in docs/central.md): what the kiosk counted for a shift."""

    shift_id: str
    currency: str
    first_seq: int
    last_seq: int
    last_hash: str
    sales: ShiftSales
    tenders: tuple[ShiftTender, ...]


@dataclass(frozen=True, slots=True)
class SaleRefunded:
    """``pos.sale.refunded/1`` (kiosk/protocol/refund_event.py): units of a sale given back.
    Amounts carry the sign they had in the sale (gross and tax positive, discounts negative)
    and are this refund's share; ``tenders`` are what went back (``card``, ``cash``, or
    ``points`` / ``stored_value`` to the member's account)."""

    refund_no: str
    original_receipt_no: str
    original_seq: int
    currency: str
    lines: tuple[SaleLine, ...]
    totals: SaleTotals
    tenders: tuple[TenderPaid, ...]
    tax_mode: str  # inclusive | exclusive
    member: RefundMember | None = None


Body = SaleCompleted | ShiftClosed | SaleRefunded


@dataclass(frozen=True, slots=True)
class Event:
    """A payload that passed validation: its envelope and its typed body."""

    envelope: Envelope
    body: Body
