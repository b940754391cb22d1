"""The layout scenario: every screen at one window size, checked for touch targets that lie
outside the window or are smaller than 9 mm, with a screenshot of each to
artifacts/screenshots/sizes/<W>x<H>/<screen>.png. Run by tests/ui/driver.py (``sizes``) on
the scenario thread; the checks themselves run on the Kivy thread.

The 9 mm are measured with Kivy's ``Metrics`` (``kivy.metrics.mm``), as the app sizes its
buttons: Kivy takes the density from the display (Xvfb and most HDMI panels report 96 dpi,
9 mm = 34 px); a kiosk whose panel reports a wrong density is set with ``KIVY_DPI``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.ui.driver import Driver

WATER = "6921168509256"
CRISPS = "6918473200565"
STAFF_BADGE = "ST0001"
MIN_MM = 9.0
SLACK_PX = 0.5  # layouts place widgets on fractional pixels


def _visible(widget: Any) -> Iterator[Any]:
    """``widget`` and its descendants that are drawn (opacity above 0, some size)."""
    if widget.opacity <= 0 or widget.width <= 0 or widget.height <= 0:
        return
    yield widget
    from kivy.uix.scrollview import ScrollView

    if isinstance(widget, ScrollView):
        return  # what scrolls may lie outside; the scroll area itself is checked
    for child in widget.children:
        yield from _visible(child)


def problems(app: Any) -> list[str]:
    """Touch targets of what is on screen now that are outside the window or under 9 mm."""
    from kivy.core.window import Window
    from kivy.metrics import mm
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.textinput import TextInput

    from kiosk.ui.widgets import StaffCorner

    touchable = (ButtonBehavior, TextInput, ScrollView, StaffCorner)
    minimum = mm(MIN_MM) - SLACK_PX
    width, height = Window.size
    found = []
    for widget in _visible(app.root):
        if not isinstance(widget, touchable):
            continue
        left, bottom = widget.to_window(widget.x, widget.y)
        right, top = widget.to_window(widget.right, widget.top)
        label = f"{type(widget).__name__} {getattr(widget, 'text', '')!r}".replace("\n", " ")
        inside_x = left >= -SLACK_PX and right <= width + SLACK_PX
        if not (inside_x and bottom >= -SLACK_PX and top <= height + SLACK_PX):
            found.append(f"{label} at ({left:.0f},{bottom:.0f})-({right:.0f},{top:.0f}) outside")
        if isinstance(widget, ButtonBehavior) and min(widget.width, widget.height) < minimum:
            found.append(f"{label} is {widget.width:.0f}x{widget.height:.0f} px, under 9 mm")
    return found


def _check(d: Driver, name: str, size: str) -> None:
    """The current screen must be ``name``: check it and take its picture."""
    d.wait_screen(name)
    d.frames(2)  # the layout settles
    found = d.ui(lambda: problems(d.app))
    if found:
        d.result["problems"][name] = found
    d.screenshot(f"sizes/{size}", name)


def _force(d: Driver, name: str, **fields: Any) -> None:
    """Show a screen the lane would show in another state (``fields`` over the view)."""

    def show() -> None:
        view = {**d.app.view, **fields}
        d.app.root.manager.current = name
        d.app.screen_name = name
        d.app.screen(name).present(view, d.app)

    d.ui(show)


def _show(d: Driver, name: str) -> None:
    d.ui(lambda: d.app.show(name))


def sizes(d: Driver) -> None:
    """Every screen at this window size."""
    from kivy.core.window import Window

    window = d.ui(lambda: tuple(Window.size))
    size = f"{window[0]}x{window[1]}"
    d.result.update(window=size, problems={}, checked=[])

    def check(name: str) -> None:
        _check(d, name, size)
        d.result["checked"].append(name)

    d.wait_screen("attract")
    check("attract")
    d.ui(lambda: d.app.show("staff_login"))
    check("staff_login")
    d.ui(d.app.back)
    d.scan(WATER)
    d.scan(CRISPS)
    d.wait(lambda: len(d.app.view.get("lines") or ()) == 2, "two lines")
    check("basket")
    for overlay in ("help", "lookup", "member", "payment", "processing"):
        _show(d, overlay)
        check(overlay)
        if overlay == "lookup":  # the search keyboard is the densest panel
            d.ui(lambda: d.app.screen("lookup").select_tab("search"))
            d.frames(2)
            found = d.ui(lambda: problems(d.app))
            if found:
                d.result["problems"]["lookup search"] = found
            d.screenshot(f"sizes/{size}", "lookup_search")
    d.ui(d.app.back)
    _force(d, "still_there", idle="prompt")
    check("still_there")
    _force(d, "out_of_service", mode="out_of_service", out_of_service_reason="cleaning")
    check("out_of_service")
    d.ui(d.app.refresh)
    d.scan(STAFF_BADGE)
    d.wait_screen("attendant")
    check("attendant")
    d.ui(lambda: d.app.screen("attendant").open_line(1))
    check("attendant_item")
    for overlay in ("attendant_cash", "attendant_shift", "attendant_devices"):
        _show(d, overlay)
        check(overlay)
    d.send({"cmd": "staff_logout"})
    d.wait_screen("basket")
    d.send({"cmd": "pay", "method": "card"})
    check("receipt")
