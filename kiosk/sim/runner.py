"""The sim's read-eval-print loop on the lane's thread: one command in, its answer out, and
device news whenever it happens.

The lane runs on a ``LaneRunner`` (its own thread); the main thread reads stdin, hands each line
to the lane thread and waits for the answer before it reads the next line, so answers come in
order, one per command. Everything is written by the runner's listener ON THE LANE THREAD, in
the order the lane did it, through one lock:

- the answer to a command: its events, then (JSON mode) ``{"event": "view", ...}``; every line
  carries the command's ``id`` when it had one;
- unsolicited batches, from a scanner's reader thread (a scan is a lane command too), a
  device event or a tick: the same event objects with ``"source": "device"``, then (JSON mode)
  a view line with ``"source": "device"``. They are written as they happen, so one may come
  between a command and its answer; a client tells them apart by ``source``.

JSON mode (``--json``): each stdin line is one JSON command, each answer line one JSON object.
Text mode: a small command language for people (``scan 6921168509256``, ``pay card``, ``login
E01 1234``), answered with readable lines (device lines start with ``[device]``). ``{"cmd":
"sim", ...}`` device actions and lines that cannot be read run on the lane thread too, as an
internal action, so their answer ends with a view like any other.
"""

from __future__ import annotations

import json
import logging
import shlex
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from kiosk.checkout import Event, Lane
from kiosk.errors import InvalidCommand, KioskError, LaneError
from kiosk.lane_protocol import COMMANDS
from kiosk.lane_runner import LaneRunner
from kiosk.sim.drivers import SimDrivers

logger = logging.getLogger(__name__)

# The listener writes an answer right after the lane thread finishes the work; this long
# without it means the lane thread died (a bug), not a slow command.
ANSWER_WRITTEN_S: Final = 30.0

# Text-mode shortcuts: "name positional-arg-keys...".
POSITIONAL: dict[str, tuple[str, ...]] = {
    "scan": ("code",),
    "add": ("sku", "qty"),
    "plu": ("plu", "weight_kg"),
    "search": ("query", "page", "category"),
    "set_qty": ("line", "qty"),
    "remove_line": ("line",),
    "member": ("code",),
    "member_phone": ("phone",),
    "pay": ("method", "amount"),
    "login": ("staff_id", "pin"),
    "badge": ("badge",),
    "clear": ("intervention", "resolution"),
    "void_line": ("line",),
    "cash": ("tendered",),
    "language": ("language",),
    "open_drawer": ("reason",),
    "start": ("language",),
    "price_override": ("line", "unit_price", "reason"),
    "out_of_service": ("on", "reason"),
    "sim": ("action",),
}
ALIASES = {"login": "staff_login", "badge": "staff_login", "logout": "staff_logout", "plu": "add"}
INT_ARGS = {"line", "amount", "tendered", "unit_price", "page", "float", "counted"}


