"""The lane as a child process: ``kiosk sim --json`` started with ``kiosk_argv``, spoken to in
JSON lines, SIGKILLed and always reaped (``LaneProcess``); ``make_template`` builds the demo
database folder every run copies, and ``stderr_tail`` quotes what a lane wrote to stderr.

Called from the thread that owns the process (the pytest thread or one of its pool threads, the
soak CLI's main thread); one ``LaneProcess`` belongs to one thread.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.crash.faults import Event, LaneFault

READY_TIMEOUT_S = 30.0
ANSWER_TIMEOUT_S = 20.0
TERMINAL_TIMEOUT_S = "0.02"


def kiosk_argv() -> list[str]:
    """The installed ``kiosk`` console script beside this Python, else ``python -m kiosk.cli``."""
    script = Path(sys.executable).with_name("kiosk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kiosk.cli"]


def make_template(folder: Path) -> Path:
    """``kiosk demo init --dir folder`` with a 20 ms terminal timeout; returns the config path."""
    done = subprocess.run(
        [*kiosk_argv(), "demo", "init", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kiosk demo init failed ({done.returncode}): {done.stderr}")
    config = folder / "kiosk.toml"
    text, count = re.subn(
        r"(?m)^terminal_timeout_s\s*=.*$",
        f"terminal_timeout_s = {TERMINAL_TIMEOUT_S}",
        config.read_text(encoding="utf-8"),
    )
    if count != 1:
        raise RuntimeError(f"{config} has no single terminal_timeout_s line to shorten")
    config.write_text(text, encoding="utf-8")
    return config


class LaneProcess:
    """One ``kiosk sim --json`` child: JSON lines in and out, SIGKILL, always reaped."""

    def __init__(self, argv: Sequence[str], stderr_path: Path) -> None:
        self._stderr = stderr_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,
                bufsize=0,
            )
        except BaseException:
            self._stderr.close()
            raise
        self.started = time.monotonic()
        self.first_output: float | None = None  # seconds from spawn to its first byte
        self._buf = bytearray()
        self._eof = False

    def _read_more(self, deadline: float) -> bool:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise LaneFault(f"the lane (pid {self.proc.pid}) did not answer in time")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self._eof = True
            return False
        if self.first_output is None:
            self.first_output = time.monotonic() - self.started
        self._buf += chunk
        return True

    def read_event(self, timeout: float) -> Event | None:
        """The next complete line as an event; None at end of output."""
        deadline = time.monotonic() + timeout
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                try:
                    event = json.loads(line)
                except ValueError:
                    raise LaneFault(f"the lane wrote a line that is not JSON: {line!r}") from None
                if not isinstance(event, dict) or "event" not in event:
                    raise LaneFault(f"the lane wrote a line that is not an event: {line!r}")
                return event
            if self._eof or not self._read_more(deadline):
                return None

    def read_through(self, kind: str, timeout: float) -> list[Event]:
        """Events up to and including the first ``kind`` event."""
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while True:
            try:
                event = self.read_event(max(0.0, deadline - time.monotonic()))
            except LaneFault as exc:
                raise LaneFault(str(exc), events) from None
            if event is None:
                raise LaneFault(
                    f"the lane exited (code {self.proc.poll()}) before its {kind!r} line "
                    f"after {[e['event'] for e in events]}",
                    events,
                )
            events.append(event)
            if event["event"] == kind:
                return events

    def send(self, command: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
        except BrokenPipeError:
            raise LaneFault(f"the lane (code {self.proc.poll()}) closed its input") from None

    def kill(self) -> list[Event]:
        """SIGKILL (unless it already exited), reap, and return every complete line it had
        written that was not read yet; a partial last line is dropped."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return self._drain()

    def finish(self, timeout: float) -> int:
        """Close its input (a clean stop), wait for it, return its exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LaneFault(f"the lane did not stop within {timeout} s of end of input") from None
        self._drain()
        return code

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        while (event := self.read_event(ANSWER_TIMEOUT_S)) is not None:
            events.append(event)
        self._buf.clear()
        return events

    def close(self) -> None:
        """Kill if still running, reap, close the pipes. Safe to call twice."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


def stderr_tail(folder: Path, lines: int = 4) -> list[str]:
    """The last lines the lane wrote to its stderr log in ``folder``."""
    log = folder / "lane-stderr.log"
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    return [f"stderr: {line}" for line in text]
