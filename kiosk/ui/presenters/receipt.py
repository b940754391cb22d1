"""The receipt / thank-you screen: the receipt was printed, or it is shown on screen with a QR
code when the printer could not print it.

The QR holds the receipt itself (its text, made compact: ``qr_text``) when that fits a symbol a
phone still reads off the panel (``QR_TEXT_MAX_BYTES``), so the customer keeps it by scanning
it; a longer receipt's QR holds its barcode payload instead (what a return starts from), and
the message sends the customer to an attendant, who reprints it once the printer works.

Plain Python (no Kivy; the QR image is made by the screen with segno); called on the Kivy
thread when a sale completes and when the print job's outcome arrives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.presenters.text import Text

# The most UTF-8 bytes of receipt text the QR holds: the byte-mode capacity of a version 25
# symbol (117 modules a side) at error level M, as the screen draws it (QrImage). Larger
# symbols are too dense to read off a 7-inch panel at arm's length.
QR_TEXT_MAX_BYTES: Final = 997
_PADDING: Final = re.compile(r" {2,}")
_RULE: Final = re.compile(r"(\S)\1{7,}")  # a line drawn with one character: "--------..."


def qr_text(text: str) -> str:
    """``text`` (the receipt as printed, in columns) made compact for a QR: column padding to two
    spaces, rules to eight characters, no blank lines."""
    lines = (
        _RULE.sub(lambda m: m.group(1) * 8, _PADDING.sub("  ", line.strip()))
        for line in text.splitlines()
    )
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class ReceiptView:
    title: str
    message: str
    total: str
    change: str  # "" without cash change
    receipt_no: str
    qr_payload: str  # "" when no QR is shown (printed, or still printing)
    receipt_text: str  # the rendered receipt, shown beside the QR
    printing: bool
    done: str  # the button that starts the next customer


def present_receipt(view: Mapping[str, Any], text: Text) -> ReceiptView:
    receipt = view.get("last_receipt") or {}
    # The sale is over: the view's totals and tenders are the next sale's; the receipt keeps
    # what this customer paid.
    change = int(receipt.get("change") or 0)
    printed = bool(receipt.get("printed"))
    failed = bool(receipt.get("print_error"))
    compact = qr_text(str(receipt.get("text") or ""))
    in_qr = bool(compact) and len(compact.encode("utf-8")) <= QR_TEXT_MAX_BYTES
    if printed:
        message = text._("Please take your receipt.")
    elif failed and in_qr:
        message = text._("The printer cannot print your receipt. Scan this code to keep it.")
    elif failed:
        message = text._(
            "The printer cannot print your receipt. Show this code to an attendant to have it "
            "printed."
        )
    else:
        message = text._("Printing your receipt…")
    qr = (compact if in_qr else str(receipt.get("barcode") or "")) if failed and not printed else ""
    paid, change_label, number = text._("Paid"), text._("Change"), text._("Receipt")
    return ReceiptView(
        title=text._("Thank you!"),
        message=message,
        total=f"{paid} {text.money(int(receipt.get('paid') or 0))}",
        change=f"{change_label} {text.money(change)}" if change else "",
        receipt_no=f"{number} {receipt.get('receipt_no', '')}".strip(),
        qr_payload=qr,
        receipt_text=str(receipt.get("text") or "") if failed and not printed else "",
        printing=not printed and not failed,
        done=text._("Done"),
    )
