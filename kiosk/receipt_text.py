"""The receipt's printed words in each language, and its plain-text layout.

Pure core, called by the printer job and the screen (through ``kiosk.receipt.render_text``) to
turn a ``kiosk.receipt.Receipt`` into text for 32, 42 and 48 column printers, and by
``build_receipt`` for the labels of adjustment rows.

The rendering is East-Asian-width aware: a CJK character takes two columns on a receipt printer
and on a terminal, so every width here is counted in display columns (``display_width``), never
in characters. No rendered line is ever wider than the paper. Control characters in names are
dropped, so a catalog name can never send a command to the printer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.errors import ConfigError
from kiosk.money import Money

if TYPE_CHECKING:  # kiosk.receipt imports this module; the type is only needed for annotations
    from kiosk.receipt import Receipt

MIN_WIDTH = 24
MAX_WIDTH = 120

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "receipt_no": "Receipt no.",
        "kiosk": "Kiosk",
        "time": "Time",
        "business_day": "Business day",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "tax": "Tax",
        "incl_tax": "incl. tax",
        "rounding": "Rounding",
        "total": "Total",
        "cash": "Cash",
        "card": "Card",
        "wallet": "Wallet",
        "tendered": "Tendered",
        "change": "Change",
        "member": "Member",
        "tax_rate": "Tax rate",
        "net": "Net",
        "price_override": "Price override",
        "promotion": "Promotion",
        "coupon": "Coupon",
        "basket_discount": "Basket discount",
        "discount_limit": "Discount limit",
        "points": "Points",
        "stored_value": "Stored value",
        "level": "Level",
        "points_earned": "Points earned",
        "points_redeemed": "Points used",
        "points_balance": "Points balance",
        "stored_value_used": "Stored value used",
        "stored_value_balance": "Stored value balance",
    },
    "zh_CN": {
        "receipt_no": "小票号",
        "kiosk": "机号",
        "time": "时间",
        "business_day": "营业日",
        "subtotal": "小计",
        "discount": "折扣",
        "tax": "税额",
        "incl_tax": "其中税额",
        "rounding": "舍入",
        "total": "合计",
        "cash": "现金",
        "card": "银行卡",
        "wallet": "移动支付",
        "tendered": "实收",
        "change": "找零",
        "member": "会员",
        "tax_rate": "税率",
        "net": "不含税",
        "price_override": "改价",
        "promotion": "促销",
        "coupon": "优惠券",
        "basket_discount": "整单优惠",
        "discount_limit": "优惠上限",
        "points": "积分抵扣",
        "stored_value": "储值卡",
        "level": "会员等级",
        "points_earned": "本次积分",
        "points_redeemed": "使用积分",
        "points_balance": "积分余额",
        "stored_value_used": "储值消费",
        "stored_value_balance": "储值余额",
    },
}


def label(key: str, language: str) -> str:
    """The receipt label ``key`` in ``language``, falling back to English, then to ``key``."""
    return LABELS.get(language, LABELS["en"]).get(key) or LABELS["en"].get(key, key)


def char_width(ch: str) -> int:
    """Display columns of one character: 2 for East Asian wide/fullwidth, 0 for combining."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Display columns of ``text``: ``display_width("苹果 x2")`` is 7."""
    return sum(char_width(ch) for ch in text)


