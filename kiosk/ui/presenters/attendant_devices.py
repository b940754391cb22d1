"""The attendant's device screen: the health of every device and the tests the lane offers.
Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.attendant_devices``; unit-tested without
Kivy (tests/unit/ui/test_attendant_devices_presenter.py). The rows come from the view's
``devices`` (read by the lane at start-up, after each device event and every few seconds) and
``device_tests`` (the light and scanner tests running), and the device reports seen since the
screen opened (``device_status``, ``device_fault``, ``device_test_result``...).

Tests, each a lane command (audited by the lane): the drawer opens with ``open_drawer``
(reason ``device test``); the printer prints a test page (``printer_test``: the row then shows
whether it printed, or the printer's reason) or a copy of the last receipt (``reprint``, its
second button); the status light cycles through its states (``light_test``: the row shows the
state on the light, then the result); the scanner echoes the next scan instead of selling it
(``scanner_test``: the row asks for a scan and then shows what was read: kind, symbology, code
and a GS1 code's AIs; ``scanner_test_cancel`` stops it, and so does leaving the screen).
``DeviceTestResults`` keeps the last result of each.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.presenters.attendant_entry import N_, Translate

logger = logging.getLogger(__name__)

DEVICE_MSGIDS: Final[Mapping[str, str]] = {
    "printer": N_("Receipt printer"),
    "drawer": N_("Cash drawer"),
    "light": N_("Status light"),
    "scanner": N_("Scanner"),
    "terminal": N_("Card terminal"),
    "wallet": N_("Wallet gateway"),
}
TEST_REASON: Final = "device test"
MAX_REPORTS: Final = 8
LIGHT_STATE_MSGIDS: Final[Mapping[str, str]] = {
    "ready": N_("Ready"),
    "attention": N_("Attention"),
    "intervention": N_("Intervention"),
    "out_of_service": N_("Out of service"),
}
SCAN_KIND_MSGIDS: Final[Mapping[str, str]] = {
    "product": N_("Product"),
    "variable_measure": N_("Store label"),
    "staff_badge": N_("Staff badge"),
    "member": N_("Member card"),
    "coupon": N_("Coupon"),
    "wallet": N_("Payment code"),
    "receipt": N_("Receipt"),
    "invalid": N_("Unusable code"),
}
# Symbology names are the industry's, never translated.
SYMBOLOGY_NAMES: Final[Mapping[str, str]] = {
    "ean13": "EAN-13",
    "ean8": "EAN-8",
    "upca": "UPC-A",
    "upce": "UPC-E",
    "gtin14": "ITF-14",
    "gs1": "GS1",
}


@dataclass(frozen=True, slots=True)
class DeviceRow:
    name: str
    title: str
    kind: str
    ok: bool
    status: str
    detail: str
    fake: bool
    test_label: str
    test_command: Mapping[str, Any] | None
    test_hint: str
    hint_is_error: bool = False
    # a second test button (the printer's reprint); none when extra_command is None
    extra_label: str = ""
    extra_command: Mapping[str, Any] | None = None


def _family(name: str) -> str:
    for family in DEVICE_MSGIDS:
        if name.startswith(family):
            return family
    return name


def _test(
    family: str,
    t: Translate,
    running: Mapping[str, Mapping[str, Any]],
    results: DeviceTestResults | None,
) -> tuple[str, Mapping[str, Any] | None, str, bool]:
    """(button label, its command, the hint under the row, whether the hint is a fault)."""
    last = results.last(family, t) if results is not None else ("", False)
    if family == "drawer":
        return t(N_("Open the drawer")), {"cmd": "open_drawer", "reason": TEST_REASON}, "", False
    if family == "printer":
        return t(N_("Print a test page")), {"cmd": "printer_test"}, *last
    if family == "light":
        test = running.get("light")
        if test is not None:
            state = str(test.get("state", ""))
            shown = t(LIGHT_STATE_MSGIDS[state]) if state in LIGHT_STATE_MSGIDS else state
            hint = t(N_("Showing {state} ({step} of {steps})")).format(
                state=shown, step=test.get("step", ""), steps=test.get("steps", "")
            )
            return "", None, hint, False
        return t(N_("Test the light")), {"cmd": "light_test"}, *last
    if family == "scanner":
        test = running.get("scanner")
        if test is not None:
            hint = t(N_("Scan any barcode now: it is shown here, not sold (up to {seconds} s)"))
            return (
                t(N_("Stop the scanner test")),
                {"cmd": "scanner_test_cancel"},
                hint.format(seconds=_seconds(test.get("timeout_s"))),
                False,
            )
        return t(N_("Test scanner")), {"cmd": "scanner_test"}, *last
    return "", None, "", False


def _detail(detail: str, t: Translate) -> str:
    return t(DETAIL_MSGIDS[detail]) if detail in DETAIL_MSGIDS else detail


def _seconds(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return "?"


def running_tests(view: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The view's ``device_tests`` by device (``light``, ``scanner``)."""
    tests = view.get("device_tests") or ()
    return {str(test.get("device")): test for test in tests if isinstance(test, Mapping)}


