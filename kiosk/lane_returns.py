"""Returns at the lane: an attendant refunds lines of a recorded sale. Pure core, lane thread.

Commands (docs/returns-and-shifts.md): ``return_start`` (or scanning a receipt barcode),
``return_line``, ``return_confirm``, ``return_cancel``; every one needs an attendant, and none
runs while a sale with items is in progress. The return being built is a draft in kiosk.db
(``LaneStore.refunds``, saved on every change), so a restart finds it again: the view's
``return`` shows it and ``return_start`` with the same receipt resumes it.

The refund reverses the original sale's own figures (``kiosk.returns``: pro rata shares of
each line's amount, discounts and tax; card back to the card, cash and wallet in cash).
``return_confirm`` pays it out and records it (``kiosk.lane_refunding``: card refund attempts
recorded before the terminal is asked, then ONE transaction for the refund, its event and its
slip, then the slip and the drawer).

A receipt of another kiosk or store is not in this kiosk.db: ``return_lookup_needed`` says so
and nothing is refunded (central has the sale).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from kiosk.errors import InvalidCommand, StoreError
from kiosk.lane_protocol import Command, not_found, wrong_state
from kiosk.lane_refunding import Payout
from kiosk.ports import RefundStore
from kiosk.refunds import SaleLookup
from kiosk.returns import (
    QTY_SCALE,
    ROUTES,
    OriginalSale,
    Refunded,
    RefundPlan,
    plan_refund,
    qty_units,
)
from kiosk.staff import StaffMember

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)

PICKING: Final = "picking"
REFUNDING: Final = "refunding"


def _qty(units: int) -> str:
    return f"{(Decimal(units) / QTY_SCALE).normalize():f}"


class Returns:
    """The return being built at one lane; its only state is a cache of kiosk.db's draft."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.payout = Payout(lane, self)
        self._draft: dict[str, Any] | None = None
        self._loaded = False

    @property
    def store(self) -> RefundStore:
        return self.lane.deps.store.refunds

    # ------------------------------------------------------------------ the draft
    def draft(self) -> dict[str, Any] | None:
        """The return in progress (read from kiosk.db once, then kept in step with it)."""
        if not self._loaded:
            found = self.store.load_draft()
            self._draft = dict(found) if found is not None else None
            self._loaded = True
        return self._draft

    def _save(self, draft: dict[str, Any] | None) -> None:
        self.store.save_draft(draft)
        self._draft, self._loaded = draft, True

    def _need_draft(self) -> dict[str, Any]:
        draft = self.draft()
        if draft is None:
            raise wrong_state("no return is open: scan the receipt or send return_start")
        return dict(draft)

    def view(self) -> dict[str, Any] | None:
        """The view's ``return``: the draft as a screen shows it, or None."""
        try:
            draft = self.draft()
        except StoreError:
            return None
        if draft is None:
            return None
        picks = draft.get("picks", {})
        return {
            "refund_id": draft["refund_id"],
            "receipt_no": draft["receipt_no"],
            "status": draft["status"],
            "staff": draft["staff"],
            "lines": [
                {**line, "pick": _qty(int(picks.get(str(line["line"]), 0)))}
                for line in draft["lines"]
            ],
            "due": draft.get("due", 0),
        }

    # ------------------------------------------------------------------ checks
    def _check_no_sale(self) -> None:
        state = self.lane.state
        if state.mode == "paying" or (state.mode == "scanning" and not state.basket.is_empty()):
            raise wrong_state("a sale is in progress: finish or cancel it before a return")

    def _original(self, receipt_no: str) -> tuple[OriginalSale, SaleLookup]:
        found = self.store.original(receipt_no)
        if found is None:
            if self.store.is_refund(receipt_no):
                raise not_found(f"{receipt_no} is a refund slip, not a sale's receipt")
            raise not_found(f"there is no sale with receipt {receipt_no} on this kiosk")
        try:
            sale = OriginalSale.from_event(found.event)
        except ValueError as exc:
            raise not_found(f"receipt {receipt_no}: {exc}") from exc
        odd = sorted({t.type for t in sale.tenders} - set(ROUTES))
        if odd:
            raise wrong_state(
                f"receipt {receipt_no} was paid with {', '.join(odd)}: the kiosk cannot refund "
                "that tender yet; refund it at the service desk"
            )
        return sale, found

    def _lookup_elsewhere(self, receipt_no: str, staff: StaffMember) -> bool:
        """Announce a receipt of another kiosk or store (True); False when it is this kiosk's."""
        cfg = self.lane.config
        kiosk_id, _, seq = receipt_no.rpartition("-")
        if not kiosk_id or not seq.isdigit():
            raise not_found(f"{receipt_no!r} is not a receipt number (kiosk id-seq)")
        if kiosk_id == cfg.kiosk.id:
            return False
        same_store = kiosk_id.startswith(f"{cfg.store.id}-")
        reason = "other_kiosk" if same_store else "other_store"
        where = f"kiosk {kiosk_id}" if same_store else f"kiosk {kiosk_id} of another store"
        message = (
            f"receipt {receipt_no} was sold at {where}: its sale is not on this kiosk; "
            "it needs a central lookup. Nothing was refunded."
        )
        self.lane.emit(
            "return_lookup_needed",
            receipt_no=receipt_no,
            kiosk=kiosk_id,
            reason=reason,
            message=message,
        )
        self.lane.audit_later(
            "return_lookup_needed",
            {
                "receipt_no": receipt_no,
                "kiosk": kiosk_id,
                "reason": reason,
                "staff": staff.staff_id,
            },
        )
        logger.info("return of another kiosk's receipt", extra={"receipt": receipt_no})
        return True

    # ------------------------------------------------------------------ commands
    def cmd_return_start(self, command: Command) -> None:
        self.start(command.text("receipt_no"))

    def start(self, receipt_no: str) -> None:
        """Open a return of ``receipt_no`` (also what scanning a receipt barcode does)."""
        lane = self.lane
        staff = lane.need_attendant()
        receipt_no = receipt_no.strip()
        if not receipt_no:
            raise InvalidCommand("return_start.receipt_no must not be blank")
        self._check_no_sale()
        draft = self.draft()
        if draft is not None:
            if draft["receipt_no"] != receipt_no:
                raise wrong_state(
                    f"the return of receipt {draft['receipt_no']} is still open: confirm or "
                    "cancel it first"
                )
            self._emit_started(draft, resumed=True)
            return
        if self._lookup_elsewhere(receipt_no, staff):
            return
        sale, _ = self._original(receipt_no)
        refunded = self.store.refunded(sale.seq)
        if refunded.everything(sale):
            numbers = ", ".join(self.store.refund_numbers(sale.seq))
            raise wrong_state(f"receipt {receipt_no} is already refunded in full ({numbers})")
        draft = {
            "refund_id": lane.deps.ids.new_id(),
            "receipt_no": receipt_no,
            "original_seq": sale.seq,
            "staff": staff.staff_id,
            "started_at": lane.now_iso(),
            "status": PICKING,
            "lines": [
                {
                    "line": line.line_no,
                    "sku": line.sku,
                    "name": line.name,
                    "qty": _qty(line.units),
                    "unit": line.unit,
                    "left": _qty(refunded.left(line)),
                    "paid": line.paid(sale.tax_mode),
                }
                for line in sale.lines
            ],
            "picks": {},
            "due": 0,
        }
        self._save(draft)
        self._emit_started(draft, resumed=False)

    def _emit_started(self, draft: dict[str, Any], resumed: bool) -> None:
        self.lane.emit(
            "return_started",
            refund_id=draft["refund_id"],
            receipt_no=draft["receipt_no"],
            lines=draft["lines"],
            status=draft["status"],
            resumed=resumed,
        )

    def _figures(self, draft: dict[str, Any]) -> tuple[OriginalSale, SaleLookup, Refunded]:
        sale, found = self._original(str(draft["receipt_no"]))
        return sale, found, self.store.refunded(sale.seq)

    def _plan(self, draft: dict[str, Any], sale: OriginalSale, refunded: Refunded) -> RefundPlan:
        picks = {int(k): int(v) for k, v in draft["picks"].items()}
        return plan_refund(sale, refunded, picks, self.lane.config.cash)

    def cmd_return_line(self, command: Command) -> None:
        self.lane.need_attendant()
        draft = self._need_draft()
        if draft["status"] != PICKING:
            raise wrong_state("the refund is being paid out: send return_confirm to finish it")
        sale, _, refunded = self._figures(draft)
        line = sale.line(command.integer("line"))
        qty = command.decimal("qty") if "qty" in command.args else None
        picks = dict(draft["picks"])
        if qty is not None and qty == 0:
            picks.pop(str(line.line_no), None)
        else:
            picks[str(line.line_no)] = qty_units(line, qty, refunded)
        draft["picks"] = picks
        plan = self._plan(draft, sale, refunded) if picks else None
        draft["due"] = plan.due if plan else 0
        self._save(draft)
        mine = [x for x in (plan.lines if plan else ()) if x.line_no == line.line_no]
        self.lane.emit(
            "return_line_set",
            line=line.line_no,
            qty=_qty(int(picks.get(str(line.line_no), 0))),
            amount=mine[0].paid(sale.tax_mode) if mine else 0,
            due=draft["due"],
        )

    def cmd_return_cancel(self, _command: Command) -> None:
        staff = self.lane.need_attendant()
        draft = self._need_draft()
        moved = [
            a
            for a in self.store.attempts(str(draft["refund_id"]))
            if a.status in ("approved", "pending", "unknown")
        ]
        if moved:
            raise wrong_state(
                f"a card refund of {moved[0].amount} was approved or may have been "
                f"({moved[0].status}): send return_confirm to finish the return"
            )
        self._save(None)
        self.lane.emit(
            "return_cancelled",
            refund_id=draft["refund_id"],
            receipt_no=draft["receipt_no"],
            staff=staff.staff_id,
        )
        self.lane.audit_later(
            "return_cancelled",
            {
                "refund_id": draft["refund_id"],
                "receipt_no": draft["receipt_no"],
                "staff": staff.staff_id,
            },
        )

    def cmd_return_confirm(self, command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        draft = self._need_draft()
        method = command.text("method") if "method" in command.args else ""
        if method not in ("", "cash"):
            raise InvalidCommand("return_confirm.method may only be 'cash' (card parts in cash)")
        self._check_no_sale()
        lane.deps.store.check_writable()
        sale, found, refunded = self._figures(draft)
        plan = self._plan(draft, sale, refunded)
        draft["status"] = REFUNDING
        if not self.payout.pay_out(draft, staff, sale, found, plan, to_cash=method == "cash"):
            self._save(draft)

    def note_draft(self, draft: dict[str, Any] | None) -> None:
        """kiosk.db now holds ``draft`` (written by the payout with another change)."""
        self._draft, self._loaded = (dict(draft) if draft is not None else None), True
