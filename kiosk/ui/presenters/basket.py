"""The basket screen: the lines (for a RecycleView), the last item shown large, the running
totals and the customer's message.

Plain Python (no Kivy); called on the Kivy thread after every lane answer while the basket is
shown. Rows are plain dicts of strings (RecycleView data); a voided line stays listed, struck
through, as the receipt shows it. A ``RowCache`` keeps each row between answers: an unchanged
line gives the very same dict again (no Babel formatting per row per answer, and the screen
updates only the rows that changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kiosk.ui.presenters.messages import CUSTOMER_REASONS, intervention_message
from kiosk.ui.presenters.text import Text


@dataclass(frozen=True)
class LastItem:
    name: str
    detail: str  # "2 × ¥2.00" or "0.512 kg × ¥6.98/kg"
    amount: str


@dataclass(frozen=True)
class BasketView:
    rows: tuple[dict[str, Any], ...]
    last: LastItem | None
    items: str  # "3 items"
    subtotal: str
    discount: str  # "" when there is none
    total: str
    total_label: str
    notice: str  # the message to show ("" = none)
    notice_is_error: bool
    can_pay: bool
    pay_label: str
    empty: str  # shown when there are no lines


def _detail(line: Mapping[str, Any], text: Text) -> str:
    unit_price = text.money(int(line["unit_price"]))
    if line.get("unit") == "kg":
        return f"{text.qty(str(line['qty']), 'kg')} × {unit_price}/kg"
    return f"{text.qty(str(line['qty']), 'ea')} × {unit_price}"


def _adjustments(line: Mapping[str, Any], text: Text) -> str:
    parts = []
    for adj in line.get("adjustments") or ():
        reason = str(adj.get("reason") or adj.get("kind") or "")
        parts.append(f"{reason} {text.money(int(adj.get('amount', 0)))}".strip())
    discount = int(line.get("discount") or 0)
    if discount and not parts:
        label = text._("Discount")
        parts.append(f"{label} {text.money(discount)}")
    return " · ".join(parts)


def row_of(line: Mapping[str, Any], text: Text) -> dict[str, Any]:
    """One RecycleView row (``BasketRow`` properties)."""
    each = line.get("unit") != "kg"
    qty = Decimal(str(line["qty"]))
    return {
        "line_no": int(line["line"]),
        "qty": int(qty) if each and qty == qty.to_integral_value() else 0,
        "can_change": each and not line.get("voided"),
        "name": str(line["name"]),
        "detail": _detail(line, text),
        "adjust": _adjustments(line, text),
        "amount": text.money(int(line["amount"])),
        "voided": bool(line.get("voided")),
    }


class RowCache:
    """The rows of the last answer and the lines they were made from, in the language and
    currency they were formatted in; ``rows`` gives the same dict again for a line equal to
    the one at its place last time. The lane builds a new view (new dicts) for every answer,
    so comparing a line with the one kept is a plain ``==`` of two dicts, done in C: a scan
    into a 200-line basket compares 200 dicts and formats one row."""

    def __init__(self) -> None:
        self._made_in: tuple[str, str] | None = None
        self._lines: list[Mapping[str, Any]] = []
        self._rows: list[dict[str, Any]] = []

    def rows(self, lines: list[Mapping[str, Any]], text: Text) -> tuple[dict[str, Any], ...]:
        """The rows of ``lines``; these lines and rows are kept for the next call."""
        made_in = (text.lang, text.currency)
        if made_in != self._made_in:
            self._made_in, self._lines, self._rows = made_in, [], []
        kept_lines, kept_rows = self._lines, self._rows
        out = [
            kept_rows[i] if i < len(kept_lines) and kept_lines[i] == line else row_of(line, text)
            for i, line in enumerate(lines)
        ]
        self._lines, self._rows = list(lines), out
        return tuple(out)


def present_basket(
    view: Mapping[str, Any], text: Text, notice: str = "", cache: RowCache | None = None
) -> BasketView:
    """``notice``: the msgid of the app's last message (from an event), "" for none;
    ``cache``: the rows of the previous answer (see ``RowCache``)."""
    lines = list(view.get("lines") or ())
    totals = view.get("totals") or {}
    active = [line for line in lines if not line.get("voided")]
    last_line = active[-1] if active else None
    last = (
        LastItem(
            name=str(last_line["name"]),
            detail=_detail(last_line, text),
            amount=text.money(int(last_line["amount"])),
        )
        if last_line
        else None
    )
    count = Decimal(str(totals.get("items", "0")))
    whole = int(count) if count == count.to_integral_value() else None
    items = (
        text.n_("{n} item", "{n} items", whole).format(n=text.number(whole))
        if whole is not None
        else text._("{n} items").format(n=text.number(count))
    )
    discount = int(totals.get("discount") or 0)
    shown, is_error = _notice(view, notice)
    return BasketView(
        rows=(cache or RowCache()).rows(lines, text),
        last=last,
        items=items,
        subtotal=text.money(int(totals.get("gross") or 0)),
        discount=text.money(discount) if discount else "",
        total=text.money(int(totals.get("due") or 0)),
        total_label=text._("Total"),
        notice=text._(shown),
        notice_is_error=is_error,
        can_pay=bool(active) and not view.get("blocked"),
        pay_label=text._("Pay"),
        empty=text._("Scan an item to begin"),
    )


def _notice(view: Mapping[str, Any], notice: str) -> tuple[str, bool]:
    """The app's message, else what an open intervention means for the customer."""
    if notice:
        return notice, True
    for intervention in view.get("interventions") or ():
        reason = str(intervention.get("reason"))
        if reason in CUSTOMER_REASONS:
            return intervention_message(reason), bool(intervention.get("blocking"))
    return "", False
