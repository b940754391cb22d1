"""The layout scenario: every screen at one window size in one language, checked for touch
targets that lie outside the window or are smaller than 9 mm and for texts that do not show
whole (``text_problems``), with a screenshot of each to
artifacts/screenshots/sizes/<W>x<H>/<lang>/<screen>.png. Run by tests/ui/driver.py (``sizes``)
on the scenario thread; the checks themselves run on the Kivy thread.

The 9 mm are measured with Kivy's ``Metrics`` (``kivy.metrics.mm``), as the app sizes its
buttons: Kivy takes the density from the display (Xvfb and most HDMI panels report 96 dpi,
9 mm = 34 px); a kiosk whose panel reports a wrong density is set with ``KIVY_DPI``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from tests.ui.driver import Driver

WATER = "6921168509256"
CRISPS = "6918473200565"
STAFF_BADGE = "ST0001"
BEER = "6935284410013"  # age 18: an age check for the attendant's queue
UNKNOWN = "4006381333931"  # a valid EAN-13 the demo catalog does not sell: an unknown item
MIN_MM = 9.0
SLACK_PX = 0.5  # layouts place widgets on fractional pixels
# Labels that must show whole besides every button's caption and every label that is a bare
# amount or number (``BARE_NUMBER``): an amount or a typed entry with its caption, by kv id.
WHOLE_IDS: Final = frozenset(
    {
        "total", "change", "last_amount", "item_count", "discount", "amount", "tendered",
        "still_to_pay", "price", "code", "staff_id", "pin_dots", "plu_entry", "weight_entry",
        "split_entry", "wallet_entry", "phone_entry",
    }
)  # fmt: skip
# "CN¥8.50", "元8.50", "-¥1.00", "0.512 kg", "3": a currency or unit before or after a number
BARE_NUMBER: Final = re.compile(r"[-−]?[^\d\s]{0,4}\s?[-−]?\d[\d,]*(?:\.\d+)?(?:\s?[^\d\s]{1,4})?")
# A single line's texture is a good deal taller than its glyphs: it clips or runs into its
# neighbours only when its box is lower than the font; several lines, once the texture is more
# than a quarter of a line taller than the box.
ONE_LINE_MIN_HEIGHT: Final = 0.9  # x the font size
MANY_LINES_OVERFLOW: Final = 0.25  # x one line's height


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
    return found + text_problems(app) + face_problems(app)


def _with_text(widget: Any) -> Iterator[Any]:
    """The drawn labels and buttons under ``widget``, in scrolled content too (what a customer
    scrolls to must read as well), but not the rows of a RecycleView (basket and sale lines:
    long product names are shortened there by design)."""
    from kivy.uix.label import Label

    if widget.opacity <= 0 or widget.width <= 0 or widget.height <= 0:
        return
    if isinstance(widget, Label) and widget.text:
        yield widget
    # by name: kv's Factory imports the class from kivy.uix.recycleview.__init__, a second
    # copy of the module, so isinstance with kivy.uix.recycleview.RecycleView is False
    if any(cls.__name__ == "RecycleView" for cls in type(widget).__mro__):
        return
    for child in widget.children:
        yield from _with_text(child)


def _drawn_text(widget: Any) -> Iterator[Any]:
    """Every widget under ``widget`` that draws text now (labels, buttons, text inputs), in
    RecycleView rows too."""
    if widget.opacity <= 0:
        return
    if getattr(widget, "text", "") and hasattr(widget, "font_size"):
        yield widget
    for child in widget.children:
        yield from _drawn_text(child)


def face_problems(app: Any) -> list[str]:
    """Texts drawn in a size or weight outside the type scale's faces (``kiosk.ui.fonts``):
    each other (size, weight) would be one more font face in memory."""
    from kiosk.ui.fonts import faces

    allowed = faces(app.fs)
    found = []
    for widget in _drawn_text(app.root):
        face = (round(widget.font_size), bool(getattr(widget, "bold", False)))
        if face not in allowed:
            text = widget.text.replace("\n", " ")[:40]
            found.append(
                f"{type(widget).__name__} {text!r} is drawn at {face[0]} px"
                f"{' bold' if face[1] else ''}, not a face of the type scale {sorted(allowed)}"
            )
    return found


def _kv_ids(widget: Any) -> dict[int, str]:
    """Every widget under ``widget`` that has a kv id: ``id(widget)`` -> its id."""
    names = {id(found): name for name, found in getattr(widget, "ids", {}).items()}
    for child in widget.children:
        names.update(_kv_ids(child))
    return names


def _bare(text: str) -> str:
    return "".join(text.split())


def text_problems(app: Any) -> list[str]:
    """Texts on screen now that do not show whole: a button's caption or a label that must
    show whole (an amount, a total, a typed entry: ``WHOLE_IDS``, ``BARE_NUMBER``) that wraps
    onto more lines than it has or is cut (shortened with "...", or lines dropped that do not
    fit its height); and any label or button whose text is taller than its box (clipped, or
    drawn over its neighbours). Lines are counted from Kivy's layout of the text."""
    from kivy.uix.behaviors import ButtonBehavior

    names = _kv_ids(app.root)
    found = []
    for widget in _with_text(app.root):
        lines = widget._label._cached_lines  # the text as laid out: lines of words
        if not lines:
            continue  # not drawn yet
        name = names.get(id(widget), "")
        label = f"{type(widget).__name__}{' ' + name if name else ''} {widget.text!r}"
        label = label.replace("\n", " ")
        whole = (
            isinstance(widget, ButtonBehavior)
            or name in WHOLE_IDS
            or BARE_NUMBER.fullmatch(widget.text.strip()) is not None
        )
        if whole:
            wanted = widget.text.strip().count("\n") + 1
            if len(lines) > wanted:
                found.append(f"{label} wraps onto {len(lines)} lines (has {wanted})")
            shown = "".join(word.text for line in lines for word in line.words)
            if _bare(shown) != _bare(widget.text):
                found.append(f"{label} is cut to {shown!r}")
        text_width, text_height = widget.texture_size
        if len(lines) == 1:
            clipped = widget.height < widget.font_size * ONE_LINE_MIN_HEIGHT
        else:
            clipped = text_height - widget.height > text_height / len(lines) * MANY_LINES_OVERFLOW
        if clipped:
            found.append(
                f"{label} is {widget.height:.0f} px high for {len(lines)} line(s) of "
                f"{widget.font_size:.0f} px ({text_height} px): clipped"
            )
        if text_width > widget.width + SLACK_PX:
            found.append(f"{label} is {text_width} px wide in {widget.width:.0f} px: clipped")
    return found


