"""Drives the real touchscreen kiosk in this process: ``python -m tests.ui.driver SCENARIO``.

Run by tests/ui/conftest.py in a subprocess per scenario (one Kivy app per process is what Kivy
supports well), on the test run's Xvfb display. The kiosk is the real ``kiosk.app.gui`` on the
demo config with fake devices; the scenario (tests/ui/scenarios.py) runs on its own thread and
drives the app the way a customer does: touches on widgets found by id or text (real Kivy
motion events through the event loop), scans through the fake scanner, sim actions on the
fakes. Everything that touches a widget runs on the Kivy thread (``Driver.ui``); waits poll
with a deadline. The scenario's findings are written as JSON to ``--out``; a failure is
written there too (with the screen it happened on) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from kiosk.app.gui import GuiKiosk, GuiOptions, build_gui, parse_size
from kiosk.app.loading import read_config

T = TypeVar("T")
WAIT_S = 10.0


class Driver:
    """What a scenario can do (from the scenario thread)."""

    def __init__(self, gui: GuiKiosk, shots: Path) -> None:
        self.gui = gui
        self.app = gui.app
        self.shots = shots
        self.screens: list[str] = []  # every screen shown, in order (no repeats in a row)
        self.result: dict[str, Any] = {}

    # ------------------------------------------------------------------ the Kivy thread
    def ui(self, work: Callable[[], T], timeout: float = WAIT_S) -> T:
        """Run ``work`` on the Kivy thread and return its result."""
        from kivy.clock import Clock

        future: Future[T] = Future()

        def run(_dt: float) -> None:
            try:
                future.set_result(work())
            except BaseException as exc:  # noqa: BLE001 (handed to the scenario thread)
                future.set_exception(exc)

        Clock.schedule_once(run, 0)
        return future.result(timeout)

    def frames(self, count: int = 2) -> None:
        """Wait until Kivy has drawn ``count`` more frames (after a change, before a shot)."""
        from kivy.clock import Clock

        start = self.ui(lambda: Clock.frames_displayed)
        self.wait(lambda: Clock.frames_displayed >= start + count, f"{count} frames drawn")

    def wait(self, check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        """Poll ``check`` on the Kivy thread until it is truthy; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.ui(check)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"waited {timeout} s for {what}; screen {self.app.screen_name!r}, "
                    f"mode {self.app.view.get('mode')!r}, notice {self.app.notice!r}"
                )
            time.sleep(0.02)

    def wait_screen(self, name: str, timeout: float = WAIT_S) -> None:
        self.wait(lambda: self.app.screen_name == name, f"screen {name!r}", timeout)

    # ------------------------------------------------------------------ finding widgets
    def widget(self, widget_id: str, screen: str | None = None) -> Any:
        """The widget with kv id ``widget_id`` on ``screen`` (default: the current one), or in
        the app's root (banner, staff corner). Kivy thread."""
        name = screen or self.app.screen_name
        holder = self.app.screen(name)
        for found in self._walk(holder):
            if widget_id in getattr(found, "ids", {}):
                return found.ids[widget_id]
        if widget_id in self.app.root.ids:
            return self.app.root.ids[widget_id]
        raise AssertionError(f"no widget with id {widget_id!r} on screen {name!r}")

    def button_with(self, text: str) -> Any:
        """The current screen's enabled, visible button whose text contains ``text``."""
        from kivy.uix.button import Button

        for found in self._walk(self.app.screen(self.app.screen_name)):
            if (
                isinstance(found, Button)
                and text in found.text
                and not found.disabled
                and found.opacity > 0
            ):
                return found
        raise AssertionError(f"no button with {text!r} on screen {self.app.screen_name!r}")

    @staticmethod
    def _walk(widget: Any) -> Iterator[Any]:
        yield widget
        for child in widget.children:
            yield from Driver._walk(child)

    # ------------------------------------------------------------------ a customer's hands
    def tap(self, widget_id: str | None = None, *, text: str | None = None) -> None:
        """Touch a widget (by id, or a button by its text) at its centre, and let go."""

        def find() -> Any:
            return self.button_with(text) if text is not None else self.widget(widget_id or "")

        if self.ui(lambda: _scroll_into_view(find())):
            self.frames(2)  # laid out where it was scrolled to
        touch = self.ui(lambda: self._touch_down(find()))
        self.ui(touch.touch_up)  # the next turn of the event loop

    def keys(self, pad_id: str, keys: Iterable[str]) -> None:
        """Tap keys of a keypad (id on the current screen; buttons found by exact text): each
        a real touch down and up, all of them in one turn of the event loop (one frame drawn
        for the lot instead of two per key; the keypad sees the same touches in order)."""

        def press() -> None:
            pad = self.widget(pad_id)
            for key in keys:
                matches = [b for b in pad.children if getattr(b, "text", None) == key]
                if not matches:
                    raise AssertionError(f"no key {key!r} on keypad {pad_id!r}")
                self._touch_down(matches[0]).touch_up()

        self.ui(press)

    @staticmethod
    def _touch_down(target: Any) -> Any:
        from kivy.tests.common import UnitTestTouch

        if target.disabled:
            raise AssertionError(f"{target!r} is disabled")
        x, y = target.to_window(*target.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        return touch

    def scan(self, code: str) -> None:
        """A code through the fake scanner, as a customer scans it."""
        scanner = self.gui.kiosk.devices.fakes.scanner
        assert scanner is not None, "the demo config has no fake scanner"
        assert scanner.scan(code), f"scan {code!r} reached nobody"

    def type_keys(self, text: str, enter: bool = True) -> None:
        """Keys pressed on the window's keyboard, as SDL reports them (``on_key_down`` with
        Kivy's key number and the character), then Enter: a keyboard-wedge scan."""
        from kivy.core.window import Window

        def press() -> None:
            for char in text:
                Window.dispatch("on_key_down", ord(char.lower()), 0, char, [])
            if enter:
                Window.dispatch("on_key_down", 13, 40, "\r", [])

        self.ui(press)

    def sim(self, action: str, **arguments: Any) -> None:
        """A sim device action (printer.paper_out...), on the lane thread."""
        message = {"cmd": "sim", "action": action, **arguments}
        drivers = self.gui.kiosk.drivers

        def act(_lane: Any) -> None:
            drivers.run(message)

        self.gui.runner.post(act).result(WAIT_S)

    def send(self, message: dict[str, Any]) -> None:
        """A lane command as a screen sends it (for what an attendant does elsewhere)."""
        self.ui(lambda: self.app.send(message))

    def screenshot(self, lang: str, name: str) -> Path:
        """artifacts/screenshots/<lang>/<name>.png of the whole window, as drawn.

        Read from the frame's back buffer when it is finished (``on_flip``, before the swap),
        not re-drawn into an Fbo with ``export_to_png``: the basket list clips with a scissor
        box in window pixels (``ClippedRecycleView``), which an Fbo's flipped copy would put
        elsewhere."""
        from kivy.core.window import Window

        self.frames()
        path = self.shots / lang / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        taken: Future[str] = Future()

        def shoot(*_args: Any) -> None:
            Window.unbind(on_flip=shoot)
            try:  # Kivy numbers the file (name0001.png); it is renamed below
                taken.set_result(Window.screenshot(name=str(path.with_suffix(".tmp.png"))))
            except BaseException as exc:  # noqa: BLE001 (handed to the scenario thread)
                taken.set_exception(exc)

        def ask() -> None:
            Window.bind(on_flip=shoot)
            Window.canvas.ask_update()

        self.ui(ask)
        Path(taken.result(WAIT_S)).replace(path)
        return path


def _scroll_into_view(target: Any) -> bool:
    """Scroll the ScrollView that holds ``target`` until it shows it whole, as a user would
    before touching it; True when it had to (Kivy thread)."""
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.widget import Widget

    view = target.parent
    while isinstance(view, Widget) and not isinstance(view, ScrollView):
        view = view.parent  # up to the root, whose parent is the window (its own parent)
    if not isinstance(view, ScrollView):
        return False
    left, bottom = target.to_window(target.x, target.y)
    right, top = target.to_window(target.right, target.top)
    v_left, v_bottom = view.to_window(view.x, view.y)
    v_right, v_top = view.to_window(view.right, view.top)
    if left >= v_left and right <= v_right and bottom >= v_bottom and top <= v_top:
        return False
    view.scroll_to(target, padding=0, animate=False)
    return True


def _record_font_faces() -> set[tuple[float, bool]]:
    """Every (font size, bold) for which Kivy's text provider looks up a font face from now on,
    to measure or to draw: each is a FreeType face the app keeps (kiosk.ui.fonts)."""
    from kivy.core.text import Label as CoreLabel

    opened: set[tuple[float, bool]] = set()
    font_id = CoreLabel._get_font_id

    def recording(label: Any) -> str:
        opened.add((float(label.options["font_size"]), bool(label.options["bold"])))
        return str(font_id(label))

    CoreLabel._get_font_id = recording
    return opened


def _record_drawn_text() -> dict[str, set[str]]:
    """Every character Kivy's text provider draws from now on, by the font file it draws it
    with (tests/ui/glyphs.py checks each has a glyph there)."""
    from kivy.core.text import Label as CoreLabel

    drawn: dict[str, set[str]] = {}
    render = CoreLabel.render

    def recording(label: Any, real: bool = False) -> Any:
        if real and label.text:
            font = label.options["font_name_r"]
            drawn.setdefault(str(font), set()).update(str(label.text))
        return render(label, real)

    CoreLabel.render = recording
    return drawn


def _record_kivy_deprecations() -> list[str]:
    """What Kivy logs as deprecated from now on (a property or call the next Kivy removes):
    Kivy says so in its log, not as a Python warning, so ``-W error`` does not see it."""
    found: list[str] = []

    class Deprecations(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "deprecated" in message.lower():
                found.append(message)

    logging.getLogger("kivy").addHandler(Deprecations(logging.WARNING))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.ui.driver")
    parser.add_argument("scenario", help="a function of tests.ui.scenarios, or module:function")
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--lang", default="")
    args = parser.parse_args(argv)
    module, _, function = args.scenario.rpartition(":")  # "module:function" or a function
    scenario = getattr(importlib.import_module(module or "tests.ui.scenarios"), function)
    config = read_config(args.config)
    gui = build_gui(config, GuiOptions(windowed=True, size=parse_size(args.size)))
    driver = Driver(gui, Path(args.shots))
    out: dict[str, Any] = {"ok": False}
    faces = _record_font_faces()  # from the first label on: build() has not run yet
    deprecations = _record_kivy_deprecations()
    drawn = _record_drawn_text()

    def track(_app: Any, name: str) -> None:
        if not driver.screens or driver.screens[-1] != name:
            driver.screens.append(name)

    def play() -> None:
        try:
            driver.wait(lambda: bool(driver.app.view), "the lane's first view", 20)
            scenario(driver, args.lang) if args.lang else scenario(driver)
            out["ok"] = True
        except BaseException:  # noqa: BLE001 (reported to the test as JSON)
            out["error"] = traceback.format_exc()
        finally:
            out["screens"] = driver.screens
            out["result"] = driver.result
            out["font_faces"] = sorted(faces)
            out["kivy_deprecations"] = sorted(set(deprecations))
            out["drawn_text"] = driver.ui(  # on the Kivy thread, which adds to it
                lambda: {font: "".join(sorted(chars)) for font, chars in drawn.items()}
            )
            out["fs"] = driver.app.fs
            driver.ui(driver.app.stop)

    def begin(*_args: Any) -> None:
        threading.Thread(target=play, name="scenario", daemon=True).start()

    gui.app.bind(screen_name=track)
    gui.app.bind(on_start=begin)
    try:
        gui.app.run()
    finally:
        gui.close()
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
