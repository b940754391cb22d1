"""The attendant's device screen: every device's health, the tests the lane offers, and the
device reports seen while the screen is open.

Kivy thread only. Rows come from the view's ``devices`` and ``device_tests``
(``kiosk.ui.presenters.attendant_devices``); a row's test button sends its lane command
(``open_drawer`` with reason ``device test``, ``printer_test``, ``light_test``,
``scanner_test`` or ``scanner_test_cancel``; the printer's row also has ``reprint``) and never
waits: the lane runs the test on its own thread and its
``device_test_result`` comes back as a lane event, shown under the row. Leaving the screen
during a scanner test stops it, so the next customer's scan is sold again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.presenters.attendant_devices import (
    DeviceLog,
    DeviceRow,
    DeviceTestResults,
    device_rows,
    scanner_test_running,
)
from kiosk.ui.screens.attendant import AttendantBase
from kiosk.ui.widgets import KioskButton

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class DeviceItem(BoxLayout):  # type: ignore[misc]  # Kivy has no type hints
    """One device: name, status, detail, test (rule in attendant_devices.kv)."""

    title = StringProperty("")
    status = StringProperty("")
    detail = StringProperty("")
    hint = StringProperty("")
    hint_is_error = BooleanProperty(False)
    ok = BooleanProperty(True)


class AttendantDevicesScreen(AttendantBase):
    log_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = DeviceLog()
        self.results = DeviceTestResults()
        self._shown: tuple[Any, ...] = ()

    def entered(self, app: KioskApp) -> None:
        self.log = DeviceLog()
        self.results = DeviceTestResults()
        self._shown = ()

    def on_pre_leave(self, *_args: Any) -> None:
        """A scanner test must not outlive the screen: the next scan would not be sold."""
        app = App.get_running_app()
        if app is not None and app.view.get("attendant") and scanner_test_running(app.view):
            app.send({"cmd": "scanner_test_cancel"})

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        text = self.text(app)
        rows = device_rows(view, text._, self.results)
        self.log_text = self.log.text(text._)
        if rows == self._shown:
            return
        self._shown = rows
        box = self.widget("devices")
        box.clear_widgets()
        for row in rows:
            box.add_widget(self._item(row, app))

    def _item(self, row: DeviceRow, app: KioskApp) -> DeviceItem:
        simulated = app.t("simulated", app.staff_lang)  # outside the f-string: Babel finds it
        fake = f" ({simulated})" if row.fake else ""
        item = DeviceItem(
            title=row.title + fake,
            status=row.status,
            detail=row.detail,
            hint=row.test_hint,
            hint_is_error=row.hint_is_error,
            ok=row.ok,
        )
        for label, command in (
            (row.test_label, row.test_command),
            (row.extra_label, row.extra_command),
        ):
            if command is not None:
                item.ids["test"].add_widget(self._button(label, dict(command), app))
        return item

    def _button(self, label: str, command: dict[str, Any], app: KioskApp) -> KioskButton:
        button = KioskButton(text=label)
        button.bind(on_release=lambda _b: self.send(app, command))
        return button

    def lane_events(self, events: Sequence[Mapping[str, Any]], app: KioskApp) -> None:
        self.log.on_lane(events)
        self.results.on_lane(events)
        super().lane_events(events, app)
