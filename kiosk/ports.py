"""Ports: every outside thing the core talks to, as ``typing.Protocol`` classes. Pure core.

Adapters implement these: ``kiosk.store`` (LaneStore, Catalog, StaffDirectory), ``kiosk.hw``
(Drawer, Light, ReceiptPrinter, PaymentTerminal, WalletGateway simulators and, later, the real
devices). The lane (``kiosk.checkout``) only ever sees these protocols. All methods are called
from the lane's own thread, never from the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from kiosk.catalog import Product, SearchPage
from kiosk.members import Member
from kiosk.payments import IntentStatus, PaymentIntent, PaymentResult
from kiosk.sale import CompletedSale, SaleRecord
from kiosk.staff import StaffMember


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going backwards (for durations)."""
        ...


class IdSource(Protocol):
    def new_id(self) -> str:
        """A new time-ordered unique id (UUIDv7 text)."""
        ...


class Catalog(Protocol):
    def by_gtin(self, gtin: str) -> Product | None:
        """The product with this 14-digit GTIN (callers normalise with barcodes.gtin14)."""
        ...

    def by_plu(self, plu: str) -> Product | None: ...

    def by_sku(self, sku: str) -> Product | None: ...

    def search(self, query: str, page: int = 0, page_size: int = 20) -> SearchPage:
        """Products whose name in any language matches ``query``, best first, one page."""
        ...


class Members(Protocol):
    def by_code(self, code: str) -> Member | None:
        """The member with this member code, or None."""
        ...


class StaffDirectory(Protocol):
    def by_badge(self, badge: str) -> StaffMember | None: ...

    def by_id(self, staff_id: str) -> StaffMember | None: ...

    def record_login_failure(self, staff_id: str, locked_until: datetime | None) -> int:
        """Count one more failed PIN; set the lockout end if given. Returns the failure count."""
        ...

    def reset_login_failures(self, staff_id: str) -> None: ...


class LaneStore(Protocol):
    """The lane's durable state in kiosk.db. Every method commits before it returns."""

    def check_writable(self) -> None:
        """Raise StorageFull or StorageReadOnly if a sale could not be recorded now."""
        ...

    def load_lane(self) -> Mapping[str, Any] | None:
        """The last saved lane snapshot, or None when there is none."""
        ...

    def save_lane(self, snapshot: Mapping[str, Any]) -> None:
        """Durably replace the lane snapshot (basket in progress, open interventions...)."""
        ...

    def record_intent(
        self, intent: PaymentIntent, lane_snapshot: Mapping[str, Any] | None = None
    ) -> None:
        """Durably record a payment intent before the terminal is asked; when
        ``lane_snapshot`` is given, replace the lane snapshot in the same transaction."""
        ...

    def update_intent(
        self,
        intent_id: str,
        status: IntentStatus,
        ref: str | None = None,
        auth: str | None = None,
        last4: str | None = None,
        detail: str = "",
        lane_snapshot: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a payment's outcome; when ``lane_snapshot`` is given (the basket with the new
        tender), replace the lane snapshot in the SAME transaction, so an approved payment can
        never be lost between the two writes."""
        ...

    def unresolved_intents(self) -> list[PaymentIntent]:
        """Intents whose outcome is still pending or unknown."""
        ...

    def complete_sale(
        self,
        sale: CompletedSale,
        lane_snapshot: Mapping[str, Any],
        receipt: Callable[[SaleRecord], Mapping[str, Any]] | None = None,
    ) -> SaleRecord:
        """In ONE transaction: assign the next seq, write the sale, its lines and tenders, the
        journal entry (prev_hash, hash) and the outbox event, replace the lane snapshot and,
        when ``receipt`` is given, queue the receipt print job (job id = receipt number) with
        the document ``receipt(record)`` builds."""
        ...

    def record_audit(self, kind: str, detail: Mapping[str, Any]) -> None:
        """Append an audit row (intervention cleared, drawer opened without sale, login...)."""
        ...


class PaymentTerminal(Protocol):
    def charge(self, intent: PaymentIntent, timeout_s: float) -> PaymentResult:
        """Ask the card terminal for ``intent.amount``; block until it answers or times out."""
        ...


class WalletGateway(Protocol):
    def charge(self, intent: PaymentIntent, payment_code: str, timeout_s: float) -> PaymentResult:
        """Charge a customer's wallet payment code (WeChat Pay, Alipay...)."""
        ...


class Drawer(Protocol):
    def open(self) -> None:
        """Pulse the drawer open. Raises DeviceError if it cannot."""
        ...

    def is_open(self) -> bool | None:
        """True/False from a drawer switch; None when no switch is fitted."""
        ...


class Light(Protocol):
    def show(self, state: str) -> None:
        """``ready``, ``attention``, ``intervention`` or ``out_of_service``."""
        ...


class ReceiptPrinter(Protocol):
    def print_text(self, job_id: str, text: str, barcode: str) -> None:
        """Print a rendered receipt and the barcode of its number; raise DeviceError on fault."""
        ...
