"""Interventions: things only an attendant can clear. Pure core, called on the lane thread.

An intervention has a reason code, the line or code it concerns, when it was opened, and, once
cleared, who cleared it, how (``approve`` or ``reject``) and how long it stayed open. Blocking
interventions stop payment from starting; ``help`` and the device tasks (printer and drawer
faults, paper low, a receipt that may not have printed, a drawer left open, a scanner
disconnected) do not block. Device tasks that only mirror a device's condition are closed by
the device itself when the condition ends (``cleared_by`` is ``DEVICE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

Reason = Literal[
    "age_check",
    "unknown_item",
    "not_for_sale",
    "quantity_limit",
    "expired_item",
    "void",
    "price_override",
    "help",
    "payment_unknown",
    "cash_payment",
    "printer_fault",
    "paper_low",
    "print_uncertain",
    "drawer_fault",
    "drawer_left_open",
    "scanner_disconnected",
    "storage",
    "abandoned",
]

REASONS: Final[tuple[str, ...]] = Reason.__args__  # type: ignore[attr-defined]

NON_BLOCKING: Final[frozenset[str]] = frozenset(
    {
        "help",
        "printer_fault",
        "paper_low",
        "print_uncertain",
        "drawer_fault",
        "drawer_left_open",
        "scanner_disconnected",
    }
)

# ``cleared_by`` of an intervention a device closed itself (drawer shut, paper refilled...).
DEVICE: Final = "device"

# ``resume`` and ``cancel`` clear an ``abandoned`` sale (kiosk.lane_idle).
Resolution = Literal["approve", "reject", "resume", "cancel"]


@dataclass(frozen=True, slots=True)
class Intervention:
    """One intervention. ``opened_at``/``cleared_at`` are RFC 3339 UTC strings; ``opened_mono``
    is the lane clock's monotonic time at opening and ``opened_boot`` the kiosk boot it belongs
    to: within one boot the duration comes from the monotonic clock (immune to clock changes);
    an intervention that survived a restart is timed by the wall clock instead."""

    intervention_id: str
    reason: Reason
    opened_at: str
    opened_mono: float
    opened_boot: int = 0
    line_no: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    cleared_at: str | None = None
    cleared_by: str | None = None
    resolution: Resolution | None = None
    open_seconds: float | None = None

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def blocking(self) -> bool:
        return self.reason not in NON_BLOCKING

    def cleared(
        self, staff_id: str, resolution: Resolution, at: str, mono_now: float, boot: int = 0
    ) -> Intervention:
        if boot == self.opened_boot:
            seconds = mono_now - self.opened_mono
        else:
            opened = datetime.fromisoformat(self.opened_at)
            seconds = (datetime.fromisoformat(at) - opened).total_seconds()
        return replace(
            self,
            cleared_at=at,
            cleared_by=staff_id,
            resolution=resolution,
            open_seconds=round(max(0.0, seconds), 3),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["detail"] = dict(self.detail)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Intervention:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def open_of(items: list[Intervention], reason: str | None = None) -> list[Intervention]:
    """The open interventions, optionally only those with ``reason``."""
    return [i for i in items if i.is_open and (reason is None or i.reason == reason)]


def blocking(items: list[Intervention]) -> list[Intervention]:
    return [i for i in items if i.is_open and i.blocking]
