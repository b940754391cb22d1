"""Payment choice and progress: card, wallet code, cash with an attendant, split. Plain Python.

Called on the Kivy thread by the payment and processing screens (``kiosk.ui.screens.payment``,
``kiosk.ui.screens.processing``). What is true about the sale comes from the lane view:
``mode`` (``paying`` once payment started), ``totals.remaining``, ``tenders`` (a split already
took some), ``awaiting_wallet`` (the lane waits for a wallet payment code), the open
``cash_payment`` intervention (an attendant is coming for cash) and ``payment_unknown`` (the
terminal never answered: only an attendant can resolve it). ``PaymentLocal`` holds what only
the UI knows: the split amount being typed, a typed wallet code, and the payment in flight (a
card charge blocks the lane until the terminal answers, so the UI shows the processing screen
from the moment it sends ``pay`` until the answer arrives).

Cancelling is offered only where the lane allows it: while paying, before any tender was taken,
with no payment of unknown outcome, and not while a charge is in flight (``cancel_payment``).
No kivy import; unit-tested in tests/unit/ui/test_payment_presenter.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kiosk.ui.i18n import N_
from kiosk.ui.presenters.lookup import keypad_press

Translate = Callable[[str], str]
FormatMoney = Callable[[int], str]

AMOUNT_MAX_DIGITS: Final = 9
WALLET_CODE_MIN: Final = 16
WALLET_CODE_MAX: Final = 24
DEFAULT_METHODS: Final[tuple[str, ...]] = ("card", "wallet", "cash")

METHOD_LABELS: Final[dict[str, str]] = {
    "card": N_("Bank card"),
    "wallet": N_("Payment code (WeChat / Alipay)"),
    "cash": N_("Cash (an attendant comes)"),
    "points": N_("Member points"),
    "stored_value": N_("Stored value"),
}

FALLBACK_ERROR: Final = N_("That did not work. Please call an attendant.")
ERROR_MESSAGES: Final[dict[str, str]] = {
    "blocked": N_("An attendant must check your basket first. Help is on the way."),
    "wrong_state": N_("This cannot be done now."),
    "storage": N_("This kiosk cannot take payments now. Please call an attendant."),
    "invalid_command": N_("That did not work. Please check and try again."),
    "limit": N_("Your member account does not allow that amount."),
    "not_allowed": N_("Please call an attendant."),
}


@dataclass(slots=True)
class PaymentLocal:
    """UI-only payment state. The typed wallet code is kept out of the repr."""

    split: bool = False  # the split amount keypad is open
    split_digits: str = ""  # minor units typed
    split_amount: int = 0  # the part chosen, once confirmed (0 = all that remains)
    wallet_entry: bool = False  # the wallet code keypad is open
    wallet_code: str = field(default="", repr=False)
    in_flight: str = ""  # method being charged while the lane works ("" = none)
    in_flight_amount: int = 0
    message: str = ""  # msgid
    message_args: dict[str, str] = field(default_factory=dict)


def _say(local: PaymentLocal, msgid: str, **args: str) -> None:
    local.message = msgid
    local.message_args = args


def remaining(view: Mapping[str, Any]) -> int:
    totals = view.get("totals") or {}
    return int(totals.get("remaining", 0))


def unknown_payment(view: Mapping[str, Any]) -> bool:
    """A payment of this sale has an unknown outcome (an attendant must resolve it)."""
    return any(
        i.get("reason") == "payment_unknown"
        and (i.get("detail") or {}).get("sale_id") in (None, view.get("sale_id"))
        for i in view.get("interventions") or ()
    )


def waiting_for_cash(view: Mapping[str, Any]) -> bool:
    return any(i.get("reason") == "cash_payment" for i in view.get("interventions") or ())


def can_cancel(view: Mapping[str, Any], local: PaymentLocal) -> bool:
    """``cancel_payment`` is safe: paying, nothing taken, nothing unknown, nothing in flight."""
    return (
        view.get("mode") == "paying"
        and not view.get("tenders")
        and not unknown_payment(view)
        and not local.in_flight
    )


def methods_offered(
    view: Mapping[str, Any], enabled: Sequence[str] = DEFAULT_METHODS
) -> tuple[str, ...]:
    """The tenders the customer may choose now: the configured methods (cash is not split:
    the attendant takes what remains), then a member's points or stored value when they can
    pay something."""
    offered = [m for m in enabled if m in ("card", "wallet", "cash")]
    loyalty = view.get("loyalty")
    if isinstance(loyalty, Mapping):
        if int(loyalty.get("points_payable", 0)) > 0:
            offered.append("points")
        if int(loyalty.get("stored_value_payable", 0)) > 0:
            offered.append("stored_value")
    return tuple(offered)


def choose(local: PaymentLocal, view: Mapping[str, Any], method: str) -> dict[str, Any] | None:
    """The command for a tender chosen on screen (with the split amount, if one was typed)."""
    if method not in METHOD_LABELS:
        raise ValueError(f"unknown payment method {method!r}")
    amount = local.split_amount if 0 < local.split_amount < remaining(view) else 0
    local.message = ""
    if method == "cash":
        local.split_amount = 0
        return {"cmd": "pay", "method": "cash"}
    if method in ("points", "stored_value"):
        command: dict[str, Any] = {"cmd": "redeem", "type": method}
        if amount:
            command["amount"] = amount
        local.split_amount = 0
        return command
    command = {"cmd": "pay", "method": method}
    if amount:
        command["amount"] = amount
    if method == "card":
        local.in_flight = "card"
        local.in_flight_amount = amount or remaining(view)
    return command


def open_split(local: PaymentLocal) -> None:
    local.split = True
    local.split_digits = ""
    local.message = ""


def press_split(local: PaymentLocal, key: str) -> None:
    local.split_digits = keypad_press(local.split_digits, key, AMOUNT_MAX_DIGITS)
    local.message = ""


def confirm_split(local: PaymentLocal, view: Mapping[str, Any]) -> bool:
    """Keep the typed amount as the first part; False with a message when it is not between
    one minor unit and less than what remains."""
    amount = int(local.split_digits or "0")
    rest = remaining(view)
    if not 0 < amount < rest:
        _say(local, N_("Type an amount smaller than what is left to pay."))
        return False
    local.split_amount = amount
    local.split = False
    local.split_digits = ""
    return True


def cancel_split(local: PaymentLocal) -> None:
    local.split = False
    local.split_digits = ""
    local.split_amount = 0


def open_wallet_entry(local: PaymentLocal) -> None:
    local.wallet_entry = True
    local.wallet_code = ""
    local.message = ""


def press_wallet(local: PaymentLocal, key: str) -> None:
    local.wallet_code = keypad_press(local.wallet_code, key, WALLET_CODE_MAX)
    local.message = ""


def wallet_command(local: PaymentLocal, view: Mapping[str, Any]) -> dict[str, Any] | None:
    """``pay`` wallet with the typed code (then wiped), or None with a message."""
    code = local.wallet_code
    if not WALLET_CODE_MIN <= len(code) <= WALLET_CODE_MAX:
        _say(
            local,
            N_("A payment code has {min} to {max} digits."),
            min=str(WALLET_CODE_MIN),
            max=str(WALLET_CODE_MAX),
        )
        return None
    amount = local.split_amount if 0 < local.split_amount < remaining(view) else 0
    command: dict[str, Any] = {"cmd": "pay", "method": "wallet", "code": code}
    if amount:
        command["amount"] = amount
    local.wallet_code = ""
    local.wallet_entry = False
    local.in_flight = "wallet"
    local.in_flight_amount = amount or remaining(view)
    return command


def cancel_command(local: PaymentLocal, view: Mapping[str, Any]) -> dict[str, Any] | None:
    """``cancel_payment`` when it is safe, else None with the reason as the message."""
    if not can_cancel(view, local):
        if view.get("tenders"):
            _say(local, N_("Part is already paid: please pay the rest."))
        elif unknown_payment(view):
            _say(local, N_("An attendant is checking your payment. Please wait."))
        return None
    local.wallet_entry = False
    local.wallet_code = ""
    cancel_split(local)
    return {"cmd": "cancel_payment"}


def apply_events(local: PaymentLocal, events: Iterable[Mapping[str, Any]]) -> None:
    """Fold the lane's answer into the local state."""
    for event in events:
        kind = event.get("event")
        if kind == "payment_approved":
            local.in_flight = ""
            local.split_amount = 0
            if int(event.get("remaining", 0)) > 0:
                _say(local, N_("Paid. Please choose how to pay the rest."))
        elif kind == "member_redeemed":
            local.split_amount = 0
        elif kind == "payment_declined":
            local.in_flight = ""
            _say(local, N_("The payment was declined. Try again or choose another way."))
        elif kind == "payment_unknown":
            local.in_flight = ""
            _say(local, N_("We could not confirm the payment. An attendant is coming to check."))
        elif kind == "wallet_code_needed":
            _say(local, N_("Show your payment code to the scanner, or type its number."))
        elif kind in ("payment_cancelled", "sale_completed", "sale_cancelled"):
            cancel_split(local)
            local.in_flight = ""
            local.wallet_entry = False
            local.message = ""
        elif kind == "error":
            local.in_flight = ""
            code = str(event.get("code", ""))
            _say(local, ERROR_MESSAGES.get(code, FALLBACK_ERROR))


