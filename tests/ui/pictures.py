"""Scenario for tests/ui/test_lookup_pictures.py: the lookup screen's category pictures are
read off the Kivy thread (kiosk/ui/screens/lookup.py), shown once decoded, and a file that is
not a picture leaves its tile with the initial and the name."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.ui.driver import Driver
from tests.ui.scenarios import WATER


def _tiles(d: Driver) -> list[dict[str, Any]]:
    grid = d.app.screen("lookup").ids.categories
    return [
        {"text": tile.text, "picture": tile.picture is not None} for tile in reversed(grid.children)
    ]


def category_pictures(d: Driver) -> None:
    from kiosk.ui.screens import lookup as module

    read_on: list[str] = []
    paths: list[str] = []
    real = module._read_picture

    def recording(path: str) -> Any:
        read_on.append(threading.current_thread().name)
        paths.append(path)
        return real(path)

    module._read_picture = recording
    d.wait_screen("attract")
    d.scan(WATER)
    d.wait_screen("basket")
    d.ui(lambda: d.app.show("lookup"))
    d.wait_screen("lookup")
    d.wait(lambda: _tiles(d), "the category tiles")  # wait's check runs on the Kivy thread
    d.wait(lambda: all(t["picture"] for t in _tiles(d)), "every tile's picture")
    d.result["tiles"] = d.ui(lambda: _tiles(d))
    d.result["read_on"] = sorted(set(read_on))
    d.result["reads"] = len(read_on)
    d.result["paths"] = list(paths)
    lookup = d.app.screen("lookup")
    d.result["files"] = len({c.picture for c in lookup.local.categories if c.picture})
    bad = Path(tempfile.mkdtemp(prefix="kiosk-pictures-")) / "not-a-picture.png"
    bad.write_text("this is not a PNG", encoding="utf-8")
    shown: list[Any] = []
    d.ui(lambda: lookup._picture(str(bad), shown.append))
    d.wait(lambda: str(bad) in lookup._pictures, "the bad file tried")
    d.result["bad"] = {"cached_as": lookup._pictures[str(bad)], "shown": len(shown)}
    d.ui(d.app.back)  # and again: the tiles are redrawn from the decoded pictures
    d.wait_screen("basket")
    d.ui(lambda: d.app.show("lookup"))
    d.wait_screen("lookup")
    d.wait(lambda: all(t["picture"] for t in _tiles(d)), "the pictures again")
    d.result["reads_after_second_visit"] = len(read_on)
