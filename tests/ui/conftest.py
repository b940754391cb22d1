"""The UI test harness: an Xvfb display for the session, a demo kiosk per test, and
``run_scenario`` that drives the real touchscreen (tests/ui/driver.py) in a subprocess.

Kivy keeps one window and global state per process, so each scenario runs in its own
process (python -m tests.ui.driver) on the session's display; its findings come back as JSON.
Screenshots go to artifacts/screenshots/<lang>/<screen>.png.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli import main as kiosk_main
from tests.ui.glyphs import missing_glyphs

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SCENARIO_TIMEOUT_S = 200  # under the per-test pytest timeout the UI tests set (240 s)
SCREEN = "1920x1920x24"  # room for every layout, 1080x1920 portrait included


def _free_display() -> int:
    for number in range(90, 400):
        if (
            not Path(f"/tmp/.X{number}-lock").exists()
            and not Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return number
    raise RuntimeError("no free X display number between :90 and :399")


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """A private Xvfb display (``:N``), killed after the session."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.fail("Xvfb is not installed: run provisioning/install-deps.sh (package xvfb)")
    for _attempt in range(5):
        number = _free_display()
        process = subprocess.Popen(
            [binary, f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 10
        while process.poll() is None and not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None and socket.exists():
            break
        process.kill()
        process.wait()  # lost a race for the number: try the next one
    else:
        pytest.fail("Xvfb did not start on any display")
    try:
        yield f":{number}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def demo_kiosk(folder: Path, **settings: str) -> Path:
    """``kiosk demo init`` in ``folder``; ``settings`` replace ``key = value`` lines of its
    kiosk.toml (e.g. ``idle_prompt_s="1"``). Returns the config path."""
    assert kiosk_main(["demo", "init", "--dir", str(folder)]) == 0
    config = folder / "kiosk.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    for key, value in settings.items():
        hits = [i for i, line in enumerate(lines) if line.split("=")[0].strip() == key]
        assert len(hits) == 1, f"{key} is not set exactly once in the demo config"
        lines[hits[0]] = f"{key} = {value}"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


Scenario = Callable[..., dict[str, Any]]


@pytest.fixture
def run_scenario(xvfb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Scenario:
    """``run_scenario(name, lang="", size="1024x600", env=None, check_glyphs=True, **settings)``
    -> the driver's JSON, with the kiosk's standard output as ``stdout``; the demo kiosk is in
    tmp_path/demo (its kiosk.db is tmp_path/demo/kiosk.db); ``env`` adds environment
    variables. The scenario fails if it drew a character its font has no glyph for
    (tests/ui/glyphs.py), unless ``check_glyphs`` is False (a scenario that does on purpose)."""

    def run(
        name: str,
        lang: str = "",
        size: str = "1024x600",
        env: dict[str, str] | None = None,
        check_glyphs: bool = True,
        **settings: str,
    ) -> dict[str, Any]:
        folder = tmp_path / "demo"
        config = demo_kiosk(folder, **settings)
        capsys.readouterr()  # the demo's "ready" line
        out = tmp_path / f"{name}.json"
        environment = {
            **os.environ,
            **(env or {}),
            "DISPLAY": xvfb,
            "KIVY_HOME": str(tmp_path / "kivy"),
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "KIVY_NO_FILELOG": "1",
            "KIVY_LOG_MODE": "PYTHON",
            "SDL_AUDIODRIVER": "dummy",
        }
        command = [sys.executable, "-m", "tests.ui.driver", name, "--config", str(config)]
        command += ["--out", str(out), "--shots", str(SHOTS), "--size", size]
        if lang:
            command += ["--lang", lang]
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_S,
            check=False,
        )
        if not out.exists():
            pytest.fail(
                f"scenario {name} crashed (status {done.returncode}):\n{done.stderr[-4000:]}"
            )
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        report["stdout"] = done.stdout
        if not report["ok"]:
            pytest.fail(
                f"scenario {name} failed after screens {report['screens']}:\n{report['error']}"
                f"\n--- stderr ---\n{done.stderr[-3000:]}"
            )
        missing = missing_glyphs(report["drawn_text"]) if check_glyphs else {}
        if missing:
            pytest.fail(f"scenario {name} drew characters its font has no glyph for: {missing}")
        return report

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A UI test starts a Kivy app (software rendering): more time than the suite's default."""
    for item in items:
        if item.nodeid.startswith("tests/ui/") and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(240))
