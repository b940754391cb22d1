"""The attendant's device screen: the health of every device and the tests the lane offers.
Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.attendant_devices``; unit-tested without
Kivy (tests/unit/ui/test_attendant_devices_presenter.py). The rows come from the view's
``devices`` (read by the lane at start-up, after each device event and every few seconds) and
the device reports seen since the screen opened (``device_status``, ``device_fault``).

Tests: the lane protocol has a command that exercises the drawer (``open_drawer``, audited,
reason ``device test``) and the printer only by printing a copy of a receipt (``reprint``);
it has no command to test-print a page, cycle the status light or read one scan without
selling it. Those tests are ``kiosk hw test printer|light|scanner`` (``kiosk.app.hw_tools``),
which must run with the kiosk stopped; the screen says so instead of pretending.
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


def _family(name: str) -> str:
    for family in DEVICE_MSGIDS:
        if name.startswith(family):
            return family
    return name


def _test(family: str, t: Translate) -> tuple[str, Mapping[str, Any] | None, str]:
    if family == "drawer":
        return t(N_("Open the drawer")), {"cmd": "open_drawer", "reason": TEST_REASON}, ""
    if family == "printer":
        return (
            t(N_("Reprint the last receipt")),
            {"cmd": "reprint"},
            t(N_("Test page: stop the kiosk and run kiosk hw test printer")),
        )
    if family in ("light", "scanner"):
        return (
            "",
            None,
            t(N_("Stop the kiosk and run kiosk hw test {device}")).format(device=family),
        )
    return "", None, ""


def device_rows(view: Mapping[str, Any], t: Translate) -> tuple[DeviceRow, ...]:
    rows = []
    for device in view.get("devices") or ():
        name = str(device.get("name", ""))
        family = _family(name)
        ok = bool(device.get("ok"))
        label, command, hint = _test(family, t)
        rows.append(
            DeviceRow(
                name=name,
                title=t(DEVICE_MSGIDS[family]) if family in DEVICE_MSGIDS else name,
                kind=str(device.get("kind", "")),
                ok=ok,
                status=t(N_("OK")) if ok else t(N_("Fault")),
                detail=str(device.get("detail", "")),
                fake=bool(device.get("fake")),
                test_label=label,
                test_command=command,
                test_hint=hint,
            )
        )
    return tuple(rows)


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
            elif name in ("receipt_printed", "receipt_not_printed"):
                status = "printed" if name == "receipt_printed" else "not printed"
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
            out.append(f"{title}: {status}" + (f" ({detail})" if detail else ""))
        return "\n".join(out)