def parse_text(line: str) -> dict[str, Any]:
    """``pay card 500`` -> ``{"cmd": "pay", "method": "card", "amount": 500}``."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise InvalidCommand(f"cannot read that line: {exc}") from None
    if not words:
        raise InvalidCommand("empty line")
    name, rest = words[0], words[1:]
    if name not in COMMANDS and name not in ALIASES and name != "sim":
        raise InvalidCommand(f"unknown command {name!r}; {help_text()}")
    message: dict[str, Any] = {"cmd": ALIASES.get(name, name)}
    positional = list(POSITIONAL.get(name, ()))
    for number, word in enumerate(rest, start=1):
        if "=" in word:
            key, value = word.split("=", 1)
        elif positional:
            key, value = positional.pop(0), word
        else:
            # The word itself is not echoed: it may be a PIN or a phone number typed in the
            # wrong place.
            raise InvalidCommand(f"{name}: unexpected argument number {number}")
        if key == "on":
            message[key] = value.lower() in ("1", "on", "true", "yes")
        elif key in INT_ARGS:
            try:
                message[key] = int(value)
            except ValueError:
                raise InvalidCommand(f"{name}: {key} must be a whole number") from None
        else:
            message[key] = value
    return message


@dataclass
class _Pending:
    """The work whose batch is the answer the main thread waits for."""

    future: Future[list[Event]]
    command_id: Any
    restore: bool
    written: threading.Event = field(default_factory=threading.Event)

    def owns(self, events: list[Event]) -> bool:
        """True when ``events`` is this work's result (the runner publishes the very list it
        put in the future, right after completing it)."""
        future = self.future
        return future.done() and future.exception() is None and future.result() is events


class SimRunner:
    """The sim front end on a lane runner (see the module docstring)."""

    def __init__(
        self, runner: LaneRunner, drivers: SimDrivers, out: TextIO, json_mode: bool
    ) -> None:
        self.runner = runner
        self.drivers = drivers
        self.out = out
        self.json_mode = json_mode
        self.kiosk_id = runner.lane.config.kiosk.id
        self.closed = False  # stdout went away: nothing more can be answered
        self._pending: _Pending | None = None
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def start(self) -> None:
        """Start the lane thread: the restore events, then ``ready``."""
        self.runner.add_listener(self._on_batch)
        self._ask(self.runner.start, None, restore=True)

    def run(self, lines: Iterable[str], text: bool = False) -> None:
        """Answer each line; ``text=True`` reads text-mode commands even in JSON mode (the
        scripted demo basket is written in the text language)."""
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line in ("quit", "exit") or self.closed:
                break
            self.one(line, text=text)

    def one(self, line: str, text: bool = False) -> None:
        """Run one command and wait until its answer is written. Every line of the answer
        carries the command's ``id`` when it had one."""
        try:
            message = self._parse(line, text)
        except LaneError as exc:
            answer = _answer_error(exc)
            self._ask(lambda: self.runner.post(answer), None)
            return
        command_id = message.get("id")
        if message.get("cmd") == "sim":
            self._ask(lambda: self.runner.post(self._sim_action(message)), command_id)
        else:
            self._ask(lambda: self.runner.submit(message), command_id)

    def _sim_action(self, message: Mapping[str, Any]) -> Callable[[Lane], None]:
        """A device action, run on the lane thread between two lane commands."""

        def run(lane: Lane) -> None:
            try:
                done = self.drivers.run(message)
            except LaneError as exc:
                lane.emit("error", code=exc.code, message=str(exc))
                return
            lane.emit("sim_done", action=done["action"], result=done["result"])

        return run

    def _ask(
        self,
        work: Callable[[], Future[list[Event]]],
        command_id: Any,
        restore: bool = False,
    ) -> None:
        with self._pending_lock:  # the listener cannot look before this is recorded
            pending = _Pending(work(), command_id, restore)
            self._pending = pending
        failure = pending.future.exception()  # waits for the lane thread to do the work
        if failure is not None:  # a lane bug (the runner logged it): stop, as a crash would
            with self._pending_lock:
                self._pending = None
            raise failure
        if not pending.written.wait(ANSWER_WRITTEN_S):
            raise KioskError("the lane thread stopped before its answer was written")

    def _parse(self, line: str, text: bool) -> dict[str, Any]:
        if text or not self.json_mode:
            return parse_text(line)
        try:
            message = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidCommand(f"not JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(message, dict):
            raise InvalidCommand("a command must be a JSON object")
        return message

    # -- the lane thread ------------------------------------------------------------------------
    def _on_batch(self, events: list[Event], view: Mapping[str, Any]) -> None:
        with self._pending_lock:
            pending = self._pending
            mine = pending is not None and pending.owns(events)
            if mine:
                self._pending = None
        try:
            if pending is not None and mine:
                self._write(self._answer_lines(pending, events, view))
            else:
                self._write(self._device_lines(events, view))
        finally:
            if pending is not None and mine:
                pending.written.set()

    def _answer_lines(
        self, pending: _Pending, events: list[Event], view: Mapping[str, Any]
    ) -> list[str]:
        if pending.restore:
            batch = [*events, {"event": "ready", "kiosk": self.kiosk_id}]
        elif self.json_mode:
            batch = [*events, {"event": "view", **view}]
        else:
            batch = list(events)
        if pending.command_id is not None:
            for event in batch:
                event.setdefault("id", pending.command_id)
        return [self._line(event, view) for event in batch]

    def _device_lines(self, events: list[Event], view: Mapping[str, Any]) -> list[str]:
        if not self.json_mode:
            return ["[device] " + render_event(event, view) for event in events]
        batch = [{**event, "source": "device"} for event in events]
        batch.append({"event": "view", "source": "device", **view})
        return [self._line(event, view) for event in batch]

    def _line(self, event: Mapping[str, Any], view: Mapping[str, Any]) -> str:
        if self.json_mode:
            return json.dumps(event, ensure_ascii=False, default=str)
        return render_event(event, view)

    def _write(self, lines: list[str]) -> None:
        with self._write_lock:
            if self.closed:
                return
            try:
                for line in lines:
                    self.out.write(line + "\n")
                self.out.flush()
            except (OSError, ValueError) as exc:  # a closed pipe or stream
                self.closed = True
                logger.warning("kiosk sim cannot write its output any more: %s", exc)


def _answer_error(exc: LaneError) -> Callable[[Lane], None]:
    """A line that could not be read: answered as an ``error`` and the view."""

    def run(lane: Lane) -> None:
        lane.emit("error", code=exc.code, message=str(exc))

    return run


def render_event(event: Mapping[str, Any], view: Mapping[str, Any]) -> str:
    """One human-readable line (or block) for text mode; ``view`` is the view after the
    batch the event belongs to."""
    kind = event.get("event", "?")
    fields = {k: v for k, v in event.items() if k != "event"}
    receipt = view.get("last_receipt")
    if kind == "sale_completed" and receipt:
        return f"== sale completed, seq {fields['seq']} ==\n{receipt['text']}"
    if kind in ("item_added", "line_changed", "line_voided", "payment_approved", "cash_taken"):
        detail = " ".join(f"{k}={v}" for k, v in fields.items())
        if view.get("sale_id") is None:  # the command also finished the sale: no totals now
            return f"{kind}: {detail}"
        t = view["totals"]
        return f"{kind}: {detail}  | due {t['due']} paid {t['paid']} remaining {t['remaining']}"
    return f"{kind}: " + " ".join(f"{k}={v}" for k, v in fields.items())


def help_text() -> str:
    names = sorted(set(COMMANDS) | set(ALIASES) | {"sim"})
    return "commands: " + ", ".join(names) + " (see docs/lane-protocol.md)"