def _check(d: Driver, name: str, folder: str) -> None:
    """The current screen must be ``name``: check it and take its picture."""
    d.wait_screen(name)
    _record(d, name)
    d.screenshot(folder, name)


def _record(d: Driver, name: str) -> None:
    """The problems of what is on screen now, once the layout has settled, under ``name``."""
    d.frames(2)
    found = d.ui(lambda: problems(d.app))
    if found:  # widgets added by the last lane answer (category tiles...) may lay out later
        d.frames(5)
        found = d.ui(lambda: problems(d.app))
    if found:
        d.result["problems"][name] = found


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


def sizes(d: Driver, lang: str) -> None:
    """Every screen at this window size in ``lang``, the kiosk's default language (the test's
    configuration sets it: the customer's and the attendant's language from the start)."""
    from kivy.core.window import Window

    window = d.ui(lambda: tuple(Window.size))
    size = f"{window[0]}x{window[1]}"
    contrast = d.ui(lambda: bool(d.app.high_contrast))
    folder = f"sizes/{size}{'-high-contrast' if contrast else ''}/{lang}"
    d.result.update(window=size, lang=lang, problems={}, checked=[], folder=folder)
    d.result["clear_colour"] = d.ui(lambda: list(Window.clearcolor))

    def check(name: str) -> None:
        _check(d, name, folder)
        d.result["checked"].append(name)

    d.wait_screen("attract")
    d.wait(lambda: d.app.lang == lang and d.app.staff_lang == lang, f"the language {lang}")
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
            _record(d, "lookup search")
            d.screenshot(folder, "lookup_search")
    d.ui(d.app.back)
    _force(d, "still_there", idle="prompt")
    check("still_there")
    _force(d, "still_there", idle="suspended")  # the basket kept for an attendant
    _record(d, "still_there suspended")
    _force(d, "out_of_service", mode="out_of_service", out_of_service_reason="cleaning")
    check("out_of_service")
    d.ui(d.app.refresh)
    d.scan(BEER)
    d.scan(UNKNOWN)
    d.wait(lambda: len(d.app.view.get("interventions") or ()) == 2, "two interventions")
    d.scan(STAFF_BADGE)
    d.wait_screen("attendant")
    check("attendant")  # its queue with both, each with its buttons
    d.result["queue"] = d.ui(
        lambda: [c.title for c in d.widget("queue").children if hasattr(c, "title")]
    )
    d.tap("service")  # "Close the lane" asks why in the queue's place: check that too
    d.wait(lambda: d.app.screen("attendant").closing, "the reasons to close")
    _record(d, "attendant closing")
    d.screenshot(folder, "attendant_closing")
    d.tap(text=d.ui(lambda: d.app.t("Keep it open", d.app.staff_lang)))
    d.wait(lambda: not d.app.screen("attendant").closing, "the queue again")
    d.frames(2)
    for left, msgid in ((1, "Age checked: OK"), (0, "Do not add")):  # so the sale can be paid
        d.tap(text=d.ui(lambda m=msgid: d.app.t(m, d.app.staff_lang)))
        d.wait(lambda n=left: len(d.app.view.get("interventions") or ()) == n, "one cleared")
        d.frames(2)  # the queue is drawn again before the next tap
    d.ui(lambda: d.app.screen("attendant").open_line(1))
    check("attendant_item")
    for overlay in ("attendant_cash", "attendant_shift", "attendant_devices"):
        _show(d, overlay)
        check(overlay)
    d.send({"cmd": "staff_logout"})
    d.wait_screen("basket")
    d.sim("printer.paper_out")  # the receipt on screen with its QR: the fuller layout
    d.send({"cmd": "pay", "method": "card"})
    d.wait_screen("receipt")
    d.wait(lambda: d.widget("qr").payload, "the receipt's QR")
    check("receipt")


