"""The lane: the checkout state machine. Commands in, events and view state out. Pure core.

Runs on the lane's own thread (never the Kivy thread): ``Lane.handle(message)`` validates one
lane-protocol command (``kiosk.lane_protocol``), changes the ``LaneState``, saves it durably
through the ``LaneStore`` port before returning, and answers a list of events. ``Lane.view()``
is the display-ready state every front end renders.

This module is the lane's frame: dispatch, persistence after every command, interventions
(open and close), starting a sale, the status light and the view. The commands themselves live
beside it and work on the same ``Lane.state``:

    kiosk.lane_items       scan, add, search, categories, set_qty, remove_line
    kiosk.lane_promotions  re-pricing the basket after every change; coupon scans
    kiosk.lane_members     member, member_phone, redeem (points and stored value)
    kiosk.lane_attendant   clear, void_line, price_override, discount_line, cancel_sale,
                           out_of_service, open_drawer
    kiosk.lane_staff       staff_login, staff_logout (badge scans too)
    kiosk.tendering        pay, cancel_payment, cash
    kiosk.lane_completion  recording the paid sale and queueing its receipt
    kiosk.lane_printing    print jobs: running, failing, retry_print, reprint, recovery
    kiosk.lane_devices     device events (drawer, printer, scanner) and device health
    kiosk.lane_device_tests  light_test, scanner_test, scanner_test_cancel, printer_test
                           (scans too)
    kiosk.lane_idle        the idle timeout: prompt, then suspend an abandoned sale; still_here
    kiosk.lane_recovery    restoring after a start or crash, storage faults
    kiosk.lane_returns     return_start, return_line, return_confirm, return_cancel
                           (receipt scans too; paying out: kiosk.lane_refunding)
    kiosk.lane_shift       shift_open, cash_pickup, x_report, shift_close

Device adapters report through ``Lane.device_event`` (posted to the lane thread by the lane
runner, run with ``run_internal``); ``Lane.tick`` runs the device pollers and the lane's own
periodic checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from kiosk.basket import Line
from kiosk.config import Config
from kiosk.errors import (
    AuthError,
    DeviceError,
    InvalidCommand,
    LaneError,
    NotAllowed,
    StoreError,
)
from kiosk.interventions import Intervention, Reason, Resolution, blocking, open_of
from kiosk.lane_attendant import AttendantDesk
from kiosk.lane_completion import Completion
from kiosk.lane_device_tests import DeviceTests
from kiosk.lane_devices import Devices
from kiosk.lane_idle import IdleWatch
from kiosk.lane_items import Items
from kiosk.lane_members import MemberDesk
from kiosk.lane_printing import Printing
from kiosk.lane_promotions import LanePromotions
from kiosk.lane_protocol import (
    Command,
    MissingArgument,
    not_found,
    parse_command,
    wrong_state,
)
from kiosk.lane_recovery import Recovery
from kiosk.lane_returns import Returns
from kiosk.lane_shift import Shifts
from kiosk.lane_staff import StaffSession
from kiosk.lane_state import LaneState
from kiosk.lane_view import build_view
from kiosk.ports import (
    Catalog,
    Clock,
    Drawer,
    IdSource,
    LaneStore,
    Light,
    MemberLedger,
    Members,
    PaymentTerminal,
    Promotions,
    ReceiptPrinter,
    StaffDirectory,
    WalletGateway,
)
from kiosk.sale import AttendantAction
from kiosk.staff import Role, StaffMember
from kiosk.tendering import Tendering
from kiosk.timefmt import business_day, rfc3339

logger = logging.getLogger(__name__)

Event = dict[str, Any]


@dataclass(frozen=True)
class LaneDeps:
    """Everything the lane talks to, built by the composition root (``kiosk.app``)."""

    config: Config
    tz: tzinfo
    clock: Clock
    ids: IdSource
    catalog: Catalog
    store: LaneStore
    staff: StaffDirectory
    members: Members
    terminal: PaymentTerminal
    wallet: WalletGateway
    drawer: Drawer
    light: Light
    printer: ReceiptPrinter
    boot: int = 0
    # Called on every tick, on the lane thread (drawer left-open check, light escalation).
    pollers: tuple[Callable[[], None], ...] = ()
    # Health of every configured device (name, kind, ok, detail; kind "fake", or fake: true,
    # marks a simulated device),
    # for the view and telemetry. Read at start-up, after device events and every few seconds
    # on the tick (kiosk.lane_devices), never per command.
    device_health: Callable[[], list[dict[str, Any]]] | None = None
    # The members' points and stored value; None: this kiosk keeps no member accounts (no
    # earning, no redeeming), as when [loyalty] enabled = false.
    ledger: MemberLedger | None = None
    # The imported promotion rules; None: no promotions (the basket is never re-priced).
    promotions: Promotions | None = None


class Lane:
    """One checkout lane. Not thread-safe: one lane thread calls it."""

    def __init__(self, deps: LaneDeps) -> None:
        self.deps = deps
        self.config = deps.config
        self.state = LaneState(language=deps.config.kiosk.default_language)
        self.attendant: StaffMember | None = None
        self.events: list[Event] = []
        self.items = Items(self)
        self.members = MemberDesk(self)
        self.desk = AttendantDesk(self)
        self.staff_session = StaffSession(self)
        self.tendering = Tendering(self)
        self.completion = Completion(self)
        self.printing = Printing(self)
        self.devices = Devices(self)
        self.device_tests = DeviceTests(self)
        self.recovery = Recovery(self)
        self.returns = Returns(self)
        self.shifts = Shifts(self)
        self.promos = LanePromotions(self)
        self.idle = IdleWatch(self)
        self._dirty = False
        self._saved: Mapping[str, Any] = self.state.to_snapshot()
        self._audits: list[tuple[str, dict[str, Any]]] = []
        items, desk, staff, tendering = self.items, self.desk, self.staff_session, self.tendering
        printing = self.printing
        self._handlers: dict[str, Callable[[Command], None]] = {
            "view": lambda _c: None,
            "start": self._cmd_start,
            "new_sale": self._cmd_new_sale,
            "language": self._cmd_language,
            "help": self._cmd_help,
            "scan": self._cmd_scan,
            "add": items.cmd_add,
            "search": items.cmd_search,
            "categories": items.cmd_categories,
            "set_qty": items.cmd_set_qty,
            "remove_line": items.cmd_remove_line,
            "member": self.members.cmd_member,
            "member_phone": self.members.cmd_member_phone,
            "redeem": self.members.cmd_redeem,
            "staff_login": staff.cmd_staff_login,
            "staff_logout": staff.cmd_staff_logout,
            "clear": self.idle.cmd_clear,  # abandoned sales; the rest: desk.cmd_clear
            "still_here": self.idle.cmd_still_here,
            "void_line": desk.cmd_void_line,
            "price_override": desk.cmd_price_override,
            "discount_line": desk.cmd_discount_line,
            "cancel_sale": desk.cmd_cancel_sale,
            "out_of_service": desk.cmd_out_of_service,
            "open_drawer": desk.cmd_open_drawer,
            "light_test": self.device_tests.cmd_light_test,
            "scanner_test": self.device_tests.cmd_scanner_test,
            "scanner_test_cancel": self.device_tests.cmd_scanner_test_cancel,
            "printer_test": self.device_tests.cmd_printer_test,
            "pay": tendering.cmd_pay,
            "cancel_payment": tendering.cmd_cancel_payment,
            "cash": tendering.cmd_cash,
            "retry_print": printing.cmd_retry_print,
            "reprint": printing.cmd_reprint,
            "return_start": self.returns.cmd_return_start,
            "return_line": self.returns.cmd_return_line,
            "return_confirm": self.returns.cmd_return_confirm,
            "return_cancel": self.returns.cmd_return_cancel,
            "shift_open": self.shifts.cmd_shift_open,
            "cash_pickup": self.shifts.cmd_cash_pickup,
            "x_report": self.shifts.cmd_x_report,
            "shift_close": self.shifts.cmd_shift_close,
        }

    # ------------------------------------------------------------------ entry points
    def restore(self) -> list[Event]:
        """Load the saved lane after a start or crash; see ``kiosk.lane_recovery``."""
        self.events = []
        self.recovery.restore()
        self.devices.read_health()
        self._update_light()
        return self._flush()

    def handle(self, message: Mapping[str, Any]) -> list[Event]:
        """Run one command; every failure is answered as an ``error`` event, never raised.

        A command is all or nothing: when it fails, the state goes back to what kiosk.db holds
        (what it was before the command, or what the command had committed before a storage
        fault) and only the ``error`` event is answered.
        """
        command_id = message.get("id") if isinstance(message, Mapping) else None

        def run() -> None:
            command = parse_command(message)
            self.idle.note_input(command.name)
            self._handlers[command.name](command)

        return self._transact(run, command_id)

    def run_internal(self, action: Callable[[Lane], None]) -> list[Event]:
        """Run ``action(lane)`` on the lane thread with the same all-or-nothing rules as a
        command: for device events and timers, which do not come through the protocol."""
        return self._transact(lambda: action(self), None)

    def tick(self) -> list[Event]:
        """Periodic work (the lane runner calls it about twice a second): device polls such as
        the drawer's left-open check and the light's escalation, a scanner disconnected too
        long, the device health list, the idle timeout (``kiosk.lane_idle``)."""

        def run() -> None:
            for poll in self.deps.pollers:
                poll()
            self.devices.poll()
            self.device_tests.poll()
            self.idle.poll()

        return self._transact(run, None)

    def device_event(self, device: str, kind: str, detail: Mapping[str, Any]) -> None:
        """A device's report (``drawer`` ``left_open``, ``printer`` ``paper_near_end``,
        ``scanner`` ``disconnected``...; see ``kiosk.lane_devices``). Call it on the lane
        thread inside ``run_internal`` (the lane runner's ``post`` does): an unknown device or
        kind raises ``InvalidCommand``, answered as an ``error`` event."""
        self.devices.event(device, kind, detail)

    def _transact(self, action: Callable[[], None], command_id: Any) -> list[Event]:
        self.events = []
        try:
            action()
            if self._dirty:
                self.promos.reprice_if_changed()  # before saving: the basket as priced
            self._save()
            self.write_audits()
        except (LaneError, AuthError) as exc:
            code = exc.code if isinstance(exc, LaneError) else "auth_failed"
            self._roll_back()
            extra = exc.details if isinstance(exc, MissingArgument) else {}
            self.emit("error", code=code, message=str(exc), **extra)
        except StoreError as exc:
            ids = {"kiosk": self.config.kiosk.id, "sale": self.state.sale_id}
            logger.error("store failure", extra={**ids, "error": str(exc)})
            self.events = []
            self._audits = []
            self.emit("error", code="storage", message=f"kiosk.db cannot record this: {exc}")
            self.recovery.after_storage_fault(exc)
        self._update_light()
        events = self._flush()
        if command_id is not None:
            for event in events:
                event.setdefault("id", command_id)
        return events

    # ------------------------------------------------------------------ shared helpers
    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})

    def _flush(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def touch(self) -> None:
        """Mark the state changed: it is saved before the command returns."""
        self._dirty = True

    def _save(self) -> None:
        if self._dirty:
            snapshot = self.state.to_snapshot()
            self.deps.store.save_lane(snapshot)
            self.note_saved(snapshot)

    def note_saved(self, snapshot: Mapping[str, Any]) -> None:
        """``snapshot`` of the current state was committed (by ``save_lane`` or together with
        a payment or a sale): it is what a failed command rolls back to."""
        self._saved = snapshot
        self._dirty = False

    def save_now(self) -> None:
        """Commit the state now, before the command goes on (e.g. before a device is asked)."""
        self.touch()
        self._save()

    @property
    def saved_snapshot(self) -> Mapping[str, Any]:
        """The state as last committed to kiosk.db."""
        return self._saved

    def audit_later(self, kind: str, detail: dict[str, Any]) -> None:
        """An audit row for what this command did, written once its state is committed."""
        self._audits.append((kind, detail))

    def write_audits(self) -> None:
        """Write the audit rows of what the committed state now says happened."""
        while self._audits:
            kind, detail = self._audits[0]
            self.deps.store.record_audit(kind, detail)
            self._audits.pop(0)

    def _roll_back(self) -> None:
        """Forget the failed command: events and state go back to the last committed state."""
        self.events = []
        self._audits = []
        self.state = LaneState.from_snapshot(self._saved)
        self._dirty = False

    def now_iso(self) -> str:
        return rfc3339(self.deps.clock.now())

    def today(self) -> date:
        cfg = self.config.store
        return business_day(self.deps.clock.now(), self.deps.tz, cfg.business_day_cutoff_hour)

    def need_attendant(self, role: Role = "attendant") -> StaffMember:
        if self.attendant is None:
            raise NotAllowed("an attendant must log in for this")
        if not self.attendant.can(role):
            raise NotAllowed(f"this needs a {role}; {self.attendant.staff_id} is an attendant")
        return self.attendant

    def record_action(self, kind: str, staff: StaffMember, detail: str = "") -> None:
        self.state.actions.append(AttendantAction(kind, staff.staff_id, self.now_iso(), detail))
        self.touch()

    def open_intervention(
        self, reason: Reason, line_no: int | None = None, **detail: Any
    ) -> Intervention:
        item = Intervention(
            intervention_id=self.deps.ids.new_id(),
            reason=reason,
            opened_at=self.now_iso(),
            opened_mono=self.deps.clock.monotonic(),
            opened_boot=self.deps.boot,
            line_no=line_no,
            detail=detail,
        )
        self.state.interventions.append(item)
        self.touch()
        self.emit(
            "intervention_opened",
            intervention=item.intervention_id,
            reason=reason,
            line=line_no,
            detail=detail,
        )
        logger.info(
            "intervention opened",
            extra={"kiosk": self.config.kiosk.id, "sale": self.state.sale_id, "reason": reason},
        )
        return item

    def close_intervention(self, item: Intervention, staff_id: str, resolution: Resolution) -> None:
        done = item.cleared(
            staff_id, resolution, self.now_iso(), self.deps.clock.monotonic(), self.deps.boot
        )
        self.state.interventions = [
            done if i.intervention_id == item.intervention_id else i
            for i in self.state.interventions
        ]
        self.touch()
        # Audited once the state that closes it is committed: a crash or a failed command
        # never leaves an audit row for a clearing that did not happen.
        self.audit_later(
            "intervention_cleared",
            {
                "intervention": item.intervention_id,
                "reason": item.reason,
                "sale_id": self.state.sale_id,
                "staff": staff_id,
                "resolution": resolution,
                "opened_at": item.opened_at,
                "cleared_at": done.cleared_at,
                "open_seconds": done.open_seconds,
            },
        )
        self.emit(
            "intervention_cleared",
            intervention=item.intervention_id,
            reason=item.reason,
            resolution=resolution,
            staff=staff_id,
            open_seconds=done.open_seconds,
        )

    def check_can_sell(self) -> None:
        """Raise ``wrong_state`` unless items may be added now (a sale open or openable)."""
        mode = self.state.mode
        if mode == "out_of_service":
            raise wrong_state(f"the lane is out of service: {self.state.out_of_service_reason}")
        if mode == "paying":
            raise wrong_state("payment has started; cancel the payment to change the basket")
        self.idle.check_not_suspended()

    def require_selling(self) -> None:
        """Make sure a sale is open for items: start one from idle/complete."""
        self.check_can_sell()
        if self.state.mode in ("idle", "complete"):
            self.begin_sale()

    def begin_sale(self) -> None:
        # Whatever is still open (help, device faults, an unknown payment) stays open until an
        # attendant clears it: nothing is dropped without a record of who cleared it.
        self.state = self.state.next_sale(self.state.language, "scanning")
        self.state.sale_id = self.deps.ids.new_id()
        self.state.started_at = self.now_iso()
        self.touch()
        self.emit("sale_started", sale_id=self.state.sale_id)

    def line_or_fail(self, line_no: int) -> Line:
        line = self.state.basket.find(line_no)
        if line is None or line.voided:
            raise not_found(f"there is no line {line_no} in the basket")
        return line

    def go_out_of_service(self, reason: str) -> None:
        if self.state.mode != "out_of_service":
            self.state.mode_before_out_of_service = self.state.mode
        self.state.mode = "out_of_service"
        self.state.out_of_service_reason = reason
        self.touch()
        self.emit("out_of_service", on=True, reason=reason)

    def back_in_service(self) -> None:
        """Leave out of service: back to the sale that was in progress, else idle."""
        before = self.state.mode_before_out_of_service
        has_sale = self.state.sale_id is not None and before in ("scanning", "paying")
        self.state.mode = before if has_sale else "idle"
        self.state.mode_before_out_of_service = "idle"
        self.state.out_of_service_reason = ""
        self.touch()
        self.emit("out_of_service", on=False)

    def wanted_light(self) -> str:
        """The status light's state for the lane as it is now."""
        if self.state.mode == "out_of_service":
            return "out_of_service"
        if blocking(self.state.interventions):
            return "intervention"
        if open_of(self.state.interventions):
            return "attention"
        return "ready"

    def _update_light(self) -> None:
        if self.device_tests.light_busy:
            return  # the light test drives it until it ends (kiosk.lane_device_tests)
        wanted = self.wanted_light()
        try:
            self.deps.light.show(wanted)
        except DeviceError as exc:
            # The light only mirrors the state; a fault is reported, never fatal to a command.
            logger.warning("status light failed", extra={"kiosk": self.config.kiosk.id})
            self.emit("device_fault", device="light", message=str(exc))

    # ------------------------------------------------------------------ simple commands
    def _cmd_scan(self, command: Command) -> None:
        code = command.text("code")
        if not self.device_tests.take_scan(code):  # a scanner test echoes it instead
            self.items.scan(code)

    def _cmd_start(self, command: Command) -> None:
        if "language" in command.args:
            self._cmd_language(command)
        self.require_selling()

    def _cmd_new_sale(self, _command: Command) -> None:
        if self.state.mode not in ("complete", "idle"):
            raise wrong_state("a sale is in progress; finish or cancel it first")
        self.state = self.state.next_sale(self.config.kiosk.default_language)
        self.touch()
        self.emit("idle")

    def _cmd_language(self, command: Command) -> None:
        language = command.text("language")
        if language not in self.config.kiosk.languages:
            raise InvalidCommand(
                f"language {language!r} is not one of {', '.join(self.config.kiosk.languages)}"
            )
        self.state.language = language
        self.touch()
        self.emit("language_changed", language=language)

    def _cmd_help(self, _command: Command) -> None:
        if open_of(self.state.interventions, "help"):
            self.emit("help_already_requested")
            return
        self.open_intervention("help")

    # ------------------------------------------------------------------ view
    def view(self) -> dict[str, Any]:
        return build_view(self)
