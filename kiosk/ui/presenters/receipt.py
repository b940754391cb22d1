"""The receipt / thank-you screen: the receipt was printed, or it is shown on screen with a QR
code of its barcode payload when the printer could not print it.

Plain Python (no Kivy; the QR image is made by the screen with segno); called on the Kivy
thread when a sale completes and when the print job's outcome arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.ui.presenters.text import Text


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
    if printed:
        message = text._("Please take your receipt.")
    elif failed:
        message = text._("The printer cannot print your receipt. Scan this code to keep it.")
    else:
        message = text._("Printing your receipt…")
    paid, change_label, number = text._("Paid"), text._("Change"), text._("Receipt")
    return ReceiptView(
        title=text._("Thank you!"),
        message=message,
        total=f"{paid} {text.money(int(receipt.get('paid') or 0))}",
        change=f"{change_label} {text.money(change)}" if change else "",
        receipt_no=f"{number} {receipt.get('receipt_no', '')}".strip(),
        qr_payload=str(receipt.get("barcode") or "") if failed and not printed else "",
        receipt_text=str(receipt.get("text") or "") if failed and not printed else "",
        printing=not printed and not failed,
        done=text._("Done"),
    )