@dataclass(frozen=True, slots=True)
class MethodButton:
    method: str
    label: str


@dataclass(frozen=True, slots=True)
class PaymentModel:
    title: str
    amount: str  # what remains, formatted
    paid_line: str  # "Paid so far: ..." when a split took some
    status: str  # what the customer should do now
    buttons: tuple[MethodButton, ...]
    can_split: bool
    can_cancel: bool
    can_go_back: bool  # not paying yet: back to the basket
    split_open: bool
    split_text: str
    part_line: str  # "Paying now: ..." when a split amount is chosen
    wallet_open: bool
    can_type_wallet: bool  # waiting for a wallet code: offer to type it
    wallet_text: str  # the typed code, all but its last four digits hidden
    message: str


def _mask_code(code: str) -> str:
    shown = code[-4:]
    return "•" * (len(code) - len(shown)) + shown


def payment_model(
    local: PaymentLocal,
    view: Mapping[str, Any],
    t: Translate,
    money: FormatMoney,
    enabled: Sequence[str] = DEFAULT_METHODS,
) -> PaymentModel:
    """Display-ready text for the payment screen."""
    _ = t
    rest = remaining(view)
    totals = view.get("totals") or {}
    paid = int(totals.get("paid", 0))
    buttons: tuple[MethodButton, ...] = ()
    status = _("Choose how to pay")
    if unknown_payment(view):
        status = _("An attendant is checking your payment. Please wait.")
    elif waiting_for_cash(view):
        status = _("An attendant is coming to take your cash.")
    elif view.get("awaiting_wallet"):
        status = _("Show your payment code to the scanner, or type its number.")
    elif view.get("blocked"):
        status = _("An attendant must check your basket first. Help is on the way.")
    else:
        offered = methods_offered(view, enabled)
        buttons = tuple(MethodButton(m, _(METHOD_LABELS[m])) for m in offered)
    busy = unknown_payment(view) or waiting_for_cash(view) or bool(view.get("awaiting_wallet"))
    part_line = ""
    if 0 < local.split_amount < rest:
        part_line = _("Paying now: {amount}").format(amount=money(local.split_amount))
    message = _(local.message).format(**local.message_args) if local.message else ""
    return PaymentModel(
        title=_("Payment"),
        amount=money(rest),
        paid_line=_("Paid so far: {amount}").format(amount=money(paid)) if paid else "",
        status=status,
        buttons=buttons,
        can_split=bool(buttons) and rest > 1 and not local.split_amount,
        can_cancel=can_cancel(view, local),
        can_go_back=view.get("mode") == "scanning" and not busy,
        split_open=local.split,
        split_text=money(int(local.split_digits or "0")),
        part_line=part_line,
        wallet_open=local.wallet_entry,
        can_type_wallet=bool(view.get("awaiting_wallet")) and not local.wallet_entry,
        wallet_text=_mask_code(local.wallet_code),
        message=message,
    )


