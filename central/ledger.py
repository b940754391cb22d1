"""Ledger lines of one sale: the finance consumer's bookkeeping maths. Pure, any thread.

A sale becomes balanced lines (Σ debit = Σ credit) plus memo lines:

==========  ============  ======  ===============================================================
account     code          side    amount
==========  ============  ======  ===============================================================
tender      tender type   debit   what each tender type took (``count``: how many payments)
revenue     tax code      credit  net revenue: line amount + discounts, less tax when inclusive
tax         tax code      credit  the tax of the lines of that code
rounding    ""            credit  cash rounding (negative when the customer paid less)
gross       tax code      memo    the lines' gross before discounts
discount    kind          memo    discounts and adjustments by kind (negative)
tendered    tender type   memo    cash handed over
change      tender type   memo    change given back
==========  ============  ======  ===============================================================

So Σ tender = revenue + tax + rounding = ``totals.due``; the tests check it for every sale.

A refund (``refund_ledger``) is the same lines negated, with the money that went back on the
``refund`` account (per tender type, debit, negative) instead of ``tender``: revenue, tax,
rounding, gross and discounts are reversed where they were booked, and ``tender``/``change``
(what shift reconciliation compares) stay the sales' own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from central.events import SaleCompleted, SaleRefunded

DEBIT: Final = "debit"
CREDIT: Final = "credit"
MEMO: Final = "memo"


@dataclass(frozen=True, slots=True)
class LedgerLine:
    account: str
    code: str
    side: str
    amount: int
    count: int = 1


def sale_ledger(sale: SaleCompleted) -> list[LedgerLine]:
    """The ledger lines of ``sale`` (zero amounts left out, except a sale's only tender)."""
    gross: dict[str, int] = defaultdict(int)
    net: dict[str, int] = defaultdict(int)
    tax: dict[str, int] = defaultdict(int)
    discount: dict[str, int] = defaultdict(int)
    for line in sale.lines:
        line_discount = sum(d.amount for d in line.discounts)
        gross[line.tax_code] += line.amount
        tax[line.tax_code] += line.tax
        net[line.tax_code] += line.amount + line_discount
        if sale.tax_mode == "inclusive":
            net[line.tax_code] -= line.tax
        for d in line.discounts:
            discount[d.kind] += d.amount
    tender: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # amount count given change
    for t in sale.tenders:
        entry = tender[t.type]
        entry[0] += t.amount
        entry[1] += 1
        entry[2] += t.tendered
        entry[3] += t.change
    out: list[LedgerLine] = []
    for kind, (amount, count, given, change) in sorted(tender.items()):
        out.append(LedgerLine("tender", kind, DEBIT, amount, count))
        if given:
            out.append(LedgerLine("tendered", kind, MEMO, given, count))
        if change:
            out.append(LedgerLine("change", kind, MEMO, change, count))
    for code in sorted(gross):
        out.append(LedgerLine("revenue", code, CREDIT, net[code]))
        out.append(LedgerLine("tax", code, CREDIT, tax[code]))
        out.append(LedgerLine("gross", code, MEMO, gross[code]))
    if sale.totals.rounding:
        out.append(LedgerLine("rounding", "", CREDIT, sale.totals.rounding))
    out.extend(
        LedgerLine("discount", kind, MEMO, amount) for kind, amount in sorted(discount.items())
    )
    return [line for line in out if line.amount or line.account in ("tender", "revenue")]


def refund_ledger(refund: SaleRefunded) -> list[LedgerLine]:
    """The ledger lines of ``refund``: a sale's lines for its figures, negated, with the
    tenders on the ``refund`` account (balanced: Σ refund = revenue + tax + rounding < 0)."""
    as_sale = SaleCompleted(
        refund.refund_no,
        refund.currency,
        refund.lines,
        refund.totals,
        refund.tenders,
        refund.tax_mode,
    )
    out = []
    for line in sale_ledger(as_sale):
        if line.account in ("tendered", "change"):
            continue
        account = "refund" if line.account == "tender" else line.account
        out.append(LedgerLine(account, line.code, line.side, -line.amount, line.count))
    return out


def imbalance(lines: Iterable[LedgerLine]) -> int:
    """Σ debit - Σ credit (0 for a balanced entry)."""
    total = 0
    for line in lines:
        if line.side == DEBIT:
            total += line.amount
        elif line.side == CREDIT:
            total -= line.amount
    return total
