"""The attendant's main screen (the intervention queue, the sale's lines and the lane's
switches) and ``AttendantBase``, what every attendant screen shares.

Kivy thread only. The screen draws ``kiosk.ui.presenters.attendant.attendant_panel`` in the
attendant's own language (``app.staff_lang``, independent of the customer's) and sends what
its buttons carry (lane-protocol commands) with ``app.send``; the other attendant screens open
as overlays (``app.show``). The lane's events (errors, ``cash_taken``, ``search_results``,
reports) reach the attendant screens through ``AttendantBase.lane_events``, called by the
app's ``on_lane`` through the screens' ``on_events`` hook (the view is already routed; the
current screen presents it right after).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk.ui.i18n import LANGUAGES
from kiosk.ui.presenters.attendant import (
    ITEM_SCREEN,
    Action,
    AttendantPanel,
    QueueRow,
    attendant_panel,
    cancel_sale_command,
    close_lane_actions,
    duration_text,
    logout_command,
    out_of_service_command,
    reprint_command,
)
from kiosk.ui.presenters.attendant_entry import EntryError, last_error
from kiosk.ui.presenters.attendant_item import ItemTarget
from kiosk.ui.presenters.text import Text
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.fit import caption_width
from kiosk.ui.widgets import KioskButton, KioskLabel, min_touch

if TYPE_CHECKING:
    from kiosk.checkout import Event
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)

# Refresh the waiting times on screen this often (seconds).
WAIT_REFRESH_S = 5.0


class AttendantBase(KioskScreen):
    """Shared by the attendant screens: staff-language text, messages, lane events."""

    message = StringProperty("")
    message_is_error = BooleanProperty(False)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def text(app: KioskApp) -> Text:
        return app.text(app.staff_lang)

    def say(self, message: str, error: bool = False) -> None:
        self.message = message
        self.message_is_error = error

    def send(self, app: KioskApp, command: Mapping[str, Any]) -> None:
        self.say("")
        app.send(command)

    def refuse(self, app: KioskApp, problem: EntryError) -> None:
        """Something typed cannot be used: say why, in the attendant's language."""
        self.say(problem.text(self.text(app)._), error=True)

    def on_pre_enter(self, *_args: Any) -> None:
        app = App.get_running_app()
        if app is not None:
            self.say("")
            self.entered(app)
            if app.view:
                self.present(app.view, app)

    def entered(self, app: KioskApp) -> None:
        """The screen is about to be shown (reset what was typed)."""

    # ------------------------------------------------------------------ lane events
    def on_events(self, events: list[Event], app: KioskApp) -> None:
        """The app's hook for each lane batch (Kivy thread)."""
        self.lane_events(events, app)

    def lane_events(self, events: Sequence[Mapping[str, Any]], app: KioskApp) -> None:
        """A batch of lane events (Kivy thread, before the view is presented)."""
        if self.manager is None or self.manager.current != self.name:
            return
        problem = last_error(list(events), self.text(app)._)
        if problem is not None:
            detail = f"\n{problem.detail}" if problem.detail else ""
            self.say(problem.headline + detail, error=True)


AMOUNT_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "00", "0", "back")
CODE_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back")
KEY_LABELS = {"back": "←", "clear": "C"}


class AttendantKeypad(GridLayout):  # type: ignore[misc]  # Kivy has no type hints
    """A grid of ``keys`` (digits, ``00``, ``back``, ``clear``); fires ``on_key(key)``."""

    keys = ListProperty(list(AMOUNT_KEYS))
    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cols", 3)
        super().__init__(**kwargs)
        self.bind(keys=self._build)
        self._build()

    def _build(self, *_args: Any) -> None:
        self.clear_widgets()
        for key in self.keys:
            button = KioskButton(text=KEY_LABELS.get(key, key))
            button.bind(on_release=lambda _b, k=key: self.dispatch("on_key", k))
            self.add_widget(button)

    def on_key(self, key: str) -> None:
        """Default handler (Kivy requires one)."""


class QueueItem(BoxLayout):  # type: ignore[misc]  # Kivy has no type hints
    """One open intervention: what, which item, how long, and its action buttons."""

    title = StringProperty("")
    item = StringProperty("")
    waiting = StringProperty("")
    blocking = BooleanProperty(False)


