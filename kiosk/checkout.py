"""The lane: the checkout state machine. Commands in, events and view state out. Pure core.

Runs on the lane's own thread (never the Kivy thread): ``Lane.handle(message)`` validates one
lane-protocol command (``kiosk.lane_protocol``), changes the ``LaneState``, saves it durably
through the ``LaneStore`` port before returning, and answers a list of events. ``Lane.view()``
is the display-ready state every front end renders.

Items, interventions and staff live here; taking payment and completing the sale live in
``kiosk.tendering``, which works on the same state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from kiosk import barcodes
from kiosk.basket import Adjustment, Line
from kiosk.catalog import Product
from kiosk.config import Config
from kiosk.errors import AuthError, InvalidCommand, LaneError, NotAllowed, StoreError
from kiosk.interventions import Intervention, Reason, Resolution, blocking, open_of
from kiosk.lane_protocol import Command, parse_command
from kiosk.lane_state import LaneState
from kiosk.lane_view import build_view
from kiosk.money import Money, exponent
from kiosk.ports import (
    Catalog,
    Clock,
    Drawer,
    IdSource,
    LaneStore,
    Light,
    Members,
    PaymentTerminal,
    ReceiptPrinter,
    StaffDirectory,
    WalletGateway,
)
from kiosk.sale import AttendantAction
from kiosk.staff import Role, StaffMember, verify_pin
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


def wrong_state(message: str) -> LaneError:
    return LaneError(message, code="wrong_state")


def not_found(message: str) -> LaneError:
    return LaneError(message, code="not_found")


class Lane:
    """One checkout lane. Not thread-safe: one lane thread calls it."""

    def __init__(self, deps: LaneDeps) -> None:
        self.deps = deps
        self.config = deps.config
        self.state = LaneState(language=deps.config.kiosk.default_language)
        self.attendant: StaffMember | None = None
        self.events: list[Event] = []
        self.tendering = Tendering(self)
        self._dirty = False
        self._handlers: dict[str, Callable[[Command], None]] = {
            "view": lambda _c: None,
            "start": self._cmd_start,
            "new_sale": self._cmd_new_sale,
            "language": self._cmd_language,
            "scan": lambda c: self.scan(c.text("code")),
            "add": self._cmd_add,
            "search": self._cmd_search,
            "set_qty": self._cmd_set_qty,
            "remove_line": self._cmd_remove_line,
            "help": self._cmd_help,
            "member": lambda c: self._identify_member(c.text("code")),
            "staff_login": self._cmd_staff_login,
            "staff_logout": self._cmd_staff_logout,
            "clear": self._cmd_clear,
            "void_line": self._cmd_void_line,
            "price_override": self._cmd_price_override,
            "discount_line": self._cmd_discount_line,
            "cancel_sale": self._cmd_cancel_sale,
            "out_of_service": self._cmd_out_of_service,
            "open_drawer": self._cmd_open_drawer,
            "pay": self.tendering.cmd_pay,
            "cancel_payment": self.tendering.cmd_cancel_payment,
            "cash": self.tendering.cmd_cash,
        }

    # ------------------------------------------------------------------ entry points
    def restore(self) -> list[Event]:
        """Load the saved lane after a start or crash and resolve unfinished payments."""
        self.events = []
        try:
            snapshot = self.deps.store.load_lane()
        except StoreError as exc:
            self._go_out_of_service(f"storage: {exc}")
            return self._flush()
        if snapshot is not None:
            self.state = LaneState.from_snapshot(snapshot)
            if not self.state.basket.is_empty():
                self.emit(
                    "basket_restored",
                    sale_id=self.state.sale_id,
                    lines=len(self.state.basket.active_lines()),
                )
        self.tendering.resolve_unfinished_intents()
        try:
            self.deps.store.check_writable()
        except StoreError as exc:
            self._go_out_of_service(f"storage: {exc}")
        self._dirty = True
        self._save()
        self._update_light()
        return self._flush()

    def handle(self, message: Mapping[str, Any]) -> list[Event]:
        """Run one command; every failure is answered as an ``error`` event, never raised."""
        self.events = []
        command_id = message.get("id") if isinstance(message, Mapping) else None
        try:
            command = parse_command(message)
            self._handlers[command.name](command)
            self._save()
        except LaneError as exc:
            self._save_quietly()
            self.emit("error", code=exc.code, message=str(exc))
        except AuthError as exc:
            self.emit("error", code="auth_failed", message=str(exc))
        except StoreError as exc:
            logger.error(
                "store failure",
                extra={
                    "kiosk": self.config.kiosk.id,
                    "sale": self.state.sale_id,
                    "error": str(exc),
                },
            )
            self.emit("error", code="storage", message=f"kiosk.db cannot record this: {exc}")
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
            self.deps.store.save_lane(self.state.to_snapshot())
            self._dirty = False

    def _save_quietly(self) -> None:
        try:
            self._save()
        except StoreError as exc:
            self.emit("error", code="storage", message=f"kiosk.db cannot record this: {exc}")

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
        done = item.cleared(staff_id, resolution, self.now_iso(), self.deps.clock.monotonic())
        self.state.interventions = [
            done if i.intervention_id == item.intervention_id else i
            for i in self.state.interventions
        ]
        self.touch()
        self.deps.store.record_audit(
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

    def require_selling(self) -> None:
        """Make sure a sale is open for items: start one from idle/complete."""
        mode = self.state.mode
        if mode == "out_of_service":
            raise wrong_state(f"the lane is out of service: {self.state.out_of_service_reason}")
        if mode == "paying":
            raise wrong_state("payment has started; cancel the payment to change the basket")
        if mode in ("idle", "complete"):
            self.begin_sale()

    def begin_sale(self) -> None:
        kept = [
            i
            for i in self.state.interventions
            if i.is_open and i.reason in ("printer_fault", "drawer_fault", "payment_unknown")
        ]
        language = self.state.language
        self.state = LaneState(language=language, interventions=kept)
        self.state.mode = "scanning"
        self.state.sale_id = self.deps.ids.new_id()
        self.state.started_at = self.now_iso()
        self.touch()
        self.emit("sale_started", sale_id=self.state.sale_id)

    def line_or_fail(self, line_no: int) -> Line:
        line = self.state.basket.find(line_no)
        if line is None or line.voided:
            raise not_found(f"there is no line {line_no} in the basket")
        return line

    def _go_out_of_service(self, reason: str) -> None:
        if self.state.mode != "out_of_service":
            self.state.mode_before_out_of_service = self.state.mode
        self.state.mode = "out_of_service"
        self.state.out_of_service_reason = reason
        self.emit("out_of_service", on=True, reason=reason)

    def _update_light(self) -> None:
        if self.state.mode == "out_of_service":
            wanted = "out_of_service"
        elif blocking(self.state.interventions):
            wanted = "intervention"
        elif open_of(self.state.interventions):
            wanted = "attention"
        else:
            wanted = "ready"
        self.deps.light.show(wanted)

    # ------------------------------------------------------------------ simple commands
    def _cmd_start(self, command: Command) -> None:
        if "language" in command.args:
            self._cmd_language(command)
        self.require_selling()

    def _cmd_new_sale(self, _command: Command) -> None:
        if self.state.mode not in ("complete", "idle"):
            raise wrong_state("a sale is in progress; finish or cancel it first")
        kept = [i for i in self.state.interventions if i.is_open]
        self.state = LaneState(language=self.config.kiosk.default_language, interventions=kept)
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

    def _cmd_search(self, command: Command) -> None:
        page = int(command.args.get("page", 0))
        if page < 0:
            raise InvalidCommand("search.page must be 0 or more")
        result = self.deps.catalog.search(command.text("query"), page=page, page_size=20)
        self.emit(
            "search_results",
            query=result.query,
            page=result.page,
            has_more=result.has_more,
            products=[self.product_view(p) for p in result.products],
        )

    def product_view(self, product: Product) -> dict[str, Any]:
        return {
            "sku": product.sku,
            "name": product.name(self.state.language),
            "price": product.price,
            "unit": product.unit,
            "plu": product.plu,
        }

    def _cmd_help(self, _command: Command) -> None:
        if open_of(self.state.interventions, "help"):
            self.emit("help_already_requested")
            return
        self.open_intervention("help")

    # ------------------------------------------------------------------ items
    def scan(self, raw: str) -> None:
        """A code from a scanner or typed in; classified by ``kiosk.barcodes``."""
        currency_exp = exponent(self.config.store.currency)
        result = barcodes.classify(raw, self.config.barcodes, self.today(), currency_exp)
        if isinstance(result, barcodes.InvalidScan):
            self.emit("scan_rejected", reason=result.reason, message=result.message)
            return
        if isinstance(result, barcodes.StaffBadgeScan):
            self._login_badge(result.code)
            return
        if isinstance(result, barcodes.WalletScan):
            self.tendering.wallet_code_scanned(result.code)
            return
        if isinstance(result, barcodes.MemberScan):
            self._identify_member(result.code)
            return
        if isinstance(result, barcodes.CouponScan):
            self.emit(
                "scan_rejected",
                reason="coupon_not_accepted",
                message="This kiosk does not accept coupons yet; please ask an attendant.",
            )
            return
        if isinstance(result, barcodes.ReceiptScan):
            self.emit(
                "scan_rejected",
                reason="receipt_scanned",
                message="Returns and reprints are handled by an attendant.",
            )
            return
        self.require_selling()
        if isinstance(result, barcodes.VariableMeasureScan):
            self._scan_variable_measure(result)
            return
        self._scan_product(result)

    def _scan_product(self, scan: barcodes.ProductScan) -> None:
        product = self.deps.catalog.by_gtin(scan.gtin)
        if product is None:
            self.open_intervention("unknown_item", code=scan.gtin)
            return
        qty = Decimal(1)
        if product.unit == "kg":
            if scan.weight_kg is None and scan.price is None:
                self.emit(
                    "scan_rejected",
                    reason="needs_weight",
                    message="This item is sold by weight: use the scale label.",
                )
                return
            qty = (
                scan.weight_kg
                if scan.weight_kg is not None
                else self._weight_from_price(product, scan.price or 0)
            )
        elif scan.weight_kg is not None:
            qty = Decimal(1)
        self.add_product(
            product,
            qty,
            gtin=scan.gtin,
            fixed_amount=scan.price,
            batch=scan.batch,
            expiry=scan.expiry,
        )

    def _scan_variable_measure(self, scan: barcodes.VariableMeasureScan) -> None:
        product = self.deps.catalog.by_plu(scan.item) or self.deps.catalog.by_plu(
            scan.item.lstrip("0")
        )
        if product is None:
            self.open_intervention("unknown_item", code=scan.raw)
            return
        if scan.kind == "weight":
            assert scan.weight_kg is not None
            self.add_product(product, scan.weight_kg, gtin=None)
            return
        price = scan.price or 0
        qty = self._weight_from_price(product, price) if product.unit == "kg" else Decimal(1)
        self.add_product(product, qty, gtin=None, fixed_amount=price)

    @staticmethod
    def _weight_from_price(product: Product, price: int) -> Decimal:
        if product.price <= 0:
            return Decimal(1)
        return (Decimal(price) / Decimal(product.price)).quantize(Decimal("0.001"))

    def _cmd_add(self, command: Command) -> None:
        """Lookup without a barcode: by sku or PLU, with a quantity or a weight."""
        sku, plu = command.args.get("sku"), command.args.get("plu")
        if (sku is None) == (plu is None):
            raise InvalidCommand("add needs exactly one of 'sku' or 'plu'")
        product = self.deps.catalog.by_sku(sku) if sku else self.deps.catalog.by_plu(str(plu))
        if product is None:
            raise not_found(f"no product with {'sku' if sku else 'PLU'} {sku or plu}")
        self.require_selling()
        if product.unit == "kg":
            if "weight_kg" not in command.args:
                raise InvalidCommand(f"{product.sku} is sold by weight: add needs 'weight_kg'")
            qty = command.decimal("weight_kg")
            if not Decimal("0.001") <= qty <= Decimal(100):
                raise InvalidCommand(f"add.weight_kg {qty} is outside 0.001..100 kg")
        else:
            qty = command.decimal("qty") if "qty" in command.args else Decimal(1)
            self._check_count(qty, "add.qty")
        self.add_product(product, qty.quantize(Decimal("0.001")) if product.unit == "kg" else qty)

    def _check_count(self, qty: Decimal, where: str) -> None:
        limit = self.config.lane.max_quantity_per_line
        if qty != qty.to_integral_value() or not 1 <= qty <= limit:
            raise InvalidCommand(f"{where} must be a whole number from 1 to {limit}, got {qty}")

    def add_product(
        self,
        product: Product,
        qty: Decimal,
        gtin: str | None = None,
        fixed_amount: int | None = None,
        batch: str | None = None,
        expiry: date | None = None,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        pending: dict[str, Any] = {
            "sku": product.sku,
            "qty": str(qty),
            "gtin": gtin,
            "fixed_amount": fixed_amount,
            "batch": batch,
            "expiry": expiry.isoformat() if expiry else None,
        }
        if product.not_for_sale:
            self.open_intervention(
                "not_for_sale", sku=product.sku, name=product.name(self.state.language)
            )
            return
        if "expired_item" not in skip and expiry is not None and expiry < self.today():
            self.open_intervention(
                "expired_item", name=product.name(self.state.language), **pending
            )
            return
        basket = self.state.basket
        if (
            "quantity_limit" not in skip
            and product.quantity_limit
            and basket.quantity_of(product.sku) + qty > product.quantity_limit
        ):
            self.open_intervention(
                "quantity_limit",
                limit=product.quantity_limit,
                name=product.name(self.state.language),
                **pending,
            )
            return
        last = basket.lines[-1] if basket.lines else None
        if (
            last is not None
            and not last.voided
            and last.sku == product.sku
            and last.unit == "ea"
            and product.unit == "ea"
            and last.gtin == gtin
            and last.fixed_amount is None
            and fixed_amount is None
            and not last.adjustments
            and last.qty + qty <= self.config.lane.max_quantity_per_line
        ):
            line = last.with_qty(last.qty + qty)
            basket.replace_line(line)
        else:
            line = Line.for_product(
                basket.next_line_no(),
                product,
                qty,
                gtin=gtin,
                fixed_amount=fixed_amount,
                batch=batch,
                expiry=expiry.isoformat() if expiry else None,
            )
            basket.lines.append(line)
        self.touch()
        self.emit(
            "item_added",
            line=line.line_no,
            sku=line.sku,
            name=line.name(self.state.language),
            qty=str(line.qty),
            unit=line.unit,
            unit_price=line.unit_price,
        )
        if (
            product.age_limit
            and not self.state.age_verified
            and not open_of(self.state.interventions, "age_check")
        ):
            self.open_intervention(
                "age_check",
                line_no=line.line_no,
                age=product.age_limit,
                name=product.name(self.state.language),
            )

    def _add_pending(self, item: Intervention, skip: frozenset[str]) -> None:
        detail = item.detail
        product = self.deps.catalog.by_sku(str(detail["sku"]))
        if product is None:
            raise not_found(f"product {detail['sku']} is no longer in the catalog")
        expiry = date.fromisoformat(detail["expiry"]) if detail.get("expiry") else None
        self.add_product(
            product,
            Decimal(detail["qty"]),
            gtin=detail.get("gtin"),
            fixed_amount=detail.get("fixed_amount"),
            batch=detail.get("batch"),
            expiry=expiry,
            skip=skip,
        )

    def _cmd_set_qty(self, command: Command) -> None:
        self.require_selling()
        line = self.line_or_fail(command.integer("line"))
        qty = command.decimal("qty")
        if line.unit != "ea" or line.fixed_amount is not None:
            raise InvalidCommand(
                f"line {line.line_no} is weighed or priced by its label; "
                "its quantity cannot be changed"
            )
        if line.adjustments:
            raise InvalidCommand(
                f"line {line.line_no} has an attendant adjustment: void it "
                "and scan again to change the quantity"
            )
        self._check_count(qty, "set_qty.qty")
        if qty < line.qty and self.config.lane.remove_line_needs_attendant:
            self.need_attendant()
        product = self.deps.catalog.by_sku(line.sku)
        if (
            product is not None
            and product.quantity_limit
            and qty > line.qty
            and self.state.basket.quantity_of(line.sku) - line.qty + qty > product.quantity_limit
        ):
            raise InvalidCommand(
                f"{line.name(self.state.language)} is limited to {product.quantity_limit} per sale"
            )
        self.state.basket.replace_line(line.with_qty(qty))
        self.touch()
        self.emit("line_changed", line=line.line_no, qty=str(qty))

    def _cmd_remove_line(self, command: Command) -> None:
        self.require_selling()
        line = self.line_or_fail(command.integer("line"))
        if self.config.lane.remove_line_needs_attendant and self.attendant is None:
            if not any(
                i.line_no == line.line_no for i in open_of(self.state.interventions, "void")
            ):
                self.open_intervention(
                    "void", line_no=line.line_no, name=line.name(self.state.language)
                )
            return
        self.void_line(line, self.attendant)

    def void_line(self, line: Line, staff: StaffMember | None) -> None:
        self.state.basket.replace_line(replace(line, voided=True))
        if staff is not None:
            self.record_action("void", staff, f"line {line.line_no} {line.sku}")
        self.touch()
        self.emit("line_voided", line=line.line_no)
        # Voiding the last age-restricted line ends the need for an age check.
        if not any(ln.age_limit for ln in self.state.basket.active_lines()):
            for item in open_of(self.state.interventions, "age_check"):
                self.close_intervention(item, staff.staff_id if staff else "customer", "reject")

    # ------------------------------------------------------------------ attendant commands
    def _cmd_void_line(self, command: Command) -> None:
        staff = self.need_attendant()
        self.require_selling()
        self.void_line(self.line_or_fail(command.integer("line")), staff)

    def _cmd_price_override(self, command: Command) -> None:
        staff = self.need_attendant()
        self.require_selling()
        line = self.line_or_fail(command.integer("line"))
        new_price = command.integer("unit_price")
        if new_price < 0:
            raise InvalidCommand("price_override.unit_price must be 0 or more")
        reason = command.text("reason").strip()
        if not reason:
            raise InvalidCommand("price_override needs a reason")
        current = self.tendering.line_gross(line)
        wanted = (
            Money(new_price, self.config.store.currency)
            .times(line.qty, self.config.tax.rounding_mode)
            .minor
        )
        line = replace(
            line, adjustments=tuple(a for a in line.adjustments if a.kind != "price_override")
        )
        base = self.tendering.line_gross(line) + sum(a.amount for a in line.adjustments)
        adjustment = Adjustment(wanted - base, "price_override", reason, staff.staff_id)
        self.state.basket.replace_line(line.with_adjustment(adjustment))
        self.record_action(
            "price_override", staff, f"line {line.line_no}: {current} -> {wanted} ({reason})"
        )
        self.emit("line_changed", line=line.line_no, adjustment=adjustment.to_dict())

    def _cmd_discount_line(self, command: Command) -> None:
        staff = self.need_attendant()
        self.require_selling()
        line = self.line_or_fail(command.integer("line"))
        reason = command.text("reason").strip()
        if not reason:
            raise InvalidCommand("discount_line needs a reason")
        current = self.tendering.line_gross(line) + sum(a.amount for a in line.adjustments)
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
        self.state.basket.replace_line(line.with_adjustment(adjustment))
        self.record_action("discount", staff, f"line {line.line_no}: -{off} ({reason})")
        self.emit("line_changed", line=line.line_no, adjustment=adjustment.to_dict())

    def _cmd_cancel_sale(self, _command: Command) -> None:
        staff = self.need_attendant()
        if self.state.mode not in ("scanning", "paying"):
            raise wrong_state("there is no sale to cancel")
        if self.state.tenders:
            raise wrong_state(
                "payments were already taken for this sale; it cannot be cancelled, only completed"
            )
        self.deps.store.record_audit(
            "sale_cancelled",
            {
                "sale_id": self.state.sale_id,
                "staff": staff.staff_id,
                "lines": len(self.state.basket.active_lines()),
            },
        )
        for item in open_of(self.state.interventions):
            if item.blocking:
                self.close_intervention(item, staff.staff_id, "reject")
        sale_id = self.state.sale_id
        kept = [i for i in self.state.interventions if i.is_open]
        self.state = LaneState(language=self.config.kiosk.default_language, interventions=kept)
        self.touch()
        self.emit("sale_cancelled", sale_id=sale_id, staff=staff.staff_id)

    def _cmd_out_of_service(self, command: Command) -> None:
        staff = self.need_attendant()
        if command.args["on"]:
            if self.state.mode in ("scanning", "paying") and not self.state.basket.is_empty():
                raise wrong_state("finish or cancel the sale in progress first")
            reason = command.text("reason", "closed by staff").strip() or "closed by staff"
            self._go_out_of_service(reason)
        else:
            if self.state.mode != "out_of_service":
                raise wrong_state("the lane is not out of service")
            self.deps.store.check_writable()
            self.state.mode = "idle"
            self.state.out_of_service_reason = ""
            self.emit("out_of_service", on=False)
        self.deps.store.record_audit(
            "out_of_service", {"on": command.args["on"], "staff": staff.staff_id}
        )
        self.touch()

    def _cmd_open_drawer(self, command: Command) -> None:
        staff = self.need_attendant()
        reason = command.text("reason").strip()
        if not reason:
            raise InvalidCommand("open_drawer needs a reason")
        self.deps.store.record_audit(
            "drawer_opened", {"staff": staff.staff_id, "reason": reason, "sale_id": None}
        )
        self.tendering.pulse_drawer()

    # ------------------------------------------------------------------ staff
    def _cmd_staff_login(self, command: Command) -> None:
        if "badge" in command.args:
            self._login_badge(command.text("badge"))
            return
        if "staff_id" not in command.args or "pin" not in command.args:
            raise InvalidCommand("staff_login needs 'badge', or 'staff_id' and 'pin'")
        staff_id, pin = command.text("staff_id"), command.text("pin")
        staff = self.deps.staff.by_id(staff_id)
        if staff is None or staff.pin_hash is None:
            raise AuthError("unknown staff id or no PIN set")
        now = self.deps.clock.now()
        if staff.is_locked(now):
            raise AuthError(
                f"{staff_id} is locked out after too many wrong PINs; "
                "a supervisor can unlock, or wait"
            )
        if not verify_pin(pin, staff.pin_hash):
            cfg = self.config.staff
            lock = (
                now + timedelta(seconds=cfg.lockout_s)
                if staff.failures + 1 >= cfg.max_failures
                else None
            )
            count = self.deps.staff.record_login_failure(staff_id, lock)
            self.deps.store.record_audit("login_failed", {"staff": staff_id, "failures": count})
            raise AuthError("wrong PIN" + (" - now locked out" if lock else ""))
        self.deps.staff.reset_login_failures(staff_id)
        self._logged_in(staff, "pin")

    def _login_badge(self, badge: str) -> None:
        staff = self.deps.staff.by_badge(badge)
        if staff is None:
            raise AuthError("unknown staff badge")
        if self.attendant is not None and self.attendant.staff_id == staff.staff_id:
            self._cmd_staff_logout(Command("staff_logout", {}))
            return
        if staff.is_locked(self.deps.clock.now()):
            raise AuthError(f"{staff.staff_id} is locked out")
        self._logged_in(staff, "badge")

    def _logged_in(self, staff: StaffMember, how: str) -> None:
        self.attendant = staff
        self.deps.store.record_audit("login", {"staff": staff.staff_id, "how": how})
        self.emit("staff_logged_in", staff=staff.staff_id, name=staff.name, role=staff.role)

    def _cmd_staff_logout(self, _command: Command) -> None:
        if self.attendant is None:
            raise wrong_state("no attendant is logged in")
        staff_id = self.attendant.staff_id
        self.attendant = None
        self.deps.store.record_audit("logout", {"staff": staff_id})
        self.emit("staff_logged_out", staff=staff_id)

    # ------------------------------------------------------------------ members
    def _identify_member(self, code: str) -> None:
        member = self.deps.members.by_code(code)
        if member is None:
            self.emit(
                "scan_rejected",
                reason="unknown_member",
                message="That member code is not known here.",
            )
            return
        self.require_selling()
        self.state.member = member
        self.touch()
        self.emit(
            "member_identified",
            member=member.member_id,
            level=member.level,
            phone=member.masked_phone,
        )

    # ------------------------------------------------------------------ clearing
    def _cmd_clear(self, command: Command) -> None:
        staff = self.need_attendant()
        wanted = command.text("intervention")
        item = self._find_intervention(wanted)
        resolution = command.text("resolution")
        if resolution not in ("approve", "reject"):
            raise InvalidCommand("clear.resolution must be 'approve' or 'reject'")
        approve = resolution == "approve"
        if item.reason == "age_check":
            if approve:
                self.state.age_verified = True
                self.record_action("age_check", staff)
            else:
                for restricted in self.state.basket.active_lines():
                    if restricted.age_limit:
                        self.void_line(restricted, staff)
        elif item.reason == "unknown_item" and approve:
            self._resolve_unknown_item(command)
        elif item.reason in ("quantity_limit", "expired_item") and approve:
            self._add_pending(item, frozenset({item.reason}))
            self.record_action(item.reason, staff, str(item.detail.get("sku")))
        elif item.reason == "void" and approve:
            to_void = self.state.basket.find(item.line_no or 0)
            if to_void is not None and not to_void.voided:
                self.void_line(to_void, staff)
        elif item.reason == "payment_unknown":
            self.tendering.resolve_unknown_payment(item, command, approve, staff)
        elif item.reason == "cash_payment":
            self.tendering.cancel_cash(item, staff)
            return
        elif item.reason == "storage":
            self.deps.store.check_writable()
        if any(
            i.intervention_id == item.intervention_id and i.is_open
            for i in self.state.interventions
        ):
            self.close_intervention(item, staff.staff_id, resolution)  # type: ignore[arg-type]

    def _find_intervention(self, wanted: str) -> Intervention:
        """By id, or by reason when exactly one intervention with that reason is open."""
        items = open_of(self.state.interventions)
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
        sku, plu = command.args.get("sku"), command.args.get("plu")
        if sku is None and plu is None:
            raise InvalidCommand("to approve an unknown item give its 'sku' or 'plu'")
        product = self.deps.catalog.by_sku(sku) if sku else self.deps.catalog.by_plu(str(plu))
        if product is None:
            raise not_found(f"no product with {'sku' if sku else 'PLU'} {sku or plu}")
        if product.unit == "kg":
            raise InvalidCommand(f"{product.sku} is sold by weight: use 'add' with weight_kg")
        self.add_product(product, Decimal(1))

    # ------------------------------------------------------------------ view
    def view(self) -> dict[str, Any]:
        return build_view(self)
