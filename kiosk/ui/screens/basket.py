"""The scan-and-basket screen: a RecycleView of the lines (quantity buttons on each), the last
item shown large, running totals, the customer's message, and the buttons to look an item up,
identify as a member, pay and call an attendant (always visible).

Quantity buttons send ``set_qty``; taking the last one off a line sends ``remove_line`` (which
calls an attendant when the lane is configured so). An answer changes only what changed: the
RecycleView gets new rows appended or changed rows replaced (its layout recomputes those
alone), never its whole data again. Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from kiosk.ui.presenters.basket import RowCache, present_basket
from kiosk.ui.screens.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class BasketRow(RecycleDataViewBehavior, BoxLayout):  # type: ignore[misc]  # Kivy: no hints
    """One basket line in the RecycleView (rule in basket.kv)."""

    line_no = NumericProperty(0)
    qty = NumericProperty(0)
    can_change = BooleanProperty(False)
    name = StringProperty("")
    detail = StringProperty("")
    adjust = StringProperty("")
    amount = StringProperty("")
    voided = BooleanProperty(False)

    def change(self, delta: int) -> None:
        from kivy.app import App

        app = App.get_running_app()
        new = int(self.qty) + delta
        if new <= 0:
            app.send({"cmd": "remove_line", "line": int(self.line_no)})
        else:
            app.send({"cmd": "set_qty", "line": int(self.line_no), "qty": str(new)})


class BasketScreen(KioskScreen):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cache = RowCache()
        self._newest = Clock.create_trigger(self._show_newest, 0)  # once a frame at most

    def _show_newest(self, _dt: float) -> None:
        """Scroll to the newest line once the list is laid out (a short list stays on top)."""
        lines = self.ids.lines
        lines.scroll_y = 0 if lines.children[0].height > lines.height else 1

    def _update_rows(self, rows: tuple[dict[str, Any], ...]) -> bool:
        """Give the RecycleView what changed; True when lines were added."""
        data = self.ids.lines.data
        old = len(data)
        same = min(old, len(rows))
        changed = [i for i in range(same) if data[i] is not rows[i]]
        if len(rows) < old or len(changed) > 1:
            self.ids.lines.data = list(rows)  # lines gone or many changed: all anew
        else:
            for i in changed:
                data[i] = rows[i]
            if len(rows) > old:
                data.extend(rows[old:])
        return len(rows) > old

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        shown = present_basket(view, app.text(), app.notice, self._cache)
        if self._update_rows(shown.rows):
            self._newest()
        ids = self.ids
        ids.last_name.text = shown.last.name if shown.last else shown.empty
        ids.last_detail.text = shown.last.detail if shown.last else ""
        ids.last_amount.text = shown.last.amount if shown.last else ""
        ids.item_count.text = shown.items
        ids.discount.text = shown.discount
        ids.total_label.text = shown.total_label
        ids.total.text = shown.total
        ids.notice.text = shown.notice
        ids.notice.color = app.colors["error" if shown.notice_is_error else "accent"]
        ids.pay_button.text = shown.pay_label
        ids.pay_button.disabled = not shown.can_pay
        ids.languages.refresh(app)
