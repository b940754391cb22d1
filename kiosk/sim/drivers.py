"""Sim-only commands that drive the fake devices (``{"cmd": "sim", "action": ...}``).

The composition root hands the sim a table of named driver functions built from the fakes it
wired, so this front end never imports ``kiosk.hw`` (adapters do not import each other).
Called on the lane's thread, between lane commands (``kiosk.sim.runner`` posts each action to
the lane runner), so a driver never races the lane using the same fake.
"""

from __future__ import annotations

import inspect
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
            what = "needs an 'action'" if action is None else f"has no action {action!r}"
            raise InvalidCommand(f"sim {what}; known actions: {known}")
        kwargs = {k: v for k, v in message.items() if k not in ("cmd", "action", "id")}
        driver = self.actions[action]
        try:
            inspect.signature(driver).bind(**kwargs)
        except TypeError:
            takes = ", ".join(inspect.signature(driver).parameters) or "no arguments"
            given = ", ".join(sorted(kwargs)) or "none"
            raise InvalidCommand(f"sim {action} takes {takes}; got {given}") from None
        try:
            result = driver(**kwargs)
        except TypeError as exc:
            raise InvalidCommand(f"sim {action}: {exc}") from None
        except (ValueError, RuntimeError) as exc:  # a refused value; a fake without the part
            raise InvalidCommand(f"sim {action}: {exc}") from None
        return {"event": "sim_done", "action": action, "result": result}
