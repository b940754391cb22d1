"""Payments as data: intents, results and tenders. Pure core.

A ``PaymentIntent`` is written to kiosk.db *before* a terminal or wallet gateway is asked, and
its result is written before anything else happens. An intent still ``pending`` at start-up
(the kiosk died while the terminal was working) becomes ``unknown`` and an attendant
intervention: it is never dropped silently and never charged twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

# "points" and "stored_value" are a member's own accounts (kiosk.lane_members): recorded like
# cash, approved at once with an intent, no terminal.
Method = Literal["card", "wallet", "cash", "points", "stored_value"]
IntentStatus = Literal["pending", "approved", "declined", "unknown", "cancelled"]
Outcome = Literal["approved", "declined", "timeout", "disconnected"]


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """A payment about to be asked of a terminal or gateway (or cash taken by an attendant)."""

    intent_id: str
    sale_id: str
    method: Method
    amount: int
    currency: str
    status: IntentStatus = "pending"
    ref: str | None = None
    auth: str | None = None
    last4: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentIntent:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """What a terminal or gateway answered. ``last4`` is all the kiosk ever sees of a card."""

    outcome: Outcome
    amount: int = 0
    ref: str | None = None
    auth: str | None = None
    last4: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class Tender:
    """A payment applied to a sale. For cash, ``tendered`` is what was handed over and
    ``change`` what was given back; ``amount`` is what the sale took. For a ``points`` tender,
    ``points`` is how many points paid ``amount`` (not published: the sale event's ``member``
    carries ``points_redeemed``)."""

    type: Method
    amount: int
    intent_id: str
    tendered: int = 0
    change: int = 0
    ref: str | None = None
    auth: str | None = None
    last4: str | None = None
    points: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tender:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def event_dict(self) -> dict[str, Any]:
        """The tender as published in the sale event (mqtt-contract.md)."""
        out: dict[str, Any] = {"type": self.type, "amount": self.amount}
        if self.type == "cash":
            out["tendered"] = self.tendered
            out["change"] = self.change
        for key in ("ref", "auth", "last4"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def mask_code(code: str) -> str:
    """A wallet payment code as it may be stored: only its last four digits."""
    return f"****{code[-4:]}" if len(code) > 4 else "****"
