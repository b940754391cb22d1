"""The attendant's shift screen: open a shift, the X report, close it with the Z report.
Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.attendant_shift``; unit-tested without Kivy
(tests/unit/ui/test_attendant_shift_presenter.py). ``ShiftDesk`` holds the amount typed (the
float to open with, the cash counted to close) and builds ``shift_open``, ``x_report`` and
``shift_close``; the lane prints the report itself (a ``report`` print job) and answers
``x_report`` / ``shift_closed`` with the figures (``kiosk.shift.ShiftFigures.to_dict``), which
``report_text`` lays out on screen in the attendant's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.presenters.attendant_entry import N_, AmountEntry, EntryError, Translate

logger = logging.getLogger(__name__)

TENDER_MSGIDS: Final[Mapping[str, str]] = {
    "card": N_("Card"),
    "wallet": N_("Wallet"),
    "cash": N_("Cash"),
    "points": N_("Points"),
    "stored_value": N_("Stored value"),
}


def report_text(
    kind: str,
    shift: str,
    figures: Mapping[str, Any],
    t: Translate,
    money: Callable[[int], str],
) -> str:
    """The X (``x``) or Z (``z``) report's figures as lines of text for the screen."""
    title = t(N_("Z report (shift closed)")) if kind == "z" else t(N_("X report (so far)"))
    sales = figures.get("sales") or {}
    refunds = figures.get("refunds") or {}
    cash = figures.get("cash") or {}
    out = [f"{title}: {shift}", ""]

    def row(label: str, value: str) -> None:
        out.append(f"{label}: {value}")

    row(t(N_("Sales")), f"{int(sales.get('count', 0))} / {money(int(sales.get('due', 0)))}")
    row(t(N_("Discounts")), money(int(sales.get("discount", 0))))
    row(t(N_("Tax")), money(int(sales.get("tax", 0))))
    for tender in figures.get("tenders") or ():
        label = t(TENDER_MSGIDS.get(str(tender.get("type")), str(tender.get("type"))))
        row(f"  {label}", f"{int(tender.get('count', 0))} / {money(int(tender.get('amount', 0)))}")
    row(t(N_("Refunds")), f"{int(refunds.get('count', 0))} / {money(int(refunds.get('due', 0)))}")
    first, last = figures.get("first_receipt"), figures.get("last_receipt")
    if first or last:
        row(t(N_("Receipts")), f"{first or ''} - {last or ''}")
    out.append("")
    row(t(N_("Float")), money(int(cash.get("float", 0))))
    row(t(N_("Cash from sales")), money(int(cash.get("sales", 0))))
    row(t(N_("Cash refunded")), money(int(cash.get("refunds", 0))))
    row(t(N_("Pickups")), money(int(cash.get("pickups", 0))))
    row(t(N_("Cash expected")), money(int(cash.get("expected", 0))))
    if cash.get("counted") is not None:
        row(t(N_("Cash counted")), money(int(cash["counted"])))
        row(t(N_("Difference")), money(int(cash.get("difference") or 0)))
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class ShiftModel:
    amount: str
    report: str
    status: str
    closed: bool
    difference: str


class ShiftDesk:
    """The shift screen's state: the amount typed and the last report the lane answered."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.entry = AmountEntry(currency)
        self.report_kind = ""
        self.shift = ""
        self.figures: Mapping[str, Any] | None = None
        self.status_msgid = ""
        self.difference: int | None = None

    def reset(self) -> None:
        self.entry = AmountEntry(self.currency)
        self.report_kind = ""
        self.shift = ""
        self.figures = None
        self.status_msgid = ""
        self.difference = None

    def open_command(self) -> dict[str, Any]:
        """``shift_open`` with the float typed (none typed: no float)."""
        return {"cmd": "shift_open", "float": self.entry.minor}

    @staticmethod
    def x_report_command() -> dict[str, Any]:
        return {"cmd": "x_report"}

    def close_command(self) -> dict[str, Any]:
        """``shift_close`` with the cash counted; it must be typed (an empty drawer: type 0)."""
        if self.entry.empty:
            raise EntryError(N_("Count the cash in the drawer and type the amount first"))
        return {"cmd": "shift_close", "counted": self.entry.minor}

    def press(self, key: str) -> None:
        self.entry.press(key)

    def on_lane(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            name = event.get("event")
            if name == "shift_opened":
                self.shift = str(event.get("shift", ""))
                self.status_msgid = N_("Shift {shift} is open")
                self.entry = AmountEntry(self.currency)
            elif name == "x_report":
                self.report_kind = "x"
                self.shift = str(event.get("shift", ""))
                self.figures = event.get("figures") or {}
                self.status_msgid = N_("X report printed")
            elif name == "shift_closed":
                self.report_kind = "z"
                self.shift = str(event.get("shift", ""))
                self.figures = event.get("figures") or {}
                self.difference = int(event.get("difference") or 0)
                self.status_msgid = N_("Shift {shift} is closed; the Z report is printed")
                self.entry = AmountEntry(self.currency)

    def model(self, t: Translate, money: Callable[[int], str]) -> ShiftModel:
        report = ""
        if self.figures is not None:
            report = report_text(self.report_kind, self.shift, self.figures, t, money)
        return ShiftModel(
            amount=money(self.entry.minor),
            report=report,
            status=t(self.status_msgid).format(shift=self.shift) if self.status_msgid else "",
            closed=self.report_kind == "z",
            difference=money(self.difference) if self.difference else "",
        )
