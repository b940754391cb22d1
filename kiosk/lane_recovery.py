"""The lane after a crash or a storage fault: restoring the saved lane, payments whose outcome
is unknown, and what happens when kiosk.db cannot record. Pure core, on the lane thread.

``restore()`` runs once at start (``Lane.restore``): the basket in progress comes back from the
last committed snapshot; every payment intent still ``pending`` (the kiosk died while the
terminal was working) becomes ``unknown``, and every unknown one becomes a ``payment_unknown``
intervention (never dropped, never charged again); a receipt job left ``printing`` becomes
``uncertain`` with a ``print_uncertain`` intervention (never re-sent by itself) and queued
receipts are printed (``kiosk.lane_printing``); a sale whose payments already cover it (the
kiosk died between the approval and the sale's commit) is completed; and when kiosk.db cannot
be written the lane starts out of service.

``after_storage_fault()`` runs when a command failed on kiosk.db (disk full, read-only, damaged):
the lane goes back to what kiosk.db holds, keeps any payment it could not record visible as a
``payment_unknown`` intervention, and either opens a ``storage`` intervention (a sale is in
progress: its basket stays, payment is refused until an attendant clears it with kiosk.db
writable again) or goes out of service (no sale in progress).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kiosk.errors import StoreError
from kiosk.interventions import open_of
from kiosk.lane_state import LaneState

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)


class Recovery:
    """Start-up and storage-fault handling for one lane; holds no state of its own."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    def _log(self, message: str, exc: Exception) -> None:
        logger.error(
            message,
            extra={
                "kiosk": self.lane.config.kiosk.id,
                "sale": self.lane.state.sale_id,
                "error": str(exc),
            },
        )

    # ------------------------------------------------------------------ start-up
    def restore(self) -> None:
        lane = self.lane
        store = lane.deps.store
        try:
            snapshot = store.load_lane()
        except StoreError as exc:
            self._log("cannot read the saved lane", exc)
            lane.go_out_of_service(f"storage: {exc}")
            return
        if snapshot is not None:
            self._load(snapshot)
        writable = True
        try:
            store.check_writable()
        except StoreError as exc:
            writable = False
            lane.go_out_of_service(f"storage: {exc}")
        self.attach_unresolved_intents(mark_unknown=writable)
        if writable:
            try:
                lane.printing.recover()
            except StoreError as exc:
                self._log("cannot recover the print jobs", exc)
        state = lane.state
        if writable and state.mode == "paying" and state.tenders:
            try:
                lane.tendering.complete_if_paid()
            except StoreError as exc:
                self._log("cannot complete the paid sale", exc)
                lane.go_out_of_service(f"storage: {exc}")
        lane.idle.after_restore()  # a suspended sale stays suspended, with its intervention
        try:
            lane.save_now()
            lane.write_audits()
        except StoreError as exc:
            self._log("cannot save the restored lane", exc)

    def _load(self, snapshot: Any) -> None:
        lane = self.lane
        try:
            lane.state = LaneState.from_snapshot(snapshot)
        except (ValueError, KeyError, TypeError) as exc:
            # Keep what could not be read in the audit table before anything overwrites it.
            self._log("the saved lane cannot be read", exc)
            try:
                lane.deps.store.record_audit(
                    "lane_snapshot_unreadable", {"error": str(exc), "snapshot": snapshot}
                )
            except StoreError as store_exc:
                self._log("cannot keep the unreadable lane", store_exc)
            lane.go_out_of_service(f"the saved lane could not be read: {exc}")
            return
        if not lane.state.basket.is_empty():
            lane.emit(
                "basket_restored",
                sale_id=lane.state.sale_id,
                lines=len(lane.state.basket.active_lines()),
            )

    # ------------------------------------------------------------------ unknown payments
    def attach_unresolved_intents(self, mark_unknown: bool) -> None:
        """Every intent still pending or unknown in kiosk.db is an open ``payment_unknown``
        intervention (once). ``mark_unknown`` records pending ones as unknown (at start-up: no
        terminal is working on them any more)."""
        lane = self.lane
        store = lane.deps.store
        known = {
            str(i.detail.get("intent"))
            for i in open_of(lane.state.interventions, "payment_unknown")
        }
        try:
            intents = store.unresolved_intents()
        except StoreError as exc:
            self._log("cannot read unfinished payments", exc)
            return
        for intent in intents:
            if mark_unknown and intent.status == "pending":
                try:
                    store.update_intent(
                        intent.intent_id, "unknown", detail="kiosk restarted while waiting"
                    )
                except StoreError as exc:
                    self._log("cannot mark a payment unknown", exc)
            if intent.intent_id not in known:
                lane.open_intervention(
                    "payment_unknown",
                    intent=intent.intent_id,
                    method=intent.method,
                    amount=intent.amount,
                    sale_id=intent.sale_id,
                )

    # ------------------------------------------------------------------ storage faults
    def after_storage_fault(self, exc: StoreError) -> None:
        lane = self.lane
        try:
            snapshot = lane.deps.store.load_lane()
        except StoreError as read_exc:
            self._log("cannot read the saved lane after a storage fault", read_exc)
            snapshot = None
        if snapshot is None:
            snapshot = lane.saved_snapshot
        lane.state = LaneState.from_snapshot(snapshot)
        lane.note_saved(snapshot)
        self.attach_unresolved_intents(mark_unknown=False)
        if lane.state.mode in ("scanning", "paying"):
            if not open_of(lane.state.interventions, "storage"):
                lane.open_intervention("storage", message=str(exc))
        else:
            lane.go_out_of_service(f"storage: {exc}")
        try:
            lane.save_now()
        except StoreError as again:
            self._log("kiosk.db still cannot record", again)
