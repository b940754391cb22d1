"""Ports: every outside thing the core talks to, as ``typing.Protocol`` classes. Pure core.

Adapters implement these: ``kiosk.store`` (LaneStore, Catalog, StaffDirectory, Members,
MemberLedger, Promotions), ``kiosk.hw`` (Drawer, Light, ReceiptPrinter, PaymentTerminal,
WalletGateway simulators and, later, the real devices). The lane (``kiosk.checkout``) only ever
sees these protocols. All methods are called from the lane's own thread, never from the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from kiosk.catalog import Category, Product, SearchPage
from kiosk.loyalty import Balances
from kiosk.members import Member
from kiosk.payments import IntentStatus, PaymentIntent, PaymentResult
from kiosk.printing import JobKind, JobState, PrintJob
from kiosk.promotions import RuleSet
from kiosk.receipt import Receipt
from kiosk.refunds import CompletedRefund, RefundAttempt, RefundRecord, SaleLookup
from kiosk.returns import Refunded
from kiosk.sale import CompletedSale, SaleRecord
from kiosk.shift import ClosingRange, ShiftCloseRecord, ShiftRow
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

    def search(
        self, query: str, page: int = 0, page_size: int = 20, category: str = ""
    ) -> SearchPage:
        """Products whose name in any language matches ``query``, or whose Chinese names'
        pinyin does (full pinyin or initials typed in Latin letters: ``niunai``, ``nn``), best
        first, one page; with ``category``, only that category's products for sale (all of
        them when ``query`` is empty), in catalog order. Never a scan of the whole catalog for
        a category."""
        ...

    def categories(self) -> tuple[Category, ...]:
        """The categories with at least one product for sale, in catalog order (read from an
        index the catalog import builds: its cost does not grow with the catalog)."""
        ...


class Members(Protocol):
    def by_code(self, code: str) -> Member | None:
        """The member with this member code, or None."""
        ...

    def by_phone(self, phone: str) -> Member | None:
        """The member with this phone number (looked up by its keyed hash), or None. The
        number is never stored or logged."""
        ...


class MemberLedger(Protocol):
    """The members' points and stored value in kiosk.db: append-only ledger rows, a balance is
    their sum (``kiosk.loyalty``). A sale's rows are written by ``LaneStore.complete_sale``."""

    def balances(self, member_id: str) -> Balances:
        """The member's points and stored value (minor units) on this kiosk's ledger."""
        ...

    def spent_on(self, member_id: str, business_day: str) -> Balances:
        """Points and stored value the member redeemed on ``business_day`` (positive)."""
        ...


class StaffDirectory(Protocol):
    def by_badge(self, badge: str) -> StaffMember | None: ...

    def by_id(self, staff_id: str) -> StaffMember | None: ...

    def record_login_failure(self, staff_id: str, locked_until: datetime | None) -> int:
        """Count one more failed PIN; set the lockout end if given. Returns the failure count."""
        ...

    def reset_login_failures(self, staff_id: str) -> None: ...


class RefundStore(Protocol):
    """Returns in kiosk.db (``kiosk.store.refunds``, docs/returns-and-shifts.md). Every method
    commits before it returns."""

    def load_draft(self) -> Mapping[str, Any] | None:
        """The return being built (survives a restart), or None."""
        ...

    def save_draft(self, draft: Mapping[str, Any] | None) -> None:
        """Durably replace (None: drop) the return being built."""
        ...

    def original(self, receipt_no: str) -> SaleLookup | None:
        """The recorded sale with this receipt number (its sealed event), or None."""
        ...

    def refunded(self, original_seq: int) -> Refunded:
        """What earlier refunds gave back of the sale at ``original_seq``."""
        ...

    def refund_numbers(self, original_seq: int) -> list[str]: ...

    def is_refund(self, number: str) -> bool:
        """True when ``number`` is a recorded refund's number (a refund slip's)."""
        ...

    def record_attempt(
        self, attempt: RefundAttempt, draft: Mapping[str, Any] | None = None
    ) -> None:
        """Record a card refund (``pending``) BEFORE the terminal is asked, with the draft."""
        ...

    def update_attempt(
        self,
        intent_id: str,
        status: IntentStatus,
        ref: str | None = None,
        auth: str | None = None,
        last4: str | None = None,
        detail: str = "",
    ) -> None: ...

    def attempts(self, refund_id: str) -> list[RefundAttempt]: ...

    def record_refund(
        self,
        refund: CompletedRefund,
        slip: Callable[[RefundRecord], Mapping[str, Any]] | None = None,
    ) -> RefundRecord:
        """In ONE transaction: refuse units already refunded, take the next seq, write the
        sealed refund event (journal + outbox), the refund rows, the slip's print job (job id =
        refund number) and drop the draft. Idempotent on the refund id."""
        ...


