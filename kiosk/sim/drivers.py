"""Sim-only commands that drive the fake devices (``{"cmd": "sim", "action": ...}``).

The composition root hands the sim a table of named driver functions built from the fakes it
wired, so this front end never imports ``kiosk.hw`` (adapters do not import each other).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.errors import InvalidCommand

Driver = Callable[..., Any]


@dataclass(frozen=True)
class SimDrivers:
    """``actions`` maps an action name (``terminal.next``, ``printer.paper_out``...) to a
    function taking the command's other arguments as keywords."""

    actions: Mapping[str, Driver] = field(default_factory=dict)
    describe: Mapping[str, str] = field(default_factory=dict)

    def run(self, message: Mapping[str, Any]) -> dict[str, Any]:
        action = message.get("action")
        if not isinstance(action, str) or action not in self.actions:
            known = ", ".join(sorted(self.actions))
            raise InvalidCommand(f"sim needs an 'action', one of: {known}")
        kwargs = {k: v for k, v in message.items() if k not in ("cmd", "action", "id")}
        try:
            result = self.actions[action](**kwargs)
        except TypeError as exc:
            raise InvalidCommand(f"sim {action}: {exc}") from None
        except ValueError as exc:
            raise InvalidCommand(f"sim {action}: {exc}") from None
        return {"event": "sim_done", "action": action, "result": result}
