"""The idle timeout of an abandoned basket. Pure core, on the lane thread.

A sale with items that gets no command for ``[kiosk] idle_prompt_s`` first asks the customer
whether they are still there (``LaneState.idle`` = ``"prompt"``, event ``idle_prompt``). Any
command but ``view`` (``still_here`` is the prompt's own button) answers it (``idle_cleared``).
With no answer for ``[kiosk] idle_suspend_s`` more, the sale is suspended: it stays in kiosk.db
exactly as it is (the lane snapshot holds the basket), ``idle`` becomes ``"suspended"``, a
blocking ``abandoned`` intervention calls an attendant and ``sale_suspended`` says so. Nothing
is dropped: while suspended the basket cannot change and payment cannot start, until an
attendant clears ``abandoned`` with ``resume`` (the customer goes on: ``sale_resumed``) or
``cancel`` (the sale is cancelled through ``cancel_sale``, audited).

The timer only runs while a sale is ``scanning`` with active lines and no payment in progress
(no tender, no wallet code awaited, no ``payment_unknown`` open); a card payment holds the lane
thread anyway. It uses the lane's injected ``Clock`` (monotonic time) and is checked on
``Lane.tick``. The last input time is not saved: after a restart the timer starts again, while a
suspended sale stays suspended with its intervention (both are in the lane snapshot).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from kiosk.errors import InvalidCommand
from kiosk.interventions import Intervention, open_of
from kiosk.lane_protocol import Command, wrong_state
from kiosk.timefmt import rfc3339

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)

ABANDONED_RESOLUTIONS = ("resume", "cancel")


class IdleWatch:
    """The idle timer of one lane. Holds only monotonic times; the idle state is in
    ``LaneState.idle``."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self._last_input: float | None = None  # monotonic time of the last command
        self._prompted_at: float | None = None  # monotonic time the prompt was shown

    # ------------------------------------------------------------------ input
    def note_input(self, command: str) -> None:
        """A command arrived (before it runs): the timer starts again and a prompt is
        answered. ``view`` only reads, so it is not input."""
        if command == "view":
            return
        self._last_input = self.lane.deps.clock.monotonic()
        if self.lane.state.idle == "prompt":
            self._clear_prompt()

    def cmd_still_here(self, _command: Command) -> None:
        """The prompt's button. Its input was noted already; a suspended sale needs staff."""
        if self.lane.state.idle == "suspended":
            raise wrong_state("the sale is suspended: an attendant must resume it")

    def check_not_suspended(self) -> None:
        if self.lane.state.idle == "suspended":
            raise wrong_state("the sale is suspended: an attendant must resume or cancel it")

    # ------------------------------------------------------------------ the tick
    def poll(self) -> None:
        lane = self.lane
        state = lane.state
        now = lane.deps.clock.monotonic()
        if not self._watching():
            self._last_input = now
            if state.idle == "prompt":
                self._clear_prompt()
            return
        if self._last_input is None:
            self._last_input = now
        cfg = lane.config.kiosk
        if state.idle == "":
            if now - self._last_input >= cfg.idle_prompt_s:
                self._prompt(now)
        elif state.idle == "prompt":
            if self._prompted_at is None:  # a failed command brought the prompt back
                self._prompted_at = now
            if now - self._prompted_at >= cfg.idle_suspend_s:
                self._suspend(now)

    def _watching(self) -> bool:
        state = self.lane.state
        return (
            state.mode == "scanning"
            and state.idle != "suspended"
            and bool(state.basket.active_lines())
            and not state.tenders
            and not state.awaiting_wallet
            and not open_of(state.interventions, "payment_unknown")
        )

    def _prompt(self, now: float) -> None:
        lane = self.lane
        lane.state.idle = "prompt"
        self._prompted_at = now
        lane.touch()
        lane.emit("idle_prompt", suspend_in_s=lane.config.kiosk.idle_suspend_s)

    def _clear_prompt(self) -> None:
        self.lane.state.idle = ""
        self._prompted_at = None
        self.lane.touch()
        self.lane.emit("idle_cleared")

    def _suspend(self, now: float) -> None:
        lane = self.lane
        state = lane.state
        idle_s = round(now - self._last_input, 3) if self._last_input is not None else 0.0
        last_input_at = rfc3339(lane.deps.clock.now() - timedelta(seconds=idle_s))
        state.idle = "suspended"
        self._prompted_at = None
        lane.touch()
        lines = len(state.basket.active_lines())
        lane.emit("sale_suspended", sale_id=state.sale_id, lines=lines, idle_s=idle_s)
        lane.open_intervention(
            "abandoned", sale_id=state.sale_id, lines=lines, last_input_at=last_input_at
        )
        logger.warning(
            "sale suspended: no customer input",
            extra={"kiosk": lane.config.kiosk.id, "sale": state.sale_id, "idle_s": idle_s},
        )

    # ------------------------------------------------------------------ the attendant
    def cmd_clear(self, command: Command) -> None:
        """``clear``: an ``abandoned`` sale is resumed or cancelled here; every other
        intervention is cleared by ``kiosk.lane_attendant``."""
        lane = self.lane
        wanted = command.text("intervention")
        item = next(
            (
                i
                for i in open_of(lane.state.interventions, "abandoned")
                if wanted in (i.intervention_id, "abandoned")
            ),
            None,
        )
        if item is None:
            lane.desk.cmd_clear(command)
            return
        staff = lane.need_attendant()
        resolution = command.text("resolution")
        if resolution not in ABANDONED_RESOLUTIONS:
            raise InvalidCommand(
                "clear.resolution of an abandoned sale must be 'resume' or 'cancel'"
            )
        if resolution == "resume":
            self._resume(item, staff.staff_id)
        else:
            lane.close_intervention(item, staff.staff_id, "cancel")
            lane.desk.cmd_cancel_sale(command)

    def _resume(self, item: Intervention, staff_id: str) -> None:
        lane = self.lane
        lane.close_intervention(item, staff_id, "resume")
        lane.state.idle = ""
        self._last_input = lane.deps.clock.monotonic()
        lane.touch()
        lane.emit("sale_resumed", sale_id=lane.state.sale_id, staff=staff_id)

    # ------------------------------------------------------------------ start-up
    def after_restore(self) -> None:
        """A suspended sale always has its open ``abandoned`` intervention (a snapshot that
        lost it, e.g. written by hand, gets a new one); the timer starts again."""
        lane = self.lane
        state = lane.state
        self._last_input = lane.deps.clock.monotonic()
        self._prompted_at = self._last_input if state.idle == "prompt" else None
        if state.idle == "suspended" and not open_of(state.interventions, "abandoned"):
            lane.open_intervention(
                "abandoned",
                sale_id=state.sale_id,
                lines=len(state.basket.active_lines()),
                last_input_at=None,
            )
        elif state.idle != "" and state.mode != "scanning":
            state.idle = ""
            lane.touch()