@dataclass(frozen=True, slots=True)
class ProcessingModel:
    title: str
    amount: str
    hint: str
    progress: float  # 0..1 of the terminal's timeout, never shown full before the answer
    elapsed: str
    busy: bool  # a charge is in flight: show the progress bar
    message: str
    can_cancel: bool
    can_choose: bool  # offer "choose how to pay" (after a decline or a part payment)
    can_type_wallet: bool


PROCESSING_TITLES: Final[dict[str, str]] = {
    "card": N_("Paying by bank card"),
    "wallet": N_("Paying by payment code"),
}
PROCESSING_HINTS: Final[dict[str, str]] = {
    "card": N_("Follow the instructions on the card terminal."),
    "wallet": N_("Confirm the payment on your phone if it asks."),
}


def processing_model(
    local: PaymentLocal,
    view: Mapping[str, Any],
    t: Translate,
    money: FormatMoney,
    elapsed_s: float,
    timeout_s: float,
) -> ProcessingModel:
    """The processing screen: a charge in flight (with progress), or what the paying sale is
    waiting for (a wallet code, the attendant with cash or checking an unknown payment), or
    the next choice after a decline or a part payment."""
    _ = t
    rest = remaining(view)
    message = _(local.message).format(**local.message_args) if local.message else ""
    busy = bool(local.in_flight)
    fraction = 0.0
    if busy and timeout_s > 0:
        fraction = min(max(elapsed_s, 0.0) / timeout_s, 0.95)
    elapsed = _("Waiting {seconds} s").format(seconds=int(max(elapsed_s, 0.0))) if busy else ""
    amount = money(local.in_flight_amount if busy else rest)
    can_choose = False
    if busy:
        method = local.in_flight
        title = _(PROCESSING_TITLES.get(method, PROCESSING_TITLES["card"]))
        hint = _(PROCESSING_HINTS.get(method, PROCESSING_HINTS["card"]))
    elif unknown_payment(view):
        title = _("Checking your payment")
        hint = _("An attendant is checking your payment. Please wait.")
    elif view.get("awaiting_wallet"):
        title = _("Payment code")
        hint = _("Show your payment code to the scanner, or type its number.")
    elif waiting_for_cash(view):
        title = _("Cash payment")
        hint = _("An attendant is coming to take your cash.")
    elif view.get("mode") == "complete":
        title = _("Payment complete")
        hint = ""
    else:
        title = _("Payment")
        hint = _("Choose how to pay")
        can_choose = rest > 0
    return ProcessingModel(
        title=title,
        amount=amount,
        hint=hint,
        progress=fraction,
        elapsed=elapsed,
        busy=busy,
        message=message,
        can_cancel=can_cancel(view, local),
        can_choose=can_choose,
        can_type_wallet=bool(view.get("awaiting_wallet")) and not busy,
    )
