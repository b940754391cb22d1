"""The attendant's main screen: the intervention queue and the sale's lines. Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.attendant`` whenever a new lane view arrives;
unit-tested without Kivy (tests/unit/ui/test_attendant_presenter.py). ``attendant_panel`` turns
the view into rows the screen draws: each open intervention with its reason, the item it
concerns, how long it has waited (from ``opened_at``) and the actions the lane accepts for it,
each action already a lane-protocol command (or the attendant screen to open for it).

An age check is approved by ``clear`` with ``approve``: the lane records that the attendant
checked it (who and when), never any ID data; this screen has no field for any.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from babel.dates import format_timedelta

from kiosk.ui.format import locale_of
from kiosk.ui.presenters.attendant_entry import N_, Translate

logger = logging.getLogger(__name__)

FormatDuration = Callable[[int], str]

REASON_MSGIDS: Final[Mapping[str, str]] = {
    "age_check": N_("Age check"),
    "unknown_item": N_("Unknown item"),
    "not_for_sale": N_("Item not for sale"),
    "quantity_limit": N_("Quantity limit"),
    "expired_item": N_("Expired item"),
    "void": N_("Remove a line"),
    "price_override": N_("Price override"),
    "help": N_("Customer needs help"),
    "payment_unknown": N_("Payment outcome unknown"),
    "cash_payment": N_("Cash payment"),
    "printer_fault": N_("Printer fault"),
    "paper_low": N_("Paper low"),
    "print_uncertain": N_("Receipt may not have printed"),
    "drawer_fault": N_("Drawer fault"),
    "drawer_left_open": N_("Drawer left open"),
    "scanner_disconnected": N_("Scanner disconnected"),
    "storage": N_("Storage problem"),
    "abandoned": N_("Basket left: sale suspended"),
}

MODE_MSGIDS: Final[Mapping[str, str]] = {
    "idle": N_("Idle"),
    "scanning": N_("Scanning"),
    "paying": N_("Paying"),
    "complete": N_("Sale complete"),
    "out_of_service": N_("Out of service"),
}

# Screens an action may open instead of (or before) sending a command.
ITEM_SCREEN: Final = "attendant_item"
CASH_SCREEN: Final = "attendant_cash"


@dataclass(frozen=True, slots=True)
class Action:
    """A button: its label and either a lane command to send or an attendant screen to open."""

    key: str
    label: str
    command: Mapping[str, Any] | None = None
    screen: str | None = None
    danger: bool = False


@dataclass(frozen=True, slots=True)
class QueueRow:
    intervention: str
    reason: str
    title: str
    item: str
    waiting_s: int
    waiting: str
    blocking: bool
    line: int | None
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class LineRow:
    line: int
    name: str
    qty: str
    amount: str
    voided: bool
    adjusted: bool
    age_limit: int | None


@dataclass(frozen=True, slots=True)
class AttendantPanel:
    staff: str
    role: str
    mode: str
    mode_text: str
    rows: tuple[QueueRow, ...]
    lines: tuple[LineRow, ...]
    remaining: str
    can_cancel_sale: bool
    can_take_cash: bool
    can_edit_lines: bool
    out_of_service: bool
    out_of_service_reason: str
    can_reprint: bool
    empty_text: str
    messages: tuple[str, ...] = field(default=())


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 UTC time from the view (``2026-11-27T09:28:17.596Z``); None if unreadable."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def waiting_seconds(opened_at: Any, now: datetime) -> int:
    """Whole seconds since ``opened_at`` (0 when it is unreadable or in the future)."""
    opened = parse_time(str(opened_at)) if opened_at else None
    if opened is None:
        return 0
    return max(0, int((now - opened).total_seconds()))


def duration_text(seconds: int, lang: str) -> str:
    """A waiting time for the locale, short: ``45 sec``, ``3 min``, ``2 hr`` (``3分钟``)."""
    return format_timedelta(
        timedelta(seconds=max(0, seconds)), threshold=2, format="short", locale=locale_of(lang)
    )


def _clear(item: Mapping[str, Any], resolution: str, **extra: Any) -> dict[str, Any]:
    return {
        "cmd": "clear",
        "intervention": str(item.get("intervention", "")),
        "resolution": resolution,
        **extra,
    }


def actions_for(item: Mapping[str, Any], t: Translate) -> tuple[Action, ...]:
    """The buttons for one open intervention, as the lane expects each reason to be cleared."""
    reason = str(item.get("reason", ""))
    detail = item.get("detail") or {}
    approve = _clear(item, "approve")
    reject = _clear(item, "reject")
    if reason == "age_check":
        return (
            Action("approve", t(N_("Age checked: OK")), approve),
            Action("reject", t(N_("Under age: remove items")), reject, danger=True),
        )
    if reason == "unknown_item":
        return (
            Action("key_in", t(N_("Key in the item")), None, ITEM_SCREEN),
            Action("reject", t(N_("Do not add")), reject, danger=True),
        )
    if reason in ("quantity_limit", "expired_item"):
        return (
            Action("approve", t(N_("Add anyway")), approve),
            Action("reject", t(N_("Do not add")), reject, danger=True),
        )
    if reason == "void":
        return (
            Action("approve", t(N_("Remove the line")), approve, danger=True),
            Action("reject", t(N_("Keep the line")), reject),
        )
    if reason == "payment_unknown":
        return (
            Action("key_in", t(N_("Paid: enter the reference")), None, ITEM_SCREEN),
            Action("reject", t(N_("Not paid")), reject, danger=True),
        )
    if reason == "cash_payment":
        return (
            Action("cash", t(N_("Take cash")), None, CASH_SCREEN),
            Action("reject", t(N_("Cancel cash payment")), reject, danger=True),
        )
    if reason == "printer_fault" and detail.get("job"):
        return (
            Action(
                "retry", t(N_("Print again")), {"cmd": "retry_print", "job": str(detail["job"])}
            ),
            Action("approve", t(N_("Close")), approve),
        )
    if reason == "print_uncertain" and detail.get("receipt_no"):
        return (
            Action(
                "reprint",
                t(N_("Reprint")),
                {"cmd": "reprint", "receipt_no": str(detail["receipt_no"])},
            ),
            Action("approve", t(N_("It printed: close")), approve),
        )
    if reason == "abandoned":
        return (
            Action("resume", t(N_("Resume the sale")), _clear(item, "resume")),
            Action("cancel", t(N_("Cancel the sale")), _clear(item, "cancel"), danger=True),
        )
    if reason == "storage":
        return (Action("approve", t(N_("Try again")), approve),)
    if reason == "help":
        return (Action("approve", t(N_("Helped: close")), approve),)
    return (Action("approve", t(N_("Close")), approve),)


def _item_text(item: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], t: Translate) -> str:
    detail = item.get("detail") or {}
    line_no = item.get("line")
    name = str(detail.get("name", ""))
    if not name and line_no is not None:
        for line in lines:
            if line.get("line") == line_no:
                name = str(line.get("name", ""))
    if item.get("reason") == "age_check" and detail.get("age"):
        return t(N_("{name} (age {age}+)")).format(name=name, age=detail["age"])
    if name:
        return name
    for key, msgid in (
        ("code", N_("Code {value}")),
        ("receipt_no", N_("Receipt {value}")),
        ("scanner", N_("Scanner {value}")),
        ("drawer", N_("Drawer {value}")),
        ("lines", N_("{value} lines in the basket")),
        ("message", "{value}"),
    ):
        if detail.get(key):
            return t(msgid).format(value=detail[key]) if msgid != "{value}" else str(detail[key])
    return ""


def queue_rows(
    view: Mapping[str, Any], now: datetime, t: Translate, duration: FormatDuration
) -> tuple[QueueRow, ...]:
    """The open interventions, blocking ones first, then the longest waiting first."""
    lines = view.get("lines") or ()
    rows = []
    for item in view.get("interventions") or ():
        reason = str(item.get("reason", ""))
        waited = waiting_seconds(item.get("opened_at"), now)
        line = item.get("line")
        rows.append(
            QueueRow(
                intervention=str(item.get("intervention", "")),
                reason=reason,
                title=t(REASON_MSGIDS.get(reason, N_("Needs an attendant"))),
                item=_item_text(item, lines, t),
                waiting_s=waited,
                waiting=duration(waited),
                blocking=bool(item.get("blocking")),
                line=line if isinstance(line, int) else None,
                actions=actions_for(item, t),
            )
        )
    rows.sort(key=lambda row: (not row.blocking, -row.waiting_s))
    return tuple(rows)


def line_rows(view: Mapping[str, Any], money: Callable[[int], str]) -> tuple[LineRow, ...]:
    return tuple(
        LineRow(
            line=int(line["line"]),
            name=str(line.get("name", "")),
            qty=str(line.get("qty", "")),
            amount=money(int(line.get("amount", 0))),
            voided=bool(line.get("voided")),
            adjusted=bool(line.get("adjustments")),
            age_limit=line.get("age_limit"),
        )
        for line in view.get("lines") or ()
    )


def attendant_panel(
    view: Mapping[str, Any],
    now: datetime,
    t: Translate,
    money: Callable[[int], str],
    duration: FormatDuration,
) -> AttendantPanel:
    """Everything the attendant screen shows for ``view``."""
    attendant = view.get("attendant") or {}
    mode = str(view.get("mode", ""))
    totals = view.get("totals") or {}
    has_lines = any(not line.get("voided") for line in view.get("lines") or ())
    selling = mode in ("scanning", "paying")
    no_tenders = not view.get("tenders")
    rows = queue_rows(view, now, t, duration)
    return AttendantPanel(
        staff=str(attendant.get("name") or attendant.get("staff") or ""),
        role=t(N_("Supervisor")) if attendant.get("role") == "supervisor" else t(N_("Attendant")),
        mode=mode,
        mode_text=t(MODE_MSGIDS.get(mode, N_("Idle"))),
        rows=rows,
        lines=line_rows(view, money),
        remaining=money(int(totals.get("remaining", 0))),
        can_cancel_sale=selling and no_tenders,
        can_take_cash=selling and has_lines and int(totals.get("remaining", 0)) > 0,
        can_edit_lines=mode == "scanning",
        out_of_service=mode == "out_of_service",
        out_of_service_reason=str(view.get("out_of_service") or ""),
        can_reprint=bool(view.get("last_receipt")) or mode in ("idle", "complete"),
        empty_text=t(N_("Nothing is waiting for you.")) if not rows else "",
    )


# Why an attendant closes the lane, offered as buttons: the reason sent (one customers are told,
# kiosk.ui.presenters.notices.CUSTOMER_REASONS) and the button's msgid.
CLOSE_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("cleaning", N_("Cleaning")),
    ("maintenance", N_("Maintenance")),
    ("end of day", N_("End of day")),
)


def close_lane_actions(t: Translate) -> tuple[Action, ...]:
    """The choice "Close the lane" opens: a reason customers are told, none, or not at all."""
    return (
        *(
            Action(reason, t(msgid), out_of_service_command(True, reason))
            for reason, msgid in CLOSE_REASONS
        ),
        Action("no_reason", t(N_("No reason")), out_of_service_command(True)),
        Action("keep_open", t(N_("Keep it open"))),  # no command: back to the queue
    )


def out_of_service_command(on: bool, reason: str = "") -> dict[str, Any]:
    """``out_of_service`` on (with an optional reason shown to customers) or off."""
    command: dict[str, Any] = {"cmd": "out_of_service", "on": on}
    if on and reason.strip():
        command["reason"] = reason.strip()
    return command


def cancel_sale_command() -> dict[str, Any]:
    return {"cmd": "cancel_sale"}


def logout_command() -> dict[str, Any]:
    return {"cmd": "staff_logout"}


def reprint_command(receipt_no: str = "") -> dict[str, Any]:
    command: dict[str, Any] = {"cmd": "reprint"}
    if receipt_no.strip():
        command["receipt_no"] = receipt_no.strip()
    return command
