"""Refund slips and X/Z shift reports as printable ``kiosk.receipt.Receipt`` documents. Pure core.

Called on the lane thread (``kiosk.lane_returns``, ``kiosk.lane_shift``) and by the store's
shift close (for the Z report queued in its transaction). Both print through the ordinary
receipt path (``ReceiptPrinter.print_receipt``, ``kiosk.receipt_text.render_text``), so the fake
and the ESC/POS printers need nothing new:

- a **refund slip** is a receipt whose amounts are negative (what went back), headed
  ``REFUND / 退货`` and the original receipt number; its barcode is ``R`` + the refund number;
- an **X or Z report** is a receipt headed ``X REPORT`` / ``Z REPORT`` with the shift, the seq
  range, the first and last receipt numbers and the last hash; one row per section (sales,
  refunds, adjustments, tenders, refund tenders, cash drawer) with its detail rows under it;
  the tax table is the net of sales and refunds per code; "Total" is the net takings.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from kiosk.config import ReceiptConfig, StoreConfig
from kiosk.money import Money
from kiosk.receipt import (
    Receipt,
    ReceiptAdjustment,
    ReceiptLine,
    ReceiptTax,
    ReceiptTender,
    ReceiptTotals,
    label,
)
from kiosk.refunds import CompletedRefund
from kiosk.shift import ShiftFigures

WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "refund": "REFUND",
        "original": "Original receipt",
        "staff": "Staff",
        "x": "X REPORT (no reset)",
        "z": "Z REPORT (end of shift)",
        "shift": "Shift",
        "opened": "Opened",
        "closed": "Closed",
        "seq": "Seq",
        "receipts": "Receipts",
        "last_hash": "Last hash",
        "sales": "Sales",
        "refunds": "Refunds",
        "adjustments": "Adjustments",
        "tenders": "Tenders",
        "refund_tenders": "Refunded",
        "drawer": "Cash expected",
        "float": "Float",
        "cash_sales": "Cash sales",
        "cash_refunds": "Cash refunds",
        "pickups": "Pickups",
        "counted": "Counted",
        "difference": "Difference",
        "gross": "Gross",
        "allocation": "Basket discount",
    },
    "zh_CN": {
        "refund": "退货",
        "original": "原小票",
        "staff": "员工",
        "x": "X 报表（不清零）",
        "z": "Z 报表（交班）",
        "shift": "班次",
        "opened": "开班",
        "closed": "交班",
        "seq": "序号",
        "receipts": "小票",
        "last_hash": "末哈希",
        "sales": "销售",
        "refunds": "退货",
        "adjustments": "优惠",
        "tenders": "收款",
        "refund_tenders": "退款",
        "drawer": "应有现金",
        "float": "备用金",
        "cash_sales": "现金销售",
        "cash_refunds": "现金退款",
        "pickups": "取款",
        "counted": "清点",
        "difference": "差额",
        "gross": "总额",
        "allocation": "整单优惠",
    },
}


def word(key: str, language: str) -> str:
    """A refund-slip or report word in ``language`` (English when missing), else a receipt
    label (``kiosk.receipt_text.LABELS``)."""
    found = WORDS.get(language, WORDS["en"]).get(key) or WORDS["en"].get(key)
    return found or label(key, language)


def rate_text(rate: Decimal | None) -> str:
    return "" if rate is None else f"{(rate * 100).normalize():f}%"


def _discount_label(entry: Mapping[str, Any], language: str) -> str:
    kind = str(entry.get("kind", ""))
    name = word(kind, language) if kind == "allocation" else label(kind, language)
    reason = str(entry.get("reason", "")).strip()
    return f"{name}: {reason}" if reason and kind != "allocation" else name


def _qty_text(qty: Decimal, unit: str) -> str:
    return f"{qty.normalize():f} kg" if unit == "kg" else f"{qty.to_integral_value():f}"


def refund_slip(
    refund: CompletedRefund,
    refund_no: str,
    seq: int,
    store: StoreConfig,
    receipt_cfg: ReceiptConfig,
    local_time: str,
    language: str,
    rates: Mapping[str, Decimal],
) -> Receipt:
    """The slip of a recorded refund (``refund_no``, ``seq``): every amount negative."""
    language = receipt_cfg.language or language
    plan = refund.plan
    exclusive = plan.tax_mode == "exclusive"
    lines = tuple(
        ReceiptLine(
            name=line.name,
            qty_text=_qty_text(line.qty, line.unit),
            unit=line.unit,
            unit_price=line.unit_price,
            gross=-line.gross,
            adjustments=tuple(
                ReceiptAdjustment(_discount_label(d, language), -int(d["amount"]))
                for d in line.discounts
            ),
            tax_code=line.tax_code,
            price_embedded=line.gross != int(line.unit_price * line.qty),
        )
        for line in plan.lines
    )
    by_code: dict[str, list[int]] = {}
    for line in plan.lines:
        entry = by_code.setdefault(line.tax_code, [0, 0])
        net = line.gross + line.discount - (0 if exclusive else line.tax)
        entry[0] -= net
        entry[1] -= line.tax
    taxes = tuple(
        ReceiptTax(code, rate_text(rates.get(code)), base, tax)
        for code, (base, tax) in sorted(by_code.items())
    )
    tenders = tuple(
        ReceiptTender(t.type, -t.amount, ref=f"****{t.last4}" if t.last4 else None)
        for t in refund.tenders
    )
    return Receipt(
        store_name=store.name,
        address=tuple(store.address),
        header=(
            *receipt_cfg.header,
            f"** {word('refund', 'en')} / {word('refund', 'zh_CN')} **",
            f"{word('original', language)} {refund.original.receipt_no}",
            f"{word('staff', language)} {refund.staff}",
        ),
        kiosk_id=refund.kiosk_id,
        receipt_no=refund_no,
        seq=seq,
        occurred_at=local_time,
        business_day=refund.business_day,
        language=language,
        currency=refund.original.currency,
        lines=lines,
        basket_adjustments=(),
        taxes=taxes,
        totals=ReceiptTotals(
            gross=-plan.gross,
            discount=-plan.discount,
            tax=-plan.tax,
            tax_included=not exclusive,
            rounding=-refund.rounding,
            due=-refund.due,
        ),
        tenders=tenders,
        change=0,
        member_id=refund.original.member_id,
        barcode=f"R{refund_no}",
        footer=tuple(receipt_cfg.footer),
    )


def _row(name: str, amount: int, details: list[tuple[str, int]]) -> ReceiptLine:
    return ReceiptLine(
        name=name,
        qty_text="1",
        unit="ea",
        unit_price=amount,
        gross=amount,
        adjustments=tuple(ReceiptAdjustment(text, value) for text, value in details),
        tax_code="",
    )


def shift_report(
    figures: ShiftFigures,
    *,
    kind: str,
    report_id: str,
    shift_id: str,
    seq: int,
    opened: str,
    closed: str | None,
    staff: str,
    store: StoreConfig,
    receipt_cfg: ReceiptConfig,
    local_time: str,
    business_day: str,
    kiosk_id: str,
    language: str,
    rates: Mapping[str, Decimal],
) -> Receipt:
    """The X (``kind`` ``"x"``) or Z (``"z"``) report of ``figures`` as a printable receipt."""
    if kind not in ("x", "z"):
        raise ValueError(f"a shift report is 'x' or 'z', not {kind!r}")

    def w(key: str) -> str:
        return word(key, language)

    def kind_label(kind_: str, rule: str) -> str:
        name = w(kind_) if kind_ == "allocation" else label(kind_, language)
        return f"{name}: {rule}" if rule and kind_ != "allocation" else name

    s, r, cash = figures.sales, figures.refunds, figures.cash
    sums = ("gross", "discount", "tax", "rounding")
    rows = [
        _row(f"{w('sales')} ({s.count})", s.due, [(w(k), getattr(s, k)) for k in sums]),
        _row(f"{w('refunds')} ({r.count})", -r.due, [(w(k), -getattr(r, k)) for k in sums]),
        _row(
            w("adjustments"),
            sum(a.net for a in figures.adjustments),
            [(f"{kind_label(a.kind, a.rule)} ({a.count})", a.net) for a in figures.adjustments],
        ),
        _row(
            w("tenders"),
            sum(t.amount for t in figures.tenders),
            [(f"{label(t.type, language)} ({t.count})", t.amount) for t in figures.tenders],
        ),
        _row(
            w("refund_tenders"),
            -sum(t.amount for t in figures.refund_tenders),
            [(f"{label(t.type, language)} ({t.count})", -t.amount) for t in figures.refund_tenders],
        ),
        _row(
            w("drawer"),
            cash.expected,
            [
                (w("float"), cash.float),
                (w("cash_sales"), cash.sales),
                (w("cash_refunds"), -cash.refunds),
                (w("pickups"), -cash.pickups),
                *(
                    [(w("counted"), cash.counted), (w("difference"), cash.difference or 0)]
                    if cash.counted is not None
                    else []
                ),
            ],
        ),
    ]
    taxes = tuple(
        ReceiptTax(t.code, rate_text(rates.get(t.code)), t.net - t.refund_net, t.tax - t.refund_tax)
        for t in figures.taxes
    )
    net = s.due - r.due
    header = [
        f"** {w(kind)} **",
        f"{w('shift')} {shift_id}",
        f"{w('opened')} {opened}",
        *([f"{w('closed')} {closed}"] if closed else []),
        f"{w('staff')} {staff}",
        f"{w('seq')} {figures.first_seq}..{figures.last_seq}",
        f"{w('receipts')} {figures.first_receipt or '-'} .. {figures.last_receipt or '-'}",
        f"{w('last_hash')} {figures.last_hash}",
    ]
    if cash.difference:
        header.append(
            f"{w('difference')} {Money(cash.difference, figures.currency).format_plain()}"
        )
    return Receipt(
        store_name=store.name,
        address=tuple(store.address),
        header=tuple(header),
        kiosk_id=kiosk_id,
        receipt_no=report_id,
        seq=seq,
        occurred_at=local_time,
        business_day=business_day,
        language=language,
        currency=figures.currency,
        lines=tuple(rows),
        basket_adjustments=(),
        taxes=taxes,
        totals=ReceiptTotals(
            gross=net,
            discount=0,
            tax=sum(t.tax for t in taxes),
            tax_included=True,
            rounding=0,
            due=net,
        ),
        tenders=(),
        change=0,
        member_id=None,
        barcode="",
        footer=(),
    )
