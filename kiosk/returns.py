"""Refund maths: what a return of some units of a recorded sale gives back, and how. Pure core.

Called on the lane thread (``kiosk.lane_returns``) and by the property tests. Everything is
computed from the original sale's sealed ``pos.sale.completed/1`` event (``OriginalSale``) and
what was already refunded of it (``Refunded``), never from the catalog or today's prices.

**Lines.** Each part of a line (its gross ``amount``, each of its ``discounts``, its ``tax``) is
refunded pro rata to the quantity, cumulatively: after refunding ``q`` of ``Q`` units in total,
the customer has had back ``cumulative_share(value, Q, q)`` of each part, a largest-remainder
split (``kiosk.tax.allocate``) of the part over ``[q, Q - q]``. A refund of this time's units is
the difference between the cumulative share after and before it, so refunding every unit, in
any number of returns, gives back exactly what the line cost, and never more. Quantities are
counted in thousandths (``QTY_SCALE``); an item sold by weight is returned whole.

**Tenders** (``ROUTES``): a card payment goes back to the same card by its reference; cash and
wallet payments go back in cash from the drawer (the wallet gateway has no refund call yet);
points and stored value go back to the member's account (``MemberPart``, a ledger entry).
Member accounts are refunded pro rata, cumulatively like the lines: after lines worth ``A`` of
the sale's ``L`` have been refunded in total, each account has had back its
``cumulative_share`` of what it paid (in whole points), and the points the sale EARNED are
taken back the same way (``RefundPlan.points_reversed``). Card and cash never give back what
the member accounts will get in the end. Card tenders then are filled first, in the order they
were paid, each up to what it took less what was already refunded to it. The cash part is
cash-rounded cumulatively (``cash_due`` rules): the drawer has paid out in total the rounded
cumulative cash part, capped by what cash can still give back, and when the last unit of the
sale is refunded, exactly the rest of what was paid.
So "refund everything" returns exactly the sale's ``totals.due``, whatever the order and size
of the returns. Each refund's ``rounding`` is what it pays out minus its lines' value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from math import gcd
from typing import Any, Final, Literal

from kiosk.config import CashConfig
from kiosk.errors import InvalidCommand, LaneError
from kiosk.money import round_to_increment
from kiosk.tax import allocate

QTY_SCALE: Final[int] = 1000
Route = Literal["card", "cash", "points", "stored_value"]
MemberAccount = Literal["points", "stored_value"]
MEMBER_ACCOUNTS: Final[tuple[MemberAccount, ...]] = ("points", "stored_value")
# Where the money of each original tender type goes back to.
ROUTES: Final[Mapping[str, Route]] = {
    "card": "card",
    "wallet": "cash",
    "cash": "cash",
    "points": "points",
    "stored_value": "stored_value",
}


def _refused(message: str) -> LaneError:
    return LaneError(message, code="wrong_state")


def milli(qty: Decimal, where: str) -> int:
    """``qty`` in thousandths of its unit (``Decimal("0.735")`` is 735); finer is refused."""
    scaled = qty * QTY_SCALE
    if not qty.is_finite() or scaled != scaled.to_integral_value():
        raise InvalidCommand(f"{where}: quantity {qty} has more than 3 decimals")
    return int(scaled)


def cumulative_share(value: int, whole: int, upto: int) -> int:
    """The share of ``value`` that ``upto`` of ``whole`` units carry (exact at 0 and whole)."""
    if not 0 <= upto <= whole or whole <= 0:
        raise ValueError(f"cannot share {upto} of {whole} units")
    if upto == whole:
        return value
    if upto == 0:
        return 0
    return allocate(value, [upto, whole - upto])[0]


def share(value: int, whole: int, before: int, after: int) -> int:
    """What the units ``before..after`` (of ``whole``) carry of ``value``."""
    return cumulative_share(value, whole, after) - cumulative_share(value, whole, before)


@dataclass(frozen=True, slots=True)
class SoldLine:
    """A line of the original sale event: ``amount`` is its gross, ``discounts`` are the event's
    entries (negative ``amount``, with ``kind``, ``reason`` and ``promo_id`` or ``staff``)."""

    line_no: int
    sku: str
    name: str
    qty: Decimal
    unit: str
    unit_price: int
    amount: int
    discounts: tuple[Mapping[str, Any], ...]
    tax_code: str
    tax: int

    @property
    def units(self) -> int:
        return milli(self.qty, f"line {self.line_no}")

    def paid(self, tax_mode: str) -> int:
        """What the customer paid for the whole line (cash rounding aside)."""
        own = self.amount + sum(int(d["amount"]) for d in self.discounts)
        return own + (self.tax if tax_mode == "exclusive" else 0)

    def paid_upto(self, units: int, tax_mode: str) -> int:
        """What ``units`` thousandths of the line carry of ``paid`` (cumulative)."""
        whole = self.units
        parts = [self.amount, *(int(d["amount"]) for d in self.discounts)]
        if tax_mode == "exclusive":
            parts.append(self.tax)
        return sum(cumulative_share(p, whole, units) for p in parts)


@dataclass(frozen=True, slots=True)
class SoldTender:
    idx: int  # 1-based position in the sale's tenders
    type: str
    amount: int
    ref: str | None = None
    last4: str | None = None

    @property
    def route(self) -> Route:
        route = ROUTES.get(self.type, "cash")
        if route == "card":
            return "card" if self.ref else "cash"
        return route


@dataclass(frozen=True, slots=True)
class OriginalSale:
    """The parts of a sealed sale event a refund needs."""

    receipt_no: str
    kiosk_id: str
    store_id: str
    seq: int
    event_id: str
    business_day: str
    currency: str
    tax_mode: str
    rounding: int
    lines: tuple[SoldLine, ...]
    tenders: tuple[SoldTender, ...]
    member_id: str | None = None
    points_earned: int = 0  # the sale's ``member.points_earned``
    points_redeemed: int = 0  # the points its ``points`` tenders took

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> OriginalSale:
        """Read a sealed ``pos.sale.completed/1`` event; ValueError names what is missing."""
        try:
            totals = event["totals"]
            gross, discount, tax = int(totals["gross"]), int(totals["discount"]), int(totals["tax"])
            before = int(totals["due"]) - int(totals["rounding"])
            mode = "exclusive" if before != gross + discount and tax else "inclusive"
            lines = tuple(
                SoldLine(
                    line_no=int(x["line"]),
                    sku=str(x["sku"]),
                    name=str(x.get("name", x["sku"])),
                    qty=Decimal(str(x["qty"])),
                    unit=str(x["unit"]),
                    unit_price=int(x["unit_price"]),
                    amount=int(x["amount"]),
                    discounts=tuple(dict(d) for d in x.get("discounts", ())),
                    tax_code=str(x["tax_code"]),
                    tax=int(x["tax"]),
                )
                for x in event["lines"]
            )
            tenders = tuple(
                SoldTender(i, str(t["type"]), int(t["amount"]), t.get("ref"), t.get("last4"))
                for i, t in enumerate(event["tenders"], start=1)
            )
            member = event.get("member")
            member = member if isinstance(member, Mapping) else None
            return cls(
                receipt_no=str(event["receipt_no"]),
                kiosk_id=str(event["kiosk_id"]),
                store_id=str(event["store_id"]),
                seq=int(event["seq"]),
                event_id=str(event["event_id"]),
                business_day=str(event["business_day"]),
                currency=str(event["currency"]),
                tax_mode=mode,
                rounding=int(totals["rounding"]),
                lines=lines,
                tenders=tenders,
                member_id=str(member["id"]) if member is not None else None,
                points_earned=int(member.get("points_earned", 0)) if member else 0,
                points_redeemed=int(member.get("points_redeemed", 0)) if member else 0,
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"the sale event cannot be read for a refund: {exc!r}") from exc

    def line(self, line_no: int) -> SoldLine:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise LaneError(f"receipt {self.receipt_no} has no line {line_no}", code="not_found")

    @property
    def total_paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    @property
    def lines_paid(self) -> int:
        return sum(line.paid(self.tax_mode) for line in self.lines)

    def member_paid(self, account: MemberAccount) -> int:
        """What the member's ``account`` paid of the sale (minor units)."""
        return sum(t.amount for t in self.tenders if t.type == account)


