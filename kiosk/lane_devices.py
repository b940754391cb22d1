"""Device events and device health on the lane. Pure core, on the lane thread.

Device adapters run their own threads (a drawer switch's edge handler, a printer status
monitor, a scanner's reader); they never touch the lane. The composition root hands their
reports to the lane thread as ``runner.post(lambda lane: lane.device_event(device, kind,
detail))``, which runs ``Devices.event`` with the all-or-nothing rules of a command. Every
accepted report is answered with a ``device_status`` event (``device``, ``status`` = the kind,
``detail``), then:

- ``drawer``: ``opened`` notes the time; ``left_open`` opens a non-blocking ``drawer_left_open``
  task (once per opening); ``closed`` closes that task by itself (``cleared_by`` ``device``)
  and writes a ``drawer_closed`` audit row with the open and close times for the shift report;
  ``not_opened`` (a pulse the drawer's own thread could not confirm, after its retry) is a
  ``device_fault`` with a ``drawer_fault`` task, as a failed pulse on the lane thread is. The
  last of these is the drawer's ``state`` in the view's device list (``open``, ``closed``,
  ``not_opened``; null before the drawer reported anything), so the attendant screen can wait
  for the drawer to close.
- ``printer``: ``paper_near_end`` opens the ``paper_low`` task (once, until the paper is seen
  refilled); ``paper_out``, ``cover_open`` and ``offline`` open one ``printer_fault`` without a
  job; ``paper_ok``, ``cover_closed`` and ``back_online`` close it once the printer's status
  shows no fault (receipts that did not print keep their own ``printer_fault``).
- ``scanner``: ``disconnected`` and ``connected`` (or ``reconnected``) change only its status,
  unless it stays disconnected ``SCANNER_LOST_AFTER_S`` seconds: then a non-blocking
  ``scanner_disconnected`` task opens (checked on the lane's tick), closed by itself when the
  scanner is connected again. A rejected read (``too_long``, ``non_printable``...) is reported
  only.

A kind may carry its device's name as a prefix (``drawer_left_open`` = ``left_open``), as the
GPIO drawer reports it. Device health (``LaneDeps.device_health``) is read at start-up, after
every device event and at most every ``HEALTH_EVERY_S`` seconds on the tick, never per
command: the view shows the list as last read (adapters may do I/O to answer it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kiosk.errors import DeviceError, InvalidCommand
from kiosk.interventions import DEVICE, open_of

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)

# A scanner's rejected reads (kiosk.hw.framing.FRAME_ERRORS): reported, status only.
SCANNER_REJECTS: Final[tuple[str, ...]] = (
    "too_long",
    "non_printable",
    "undecodable",
    "bad_framing",
    "empty",
    "incomplete",
    "unmapped_key",
)

DEVICE_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "drawer": ("opened", "closed", "left_open", "not_opened"),
    "printer": (
        "paper_near_end",
        "paper_out",
        "paper_ok",
        "cover_open",
        "cover_closed",
        "offline",
        "back_online",
    ),
    "scanner": ("disconnected", "connected", "reconnected", *SCANNER_REJECTS),
}

# A scanner unplugged this long (the adapters reconnect within 2 s) needs an attendant.
SCANNER_LOST_AFTER_S: Final = 10.0
# How often the tick reads the device health list again.
HEALTH_EVERY_S: Final = 5.0

# The drawer's state in the view after each of its reports.
_DRAWER_STATES: Final[Mapping[str, str]] = {
    "opened": "open",
    "left_open": "open",
    "closed": "closed",
    "not_opened": "not_opened",
}

_PRINTER_FAULTS: Final[Mapping[str, str]] = {
    "paper_out": "paper_out: the printer is out of paper",
    "cover_open": "cover_open: the printer cover is open",
    "offline": "offline: the printer does not answer",
}


@dataclass(slots=True)
class _Down:
    """A scanner reported disconnected: since when, and whether its task was opened."""

    since: float
    since_iso: str
    reported: bool = False


def _is_fake(entry: Mapping[str, Any]) -> bool:
    flag = entry.get("fake")
    if isinstance(flag, bool):
        return flag
    return str(entry.get("kind", "")).startswith("fake")


class Devices:
    """Device reports and the cached health list of one lane."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.health: list[dict[str, Any]] = []
        self._health_read_at: float | None = None
        self._scanners_down: dict[str, _Down] = {}
        self._drawer_state: str | None = None
        self._drawer_name = "drawer"

    # ------------------------------------------------------------------ health
    def read_health(self) -> bool:
        """Read the health list again; True when it changed."""
        source = self.lane.deps.device_health
        self._health_read_at = self.lane.deps.clock.monotonic()
        if source is None:
            return False
        try:
            entries = source()
        except DeviceError as exc:  # the list stays as last read; the lane goes on
            logger.warning(
                "device health cannot be read",
                extra={"kiosk": self.lane.config.kiosk.id, "error": str(exc)},
            )
            return False
        fresh = [
            {
                "name": str(entry.get("name", "")),
                "kind": str(entry.get("kind", "")),
                "ok": bool(entry.get("ok", False)),
                "detail": str(entry.get("detail", "")),
                "fake": _is_fake(entry),
                **({"state": self.drawer_state} if self._is_drawer(entry) else {}),
            }
            for entry in entries
        ]
        changed = fresh != self.health
        self.health = fresh
        return changed

    def _is_drawer(self, entry: Mapping[str, Any]) -> bool:
        device = entry.get("device")
        return device == "drawer" or (device is None and entry.get("name") == self._drawer_name)

    @property
    def drawer_state(self) -> str | None:
        """``open``, ``closed`` or ``not_opened`` as the drawer last reported; ``open`` after
        a restart while kiosk.db says it was open; None when nothing is known."""
        if self._drawer_state is None and self.lane.state.drawer_opened_at is not None:
            return "open"
        return self._drawer_state

    @property
    def fake_hardware(self) -> bool:
        return any(entry["fake"] for entry in self.health)

    # ------------------------------------------------------------------ events
    def event(self, device: str, kind: str, detail: Mapping[str, Any]) -> None:
        if device not in DEVICE_KINDS:
            raise InvalidCommand(
                f"unknown device {device!r}: expected one of {', '.join(DEVICE_KINDS)}"
            )
        kinds = DEVICE_KINDS[device]
        status = kind.removeprefix(f"{device}_")
        if status not in kinds:
            raise InvalidCommand(
                f"unknown {device} event {kind!r}: expected one of {', '.join(kinds)}"
            )
        if not isinstance(detail, Mapping):
            raise InvalidCommand(f"{device} {status}: detail must be a mapping")
        info = dict(detail)
        name = str(info.get("name") or info.get(device) or device)
        logger.info(
            "device event",
            extra={"kiosk": self.lane.config.kiosk.id, "device": name, "status": status},
        )
        self.lane.emit("device_status", device=device, status=status, detail=info)
        handler = {"drawer": self._drawer, "printer": self._printer, "scanner": self._scanner}
        handler[device](status, name, info)
        self.read_health()

    def _drawer(self, status: str, name: str, info: Mapping[str, Any]) -> None:
        lane = self.lane
        state = lane.state
        self._drawer_name = name
        self._drawer_state = _DRAWER_STATES[status]
        if status == "not_opened":
            message = str(info.get("message") or "the drawer did not open")
            lane.emit("device_fault", device="drawer", message=message)
            if not open_of(state.interventions, "drawer_fault"):
                lane.open_intervention("drawer_fault", message=message)
        elif status == "opened":
            state.drawer_opened_at = str(info.get("at") or lane.now_iso())
            lane.touch()
        elif status == "left_open":
            if state.drawer_opened_at is None and info.get("opened_at"):
                state.drawer_opened_at = str(info["opened_at"])
                lane.touch()
            if not open_of(state.interventions, "drawer_left_open"):
                lane.open_intervention(
                    "drawer_left_open",
                    drawer=name,
                    opened_at=state.drawer_opened_at,
                    open_for_s=info.get("open_for_s"),
                )
        else:  # closed
            lane.audit_later(
                "drawer_closed",
                {
                    "drawer": name,
                    "opened_at": state.drawer_opened_at or info.get("opened_at"),
                    "closed_at": str(info.get("at") or lane.now_iso()),
                    "was_open_s": info.get("was_open_s"),
                    "left_open": bool(open_of(state.interventions, "drawer_left_open")),
                    "sale_id": state.sale_id,
                },
            )
            state.drawer_opened_at = None
            lane.touch()
            for item in open_of(state.interventions, "drawer_left_open"):
                lane.close_intervention(item, DEVICE, "approve")

    def _printer(self, status: str, _name: str, info: Mapping[str, Any]) -> None:
        printing = self.lane.printing
        if status == "paper_near_end":
            printing.paper_low()
        elif status in _PRINTER_FAULTS:
            message = str(info.get("message") or _PRINTER_FAULTS[status])
            printing.device_fault(message)
        else:  # paper_ok, cover_closed, back_online
            if status == "paper_ok":
                printing.paper_refilled()
            printing.device_recovered()

    def _scanner(self, status: str, name: str, _info: Mapping[str, Any]) -> None:
        lane = self.lane
        if status in SCANNER_REJECTS:
            return  # a bad read: the device_status event is the whole report
        if status == "disconnected":
            if name not in self._scanners_down:
                self._scanners_down[name] = _Down(lane.deps.clock.monotonic(), lane.now_iso())
            return
        self._scanners_down.pop(name, None)  # connected / reconnected
        for item in open_of(lane.state.interventions, "scanner_disconnected"):
            if item.detail.get("scanner") == name:
                lane.close_intervention(item, DEVICE, "approve")

    # ------------------------------------------------------------------ tick
    def poll(self) -> None:
        """On the lane's tick: a scanner gone too long becomes a task; health is re-read."""
        lane = self.lane
        now = lane.deps.clock.monotonic()
        for name, down in self._scanners_down.items():
            if down.reported or now - down.since < SCANNER_LOST_AFTER_S:
                continue
            down.reported = True  # once per disconnection, even if an attendant clears it
            lane.open_intervention("scanner_disconnected", scanner=name, since=down.since_iso)
        due = self._health_read_at is None or now - self._health_read_at >= HEALTH_EVERY_S
        if due and self.read_health():
            lane.emit("devices_changed", devices=[dict(e) for e in self.health])