def clean(text: str) -> str:
    """``text`` without control or format characters (whitespace controls become spaces)."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f" or category in ("Zl", "Zp"):
            out.append(" ")
        elif category not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return "".join(out)


def _cut(text: str, cols: int) -> tuple[str, str]:
    """The longest head of ``text`` that fits ``cols`` columns, and the rest. The head has at
    least one character, so a caller that loops on the rest always ends."""
    used = 0
    for i, ch in enumerate(text):
        used += char_width(ch)
        if used > cols:
            return (text[:i], text[i:]) if i else (text[:1], text[1:])
    return text, ""


def wrap(text: str, cols: int) -> list[str]:
    """``text`` broken into lines of at most ``cols`` columns: at spaces where possible, inside
    a word (any CJK run) where it must be. Leading spaces indent every line (while at least two
    columns remain); other runs of spaces collapse to one."""
    if cols < 2:
        raise ValueError(f"cannot wrap into {cols} columns")
    text = clean(text)
    body = text.lstrip(" ")
    indent = " " * (len(text) - len(body))
    if cols - len(indent) < 2:
        indent = ""
    room = cols - len(indent)
    lines: list[str] = []
    current = ""
    for word in body.split():
        candidate = f"{current} {word}" if current else word
        if display_width(candidate) <= room:
            current = candidate
            continue
        if current:
            lines.append(current)
        rest = word
        while display_width(rest) > room:
            head, rest = _cut(rest, room)
            lines.append(head)
        current = rest
    if current:
        lines.append(current)
    return [indent + line for line in lines]


def truncate(text: str, cols: int) -> str:
    """``text`` cut to ``cols`` (>= 2) columns, ending in ``...`` when something was cut and
    there is room for it."""
    if cols < 2:
        raise ValueError(f"cannot truncate to {cols} columns")
    text = clean(text)
    if display_width(text) <= cols:
        return text
    if cols < 5:
        return _cut(text, cols)[0]
    return _cut(text, cols - 3)[0] + "..."


def _pad_left(text: str, cols: int) -> str:
    return " " * max(cols - display_width(text), 0) + text


def _row(left: str, right: str, width: int, max_lines: int = 0) -> list[str]:
    """``left`` wrapped, ``right`` right-aligned on its first line; never wider than ``width``.

    ``max_lines`` (0: no limit) caps the lines of ``left``; the last one is then truncated.
    A ``right`` too wide to share a line gets lines of its own, right-aligned.
    """
    right = clean(right)
    if not right.strip():
        return wrap(left, width) or [""]
    space = width - display_width(right) - 1
    if space < 2:
        return [*wrap(left, width), *(_pad_left(part, width) for part in wrap(right, width))]
    parts = wrap(left, space) or [""]
    if max_lines and len(parts) > max_lines:
        parts = [*parts[: max_lines - 1], truncate(" ".join(parts[max_lines - 1 :]), space)]
    first = parts[0] + " " * (width - display_width(parts[0]) - display_width(right)) + right
    return [first, *parts[1:]]


def _center(text: str, width: int) -> list[str]:
    return [_pad_left(part, (width + display_width(part)) // 2) for part in wrap(text, width)]


class _Layout:
    """Collects the rendered lines of one receipt, section by section. Sections are separated
    by a rule; an empty section leaves no trace."""

    def __init__(self, receipt: Receipt, width: int) -> None:
        self.receipt = receipt
        self.width = width
        self.sections: list[list[str]] = []

    def section(self) -> None:
        self.sections.append([])

    def add(self, lines: list[str]) -> None:
        self.sections[-1].extend(lines)

    def t(self, key: str) -> str:
        return label(key, self.receipt.language)

    def money(self, minor: int) -> str:
        return Money(minor, self.receipt.currency).format_plain()

    def row(
        self,
        left: str,
        amount: int | None = None,
        mark: str = "",
        text: str = "",
        max_lines: int = 0,
    ) -> None:
        """A row with ``amount`` (and its tax letter ``mark``) or ``text`` on the right. Amounts
        end two columns from the edge, leaving the last column for the tax letter."""
        right = text if amount is None else f"{self.money(amount)} {mark or ' '}"
        self.add(_row(left, right, self.width, max_lines))

    def text(self) -> str:
        rule = "-" * self.width
        lines: list[str] = []
        for section in filter(None, self.sections):
            if lines:
                lines.append(rule)
            lines.extend(section)
        return "".join(line.rstrip() + "\n" for line in lines)


def _marks(receipt: Receipt) -> dict[str, str]:
    """Tax codes -> the letter printed after each amount (``A``, ``B``...), in table order."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return {t.code: letters[i] if i < len(letters) else "*" for i, t in enumerate(receipt.taxes)}


# Printed centred above the store's name on a reprint, in both languages whatever the receipt's.
REPRINT_MARK = "** REPRINT / 重印 **"


def _header(out: _Layout) -> None:
    r = out.receipt
    if r.reprint:
        out.section()
        out.add(_center(REPRINT_MARK, out.width))
    out.section()
    for text in (r.store_name, *r.address, *r.header):
        out.add(_center(text, out.width))
    out.section()
    out.row(out.t("receipt_no"), text=r.receipt_no)
    out.row(out.t("kiosk"), text=r.kiosk_id)
    out.row(out.t("time"), text=r.occurred_at)
    if not r.occurred_at.startswith(r.business_day):
        out.row(out.t("business_day"), text=r.business_day)


