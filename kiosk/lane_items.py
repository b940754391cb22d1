"""The lane's items: scanning, lookup without a barcode, quantities, removing lines. Pure core.

Called on the lane thread by ``kiosk.checkout.Lane`` (which owns the state and dispatches the
commands ``scan``, ``add``, ``search``, ``categories``, ``set_qty`` and ``remove_line``). A scan is
classified by ``kiosk.barcodes``; product scans become basket lines here, other scans (staff
badges, wallet and member codes) are handed to the part of the lane that owns them. Item checks
that need an attendant (unknown item, not for sale, expired item, quantity limit, age check)
open interventions; ``kiosk.lane_attendant`` clears them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kiosk import barcodes
from kiosk.basket import Line
from kiosk.catalog import Product
from kiosk.errors import InvalidCommand
from kiosk.interventions import Intervention, open_of
from kiosk.lane_protocol import Command, MissingArgument, not_found
from kiosk.money import exponent
from kiosk.staff import StaffMember

if TYPE_CHECKING:
    from kiosk.checkout import Lane

ZERO_LABEL = "The weight or price on this label is zero: please weigh the item again."
SEARCH_PAGE_SIZE = 20


class Items:
    """The basket side of one lane; holds no state of its own (all of it is ``lane.state``)."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    # ------------------------------------------------------------------ scanning
    def scan(self, raw: str) -> None:
        """A code from a scanner or typed in; classified by ``kiosk.barcodes``."""
        lane = self.lane
        currency_exp = exponent(lane.config.store.currency)
        result = barcodes.classify(raw, lane.config.barcodes, lane.today(), currency_exp)
        if isinstance(result, barcodes.InvalidScan):
            lane.emit("scan_rejected", reason=result.reason, message=result.message)
            return
        if isinstance(result, barcodes.StaffBadgeScan):
            lane.staff_session.login_badge(result.code)
            return
        if isinstance(result, barcodes.WalletScan):
            lane.tendering.wallet_code_scanned(result.code)
            return
        if isinstance(result, barcodes.MemberScan):
            self.identify_member(result.code)
            return
        if isinstance(result, barcodes.CouponScan):
            lane.check_can_sell()
            lane.promos.coupon_scanned(result.code)
            return
        if isinstance(result, barcodes.ReceiptScan):
            if lane.attendant is None:
                lane.emit(
                    "scan_rejected",
                    reason="receipt_scanned",
                    message="Returns are made by an attendant: please ask one.",
                )
                return
            lane.returns.start(result.receipt_no)  # an attendant scanned it: a return
            return
        lane.check_can_sell()
        if isinstance(result, barcodes.VariableMeasureScan):
            self._scan_variable_measure(result)
            return
        self._scan_product(result)

    def _scan_product(self, scan: barcodes.ProductScan) -> None:
        product = self.lane.deps.catalog.by_gtin(scan.gtin)
        if product is None:
            self.lane.require_selling()
            self.lane.open_intervention("unknown_item", code=scan.gtin)
            return
        qty = Decimal(1)
        if product.unit == "kg":
            if scan.weight_kg is None and scan.price is None:
                self._needs_weight("This item is sold by weight: use the scale label.")
                return
            qty = (
                scan.weight_kg
                if scan.weight_kg is not None
                else weight_from_price(product, scan.price or 0)
            )
        if qty <= 0 or (scan.price is not None and scan.price <= 0):
            self._needs_weight(ZERO_LABEL)
            return
        self.add_product(
            product,
            qty,
            gtin=scan.gtin,
            fixed_amount=scan.price,
            batch=scan.batch,
            expiry=scan.expiry,
        )

    def _scan_variable_measure(self, scan: barcodes.VariableMeasureScan) -> None:
        catalog = self.lane.deps.catalog
        product = catalog.by_plu(scan.item) or catalog.by_plu(scan.item.lstrip("0"))
        if product is None:
            self.lane.require_selling()
            self.lane.open_intervention("unknown_item", code=scan.raw)
            return
        if scan.kind == "weight":
            assert scan.weight_kg is not None
            if scan.weight_kg <= 0:
                self._needs_weight(ZERO_LABEL)
                return
            # A scale label for an item the catalog sells each counts as one item.
            qty = scan.weight_kg if product.unit == "kg" else Decimal(1)
            self.add_product(product, qty, gtin=None)
            return
        price = scan.price or 0
        qty = weight_from_price(product, price) if product.unit == "kg" else Decimal(1)
        if price <= 0 or qty <= 0:
            self._needs_weight(ZERO_LABEL)
            return
        self.add_product(product, qty, gtin=None, fixed_amount=price)

    def _needs_weight(self, message: str) -> None:
        self.lane.emit("scan_rejected", reason="needs_weight", message=message)

    # ------------------------------------------------------------------ lookup without barcode
    def cmd_add(self, command: Command) -> None:
        """Lookup without a barcode: by sku or PLU, with a quantity or a weight."""
        lane = self.lane
        product = self.lookup(command)
        args = command.args
        if product.unit == "kg":
            if "qty" in args:
                raise InvalidCommand(
                    f"{product.sku} is sold by weight: give add.weight_kg, not qty"
                )
            if "weight_kg" not in args:
                raise MissingArgument(
                    f"{product.sku} is sold by weight: add needs 'weight_kg'",
                    "weight_kg",
                    unit=product.unit,
                    sku=product.sku,
                )
            qty = command.decimal("weight_kg")
            if not Decimal("0.001") <= qty <= Decimal(100):
                raise InvalidCommand(f"add.weight_kg {qty} is outside 0.001..100 kg")
            qty = qty.quantize(Decimal("0.001"))
        else:
            if "weight_kg" in args:
                raise InvalidCommand(f"{product.sku} is sold each: give add.qty, not weight_kg")
            qty = command.decimal("qty") if "qty" in args else Decimal(1)
            self.check_count(qty, "add.qty")
        lane.check_can_sell()
        self.add_product(product, qty)

    def lookup(self, command: Command) -> Product:
        """The product named by a command's ``sku`` or ``plu`` (exactly one of them)."""
        sku, plu = command.args.get("sku"), command.args.get("plu")
        if (sku is None) == (plu is None):
            raise InvalidCommand(f"{command.name} needs exactly one of 'sku' or 'plu'")
        catalog = self.lane.deps.catalog
        if sku is not None:
            product = catalog.by_sku(str(sku))
            missing = f"no product with sku {sku!r}" if not sku else f"no product with sku {sku}"
        else:
            product = catalog.by_plu(str(plu))
            missing = f"no product with PLU {plu}"
        if product is None:
            raise not_found(missing)
        return product

    def cmd_search(self, command: Command) -> None:
        """A page of a name search, or of a category's products (``category``: ``query`` may
        then be empty). An unknown category has no products."""
        page = int(command.args.get("page", 0))
        if page < 0:
            raise InvalidCommand("search.page must be 0 or more")
        category = command.text("category")
        if "category" in command.args and not category.strip():
            raise InvalidCommand("search.category must not be empty")
        result = self.lane.deps.catalog.search(
            command.text("query"), page=page, page_size=SEARCH_PAGE_SIZE, category=category
        )
        self.lane.emit(
            "search_results",
            query=result.query,
            category=result.category,
            page=result.page,
            has_more=result.has_more,
            products=[self.product_view(p) for p in result.products],
        )

    def cmd_categories(self, _command: Command) -> None:
        """The categories with products for sale, named in the lane's current language."""
        language = self.lane.state.language
        self.lane.emit(
            "categories",
            categories=[
                {
                    "category": c.category,
                    "name": c.name(language),
                    "count": c.count,
                    "picture": c.picture,
                }
                for c in self.lane.deps.catalog.categories()
            ],
        )

    def product_view(self, product: Product) -> dict[str, Any]:
        return {
            "sku": product.sku,
            "name": product.name(self.lane.state.language),
            "price": product.price,
            "unit": product.unit,
            "plu": product.plu,
        }

    def check_count(self, qty: Decimal, where: str) -> None:
        limit = self.lane.config.lane.max_quantity_per_line
        if qty != qty.to_integral_value() or not 1 <= qty <= limit:
            raise InvalidCommand(f"{where} must be a whole number from 1 to {limit}, got {qty}")

    # ------------------------------------------------------------------ adding a line
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
        lane = self.lane
        lane.require_selling()
        state = lane.state
        pending: dict[str, Any] = {
            "sku": product.sku,
            "qty": str(qty),
            "gtin": gtin,
            "fixed_amount": fixed_amount,
            "batch": batch,
            "expiry": expiry.isoformat() if expiry else None,
        }
        if product.not_for_sale:
            lane.open_intervention(
                "not_for_sale", sku=product.sku, name=product.name(state.language)
            )
            return
        if "expired_item" not in skip and expiry is not None and expiry < lane.today():
            lane.open_intervention("expired_item", name=product.name(state.language), **pending)
            return
        basket = state.basket
        if (
            "quantity_limit" not in skip
            and product.quantity_limit
            and basket.quantity_of(product.sku) + qty > product.quantity_limit
        ):
            lane.open_intervention(
                "quantity_limit",
                limit=product.quantity_limit,
                name=product.name(state.language),
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
            and not manual_adjustments(last)
            and last.qty + qty <= lane.config.lane.max_quantity_per_line
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
        lane.touch()
        lane.emit(
            "item_added",
            line=line.line_no,
            sku=line.sku,
            name=line.name(state.language),
            qty=str(line.qty),
            unit=line.unit,
            unit_price=line.unit_price,
        )
        once = lane.config.lane.age_check_once_per_sale
        if (
            product.age_limit
            and not (state.age_verified and once)
            and not open_of(state.interventions, "age_check")
        ):
            lane.open_intervention(
                "age_check",
                line_no=line.line_no,
                age=product.age_limit,
                name=product.name(state.language),
            )

    def add_pending(self, item: Intervention, skip: frozenset[str]) -> None:
        """Add the item an intervention held back (quantity limit, expired) once approved."""
        detail = item.detail
        product = self.lane.deps.catalog.by_sku(str(detail["sku"]))
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

    # ------------------------------------------------------------------ changing lines
    def cmd_set_qty(self, command: Command) -> None:
        lane = self.lane
        lane.check_can_sell()
        line = lane.line_or_fail(command.integer("line"))
        qty = command.decimal("qty")
        if line.unit != "ea" or line.fixed_amount is not None:
            raise InvalidCommand(
                f"line {line.line_no} is weighed or priced by its label; "
                "its quantity cannot be changed"
            )
        if manual_adjustments(line):
            raise InvalidCommand(
                f"line {line.line_no} has an attendant adjustment: void it "
                "and scan again to change the quantity"
            )
        self.check_count(qty, "set_qty.qty")
        staff = lane.attendant
        if qty < line.qty and lane.config.lane.remove_line_needs_attendant:
            staff = lane.need_attendant()
        product = lane.deps.catalog.by_sku(line.sku)
        if (
            product is not None
            and product.quantity_limit
            and qty > line.qty
            and lane.state.basket.quantity_of(line.sku) - line.qty + qty > product.quantity_limit
        ):
            raise InvalidCommand(
                f"{line.name(lane.state.language)} is limited to {product.quantity_limit} per sale"
            )
        lane.state.basket.replace_line(line.with_qty(qty))
        if qty < line.qty and staff is not None:
            lane.record_action(
                "void", staff, f"line {line.line_no} {line.sku} qty {line.qty} -> {qty}"
            )
        lane.touch()
        lane.emit("line_changed", line=line.line_no, qty=str(qty))

    def cmd_remove_line(self, command: Command) -> None:
        lane = self.lane
        lane.check_can_sell()
        line = lane.line_or_fail(command.integer("line"))
        if lane.config.lane.remove_line_needs_attendant and lane.attendant is None:
            if not any(
                i.line_no == line.line_no for i in open_of(lane.state.interventions, "void")
            ):
                lane.open_intervention(
                    "void", line_no=line.line_no, name=line.name(lane.state.language)
                )
            return
        self.void_line(line, lane.attendant)

    def void_line(self, line: Line, staff: StaffMember | None) -> None:
        lane = self.lane
        lane.state.basket.replace_line(replace(line, voided=True))
        if staff is not None:
            lane.record_action("void", staff, f"line {line.line_no} {line.sku}")
        lane.touch()
        lane.emit("line_voided", line=line.line_no)
        who = staff.staff_id if staff else "customer"
        for item in open_of(lane.state.interventions, "void"):
            if item.line_no == line.line_no:
                lane.close_intervention(item, who, "approve")
        # Voiding the last age-restricted line ends the need for an age check.
        if not any(ln.age_limit for ln in lane.state.basket.active_lines()):
            for item in open_of(lane.state.interventions, "age_check"):
                lane.close_intervention(item, who, "reject")

    # ------------------------------------------------------------------ members
    def identify_member(self, code: str) -> None:
        """A scanned member card: ``kiosk.lane_members`` identifies the member."""
        self.lane.members.identify_by_code(code)


def manual_adjustments(line: Line) -> bool:
    """Whether an attendant adjusted the line (promotion adjustments are re-made each change)."""
    return any(a.kind not in ("promotion", "coupon") for a in line.adjustments)


def weight_from_price(product: Product, price: int) -> Decimal:
    """The weight a price label stands for: price / price per kg, to the gram."""
    if product.price <= 0:
        return Decimal(1)
    return (Decimal(price) / Decimal(product.price)).quantize(Decimal("0.001"))