# Texts planted by ``planted_texts``: (what, kwargs of the widget, size), what the check says.
PLANTED: Final = (
    ("button", {"text": "Call attendant"}, (60, 60), "wraps onto"),
    ("button", {"text": "Reprint the last receipt", "shorten": True}, (90, 60), "is cut to"),
    ("label", {"text": "CN¥10.50"}, (40, 80), "wraps onto"),
    ("label", {"text": "first line\nsecond line\nthird line"}, (300, 20), "clipped"),
    ("label", {"text": "Welcome"}, (300, 15), "clipped"),
    ("button", {"text": "OK"}, (200, 60), ""),
    ("label", {"text": "a message that may wrap onto two lines"}, (150, 200), ""),
    ("label", {"text": "Off the scale", "font_size": 31}, (300, 80), "not a face of the type"),
    # at 1024x600 the scale is 20, 25, 30, 40 and 60 px: small print has no bold face
    ("label", {"text": "Small and bold", "bold": True, "font_size": 20}, (300, 80), "px bold,"),
)


def planted_texts(d: Driver) -> None:
    """The text and face checks on widgets planted over the attract screen, one of each kind of
    fault and two that are fine: what it says of each planted text goes to ``result["found"]``."""
    from kivy.uix.boxlayout import BoxLayout

    from kiosk.ui.widgets import KioskButton, KioskLabel

    d.wait_screen("attract")

    def plant() -> Any:
        row = BoxLayout(size_hint=(None, None), size=(1000, 200), pos=(0, 0), spacing=10)
        for kind, kwargs, size, _says in PLANTED:
            widget = (KioskButton if kind == "button" else KioskLabel)(**kwargs)
            if "font_size" in kwargs:  # kv's rule binds the size to the app's: set it after
                widget.font_size = kwargs["font_size"]
            widget.size_hint = (None, None)
            widget.size = size
            row.add_widget(widget)
        d.app.root.add_widget(row)
        return row

    row = d.ui(plant)
    d.frames(3)
    found = d.ui(lambda: text_problems(d.app) + face_problems(d.app))
    d.ui(lambda: d.app.root.remove_widget(row))
    d.result["found"] = {
        text: [line for line in found if repr(text) in line]
        for text in (kwargs["text"] for _kind, kwargs, _size, _says in PLANTED)
    }