def _items(out: _Layout, marks: Mapping[str, str]) -> None:
    out.section()
    for line in out.receipt.lines:
        mark = marks.get(line.tax_code, "")
        if line.unit == "ea" and line.qty_text == "1":
            out.row(line.name, line.gross, mark, max_lines=2)
        else:
            wrapped = wrap(line.name, out.width)
            if len(wrapped) > 2:
                wrapped = [wrapped[0], truncate(" ".join(wrapped[1:]), out.width)]
            out.add(wrapped)
            detail = f"  {line.qty_text}"
            if not line.price_embedded:
                per = "/kg" if line.unit == "kg" else ""
                detail += f" x {out.money(line.unit_price)}{per}"
            out.row(detail, line.gross, mark)
        for adjustment in line.adjustments:
            out.row(f"  {adjustment.label}", adjustment.amount)
    for adjustment in out.receipt.basket_adjustments:
        out.row(adjustment.label, adjustment.amount)


def _totals(out: _Layout) -> None:
    totals = out.receipt.totals
    out.section()
    out.row(out.t("subtotal"), totals.gross)
    if totals.discount:
        out.row(out.t("discount"), totals.discount)
    if not totals.tax_included:
        out.row(out.t("tax"), totals.tax)
    if totals.rounding:
        out.row(out.t("rounding"), totals.rounding)
    out.row(out.t("total"), totals.due)
    if totals.tax_included:
        out.row(f"  {out.t('incl_tax')}", totals.tax)


def _tenders(out: _Layout) -> None:
    r = out.receipt
    out.section()
    for tender in r.tenders:
        out.row(f"{out.t(tender.type)} {tender.ref or ''}".strip(), tender.amount)
        if tender.type == "cash" and tender.tendered:
            out.row(f"  {out.t('tendered')}", tender.tendered)
    if r.change or any(t.type == "cash" for t in r.tenders):
        out.row(out.t("change"), r.change)


def _tax_table(out: _Layout, marks: Mapping[str, str]) -> None:
    r = out.receipt
    out.section()
    if not r.taxes:
        return
    header = (out.t("net"), out.t("tax"))
    cells = [(out.money(t.base), out.money(t.tax)) for t in r.taxes]
    col = max(display_width(text) for pair in (header, *cells) for text in pair)
    out.row(out.t("tax_rate"), text=f"{_pad_left(header[0], col)} {_pad_left(header[1], col)}  ")
    for t, (base, tax) in zip(r.taxes, cells, strict=True):
        left = f"{marks[t.code]} {t.code} {t.rate_text}"
        out.row(left, text=f"{_pad_left(base, col)} {_pad_left(tax, col)}  ")


def _member(out: _Layout) -> None:
    """The member's lines: points on the right like amounts (two columns from the edge)."""
    m = out.receipt.member
    assert m is not None
    out.row(out.t("member"), text=f"{m.member_id} {m.phone}".strip())
    out.row(out.t("level"), text=m.level)
    out.row(out.t("points_earned"), text=f"+{m.points_earned}  ")
    if m.points_redeemed:
        out.row(out.t("points_redeemed"), text=f"-{m.points_redeemed}  ")
    if m.points_balance is not None:
        out.row(out.t("points_balance"), text=f"{m.points_balance}  ")
    if m.stored_value_used:
        out.row(out.t("stored_value_used"), m.stored_value_used)
    if m.stored_value_balance is not None and (m.stored_value_used or m.stored_value_balance):
        out.row(out.t("stored_value_balance"), m.stored_value_balance)


def _closing(out: _Layout) -> None:
    r = out.receipt
    out.section()
    if r.member is not None:
        _member(out)
    elif r.member_id:
        out.row(out.t("member"), text=r.member_id)
    out.section()
    for text in r.footer:
        out.add(_center(text, out.width))


def render_text(receipt: Receipt, width: int) -> str:
    """The receipt as plain text, every line at most ``width`` display columns (24 to 120;
    printers use 32, 42 or 48). Lines end with ``\\n``; no line has trailing spaces."""
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ConfigError("receipt.width", f"{width!r} is outside {MIN_WIDTH}..{MAX_WIDTH} columns")
    out = _Layout(receipt, width)
    marks = _marks(receipt)
    _header(out)
    _items(out, marks)
    _totals(out)
    _tenders(out)
    _tax_table(out, marks)
    _closing(out)
    return out.text()
