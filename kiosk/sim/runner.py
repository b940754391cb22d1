"""The sim's read-eval-print loop: one command in, events (and the view) out. Main thread.

JSON mode (``--json``): each stdin line is one JSON command; each answer is one JSON object per
line on stdout: the command's events, then ``{"event": "view", ...}``. Text mode: a small command
language for people (``scan 6921168509256``, ``pay card``, ``login E01 1234``), answered with
readable lines. Both drive the same ``Lane`` with the same lane-protocol commands.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any, TextIO

from kiosk.checkout import Lane
from kiosk.errors import InvalidCommand, LaneError
from kiosk.lane_protocol import COMMANDS
from kiosk.sim.drivers import SimDrivers

# Text-mode shortcuts: "name positional-arg-keys...".
POSITIONAL: dict[str, tuple[str, ...]] = {
    "scan": ("code",),
    "add": ("sku", "qty"),
    "plu": ("plu", "weight_kg"),
    "search": ("query", "page"),
    "set_qty": ("line", "qty"),
    "remove_line": ("line",),
    "member": ("code",),
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
INT_ARGS = {"line", "amount", "tendered", "unit_price", "page"}


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
    for word in rest:
        if "=" in word:
            key, value = word.split("=", 1)
        elif positional:
            key, value = positional.pop(0), word
        else:
            raise InvalidCommand(f"{name}: unexpected argument {word!r}")
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


class SimRunner:
    def __init__(self, lane: Lane, drivers: SimDrivers, out: TextIO, json_mode: bool) -> None:
        self.lane = lane
        self.drivers = drivers
        self.out = out
        self.json_mode = json_mode

    def start(self) -> None:
        self._emit(self.lane.restore())
        self._emit([{"event": "ready", "kiosk": self.lane.config.kiosk.id}])

    def run(self, lines: Iterable[str], text: bool = False) -> None:
        """Answer each line; ``text=True`` reads text-mode commands even in JSON mode (the
        scripted demo basket is written in the text language)."""
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line in ("quit", "exit"):
                break
            self.one(line, text=text)

    def one(self, line: str, text: bool = False) -> None:
        """Run one command. Every event it causes (and the view after it, in JSON mode)
        carries the command's ``id`` when it had one."""
        events: list[dict[str, Any]]
        command_id: Any = None
        try:
            message = self._parse(line, text)
            command_id = message.get("id")
            if message.get("cmd") == "sim":
                events = [self.drivers.run(message)]
            else:
                events = self.lane.handle(message)
        except LaneError as exc:
            events = [{"event": "error", "code": exc.code, "message": str(exc)}]
        if self.json_mode:
            events.append({"event": "view", **self.lane.view()})
        if command_id is not None:
            for event in events:
                event.setdefault("id", command_id)
        self._emit(events)

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

    def _emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if self.json_mode:
                self.out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
            else:
                self.out.write(render_event(event, self.lane) + "\n")
        self.out.flush()


def render_event(event: dict[str, Any], lane: Lane) -> str:
    """One human-readable line (or block) for text mode."""
    kind = event.get("event", "?")
    fields = {k: v for k, v in event.items() if k != "event"}
    if kind == "sale_completed" and lane.state.last_receipt:
        return f"== sale completed, seq {fields['seq']} ==\n{lane.state.last_receipt['text']}"
    if kind in ("item_added", "line_changed", "line_voided", "payment_approved", "cash_taken"):
        view = lane.view()
        detail = " ".join(f"{k}={v}" for k, v in fields.items())
        if view.get("sale_id") is None:  # the command also finished the sale: no totals now
            return f"{kind}: {detail}"
        t = view["totals"]
        return f"{kind}: {detail}  | due {t['due']} paid {t['paid']} remaining {t['remaining']}"
    return f"{kind}: " + " ".join(f"{k}={v}" for k, v in fields.items())


def help_text() -> str:
    names = sorted(set(COMMANDS) | set(ALIASES) | {"sim"})
    return "commands: " + ", ".join(names) + " (see docs/lane-protocol.md)"
