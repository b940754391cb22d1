"""The lane's durable state: what is saved to kiosk.db after every change. Pure core.

``LaneState.to_snapshot()`` is what ``LaneStore.save_lane`` stores; ``from_snapshot`` restores it
after a crash or power cut. The attendant session is deliberately NOT part of it: after a
restart an attendant logs in again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from kiosk.basket import Basket
from kiosk.interventions import Intervention
from kiosk.members import Member
from kiosk.payments import Tender
from kiosk.sale import AttendantAction

SNAPSHOT_VERSION: Final = 1

Mode = Literal["idle", "scanning", "paying", "complete", "out_of_service"]
# The idle timeout of a sale (kiosk.lane_idle): "" normally, "prompt" while the customer is
# asked whether they are still there, "suspended" once an attendant must resume or cancel it.
Idle = Literal["", "prompt", "suspended"]


@dataclass(slots=True)
class LaneState:
    mode: Mode = "idle"
    language: str = "zh_CN"
    sale_id: str | None = None
    started_at: str | None = None
    basket: Basket = field(default_factory=Basket)
    member: Member | None = None
    interventions: list[Intervention] = field(default_factory=list)
    tenders: list[Tender] = field(default_factory=list)
    actions: list[AttendantAction] = field(default_factory=list)
    age_verified: bool = False
    awaiting_wallet: bool = False
    awaiting_wallet_amount: int = 0
    cash_rounding: int = 0
    out_of_service_reason: str = ""
    mode_before_out_of_service: Mode = "idle"
    last_receipt: Mapping[str, Any] | None = None
    paper_low_noted: bool = False
    drawer_opened_at: str | None = None
    # Coupon codes presented for this sale, in scan order, and those the last re-pricing
    # applied (code -> promotion ids): recorded as redeemed with the sale.
    coupons: list[str] = field(default_factory=list)
    redeemed_coupons: dict[str, list[str]] = field(default_factory=dict)
    idle: Idle = ""

    def next_sale(self, language: str, mode: Mode = "idle") -> LaneState:
        """A fresh state in ``mode`` that keeps the open interventions and the device notes."""
        return LaneState(
            mode=mode,
            language=language,
            interventions=[i for i in self.interventions if i.is_open],
            paper_low_noted=self.paper_low_noted,
            drawer_opened_at=self.drawer_opened_at,
        )

    @property
    def paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "mode": self.mode,
            "language": self.language,
            "sale_id": self.sale_id,
            "started_at": self.started_at,
            "basket": self.basket.to_dict(),
            "member": asdict(self.member) if self.member else None,
            "interventions": [i.to_dict() for i in self.interventions],
            "tenders": [t.to_dict() for t in self.tenders],
            "actions": [asdict(a) for a in self.actions],
            "age_verified": self.age_verified,
            "awaiting_wallet": self.awaiting_wallet,
            "awaiting_wallet_amount": self.awaiting_wallet_amount,
            "cash_rounding": self.cash_rounding,
            "out_of_service_reason": self.out_of_service_reason,
            "mode_before_out_of_service": self.mode_before_out_of_service,
            "last_receipt": dict(self.last_receipt) if self.last_receipt else None,
            "paper_low_noted": self.paper_low_noted,
            "drawer_opened_at": self.drawer_opened_at,
            "coupons": list(self.coupons),
            "redeemed_coupons": {k: list(v) for k, v in self.redeemed_coupons.items()},
            "idle": self.idle,
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> LaneState:
        version = data.get("version")
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"lane snapshot version {version!r} is not {SNAPSHOT_VERSION}")
        member = data.get("member")
        return cls(
            mode=data["mode"],
            language=data["language"],
            sale_id=data.get("sale_id"),
            started_at=data.get("started_at"),
            basket=Basket.from_dict(data.get("basket", {})),
            member=Member(**member) if member else None,
            interventions=[Intervention.from_dict(i) for i in data.get("interventions", ())],
            tenders=[Tender.from_dict(t) for t in data.get("tenders", ())],
            actions=[AttendantAction(**a) for a in data.get("actions", ())],
            age_verified=bool(data.get("age_verified", False)),
            awaiting_wallet=bool(data.get("awaiting_wallet", False)),
            awaiting_wallet_amount=int(data.get("awaiting_wallet_amount", 0)),
            cash_rounding=int(data.get("cash_rounding", 0)),
            out_of_service_reason=str(data.get("out_of_service_reason", "")),
            mode_before_out_of_service=data.get("mode_before_out_of_service", "idle"),
            last_receipt=data.get("last_receipt"),
            paper_low_noted=bool(data.get("paper_low_noted", False)),
            drawer_opened_at=data.get("drawer_opened_at"),
            coupons=[str(c) for c in data.get("coupons", ())],
            redeemed_coupons={
                str(k): [str(r) for r in v] for k, v in data.get("redeemed_coupons", {}).items()
            },
            idle=data.get("idle", ""),
        )
