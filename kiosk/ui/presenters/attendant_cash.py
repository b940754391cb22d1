"""The attendant's cash screen: amount tendered, change, the drawer, and a no-sale drawer opening.
Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.attendant_cash``; unit-tested without Kivy
(tests/unit/ui/test_attendant_cash_presenter.py). The attendant types what the customer
handed over on the amount keypad (or taps a note), the screen sends ``cash`` with ``tendered``;
the lane applies cash rounding, pulses the drawer on its own thread and answers ``cash_taken``
(``change``) and ``drawer_opened`` (or ``device_fault`` for the drawer). The change shown is
the lane's, never computed here. The drawer's state comes from the view's ``devices`` (its
``detail`` is ``open`` or ``closed`` when a switch is fitted) and ``device_status`` events; until
it reads ``closed`` the screen says it is waiting for the drawer to close.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kiosk.money import exponent
from kiosk.ui.presenters.attendant_entry import N_, AmountEntry, EntryError, Translate

logger = logging.getLogger(__name__)

# Notes offered as quick-tender buttons, in major units of the currency.
NOTES: Final[tuple[int, ...]] = (1, 5, 10, 20, 50, 100, 200, 500, 1000)
QUICK_COUNT: Final = 3

# No-sale drawer reasons offered as buttons: (what the audit records, msgid shown).
NO_SALE_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("change for a customer", N_("Change for a customer")),
    ("count the float", N_("Count the float")),
    ("device test", N_("Device test")),
)

DRAWER_UNKNOWN: Final = "unknown"
DRAWER_OPEN: Final = "open"
DRAWER_CLOSED: Final = "closed"
DRAWER_FAULT: Final = "fault"


def drawer_state(view: Mapping[str, Any]) -> str:
    """``open``, ``closed``, ``fault`` or ``unknown`` (no drawer, or no switch fitted)."""
    for device in view.get("devices") or ():
        if str(device.get("name", "")).startswith("drawer"):
            if not device.get("ok", True):
                return DRAWER_FAULT
            detail = str(device.get("detail", "")).strip().lower()
            if detail in (DRAWER_OPEN, DRAWER_CLOSED):
                return detail
            return DRAWER_UNKNOWN
    return DRAWER_UNKNOWN


def quick_tenders(remaining: int, currency: str, count: int = QUICK_COUNT) -> tuple[int, ...]:
    """The exact amount, then the smallest notes that cover ``remaining`` (minor units)."""
    if remaining <= 0:
        return ()
    unit = 10 ** exponent(currency)
    amounts = [remaining]
    for note in NOTES:
        minor = note * unit
        if minor > remaining and len(amounts) < count + 1:
            amounts.append(minor)
    return tuple(amounts)


@dataclass(frozen=True, slots=True)
class CashModel:
    remaining: str
    tendered: str
    quick: tuple[tuple[int, str], ...]
    can_take: bool
    taken: bool
    change: str
    change_minor: int
    still_to_pay: str
    drawer: str
    drawer_text: str
    waiting_for_drawer: bool
    completed: bool
    message: str
    no_sale_reasons: tuple[tuple[str, str], ...]


class CashDesk:
    """The cash screen's state across lane answers: what was typed and what the lane did."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.entry = AmountEntry(currency)
        self.taken: Mapping[str, Any] | None = None
        self.drawer_opened = False
        self.drawer_fault = ""
        self.drawer_seen_closed = False
        self.completed = False
        self.message = ""

    def reset(self) -> None:
        """Start afresh (the screen is entered again)."""
        self.entry = AmountEntry(self.currency)
        self.taken = None
        self.drawer_opened = False
        self.drawer_fault = ""
        self.drawer_seen_closed = False
        self.completed = False
        self.message = ""

    def cash_command(self, remaining: int) -> dict[str, Any]:
        if remaining <= 0:
            raise EntryError(N_("Nothing is left to pay"))
        tendered = self.entry.require(1)
        return {"cmd": "cash", "tendered": tendered}

    @staticmethod
    def no_sale_command(reason: str) -> dict[str, Any]:
        if not reason.strip():
            raise EntryError(N_("Choose why the drawer is opened"))
        return {"cmd": "open_drawer", "reason": reason.strip()}

    def on_lane(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            name = event.get("event")
            if name == "cash_taken":
                self.taken = dict(event)
                self.entry.press("clear")
                self.drawer_seen_closed = False
            elif name == "drawer_opened":
                self.drawer_opened = True
                self.drawer_fault = ""
                self.drawer_seen_closed = False
            elif name == "device_fault" and event.get("device") == "drawer":
                self.drawer_fault = str(event.get("message", ""))
            elif name == "device_status" and event.get("device") == "drawer":
                if event.get("status") == "closed":
                    self.drawer_seen_closed = True
            elif name == "sale_completed":
                self.completed = True

    def model(
        self, view: Mapping[str, Any], t: Translate, money: Callable[[int], str]
    ) -> CashModel:
        totals = view.get("totals") or {}
        remaining = int(totals.get("remaining", 0))
        state = drawer_state(view)
        if self.drawer_fault:
            state = DRAWER_FAULT
        waiting = self.drawer_opened and state == DRAWER_OPEN and not self.drawer_seen_closed
        if self.drawer_fault:
            drawer_text = t(N_("The drawer did not open: {message}")).format(
                message=self.drawer_fault
            )
        elif waiting:
            drawer_text = t(N_("Waiting for the drawer to close"))
        elif state == DRAWER_OPEN:
            drawer_text = t(N_("The drawer is open"))
        elif self.drawer_opened and state == DRAWER_CLOSED:
            drawer_text = t(N_("The drawer is closed"))
        elif state == DRAWER_FAULT:
            drawer_text = t(N_("The drawer has a fault"))
        else:
            drawer_text = ""
        taken = self.taken or {}
        change = int(taken.get("change", 0))
        # what was handed over stays beside its change until the next amount is typed
        typed = not self.entry.empty or self.taken is None
        return CashModel(
            remaining=money(remaining),
            tendered=money(self.entry.minor if typed else int(taken.get("tendered", 0))),
            quick=tuple(
                (amount, money(amount)) for amount in quick_tenders(remaining, self.currency)
            ),
            can_take=remaining > 0 and not self.entry.empty,
            taken=self.taken is not None,
            change=money(change),
            change_minor=change,
            still_to_pay=money(int(taken.get("remaining", 0))) if taken.get("remaining") else "",
            drawer=state,
            drawer_text=drawer_text,
            waiting_for_drawer=waiting,
            completed=self.completed or view.get("mode") == "complete",
            message=self.message,
            no_sale_reasons=tuple((value, t(msgid)) for value, msgid in NO_SALE_REASONS),
        )