class ShiftStore(Protocol):
    """Shifts in kiosk.db (``kiosk.store.shifts``). Every method commits before it returns."""

    def current(self) -> ShiftRow | None:
        """The open shift, or None."""
        ...

    def open(self, per: str, staff_id: str, float_amount: int, at: str) -> ShiftRow: ...

    def add_pickup(
        self, shift_id: str, amount: int, staff_id: str, reason: str, at: str
    ) -> None: ...

    def open_range(self) -> ClosingRange:
        """What a close would cover now (for an X report); writes nothing."""
        ...

    def close(
        self,
        shift_id: str,
        staff_id: str,
        counted: int,
        at: str,
        build: Callable[[ClosingRange], tuple[Mapping[str, Any], Mapping[str, Any]]],
    ) -> ShiftCloseRecord:
        """In ONE transaction: the range's events under the write lock, ``build`` -> (unsealed
        ``shift.closed`` event, Z report document), the sealed event (journal + outbox), the
        shift closed and the report's print job."""
        ...


class LaneStore(Protocol):
    """The lane's durable state in kiosk.db. Every method commits before it returns."""

    @property
    def refunds(self) -> RefundStore:
        """Returns and refunds (on the same connection)."""
        ...

    @property
    def shifts(self) -> ShiftStore:
        """Shifts and cash pickups (on the same connection)."""
        ...

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

    # -- print jobs (kiosk.printing): each call is one transaction -------------------------------
    def print_job(self, job_id: str) -> PrintJob | None:
        """The job with this id, or None."""
        ...

    def print_jobs(self, state: JobState | None = None) -> list[PrintJob]:
        """Jobs in ``state`` (all when None), oldest first."""
        ...

    def print_jobs_with_prefix(self, prefix: str) -> list[PrintJob]:
        """Jobs whose id starts with ``prefix`` (the reprints of a receipt), oldest first."""
        ...

    def last_receipt_job(self) -> PrintJob | None:
        """The receipt job of the most recent sale, or None before the first sale."""
        ...

    def queue_print(
        self,
        job_id: str,
        kind: JobKind,
        document: Mapping[str, Any],
        seq: int | None = None,
        requested_by: str | None = None,
        audit: tuple[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Queue a new job (StoreError if the id exists), with the ``audit`` row (kind, detail)
        in the same transaction."""
        ...

    def move_print(
        self,
        job_id: str,
        state: JobState,
        error: str | None = None,
        lane_snapshot: Mapping[str, Any] | None = None,
        audit: tuple[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Move a job to ``state`` (only along ``kiosk.printing.TRANSITIONS``, else StoreError);
        the lane snapshot and the audit row, when given, commit in the SAME transaction."""
        ...


class PaymentTerminal(Protocol):
    def charge(self, intent: PaymentIntent, timeout_s: float) -> PaymentResult:
        """Ask the card terminal for ``intent.amount``; block until it answers or times out."""
        ...

    def refund(
        self, intent: PaymentIntent, original_ref: str, amount: int, timeout_s: float
    ) -> PaymentResult:
        """Refund ``amount`` (= ``intent.amount``) to the card of the payment ``original_ref``;
        block until the terminal answers or times out. Asking again with the same intent id
        answers the first approval and refunds nothing more."""
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
        """True/False from a drawer switch; None when no switch is fitted, or (GPIO drawer with
        its worker started) while a queued pulse is not yet confirmed: the worker then reports
        ``opened`` / ``not_opened`` / ``closed`` as device events."""
        ...


class Light(Protocol):
    def show(self, state: str) -> None:
        """``ready``, ``attention``, ``intervention`` or ``out_of_service``."""
        ...


class ReceiptPrinter(Protocol):
    def print_receipt(self, job_id: str, receipt: Receipt) -> None:
        """Print the receipt document (its barcode or QR of the receipt number, then a cut).

        Raises ``DeviceError("<code>: <message>")`` on a fault, ``code`` one of ``offline``,
        ``paper_out``, ``cover_open``, ``not_found``, ``busy``, ``no_permission``, ``no_font``
        (``kiosk.printing.FAULT_CODES``). Blocks the lane thread for the job (about a second at
        most); never re-sends a job by itself."""
        ...

    def status(self) -> Mapping[str, Any]:
        """The printer's state now: ``online`` (bool, None when it cannot be read),
        ``paper`` (``ok``, ``near_end``, ``out``, ``unknown``), ``cover_open`` (bool or None),
        optionally ``error`` (text). Never raises: an unreachable printer is ``online: False``."""
        ...


class Promotions(Protocol):
    """The imported promotion rules and the coupon redemptions (``kiosk.store.promotions``)."""

    def current(self) -> RuleSet | None:
        """The current rule set (parsed once per stored version); None when none is imported."""
        ...

    def coupon_uses(self, codes: Iterable[str]) -> dict[str, int]:
        """Code -> sales that redeemed it so far (codes never redeemed are left out)."""
        ...

    def member_coupon_uses(self, member_id: str) -> dict[str, int]:
        """Promotion id -> this member's sales that redeemed one of its coupons."""
        ...

    def record_redeemed(
        self,
        sale_id: str,
        member_id: str | None,
        redeemed: Mapping[str, Iterable[str]],
        at: str,
    ) -> None:
        """Record the coupons (code -> promotion ids) a recorded sale redeemed; idempotent."""
        ...
