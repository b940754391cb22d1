"""``make run``'s watch: a supervisord event listener that reports a program that keeps failing.

supervisord restarts a program that exits (``autorestart``) and gives up on one that fails
within ``startsecs`` ``startretries`` times (state FATAL). A program that runs longer than
``startsecs`` before it fails is restarted without end, and after ``make run`` has returned
nobody was told of either. supervisord sends this listener every ``PROCESS_STATE_EXITED`` and
``PROCESS_STATE_FATAL`` event:

- FATAL: reported at once (supervisord has given up on it);
- an unexpected exit: counted per program; ``CRASH_LIMIT`` of them within ``CRASH_WINDOW_S`` is
  a crash loop: reported, and the program is stopped through supervisord's XML-RPC interface
  so that it does not restart forever (``supervisorctl -c ... start NAME`` once it is fixed).

A report is one JSON line appended to the failures file (``logs/failing.jsonl``; ``python -m
provisioning.run_store status`` prints them) and one line on this listener's stderr (its log).
The event protocol (supervisor's documentation, "Events"): write ``READY``, read a header line
and the payload it announces, answer ``RESULT 2\\nOK``; stdout carries nothing else.

    python -m provisioning.store_watch --failures FILE --socket SUPERVISOR_SOCKET
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import time
import xmlrpc.client
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

CRASH_LIMIT: Final = 5
CRASH_WINDOW_S: Final = 300.0
LISTENER: Final = "store_watch"


class EventError(ValueError):
    """supervisord sent something this listener cannot read."""


def parse_fields(text: str) -> dict[str, str]:
    """``key:value key:value`` (a header line or a PROCESS_STATE payload) as a dict."""
    fields = {}
    for token in text.split():
        key, sep, value = token.partition(":")
        if not sep or not key:
            raise EventError(f"not a key:value token: {token!r} in {text!r}")
        fields[key] = value
    return fields


@dataclass
class CrashWatch:
    """Unexpected exits per program in a sliding window; what to report, and when."""

    limit: int = CRASH_LIMIT
    window_s: float = CRASH_WINDOW_S
    _exits: dict[str, deque[float]] = field(default_factory=dict)

    def exited(self, program: str, now: float, expected: bool) -> str | None:
        """The report when this unexpected exit is the ``limit``-th within the window."""
        if expected:
            return None
        exits = self._exits.setdefault(program, deque())
        exits.append(now)
        while exits and now - exits[0] > self.window_s:
            exits.popleft()
        if len(exits) < self.limit:
            return None
        exits.clear()
        return (
            f"{program} keeps failing: {self.limit} unexpected exits within {self.window_s:.0f} s"
        )

    @staticmethod
    def fatal(program: str) -> str:
        return f"{program} keeps failing: supervisord gave up starting it (FATAL)"


class UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over supervisord's unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        path = self.path

        class Connection(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(30)
                self.sock.connect(path)

        return Connection("localhost")


def supervisor_stopper(socket_path: Path) -> Callable[[str], str]:
    """``stop(program)`` through supervisord's XML-RPC interface; what happened, in words."""

    def stop(program: str) -> str:
        proxy = xmlrpc.client.ServerProxy(
            "http://localhost", transport=UnixTransport(str(socket_path))
        )
        try:
            proxy.supervisor.stopProcess(program, False)  # do not wait: we are its listener
        except xmlrpc.client.Fault as exc:
            return f"could not stop it: {exc.faultString}"
        except OSError as exc:
            return f"could not stop it: supervisord at {socket_path}: {exc}"
        return "stopped; start it with supervisorctl once it is fixed"

    return stop


@dataclass
class Watcher:
    """Turns events into reports; ``report(dict)`` and ``stop(program)`` do the I/O."""

    report: Callable[[dict[str, Any]], None]
    stop: Callable[[str], str]
    clock: Callable[[], float] = time.monotonic
    watch: CrashWatch = field(default_factory=CrashWatch)

    def handle(self, eventname: str, payload: dict[str, str]) -> None:
        program = payload.get("processname", "")
        if not program or program == LISTENER:
            return
        if eventname == "PROCESS_STATE_FATAL":
            self.report({"program": program, "event": "fatal", "why": CrashWatch.fatal(program)})
        elif eventname == "PROCESS_STATE_EXITED":
            expected = payload.get("expected") == "1"
            why = self.watch.exited(program, self.clock(), expected)
            if why is not None:
                action = self.stop(program)
                self.report(
                    {"program": program, "event": "crash_loop", "why": why, "action": action}
                )


def listen(stdin: IO[str], stdout: IO[str], watcher: Watcher) -> None:
    """The event loop, until supervisord closes stdin."""
    while True:
        stdout.write("READY\n")
        stdout.flush()
        header = stdin.readline()
        if not header:
            return
        fields = parse_fields(header)
        try:
            length = int(fields["len"])
        except (KeyError, ValueError):
            raise EventError(f"no payload length in the event header {header!r}") from None
        payload = stdin.read(length)
        watcher.handle(fields.get("eventname", ""), parse_fields(payload.split("\n", 1)[0]))
        stdout.write("RESULT 2\nOK")
        stdout.flush()


def file_reporter(path: Path, stderr: IO[str]) -> Callable[[dict[str, Any]], None]:
    def report(entry: dict[str, Any]) -> None:
        entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **entry}
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        print(f"store_watch: {entry['why']} ({entry.get('action', 'reported')})", file=stderr)
        stderr.flush()

    return report


def read_failures(path: Path) -> list[dict[str, Any]]:
    """The reports so far (none when the file does not exist)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m provisioning.store_watch")
    parser.add_argument("--failures", type=Path, required=True, help="JSON lines, appended")
    parser.add_argument("--socket", type=Path, required=True, help="supervisord's unix socket")
    parser.add_argument("--limit", type=int, default=CRASH_LIMIT)
    parser.add_argument("--window", type=float, default=CRASH_WINDOW_S, help="seconds")
    args = parser.parse_args(argv)
    if args.limit < 1 or args.window <= 0:
        parser.error(
            f"--limit must be 1 or more and --window above 0, got {args.limit}, {args.window}"
        )
    watcher = Watcher(
        report=file_reporter(args.failures, sys.stderr),
        stop=supervisor_stopper(args.socket),
        watch=CrashWatch(args.limit, args.window),
    )
    listen(sys.stdin, sys.stdout, watcher)
    return 0


if __name__ == "__main__":
    sys.exit(main())
