"""Scenario for tests/ui/test_drawing.py: the basket list's ``ClippedRecycleView`` and its
``LineLabel`` texts (kiosk/ui/widgets/drawing.py), in the running app on a real window."""

from __future__ import annotations

from typing import Any

from tests.ui.driver import Driver
from tests.ui.scenarios import WATER

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
