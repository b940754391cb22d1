"""Attendant actions on the lane: clearing interventions, voids, price overrides, discounts,
cancelling a sale, out of service and opening the drawer. Pure core.

Called on the lane thread by ``kiosk.checkout.Lane``, which dispatches the commands ``clear``,
``void_line``, ``price_override``, ``discount_line``, ``cancel_sale``, ``out_of_service`` and
``open_drawer``. Every one needs a logged-in attendant (``Lane.need_attendant``) and is recorded:
as an ``AttendantAction`` of the sale, or as an audit row in kiosk.db.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from kiosk.basket import Adjustment
from kiosk.errors import InvalidCommand
from kiosk.interventions import Intervention, open_of
from kiosk.lane_protocol import Command, not_found, wrong_state
from kiosk.money import Money

if TYPE_CHECKING:
    from kiosk.checkout import Lane


class AttendantDesk:
    """What an attendant does at one lane; holds no state of its own."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    # ------------------------------------------------------------------ lines
    def cmd_void_line(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        lane.require_selling()
        lane.items.void_line(lane.line_or_fail(command.integer("line")), staff)

    def cmd_price_override(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        lane.require_selling()
        line = lane.line_or_fail(command.integer("line"))
        new_price = command.integer("unit_price")
        if new_price < 0:
            raise InvalidCommand("price_override.unit_price must be 0 or more")
        reason = command.text("reason").strip()
        if not reason:
            raise InvalidCommand("price_override needs a reason")
        current = lane.tendering.line_gross(line)
        wanted = (
            Money(new_price, lane.config.store.currency)
            .times(line.qty, lane.config.tax.rounding_mode)
            .minor
        )
        line = replace(
            line, adjustments=tuple(a for a in line.adjustments if a.kind != "price_override")
        )
        base = lane.tendering.line_gross(line) + sum(a.amount for a in line.adjustments)
        adjustment = Adjustment(wanted - base, "price_override", reason, staff.staff_id)
        lane.state.basket.replace_line(line.with_adjustment(adjustment))
        lane.record_action(
            "price_override", staff, f"line {line.line_no}: {current} -> {wanted} ({reason})"
        )
        lane.emit("line_changed", line=line.line_no, adjustment=adjustment.to_dict())

    def cmd_discount_line(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        lane.require_selling()
        line = lane.line_or_fail(command.integer("line"))
        reason = command.text("reason").strip()
        if not reason:
            raise InvalidCommand("discount_line needs a reason")
        current = lane.tendering.line_gross(line) + sum(a.amount for a in line.adjustments)
        if ("amount" in command.args) == ("percent" in command.args):
            raise InvalidCommand("discount_line needs exactly one of 'amount' or 'percent'")
        if "amount" in command.args:
            off = command.integer("amount")
        else:
            percent = command.decimal("percent")
            if not Decimal(0) < percent <= Decimal(100):
                raise InvalidCommand(f"discount_line.percent {percent} is outside 0..100")
            off = int((Decimal(current) * percent / 100).quantize(Decimal(1), "ROUND_HALF_UP"))
        if not 0 < off <= current:
            raise InvalidCommand(
                f"discount_line.amount {off} must be from 1 to the line's amount {current}"
            )
        adjustment = Adjustment(-off, "discount", reason, staff.staff_id)
        lane.state.basket.replace_line(line.with_adjustment(adjustment))
        lane.record_action("discount", staff, f"line {line.line_no}: -{off} ({reason})")
        lane.emit("line_changed", line=line.line_no, adjustment=adjustment.to_dict())

    # ------------------------------------------------------------------ the sale and the lane
    def cmd_cancel_sale(self, _command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        state = lane.state
        if state.mode not in ("scanning", "paying"):
            raise wrong_state("there is no sale to cancel")
        if state.tenders:
            raise wrong_state(
                "payments were already taken for this sale; it cannot be cancelled, only completed"
            )
        if lane.tendering.unknown_payments_of_this_sale():
            raise wrong_state(
                "a payment of this sale has an unknown outcome: resolve it (clear "
                "payment_unknown) before cancelling"
            )
        lane.audit_later(
            "sale_cancelled",
            {
                "sale_id": state.sale_id,
                "staff": staff.staff_id,
                "lines": len(state.basket.active_lines()),
            },
        )
        for item in open_of(state.interventions):
            if item.blocking:
                lane.close_intervention(item, staff.staff_id, "reject")
        sale_id = state.sale_id
        lane.state = lane.state.next_sale(lane.config.kiosk.default_language)
        lane.touch()
        lane.emit("sale_cancelled", sale_id=sale_id, staff=staff.staff_id)

    def cmd_out_of_service(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        state = lane.state
        if command.args["on"]:
            if state.mode in ("scanning", "paying") and not state.basket.is_empty():
                raise wrong_state("finish or cancel the sale in progress first")
            reason = command.text("reason", "closed by staff").strip() or "closed by staff"
            lane.go_out_of_service(reason)
        else:
            if state.mode != "out_of_service":
                raise wrong_state("the lane is not out of service")
            lane.deps.store.check_writable()
            lane.back_in_service()
        lane.audit_later("out_of_service", {"on": command.args["on"], "staff": staff.staff_id})
        lane.touch()

    def cmd_open_drawer(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        reason = command.text("reason").strip()
        if not reason:
            raise InvalidCommand("open_drawer needs a reason")
        lane.deps.store.record_audit(
            "drawer_opened", {"staff": staff.staff_id, "reason": reason, "sale_id": None}
        )
        lane.tendering.pulse_drawer()

    # ------------------------------------------------------------------ clearing
    def cmd_clear(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        wanted = command.text("intervention")
        item = self._find_intervention(wanted)
        resolution = command.text("resolution")
        if resolution not in ("approve", "reject"):
            raise InvalidCommand("clear.resolution must be 'approve' or 'reject'")
        approve = resolution == "approve"
        if item.reason == "age_check":
            if approve:
                lane.state.age_verified = True
                lane.record_action("age_check", staff)
            else:
                for restricted in lane.state.basket.active_lines():
                    if restricted.age_limit:
                        lane.items.void_line(restricted, staff)
        elif item.reason == "unknown_item" and approve:
            self._resolve_unknown_item(command)
        elif item.reason in ("quantity_limit", "expired_item") and approve:
            lane.items.add_pending(item, frozenset({item.reason}))
            lane.record_action(item.reason, staff, str(item.detail.get("sku")))
        elif item.reason == "void" and approve:
            to_void = lane.state.basket.find(item.line_no or 0)
            if to_void is not None and not to_void.voided:
                lane.items.void_line(to_void, staff)
        elif item.reason == "payment_unknown":
            lane.tendering.resolve_unknown_payment(item, command, approve, staff)
        elif item.reason == "cash_payment":
            lane.tendering.cancel_cash(item, staff)
            return
        elif item.reason == "storage":
            lane.deps.store.check_writable()
        if any(
            i.intervention_id == item.intervention_id and i.is_open
            for i in lane.state.interventions
        ):
            lane.close_intervention(item, staff.staff_id, resolution)  # type: ignore[arg-type]

    def _find_intervention(self, wanted: str) -> Intervention:
        """By id, or by reason when exactly one intervention with that reason is open."""
        items = open_of(self.lane.state.interventions)
        for item in items:
            if item.intervention_id == wanted:
                return item
        by_reason = [i for i in items if i.reason == wanted]
        if len(by_reason) == 1:
            return by_reason[0]
        if by_reason:
            raise InvalidCommand(
                f"{len(by_reason)} '{wanted}' interventions are open: give the intervention id"
            )
        raise not_found(f"no open intervention {wanted}")

    def _resolve_unknown_item(self, command: Command) -> None:
        lane = self.lane
        if "sku" not in command.args and "plu" not in command.args:
            raise InvalidCommand("to approve an unknown item give its 'sku' or 'plu'")
        product = lane.items.lookup(command)
        if product.unit == "kg":
            raise InvalidCommand(f"{product.sku} is sold by weight: use 'add' with weight_kg")
        lane.items.add_product(product, Decimal(1))