def scanner_test_running(view: Mapping[str, Any]) -> bool:
    return "scanner" in running_tests(view)


def device_rows(
    view: Mapping[str, Any], t: Translate, results: DeviceTestResults | None = None
) -> tuple[DeviceRow, ...]:
    rows = []
    running = running_tests(view)
    for device in view.get("devices") or ():
        name = str(device.get("name", ""))
        family = _family(name)
        ok = bool(device.get("ok"))
        label, command, hint, hint_is_error = _test(family, t, running, results)
        extra_label, extra_command = "", None
        if family == "printer":
            extra_label, extra_command = t(N_("Reprint the last receipt")), {"cmd": "reprint"}
        rows.append(
            DeviceRow(
                name=name,
                title=t(DEVICE_MSGIDS[family]) if family in DEVICE_MSGIDS else name,
                kind=str(device.get("kind", "")),
                ok=ok,
                status=t(N_("OK")) if ok else t(N_("Fault")),
                detail=_detail(str(device.get("detail", "")), t),
                fake=bool(device.get("fake")),
                test_label=label,
                test_command=command,
                test_hint=hint,
                hint_is_error=hint_is_error,
                extra_label=extra_label,
                extra_command=extra_command,
            )
        )
    return tuple(rows)


def scan_text(scan: Mapping[str, Any], t: Translate) -> str:
    """What a scanner test read, for the scanner's row: kind, symbology and code on one line;
    the reason of an unusable code, or a GS1 code's AIs (``(10) BATCH/LOT: ABC``), below."""
    kind = str(scan.get("kind", ""))
    parts = [t(SCAN_KIND_MSGIDS[kind]) if kind in SCAN_KIND_MSGIDS else kind]
    symbology = SYMBOLOGY_NAMES.get(str(scan.get("symbology")))
    identifier = scan.get("identifier")
    if symbology is not None:
        parts.append(symbology)
    elif isinstance(identifier, str) and identifier:
        parts.append(identifier.replace("_", " "))
    parts.append(str(scan.get("code", "")))
    lines = [t(N_("Read: {what}")).format(what=" · ".join(parts))]
    details = scan.get("details") or {}
    if kind == "invalid" and isinstance(details, Mapping):
        lines.append(str(details.get("message") or details.get("reason") or ""))
    ais = [ai for ai in scan.get("ais") or () if isinstance(ai, Mapping)]
    if ais:
        lines.append(
            "  ".join(f"({ai.get('ai')}) {ai.get('title')}: {ai.get('value')}" for ai in ais)
        )
    return "\n".join(line for line in lines if line)


