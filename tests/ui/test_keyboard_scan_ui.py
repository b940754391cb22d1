"""With the fake scanner, the window's keyboard scans (kiosk.app.keyboard_scan), and the
``--commands`` pipe drives the touchscreen's lane as it drives the headless one.

The scenario (``keyboard_scan``) runs in a child process on the test run's Xvfb display
(tests/ui/conftest.py ``run_scenario``): it types codes as key events on the Kivy window and
presses Enter, and writes a text command to a named pipe read by ``serve_commands``; the test
checks the basket it saw, the fake scanner's history and the committed sale.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from kiosk.app.lane_service import make_fifo, serve_commands
from tests.ui.conftest import Scenario
from tests.ui.driver import Driver

WATER = "6921168509256"
COLA = "6905899022109"  # Joyful cola 330ml in the demo catalog


def _skus(d: Driver) -> list[str]:
    return [str(line.get("sku")) for line in d.app.view.get("lines") or ()]


def keyboard_scan(d: Driver) -> None:
    scanner = d.gui.kiosk.devices.fakes.scanner
    assert scanner is not None and d.gui.wedge is not None
    d.wait_screen("attract")
    d.type_keys(WATER)  # a scan on the welcome screen starts the sale
    d.wait(lambda: len(_skus(d)) == 1, "the water in the basket")
    d.wait_screen("basket")
    d.type_keys("", enter=True)  # Enter alone scans nothing
    d.type_keys("123", enter=False)  # half-typed, then dropped with Escape
    d.ui(lambda: d.gui.wedge and d.gui.wedge.key(27))
    d.type_keys(WATER)
    d.wait(lambda: [line.get("qty") for line in d.app.view["lines"]] == ["2"], "2 waters")
    d.result["scanned"] = scanner.codes
    d.result["skus"] = _skus(d)

    fifo = Path(d.shots).parent / "keyboard-scan-commands"
    fifo.unlink(missing_ok=True)
    make_fifo(fifo)
    try:
        serve_commands(fifo, d.gui.runner, d.gui.kiosk.drivers, sys.stdout, d.gui.stop_commands)
        with fifo.open("w", encoding="utf-8") as pipe:
            pipe.write(f"scan {COLA}\n")
        d.wait(lambda: len(_skus(d)) == 2, "the cola from the command pipe")
        d.send({"cmd": "pay", "method": "card"})
        d.wait_screen("receipt")
        d.result["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]
    finally:
        d.gui.stop_commands.set()
        fifo.unlink(missing_ok=True)


def test_typed_codes_and_piped_commands_reach_the_basket(
    run_scenario: Scenario, tmp_path: Path
) -> None:
    report = run_scenario("tests.ui.test_keyboard_scan_ui:keyboard_scan")
    result = report["result"]
    assert result["scanned"] == [WATER, WATER]  # through the fake scanner, nothing else
    assert len(result["skus"]) == 1
    assert "type a code and Enter to scan it" in report["stdout"]
    with sqlite3.connect(tmp_path / "demo" / "kiosk.db") as conn:
        (seq,) = conn.execute(
            "SELECT seq FROM sales WHERE receipt_no = ?", (result["receipt_no"],)
        ).fetchone()
        lines = conn.execute("SELECT qty FROM sale_lines WHERE seq = ? ORDER BY line_no", (seq,))
        assert [qty for (qty,) in lines] == ["2", "1"]