@dataclass(frozen=True, slots=True)
class Refunded:
    """What earlier refunds gave back of one sale: units per line (thousandths), amounts per
    card tender (by ``idx``) and everything the drawer paid out."""

    units: Mapping[int, int] = field(default_factory=dict)
    card: Mapping[int, int] = field(default_factory=dict)
    cash_out: int = 0

    def left(self, line: SoldLine) -> int:
        return line.units - self.units.get(line.line_no, 0)

    def everything(self, sale: OriginalSale) -> bool:
        return all(self.left(line) == 0 for line in sale.lines)


@dataclass(frozen=True, slots=True)
class RefundLine:
    """One line of a refund: this time's share of each part of the original line."""

    line_no: int
    sku: str
    name: str
    qty: Decimal
    unit: str
    unit_price: int
    gross: int
    discounts: tuple[Mapping[str, Any], ...]
    tax_code: str
    tax: int

    @property
    def discount(self) -> int:
        return sum(int(d["amount"]) for d in self.discounts)

    def paid(self, tax_mode: str) -> int:
        return self.gross + self.discount + (self.tax if tax_mode == "exclusive" else 0)


@dataclass(frozen=True, slots=True)
class CardPart:
    """What goes back to one original card payment (by its reference)."""

    tender_idx: int
    original_ref: str
    amount: int
    last4: str | None = None


