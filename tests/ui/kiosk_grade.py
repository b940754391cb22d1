"""Scenario for tests/ui/test_kiosk_grade.py: what a customer's keyboard or the window manager
can do to the running app (kiosk/ui/app.py), and the window settings ``configure_kivy`` gives a
kiosk that is not windowed (kiosk/app/gui.py), read in a child of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.ui.driver import Driver

# Escape, Tab, F1 (Kivy's settings panel), F12; each must do nothing.
KEYS = {"escape": 27, "tab": 9, "f1": 282, "f12": 293}
FULLSCREEN_SETTINGS = """
import json
from kiosk.app.gui import GuiOptions, configure_kivy
configure_kivy(GuiOptions())
from kivy.config import Config
print(json.dumps({name: Config.get(section, name) for section, name in (
    ("graphics", "fullscreen"), ("graphics", "borderless"), ("graphics", "show_cursor"),
    ("graphics", "resizable"), ("kivy", "exit_on_escape"))}))
"""


def kiosk_grade(d: Driver) -> None:
    from kivy.core.window import Window

    d.wait_screen("attract")
    d.result["close"] = d.ui(lambda: bool(Window.dispatch("on_request_close")))
    d.result["keys"] = {
        name: d.ui(lambda code=code: bool(Window.dispatch("on_keyboard", code, 0, None, [])))
        for name, code in KEYS.items()
    }
    d.frames(3)
    d.result["after"] = d.ui(
        lambda: {
            "screen": d.app.screen_name,
            "settings_panel": d.app._app_settings is not None,
            "windowed_cursor": bool(Window.show_cursor),
        }
    )
    d.scan("6921168509256")  # the app still sells
    d.wait_screen("basket")
    child = subprocess.run(
        [sys.executable, "-c", FULLSCREEN_SETTINGS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    settings: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    d.result["fullscreen_settings"] = settings
