"""Shift figures: what the X report (mid-shift) and the Z report (closing) add up. Pure core.

Called on the lane thread (``kiosk.lane_shift``, for an X report) and by the store inside the
shift close's transaction (``kiosk.store.shifts``, for the Z report and the ``shift.closed``
event). ``shift_figures`` reads the kiosk's sealed events of the shift's seq range (sales and
refunds, as the journal holds them) plus the shift's cash movements, and never anything else,
so the same range gives the same figures on the kiosk and at central.

- **sales**: sale events in the range: count and Σ of ``gross``, ``discount``, ``tax``,
  ``rounding``, ``due`` (what ``pos.shift.closed/1`` declares and central reconciles);
- **tenders**: per tender type of the sales, the number of payments, Σ ``amount`` (what the
  tenders took, so Σ = sales due) and Σ cash ``change``;
- **refunds**: refund events: count, the same sums, and per type what went back;
- **taxes**: per tax code, net (without tax) and tax of the sold lines, and of the refunded ones;
- **adjustments**: per kind and rule (the promotion id, else the reason) the discounts given
  and the share of them refunded;
- **cash**: float + cash taken by sales (tendered - change) - cash refunded - pickups = the
  cash expected in the drawer; the counted cash and the difference (counted - expected) at
  closing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

SALE: Final = "sale.completed"
REFUND: Final = "sale.refunded"
TOTAL_FIELDS: Final = ("gross", "discount", "tax", "rounding", "due")


@dataclass(frozen=True, slots=True)
class Sums:
    """Count and totals of sale (or refund) events."""

    count: int = 0
    gross: int = 0
    discount: int = 0
    tax: int = 0
    rounding: int = 0
    due: int = 0

    def plus(self, totals: Mapping[str, Any]) -> Sums:
        return Sums(
            self.count + 1,
            *(getattr(self, f) + int(totals.get(f, 0)) for f in TOTAL_FIELDS),
        )

    def to_dict(self) -> dict[str, int]:
        return {"count": self.count, **{f: getattr(self, f) for f in TOTAL_FIELDS}}


@dataclass(frozen=True, slots=True)
class TenderSums:
    type: str
    count: int
    amount: int
    change: int = 0


@dataclass(frozen=True, slots=True)
class TaxSums:
    code: str
    net: int
    tax: int
    refund_net: int = 0
    refund_tax: int = 0


@dataclass(frozen=True, slots=True)
class AdjustmentSums:
    kind: str
    rule: str
    count: int
    amount: int  # given with the sales (negative for a discount)
    refunded: int = 0  # the share of it that refunds reversed (same sign)

    @property
    def net(self) -> int:
        return self.amount - self.refunded


@dataclass(frozen=True, slots=True)
class CashSums:
    float: int
    sales: int  # cash that stayed in the drawer: tendered - change
    refunds: int  # cash paid out by refunds
    pickups: int
    counted: int | None = None

    @property
    def expected(self) -> int:
        return self.float + self.sales - self.refunds - self.pickups

    @property
    def difference(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected


@dataclass(frozen=True, slots=True)
class ShiftFigures:
    """Everything an X or Z report prints; ``sales`` and ``tenders`` are what
    ``pos.shift.closed/1`` declares."""

    currency: str
    first_seq: int
    last_seq: int
    last_hash: str
    sales: Sums
    tenders: tuple[TenderSums, ...]
    refunds: Sums
    refund_tenders: tuple[TenderSums, ...]
    taxes: tuple[TaxSums, ...]
    adjustments: tuple[AdjustmentSums, ...]
    cash: CashSums
    first_receipt: str | None = None
    last_receipt: str | None = None
    refund_numbers: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_receipt": self.first_receipt,
            "last_receipt": self.last_receipt,
            "sales": self.sales.to_dict(),
            "tenders": [_tender_dict(t) for t in self.tenders],
            "refunds": self.refunds.to_dict(),
            "refund_tenders": [_tender_dict(t) for t in self.refund_tenders],
            "refund_numbers": list(self.refund_numbers),
            "taxes": [
                {
                    "code": t.code,
                    "net": t.net,
                    "tax": t.tax,
                    "refund_net": t.refund_net,
                    "refund_tax": t.refund_tax,
                }
                for t in self.taxes
            ],
            "adjustments": [
                {
                    "kind": a.kind,
                    "rule": a.rule,
                    "count": a.count,
                    "amount": a.amount,
                    "refunded": a.refunded,
                    "net": a.net,
                }
                for a in self.adjustments
            ],
            "cash": {
                "float": self.cash.float,
                "sales": self.cash.sales,
                "refunds": self.cash.refunds,
                "pickups": self.cash.pickups,
                "expected": self.cash.expected,
                "counted": self.cash.counted,
                "difference": self.cash.difference,
            },
        }


def _tender_dict(t: TenderSums) -> dict[str, Any]:
    return {"type": t.type, "count": t.count, "amount": t.amount, "change": t.change}


def _rule(discount: Mapping[str, Any]) -> str:
    return str(discount.get("promo_id") or discount.get("reason") or "")


class _Totals:
    """Running sums while the events are read."""

    def __init__(self) -> None:
        self.sales = Sums()
        self.refunds = Sums()
        self.tenders: dict[str, list[int]] = {}
        self.refund_tenders: dict[str, list[int]] = {}
        self.taxes: dict[str, list[int]] = {}
        self.adjustments: dict[tuple[str, str], list[int]] = {}
        self.cash_in = 0
        self.cash_out = 0
        self.receipts: list[str] = []
        self.refund_numbers: list[str] = []

    def _lines(self, event: Mapping[str, Any], refund: bool) -> None:
        totals = event.get("totals") or {}
        exclusive = int(totals.get("due", 0)) - int(totals.get("rounding", 0)) != int(
            totals.get("gross", 0)
        ) + int(totals.get("discount", 0))
        for line in event.get("lines") or ():
            discounts = line.get("discounts") or ()
            tax = int(line.get("tax", 0))
            net = int(line.get("amount", 0)) + sum(int(d.get("amount", 0)) for d in discounts)
            if not exclusive:
                net -= tax
            entry = self.taxes.setdefault(str(line.get("tax_code", "")), [0, 0, 0, 0])
            offset = 2 if refund else 0
            entry[offset] += net
            entry[offset + 1] += tax
            for d in discounts:
                key = (str(d.get("kind", "")), _rule(d))
                adj = self.adjustments.setdefault(key, [0, 0, 0])
                if refund:
                    adj[2] += int(d.get("amount", 0))
                else:
                    adj[0] += 1
                    adj[1] += int(d.get("amount", 0))

    def sale(self, event: Mapping[str, Any]) -> None:
        self.sales = self.sales.plus(event.get("totals") or {})
        self.receipts.append(str(event.get("receipt_no", "")))
        self._lines(event, refund=False)
        for t in event.get("tenders") or ():
            kind = str(t.get("type", ""))
            entry = self.tenders.setdefault(kind, [0, 0, 0])
            entry[0] += 1
            entry[1] += int(t.get("amount", 0))
            entry[2] += int(t.get("change", 0))
            if kind == "cash":
                self.cash_in += int(t.get("amount", 0))

    def refund(self, event: Mapping[str, Any]) -> None:
        self.refunds = self.refunds.plus(event.get("totals") or {})
        self.refund_numbers.append(str(event.get("refund_no", "")))
        self._lines(event, refund=True)
        for t in event.get("tenders") or ():
            kind = str(t.get("type", ""))
            entry = self.refund_tenders.setdefault(kind, [0, 0, 0])
            entry[0] += 1
            entry[1] += int(t.get("amount", 0))
            if kind == "cash":
                self.cash_out += int(t.get("amount", 0))


def shift_figures(
    events: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    currency: str,
    first_seq: int,
    last_seq: int,
    last_hash: str,
    float_amount: int,
    pickups: Sequence[int] = (),
    counted: int | None = None,
) -> ShiftFigures:
    """Add up ``events`` (``(type, event)`` of the range, in seq order; other types count for
    nothing) with the shift's float, pickups and, at closing, the counted cash."""
    if first_seq < 1 or last_seq < first_seq - 1:
        raise ValueError(f"seq range {first_seq}..{last_seq} is not a range")
    if float_amount < 0 or any(p <= 0 for p in pickups) or (counted is not None and counted < 0):
        raise ValueError("float, pickups and counted cash must not be negative")
    totals = _Totals()
    for kind, event in events:
        if kind == SALE:
            totals.sale(event)
        elif kind == REFUND:
            totals.refund(event)
    return ShiftFigures(
        currency=currency,
        first_seq=first_seq,
        last_seq=last_seq,
        last_hash=last_hash,
        sales=totals.sales,
        tenders=tuple(TenderSums(k, *v) for k, v in sorted(totals.tenders.items())),
        refunds=totals.refunds,
        refund_tenders=tuple(
            TenderSums(k, v[0], v[1]) for k, v in sorted(totals.refund_tenders.items())
        ),
        taxes=tuple(TaxSums(code, *v) for code, v in sorted(totals.taxes.items())),
        adjustments=tuple(
            AdjustmentSums(kind, rule, *v) for (kind, rule), v in sorted(totals.adjustments.items())
        ),
        cash=CashSums(float_amount, totals.cash_in, totals.cash_out, sum(pickups), counted),
        first_receipt=totals.receipts[0] if totals.receipts else None,
        last_receipt=totals.receipts[-1] if totals.receipts else None,
        refund_numbers=tuple(totals.refund_numbers),
    )


@dataclass(frozen=True, slots=True)
class ShiftRow:
    """A shift as kiosk.db holds it. ``per`` is ``kiosk`` (any attendant may close it) or
    ``attendant`` (only the one who opened it, or a supervisor)."""

    shift_id: str
    number: int
    per: str
    status: str  # open | closed
    opened_at: str
    opened_by: str
    float_amount: int
    closed_at: str | None = None
    closed_by: str | None = None
    counted: int | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    close_seq: int | None = None


@dataclass(frozen=True, slots=True)
class ClosingRange:
    """What the store hands the shift close's builder inside its transaction: the close's own
    ``seq`` and ``prev_hash``, the range it covers and its events (``(type, event)``), and the
    shift's cash pickups."""

    seq: int
    prev_hash: str
    first_seq: int
    last_seq: int
    last_hash: str
    events: tuple[tuple[str, Mapping[str, Any]], ...]
    pickups: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ShiftCloseRecord:
    """What the store answers once a shift close has committed."""

    seq: int
    hash: str
    event: Mapping[str, Any]