@dataclass(frozen=True, slots=True)
class MemberPart:
    """What goes back to the member's ``account``: ``amount`` in money and, for points, the
    ``points`` that paid it (a ledger entry, no terminal, no drawer)."""

    account: MemberAccount
    amount: int
    points: int = 0


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """A refund before any money moved: its lines, the card parts, the member account parts,
    the drawer's payout, and the points the sale earned that this refund takes back."""

    tax_mode: str
    lines: tuple[RefundLine, ...]
    card: tuple[CardPart, ...]
    cash: int
    lines_paid: int
    member: tuple[MemberPart, ...] = ()
    points_reversed: int = 0

    @property
    def gross(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def due(self) -> int:
        return sum(p.amount for p in self.card) + self.cash + sum(p.amount for p in self.member)

    @property
    def rounding(self) -> int:
        return self.due - self.lines_paid

    def member_back(self, account: MemberAccount) -> MemberPart | None:
        return next((p for p in self.member if p.account == account), None)


def qty_units(line: SoldLine, qty: Decimal | None, refunded: Refunded) -> int:
    """The thousandths to refund of ``line`` for a requested ``qty`` (None: all that is left)."""
    left = refunded.left(line)
    if qty is None:
        if left == 0:
            raise _refused(f"line {line.line_no} is already refunded in full")
        return left
    where = f"line {line.line_no}"
    if qty <= 0:
        raise InvalidCommand(f"{where}: the quantity to return must be more than 0, got {qty}")
    units = milli(qty, where)
    if line.unit != "kg" and qty != qty.to_integral_value():
        raise InvalidCommand(f"{where}: {line.sku} is sold each; return whole units, not {qty}")
    if units > left:
        done = Decimal(line.units - left) / QTY_SCALE
        raise _refused(
            f"{where}: {qty} is more than is left to refund ({Decimal(left) / QTY_SCALE} of "
            f"{line.qty}; {done} already refunded)"
        )
    if line.unit == "kg" and units != line.units:
        raise InvalidCommand(f"{where} is sold by weight: return the whole line ({line.qty} kg)")
    return units


def _refund_line(line: SoldLine, before: int, after: int) -> RefundLine:
    whole = line.units
    discounts = []
    for d in line.discounts:
        amount = share(int(d["amount"]), whole, before, after)
        if amount:
            discounts.append({**d, "amount": amount})
    return RefundLine(
        line_no=line.line_no,
        sku=line.sku,
        name=line.name,
        qty=Decimal(after - before) / QTY_SCALE,
        unit=line.unit,
        unit_price=line.unit_price,
        gross=share(line.amount, whole, before, after),
        discounts=tuple(discounts),
        tax_code=line.tax_code,
        tax=share(line.tax, whole, before, after),
    )


def plan_refund(
    sale: OriginalSale,
    refunded: Refunded,
    picks: Mapping[int, int],
    cash: CashConfig,
) -> RefundPlan:
    """The refund of ``picks`` (line number -> thousandths, as ``qty_units`` checked them)."""
    if not picks or not any(picks.values()):
        raise InvalidCommand("pick at least one line to return (return_line)")
    mode = sale.tax_mode
    lines: list[RefundLine] = []
    before_total = sum(
        line.paid_upto(line.units - refunded.left(line), mode) for line in sale.lines
    )
    for line_no in sorted(picks):
        line = sale.line(line_no)
        units = picks[line_no]
        if units <= 0:
            continue
        if units > refunded.left(line):
            raise _refused(f"line {line_no}: more than is left to refund")
        before = line.units - refunded.left(line)
        lines.append(_refund_line(line, before, before + units))
    this = sum(line.paid(mode) for line in lines)
    after_total = before_total + this
    total_paid = sale.total_paid
    final = all(refunded.left(line) == picks.get(line.line_no, 0) for line in sale.lines)
    member, member_before, member_after = _member_parts(sale, before_total, after_total, final)
    member_this = member_after - member_before
    member_total = sum(sale.member_paid(account) for account in MEMBER_ACCOUNTS)
    points_reversed = _member_share(
        sale.points_earned, sale.lines_paid, after_total, final
    ) - _member_share(sale.points_earned, sale.lines_paid, before_total, False)
    cards = [t for t in sale.tenders if t.route == "card"]
    card_total = sum(t.amount for t in cards)
    card_before = sum(refunded.card.values())
    want = min(
        this - member_this,
        max(0, min(after_total - member_after, card_total) - card_before),
        max(0, total_paid - refunded.cash_out - card_before - member_total),
    )
    parts: list[CardPart] = []
    for tender in cards:
        room = tender.amount - refunded.card.get(tender.idx, 0)
        take = min(room, want)
        if take > 0:
            assert tender.ref is not None
            parts.append(CardPart(tender.idx, tender.ref, take, tender.last4))
            want -= take
    card_after = card_before + sum(p.amount for p in parts)
    # Card and cash never give back what the member accounts will: they get all of it in the end.
    cap = total_paid - card_after - member_total
    if final:
        target = cap
    else:
        rounded = round_to_increment(
            max(0, after_total - card_after - member_after),
            cash.rounding_increment,
            cash.rounding_mode,
        )
        target = min(cap, rounded)
    payout = max(0, target - refunded.cash_out)
    return RefundPlan(
        mode, tuple(lines), tuple(parts), payout, this, tuple(member), points_reversed
    )


def _member_share(value: int, whole: int, upto: int, final: bool) -> int:
    """The cumulative share of ``value`` once lines worth ``upto`` of ``whole`` are refunded
    (all of it when the sale is refunded in full)."""
    if final:
        return max(value, 0)
    if value <= 0 or whole <= 0:
        return 0
    return cumulative_share(value, whole, max(0, min(upto, whole)))


def _member_parts(
    sale: OriginalSale, before: int, after: int, final: bool
) -> tuple[list[MemberPart], int, int]:
    """The member account parts of a refund taking the refunded lines' value from ``before``
    to ``after``, and the money all member accounts had back before and after it. Shared in
    whole points: a points tender of ``amount`` that took ``points`` is ``gcd`` units."""
    parts: list[MemberPart] = []
    total_before = total_after = 0
    whole = sale.lines_paid
    for account in MEMBER_ACCOUNTS:
        amount = sale.member_paid(account)
        if amount <= 0:
            continue
        points = sale.points_redeemed if account == "points" else amount
        units = gcd(amount, points) if points > 0 else amount
        money, spent = amount // units, (points // units if account == "points" else 0)
        had = _member_share(units, whole, before, False)
        has = _member_share(units, whole, after, final)
        total_before += had * money
        total_after += has * money
        if has > had:
            parts.append(MemberPart(account, (has - had) * money, (has - had) * spent))
    return parts, total_before, total_after


def add_refund(
    refunded: Refunded, plan: RefundPlan, card_paid: Mapping[int, int], cash: int
) -> Refunded:
    """``refunded`` plus a recorded refund (for tests and for checking a sequence)."""
    units = dict(refunded.units)
    for line in plan.lines:
        units[line.line_no] = units.get(line.line_no, 0) + milli(line.qty, "refund")
    card = dict(refunded.card)
    for idx, amount in card_paid.items():
        card[idx] = card.get(idx, 0) + amount
    return Refunded(units, card, refunded.cash_out + cash)
