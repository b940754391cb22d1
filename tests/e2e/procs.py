"""Child processes of the end-to-end tests, and waiting for a condition.

``Proc`` is one long-running child (``kiosk sync``, a ``kiosk-central`` consumer) with its log
file; ``run_cli`` runs a short CLI command; ``wait_until`` polls with a deadline (the tests
never sleep a fixed time). Used from the test's thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    detail: Callable[[], str] | None = None,
    interval: float = 0.05,
) -> Any:
    """Poll ``condition`` until it is truthy (returned) or ``timeout`` passes (AssertionError
    naming ``what`` and, if given, ``detail()``: the state that was not reached)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{extra}")
        time.sleep(interval)


def child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def kiosk_cli(*args: str) -> list[str]:
    """The ``kiosk`` console script (kiosk.cli:main) run by this test's interpreter."""
    return [PY, "-m", "kiosk.cli", *args]


def central_cli(*args: str) -> list[str]:
    """The ``kiosk-central`` console script (central.cli:main)."""
    return [PY, "-m", "central.cli", *args]


def run_cli(args: list[str], timeout: float = 60.0) -> str:
    """Run a short CLI command; its stdout, or AssertionError with its output."""
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[2:])} exited {done.returncode}:\n{done.stdout[-2000:]}"
            f"\n{done.stderr[-3000:]}"
        )
    return done.stdout


# ----------------------------------------------------------------------------- processes
@dataclass
class Proc:
    """A long-running child process (agent or consumer) with its log file."""

    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            log.write(f"----- {self.name} started at {time.time():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_env(),
                cwd=ROOT,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash (no clean stop, no offline message, nothing flushed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(20)
        self.process = None

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM: a clean stop; returns the exit code."""
        assert self.process is not None, f"{self.name} is not running"
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.process = None
        return code

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def logged(self, text: str) -> bool:
        return text in self.log()
