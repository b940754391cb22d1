"""Scenario for tests/ui/test_drawing.py: the basket list's ``ClippedRecycleView`` and its
``LineLabel`` texts (kiosk/ui/widgets/drawing.py), in the running app on a real window."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.ui.driver import Driver
from tests.ui.scenarios import WATER

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "kiosk" / "demo" / "catalog.csv"
LONG_NAME = "An extraordinarily long product name that no basket column is ever wide enough for"


def _instructions(group: Any) -> list[str]:
    return [type(i).__name__ for i in group.children]


def _box(d: Driver) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        lines = d.widget("lines")
        x, y = lines.to_window(*lines.pos)
        scissor = lines._scissor
        return {
            "window_rect": [round(x), round(y), round(lines.width), round(lines.height)],
            "scissor": [*scissor.pos, *scissor.size],
            "before": _instructions(lines.canvas.before),
            "after": _instructions(lines.canvas.after),
        }

    return d.ui(read)


def _stencils(widget: Any) -> list[str]:
    """The widgets under ``widget`` (itself included) that draw into the stencil buffer."""
    found = []
    for w in widget.walk(restrict=True):
        groups = (w.canvas.before, w.canvas, w.canvas.after)
        if any(n.startswith("Stencil") for g in groups for n in _instructions(g)):
            found.append(type(w).__name__)
    return found


def no_stencil_on_screens(d: Driver) -> None:
    """What draws a stencil on the basket screen (a full list, scrolled), and whether the
    kiosk's screen managers, the inner ones of lookup and payment included, do."""
    with DEMO_CATALOG.open(encoding="utf-8", newline="") as file:
        plain = [  # sold each, to anyone, as often as wanted: one line each
            row["gtins"].split("|")[0]
            for row in csv.DictReader(file)
            if row["gtins"] and row["unit"] == "ea"
            and (row["age_limit"], row["not_for_sale"], row["quantity_limit"]) == ("0", "0", "0")
        ]  # fmt: skip
    d.wait_screen("attract")
    for code in plain[:30]:
        d.scan(code)
    d.wait_screen("basket")
    d.wait(lambda: len(d.widget("lines").data) == 30, "30 basket lines")
    d.ui(lambda: setattr(d.widget("lines"), "scroll_y", 0.5))
    d.frames()
    d.result["basket"] = d.ui(lambda: _stencils(d.app.root))

    def managers() -> dict[str, list[str]]:
        found = {"KioskScreens": _instructions(d.app.root.manager.canvas.before)}
        for name in ("lookup", "payment"):
            panels = d.app.screen(name).ids.panels
            found[name] = _instructions(panels.canvas.before) + _instructions(panels.canvas.after)
        return found

    d.result["managers"] = d.ui(managers)


def clip_and_fit(d: Driver) -> None:
    from kivy.core.window import Window

    d.wait_screen("attract")
    d.scan(WATER)
    d.wait_screen("basket")
    d.wait(lambda: d.widget("lines").children[0].children, "a basket row")
    d.frames()
    d.result["box"] = _box(d)
    d.ui(lambda: setattr(d.app.root.ids.fake_banner, "height", 120))  # moves the screen
    d.frames()
    d.result["box_after_banner"] = _box(d)
    d.ui(lambda: setattr(Window, "size", (900, 700)))
    d.frames(4)
    d.result["box_after_resize"] = _box(d)

    def row_labels() -> list[dict[str, Any]]:
        row = d.widget("lines").children[0].children[0]
        return [
            {"text": w.text, "fits": w.fits, "width": w.width, "texture": list(w.texture_size)}
            for w in row.walk(restrict=True)
            if type(w).__name__ == "LineLabel" and w.text
        ]

    d.result["labels"] = d.ui(row_labels)
    label: dict[str, Any] = {}

    def make() -> None:
        from kiosk.ui.widgets.drawing import LineLabel

        label["w"] = LineLabel(text="short", size_hint=(None, None), size=(300, 40))
        d.app.root.add_widget(label["w"])

    def read() -> dict[str, Any]:
        w = label["w"]
        return {"fits": w.fits, "texture": list(w.texture_size)}

    d.ui(make)
    d.frames()
    d.result["short"] = d.ui(read)
    d.ui(lambda: setattr(label["w"], "padding", [130, 0, 130, 0]))  # the text + 260 px: too wide
    d.frames()
    d.result["short_padded"] = d.ui(read)
    d.ui(lambda: setattr(label["w"], "padding", [0, 0, 0, 0]))
    d.ui(lambda: setattr(label["w"], "text", LONG_NAME))
    d.frames()
    d.result["long"] = d.ui(read)
    d.ui(lambda: setattr(label["w"], "width", 4000))
    d.frames()
    d.result["long_in_wide"] = d.ui(read)