class QueueActions(GridLayout):  # type: ignore[misc]  # Kivy has no type hints
    """An intervention's buttons in as many columns as fit every caption on one line: all side
    by side when they fit, else in two columns, else one above the other (a narrow queue at
    800x480 or in portrait, a long caption)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cols", 1)  # until the buttons are measured
        super().__init__(**kwargs)
        self._arrange_soon = Clock.create_trigger(self._arrange, -1)  # before the next frame
        self.bind(width=self._arrange_soon, children=self._arrange_soon)

    def _arrange(self, *_args: Any) -> None:
        app = App.get_running_app()
        buttons = list(self.children)
        if app is None or not buttons:
            return
        gap = self.spacing[0]
        widest = max(caption_width(b.text, b.font_size, b.bold) for b in buttons)
        cols = len(buttons)
        while cols > 1:
            share = (self.width - gap * (cols - 1)) / cols
            if widest <= share - app.fs * 0.5:  # KioskButton keeps fs * 0.5 for padding
                break
            cols -= 1
        rows = -(-len(buttons) // cols)
        self.cols = cols
        self.height = max(min_touch(), app.fs * 2.6) * rows + self.spacing[1] * (rows - 1)


class AttendantScreen(AttendantBase):
    """The intervention queue, the sale's lines and the lane's switches."""

    staff = StringProperty("")
    role = StringProperty("")
    mode_text = StringProperty("")
    remaining = StringProperty("")
    empty_text = StringProperty("")
    can_cancel_sale = BooleanProperty(False)
    can_take_cash = BooleanProperty(False)
    can_edit_lines = BooleanProperty(False)
    out_of_service = BooleanProperty(False)
    out_of_service_reason = StringProperty("")
    confirm_cancel = BooleanProperty(False)
    closing = BooleanProperty(False)  # "Close the lane" asks why, in the queue's place

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.panel: AttendantPanel | None = None
        self._tick: Any = None
        self._shown_rows: tuple[QueueRow, ...] | None = None
        self._reasons_shown = False

    def entered(self, app: KioskApp) -> None:
        self.confirm_cancel = False
        self._stop_closing()
        if self._tick is None:
            self._tick = Clock.schedule_interval(self._refresh_waits, WAIT_REFRESH_S)

    def on_leave(self, *_args: Any) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _refresh_waits(self, _dt: float) -> None:
        app = App.get_running_app()
        if app is not None and app.view:
            self.present(app.view, app)

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        text = self.text(app)
        lang = app.staff_lang
        panel = attendant_panel(
            view,
            datetime.now(UTC),
            text._,
            text.money,
            lambda seconds: duration_text(seconds, lang),
        )
        self.panel = panel
        self.staff = panel.staff
        self.role = panel.role
        self.mode_text = panel.mode_text
        self.remaining = panel.remaining
        self.empty_text = panel.empty_text
        self.can_cancel_sale = panel.can_cancel_sale
        self.can_take_cash = panel.can_take_cash
        self.can_edit_lines = panel.can_edit_lines
        self.out_of_service = panel.out_of_service
        self.out_of_service_reason = panel.out_of_service_reason
        if not panel.can_cancel_sale:
            self.confirm_cancel = False
        if self.closing and not panel.out_of_service:
            self._show_close_reasons(app)
        else:
            self._stop_closing()
            self._show_queue(panel.rows, app)
        self.widget("lines").data = [
            {
                "text": f"{row.line}. {row.name}  × {row.qty}   {row.amount}"
                + ("  " + text._("(voided)") if row.voided else "")
                + ("  *" if row.adjusted else ""),
                "line": row.line,
                "disabled": row.voided or not panel.can_edit_lines,
            }
            for row in panel.lines
        ]

    def _show_queue(self, rows: tuple[QueueRow, ...], app: KioskApp) -> None:
        if rows == self._shown_rows:
            return
        self._shown_rows = rows
        box = self.widget("queue")
        box.clear_widgets()
        for row in rows:
            item = QueueItem(
                title=row.title, item=row.item, waiting=row.waiting, blocking=row.blocking
            )
            buttons = item.ids["buttons"]
            for action in row.actions:
                button = KioskButton(text=action.label)
                if action.danger:
                    button.tone = "error"
                button.bind(on_release=lambda _b, r=row, a=action: self.act(r, a))
                buttons.add_widget(button)
            box.add_widget(item)
        if not rows:
            box.add_widget(KioskLabel(text=self.empty_text, size_hint_y=None, height=app.fs * 3))

    # ------------------------------------------------------------------ buttons
    def act(self, row: QueueRow, action: Any) -> None:
        app: KioskApp = App.get_running_app()
        if action.screen == ITEM_SCREEN:
            target = ItemTarget(row.reason, intervention=row.intervention)
            self.open_item(app, target)
        elif action.screen:
            app.show(action.screen)
        if action.command is not None:
            self.send(app, action.command)

    def open_item(self, app: KioskApp, target: ItemTarget) -> None:
        item_screen = app.screen("attendant_item")
        item_screen.target = target
        app.show("attendant_item")

    def open_line(self, line: int) -> None:
        app: KioskApp = App.get_running_app()
        self.open_item(app, ItemTarget.for_line(line))

    def cancel_sale(self) -> None:
        app: KioskApp = App.get_running_app()
        if not self.confirm_cancel:
            self.confirm_cancel = True
            return
        self.confirm_cancel = False
        self.send(app, cancel_sale_command())

    def toggle_service(self) -> None:
        """Open the lane; or ask why it is closing (a reason customers are told, or none)."""
        app: KioskApp = App.get_running_app()
        if self.out_of_service:
            self.send(app, out_of_service_command(False))
            return
        self.closing = True
        self._show_close_reasons(app)

    def _show_close_reasons(self, app: KioskApp) -> None:
        if self._reasons_shown:
            return
        self._reasons_shown = True
        self._shown_rows = None  # the queue is drawn again after the choice
        text = self.text(app)
        box = self.widget("queue")
        box.clear_widgets()
        item = QueueItem(
            title=text._("Why is the lane closing?"),
            item=text._("Customers are told the reason in their language."),
        )
        for action in close_lane_actions(text._):
            button = KioskButton(text=action.label)
            button.bind(on_release=lambda _b, a=action: self._close_with(a))
            item.ids["buttons"].add_widget(button)
        box.add_widget(item)

    def _close_with(self, action: Action) -> None:
        app: KioskApp = App.get_running_app()
        self._stop_closing()
        if action.command is not None:
            self.send(app, action.command)
        if app.view:
            self.present(app.view, app)

    def _stop_closing(self) -> None:
        if self.closing:
            self.closing = False
            self._reasons_shown = False

    def reprint(self) -> None:
        self.send(App.get_running_app(), reprint_command())

    def logout(self) -> None:
        self.send(App.get_running_app(), logout_command())

    def next_language(self) -> None:
        app: KioskApp = App.get_running_app()
        languages = list(LANGUAGES)
        current = app.staff_lang if app.staff_lang in languages else languages[0]
        app.set_staff_language(languages[(languages.index(current) + 1) % len(languages)])
        self._shown_rows = None
        if app.view:
            self.present(app.view, app)
