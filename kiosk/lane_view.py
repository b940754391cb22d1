"""The lane's view state: a plain, display-ready dict that every front end renders. Pure core.

Built on the lane thread after each command; the Kivy presenters and ``kiosk sim --json`` read
only this, never the lane's internals. Amounts are integer minor units plus the currency.
``devices`` is the device health list as last read (``kiosk.lane_devices``), with
``fake_hardware`` true when any device is a fake (the UI shows a FAKE HARDWARE banner).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.interventions import blocking, open_of
from kiosk.lane_protocol import PROTOCOL_VERSION

if TYPE_CHECKING:
    from kiosk.checkout import Lane


def build_view(lane: Lane) -> dict[str, Any]:
    state = lane.state
    totals = lane.tendering.totals()
    priced = {p.line_no: p for p in totals.lines}
    language = state.language
    lines = []
    for line in state.basket.lines:
        p = priced.get(line.line_no)
        lines.append(
            {
                "line": line.line_no,
                "sku": line.sku,
                "name": line.name(language),
                "qty": str(line.qty),
                "unit": line.unit,
                "unit_price": line.unit_price,
                "gross": p.gross if p else 0,
                "discount": p.discount if p else 0,
                "amount": p.amount if p else 0,
                "adjustments": [a.to_dict() for a in line.adjustments],
                "voided": line.voided,
                "age_limit": line.age_limit,
            }
        )
    attendant = lane.attendant
    return {
        "protocol": PROTOCOL_VERSION,
        "kiosk": lane.config.kiosk.id,
        "mode": state.mode,
        "language": language,
        "sale_id": state.sale_id,
        "currency": totals.currency,
        "lines": lines,
        "totals": {
            "gross": totals.gross,
            "discount": totals.discount,
            "tax": totals.tax,
            "due": totals.due + state.cash_rounding,
            "cash_rounding": state.cash_rounding,
            "paid": state.paid,
            "remaining": lane.tendering.remaining(totals),
            "items": str(totals.item_count),
        },
        "taxes": [
            {"code": t.code, "rate": str(t.rate), "base": t.base, "tax": t.tax}
            for t in totals.taxes
        ],
        "tenders": [t.event_dict() for t in state.tenders],
        "interventions": [
            {
                "intervention": i.intervention_id,
                "reason": i.reason,
                "line": i.line_no,
                "opened_at": i.opened_at,
                "blocking": i.blocking,
                "detail": dict(i.detail),
            }
            for i in open_of(state.interventions)
        ],
        "blocked": bool(blocking(state.interventions)),
        "awaiting_wallet": state.awaiting_wallet,
        "idle": state.idle,
        "member": (
            {
                "member": state.member.member_id,
                "level": state.member.level,
                "phone": state.member.masked_phone,
            }
            if state.member
            else None
        ),
        "loyalty": lane.members.view(totals),
        "attendant": (
            {"staff": attendant.staff_id, "name": attendant.name, "role": attendant.role}
            if attendant
            else None
        ),
        "out_of_service": state.out_of_service_reason if state.mode == "out_of_service" else None,
        "last_receipt": dict(state.last_receipt) if state.last_receipt else None,
        "return": lane.returns.view(),
        "devices": [dict(entry) for entry in lane.devices.health],
        "fake_hardware": lane.devices.fake_hardware,
        "device_tests": lane.device_tests.view(),
    }