class DeviceTestResults:
    """The last result of the light, scanner and printer tests seen while the screen is open."""

    def __init__(self) -> None:
        self.results: dict[str, Mapping[str, Any]] = {}  # device -> its device_test_result

    def on_lane(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            if event.get("event") == "device_test_result":
                self.results[str(event.get("device", ""))] = event

    def last(self, device: str, t: Translate) -> tuple[str, bool]:
        """(the text of ``device``'s last result, whether it failed); ("", False) if none."""
        event = self.results.get(device)
        if event is None:
            return "", False
        result = event.get("result")
        message = str(event.get("message", ""))
        if device == "printer":
            if result == "ok":
                return t(N_("Test page printed")), False
            return t(N_("Test page not printed: {reason}")).format(reason=message), True
        if result == "ok":
            scan = event.get("scan")
            if isinstance(scan, Mapping):
                return scan_text(scan, t), scan.get("kind") == "invalid"
            return t(N_("Light test OK: every state was shown")), False
        if result == "fault":
            return t(N_("Light test failed: {reason}")).format(reason=message), True
        if result == "timeout":
            return t(N_("No scan arrived in time")), True
        return t(N_("Test stopped")), False


# The words the device adapters' health reports use (kiosk.hw), shown in the staff language;
# anything else (a fault's own message, a light escalated) is shown as the adapter said it.
DETAIL_MSGIDS: Final[Mapping[str, str]] = {
    **LIGHT_STATE_MSGIDS,
    "off": N_("Off"),
    "open": N_("Open"),
    "closed": N_("Closed"),
    "no switch fitted": N_("No drawer switch fitted"),
    "paper near end": N_("Paper near its end"),
    "connected": N_("Connected"),
    "disconnected": N_("Disconnected"),
    "unplugged": N_("Unplugged"),
    "closed down": N_("Closed down"),
}

# What the device log says a report was (the lane's device kinds, kiosk.lane_devices, and the
# screen's own words for the other events); a kind not listed here is shown as it came.
REPORT_MSGIDS: Final[Mapping[str, str]] = {
    "opened": N_("opened"),
    "closed": N_("closed"),
    "left_open": N_("left open"),
    "not_opened": N_("did not open"),
    "pulsed": N_("opened by the kiosk"),
    "paper_near_end": N_("paper near its end"),
    "paper_out": N_("out of paper"),
    "paper_ok": N_("paper loaded"),
    "cover_open": N_("cover open"),
    "cover_closed": N_("cover closed"),
    "offline": N_("offline"),
    "back_online": N_("back online"),
    "printed": N_("receipt printed"),
    "not_printed": N_("receipt not printed"),
    "disconnected": N_("disconnected"),
    "connected": N_("connected"),
    "reconnected": N_("reconnected"),
    "too_long": N_("a read too long for a barcode"),
    "non_printable": N_("a read with unprintable characters"),
    "undecodable": N_("a read that could not be decoded"),
    "bad_framing": N_("a read without its end of line"),
    "empty": N_("an empty read"),
    "incomplete": N_("an incomplete read"),
    "unmapped_key": N_("a key the scanner's layout does not know"),
    "fault": N_("fault"),
    "test_ok": N_("test passed"),
    "test_fault": N_("test failed"),
    "test_timeout": N_("test timed out"),
    "test_stopped": N_("test stopped"),
}


class DeviceLog:
    """The device reports seen while the screen is open, newest first (at most MAX_REPORTS)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []  # (device, status, detail)

    def on_lane(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            name = event.get("event")
            if name == "device_status":
                detail = event.get("detail") or {}
                extra = str(detail.get("message", "")) if isinstance(detail, Mapping) else ""
                self._add(str(event.get("device", "")), str(event.get("status", "")), extra)
            elif name == "device_fault":
                self._add(str(event.get("device", "")), "fault", str(event.get("message", "")))
            elif name == "drawer_opened":
                self._add("drawer", "pulsed", "")
            elif name == "device_test_result":
                device = str(event.get("device", ""))
                self._add(device, f"test_{event.get('result', '')}", str(event.get("message", "")))
            elif name in ("receipt_printed", "receipt_not_printed"):
                status = "printed" if name == "receipt_printed" else "not_printed"
                self._add("printer", status, str(event.get("message", event.get("job", ""))))

    def _add(self, device: str, status: str, detail: str) -> None:
        self.lines.insert(0, (device, status, detail))
        del self.lines[MAX_REPORTS:]

    def text(self, t: Translate) -> str:
        out = []
        for device, status, detail in self.lines:
            title = (
                t(DEVICE_MSGIDS[_family(device)]) if _family(device) in DEVICE_MSGIDS else device
            )
            said = t(REPORT_MSGIDS[status]) if status in REPORT_MSGIDS else status
            out.append(f"{title}: {said}" + (f" ({detail})" if detail else ""))
        return "\n".join(out)
