"""What a customer is told when something goes wrong: msgids for lane error codes, rejected
scans and interventions. The lane's own messages are English sentences for logs; the screens
show these translated instead. Plain Python (no Kivy); called on the Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kiosk.ui.i18n import N_

ERROR_MESSAGES: Final[dict[str, str]] = {
    "invalid_command": N_("That did not work. Please try again."),
    "not_allowed": N_("An attendant must do this. Please press Call attendant."),
    "wrong_state": N_("That cannot be done right now."),
    "blocked": N_("An attendant must check something before you can pay."),
    "not_found": N_("That item or line was not found."),
    "storage": N_("The kiosk cannot record sales right now. An attendant has been called."),
    "auth_failed": N_("Staff login refused."),
    "device": N_("A device failed. An attendant has been called."),
    "limit": N_("That is more than your balance or limit allows."),
    "internal": N_("Something went wrong. Please call an attendant."),
}
UNKNOWN_ERROR: Final = N_("Something went wrong. Please call an attendant.")

SCAN_MESSAGES: Final[dict[str, str]] = {
    "empty": N_("Nothing was scanned. Please scan the barcode again."),
    "too_long": N_("That barcode could not be read. Please scan it again."),
    "control_chars": N_("That barcode could not be read. Please scan it again."),
    "bad_check_digit": N_("That barcode could not be read. Please scan it again."),
    "bad_gs1": N_("That barcode could not be read. Please scan it again."),
    "unknown_format": N_("This barcode is not one the kiosk knows. Please ask staff for help."),
    "needs_weight": N_("This item is sold by weight. Please use Look up item to weigh it."),
    "receipt_scanned": N_("Returns are done by an attendant. Please press Call attendant."),
    "unknown_member": N_("This member card is not known."),
    "unknown_phone": N_("No member has this phone number."),
    "nothing_to_pay": N_("There is nothing to pay yet."),
    "coupon_already_scanned": N_("This coupon was already scanned."),
    "coupon_not_accepted": N_("Coupons are not accepted at this kiosk."),
}
UNKNOWN_SCAN: Final = N_("That code cannot be used here. Please ask staff for help.")

# What the customer is told while an intervention is open (the attendant sees the details).
INTERVENTION_MESSAGES: Final[dict[str, str]] = {
    "age_check": N_("An attendant will check your age for this item."),
    "unknown_item": N_("This item is not known. An attendant is coming to help."),
    "not_for_sale": N_("This item cannot be sold here. An attendant is coming."),
    "quantity_limit": N_("You have reached the limit for this item. An attendant is coming."),
    "expired_item": N_("This item is past its date. An attendant is coming."),
    "void": N_("An attendant will remove the item for you."),
    "price_override": N_("An attendant is checking a price."),
    "help": N_("Help is on the way."),
    "payment_unknown": N_("We are checking your payment. An attendant is coming."),
    "cash_payment": N_("An attendant is coming to take your cash."),
    "printer_fault": N_("The receipt printer needs attention."),
    "paper_low": N_("The receipt printer is low on paper."),
    "print_uncertain": N_("The receipt printer needs attention."),
    "drawer_fault": N_("An attendant is coming."),
    "drawer_left_open": N_("An attendant is coming."),
    "scanner_disconnected": N_("The scanner is not working. An attendant is coming."),
    "storage": N_("The kiosk cannot record sales right now. An attendant has been called."),
    "abandoned": N_("Your basket is kept. An attendant is coming."),
}
# Interventions the customer should be told about on the basket screen (device news is for
# staff; the customer hears of it only where it changes what they see).
CUSTOMER_REASONS: Final = frozenset(
    {
        "age_check",
        "unknown_item",
        "not_for_sale",
        "quantity_limit",
        "expired_item",
        "void",
        "price_override",
        "payment_unknown",
        "cash_payment",
        "scanner_disconnected",
        "storage",
    }
)


def error_message(code: str) -> str:
    return ERROR_MESSAGES.get(code, UNKNOWN_ERROR)


def scan_message(reason: str) -> str:
    return SCAN_MESSAGES.get(reason, UNKNOWN_SCAN)


def intervention_message(reason: str) -> str:
    return INTERVENTION_MESSAGES.get(reason, N_("An attendant is coming."))


def notice_of(event: Mapping[str, Any]) -> str | None:
    """The msgid to show for one lane event: a new message, ``""`` to clear the shown one, or
    None to keep it."""
    kind = event.get("event")
    if kind == "error":
        return error_message(str(event.get("code", "")))
    if kind == "scan_rejected":
        return scan_message(str(event.get("reason", "")))
    if kind == "intervention_opened" and event.get("reason") in CUSTOMER_REASONS:
        return intervention_message(str(event.get("reason")))
    if kind in ("item_added", "line_changed", "line_voided", "sale_started", "idle"):
        return ""
    if kind == "help_already_requested":
        return N_("Help is on the way.")
    return None
