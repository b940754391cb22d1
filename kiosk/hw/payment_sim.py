"""Payment simulators: a card terminal and a wallet (payment code) gateway you can script.

``SimCardTerminal`` implements ``kiosk.ports.PaymentTerminal`` and ``SimWalletGateway``
implements ``kiosk.ports.WalletGateway``. Tests and ``kiosk sim`` script what the next charges
answer with ``queue_outcome(...)``; with nothing queued a charge is approved in full.

How a scripted charge plays out:

- ``delay_s`` is how long the terminal takes to answer. The simulator waits
  ``min(delay_s, timeout_s)`` with the injected ``sleep`` (``time.sleep`` by default; tests pass
  ``FakeClock.sleep``). If the answer would come after ``timeout_s`` the charge returns
  ``timeout`` instead. A queued ``timeout`` with no delay never answers: it waits ``timeout_s``.
- An ``approved`` answer that comes too late still happened at the terminal: the customer was
  charged and the kiosk heard ``timeout``. This is the "outcome unknown" case the lane must
  resolve; charging the same intent again returns that approval (see below).
- Idempotency, as real terminals and gateways keyed by transaction id do: charging an
  ``intent_id`` that was already approved does not charge again and consumes nothing from the
  script; it returns the same approval (same ref, auth, amount). Asking a different amount for
  an approved intent is a bug and raises ``ValueError``.
- ``disconnect()`` makes every charge answer ``disconnected`` until ``reconnect()``.

The wallet gateway first checks the payment code is 16 to 24 digits; a malformed code is
declined with ``invalid payment code`` without using the script. The full code is never kept:
history holds ``kiosk.payments.mask_code(code)`` only.

Threads: ``charge`` blocks the calling thread (the lane's) for the scripted delay; scripting
methods may be called from any thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast, get_args

from kiosk.payments import Outcome, PaymentIntent, PaymentResult, mask_code
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

OUTCOMES: tuple[str, ...] = get_args(Outcome)
DEFAULT_DECLINE_MESSAGE = "declined by issuer"


@dataclass(frozen=True, slots=True)
class ScriptedOutcome:
    """What the simulator will answer to one future charge."""

    outcome: Outcome
    amount: int | None = None
    delay_s: float | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """One charge as the simulator saw it. ``amount`` is what was asked, ``approved_amount``
    what was taken; ``repeat`` marks a charge answered from an earlier approval; ``code`` is the
    masked wallet payment code (empty for cards)."""

    at: datetime
    intent_id: str
    amount: int
    outcome: Outcome
    approved_amount: int = 0
    repeat: bool = False
    code: str = ""


class _ScriptedPayments:
    """What the card terminal and the wallet gateway share: script, approvals, history."""

    kind_name: str  # "card terminal", "wallet gateway": used in messages
    ref_prefix: str  # approval references are this prefix and six digits
    method: str  # the intent method this simulator charges

    def __init__(
        self,
        clock: Clock,
        name: str,
        sleep: Callable[[float], None],
        rng: random.Random | None,
        card_last4: str | None,
    ) -> None:
        self._clock = clock
        self.name = name
        self._card_last4 = card_last4
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self.charges: list[ChargeRecord] = []
        self._script: deque[ScriptedOutcome] = deque()
        self._approvals: dict[str, PaymentResult] = {}
        self._asked: dict[str, int] = {}
        self._refs = 0
        self._connected = True
        self._lock = threading.Lock()

    def queue_outcome(
        self,
        outcome: str,
        amount: int | None = None,
        delay_s: float | None = None,
        message: str = "",
    ) -> None:
        """Script the answer to the next charge (answers are used in the order queued).

        ``amount`` makes an approval partial; ``message`` is the decline reason.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
        if amount is not None:
            if outcome != "approved":
                raise ValueError(f"amount is only meaningful for approved, not {outcome!r}")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValueError(f"approved amount must be a positive integer, got {amount!r}")
        if delay_s is not None and not delay_s >= 0:
            raise ValueError(f"delay_s must be zero or more seconds, got {delay_s!r}")
        scripted = ScriptedOutcome(cast(Outcome, outcome), amount, delay_s, message)
        with self._lock:
            self._script.append(scripted)

    def disconnect(self) -> None:
        """The link is down: every charge answers ``disconnected`` until ``reconnect()``."""
        with self._lock:
            self._connected = False

    def reconnect(self) -> None:
        with self._lock:
            self._connected = True

    @property
    def pending_outcomes(self) -> int:
        """How many scripted answers have not been used yet."""
        with self._lock:
            return len(self._script)

    def health(self) -> dict[str, Any]:
        with self._lock:
            ok = self._connected
        return {
            "name": self.name,
            "kind": "sim",
            "ok": ok,
            "detail": "connected" if ok else "disconnected",
        }

    def _check(self, intent: PaymentIntent, timeout_s: float) -> None:
        if intent.method != self.method:
            raise ValueError(
                f"{self.kind_name} cannot charge a {intent.method!r} intent ({intent.intent_id})"
            )
        if isinstance(intent.amount, bool) or not isinstance(intent.amount, int):
            raise ValueError(f"intent {intent.intent_id} amount must be an integer")
        if intent.amount <= 0:
            raise ValueError(f"intent {intent.intent_id} amount must be positive")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")

    def _repeat(self, intent: PaymentIntent, code: str) -> PaymentResult | None:
        """The earlier approval of this intent, if any (recorded as a repeat)."""
        with self._lock:
            earlier = self._approvals.get(intent.intent_id)
            if earlier is None:
                return None
            asked = self._asked[intent.intent_id]
            if asked != intent.amount:
                raise ValueError(
                    f"intent {intent.intent_id} was approved for {asked}, now asked {intent.amount}"
                )
            self._record(intent, "approved", earlier.amount, code, repeat=True)
        logger.info("%s: intent %s already approved, same answer", self.name, intent.intent_id)
        return earlier

    def _run(self, intent: PaymentIntent, timeout_s: float, code: str) -> PaymentResult:
        """Play the next scripted outcome for ``intent``."""
        with self._lock:
            connected = self._connected
            if connected and self._script:
                scripted = self._script.popleft()
            else:
                scripted = ScriptedOutcome("approved")
        if not connected:
            result = PaymentResult("disconnected", message=f"{self.kind_name} not connected")
            return self._finish(intent, result, code)
        if scripted.amount is not None and scripted.amount > intent.amount:
            raise ValueError(
                f"scripted approval of {scripted.amount} exceeds intent amount {intent.amount}"
            )
        delay = scripted.delay_s
        if delay is None:
            delay = timeout_s if scripted.outcome == "timeout" else 0.0
        waited = min(delay, timeout_s)
        if waited > 0:
            self._sleep(waited)
        late = delay > timeout_s
        if scripted.outcome == "approved":
            amount = scripted.amount if scripted.amount is not None else intent.amount
            approval = self._approve(intent, amount)
            if late:
                logger.info("%s: intent %s approved after the timeout", self.name, intent.intent_id)
                return self._finish(intent, _timed_out(timeout_s), code)
            return self._finish(intent, approval, code)
        if late or scripted.outcome == "timeout":
            return self._finish(intent, _timed_out(timeout_s), code)
        if scripted.outcome == "declined":
            message = scripted.message or DEFAULT_DECLINE_MESSAGE
            return self._finish(intent, PaymentResult("declined", message=message), code)
        message = scripted.message or f"{self.kind_name} disconnected"
        return self._finish(intent, PaymentResult("disconnected", message=message), code)

    def _approve(self, intent: PaymentIntent, amount: int) -> PaymentResult:
        """Take the money: remember the approval so a repeat of the intent gets it again."""
        with self._lock:
            self._refs += 1
            is_card = self._card_last4 is not None
            approval = PaymentResult(
                "approved",
                amount=amount,
                ref=f"{self.ref_prefix}{self._refs:06d}",
                auth=f"{self._rng.randrange(1_000_000):06d}" if is_card else None,
                last4=self._card_last4,
            )
            self._approvals[intent.intent_id] = approval
            self._asked[intent.intent_id] = intent.amount
        return approval

    def _finish(self, intent: PaymentIntent, result: PaymentResult, code: str) -> PaymentResult:
        with self._lock:
            self._record(intent, result.outcome, result.amount, code)
        logger.info(
            "%s: intent %s amount %d -> %s",
            self.name,
            intent.intent_id,
            intent.amount,
            result.outcome,
        )
        return result

    def _record(
        self,
        intent: PaymentIntent,
        outcome: Outcome,
        approved: int,
        code: str,
        repeat: bool = False,
    ) -> None:
        self.charges.append(
            ChargeRecord(
                self._clock.now(), intent.intent_id, intent.amount, outcome, approved, repeat, code
            )
        )


def _timed_out(timeout_s: float) -> PaymentResult:
    return PaymentResult("timeout", message=f"no answer within {timeout_s:g} s")


class SimCardTerminal(_ScriptedPayments):
    """A card terminal: approvals carry ref ``T-nnnnnn``, a 6-digit auth code and the last four
    digits of the configured test card."""

    kind_name = "card terminal"
    ref_prefix = "T-"
    method = "card"

    def __init__(
        self,
        clock: Clock,
        name: str = "card_terminal",
        test_card_last4: str = "4242",
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if len(test_card_last4) != 4 or not test_card_last4.isdigit():
            raise ValueError(f"test_card_last4 must be four digits, got {test_card_last4!r}")
        super().__init__(clock, name, sleep, rng, card_last4=test_card_last4)
        self.refunds: list[ChargeRecord] = []  # refund requests, as ``charges`` for charges
        self._refund_of: dict[str, str] = {}  # refund intent id -> original payment ref

    def charge(self, intent: PaymentIntent, timeout_s: float) -> PaymentResult:
        self._check(intent, timeout_s)
        earlier = self._repeat(intent, "")
        if earlier is not None:
            return earlier
        return self._run(intent, timeout_s, "")

    def refund(
        self, intent: PaymentIntent, original_ref: str, amount: int, timeout_s: float
    ) -> PaymentResult:
        """Refund ``amount`` to the card of the payment ``original_ref``, answered by the same
        script as charges (``queue_outcome``: approved, declined, timeout, disconnected, with a
        delay). A refund is all or nothing: a scripted partial ``amount`` is ignored. Asking
        again with an intent id that was approved refunds nothing more and answers the first
        approval. A refund of a payment this simulator approved is declined when it would
        give back more than that payment took; a reference it does not know (a payment from
        before it started) is refunded as asked. Recorded in ``refunds``."""
        self._check(intent, timeout_s)
        if amount != intent.amount:
            raise ValueError(
                f"refund amount {amount} differs from intent {intent.intent_id}'s {intent.amount}"
            )
        if not original_ref.strip():
            raise ValueError("a card refund needs the reference of the original payment")
        with self._lock:
            known = self._refund_of.setdefault(intent.intent_id, original_ref)
        if known != original_ref:
            raise ValueError(f"refund intent {intent.intent_id} was for payment {known}")
        earlier = self._repeat(intent, "")
        if earlier is not None:
            return earlier
        with self._lock:
            charged = [
                approval.amount
                for intent_id, approval in self._approvals.items()
                if approval.ref == original_ref and intent_id not in self._refund_of
            ]
            refunded = sum(
                approval.amount
                for intent_id, approval in self._approvals.items()
                if self._refund_of.get(intent_id) == original_ref
            )
        if charged and refunded + amount > sum(charged):
            message = f"refund exceeds what payment {original_ref} took"
            return self._finish(intent, PaymentResult("declined", message=message), "")
        result = self._run(intent, timeout_s, "")
        with self._lock:
            approval = self._approvals.get(intent.intent_id)
            if approval is not None and approval.amount != amount:
                self._approvals[intent.intent_id] = replace(approval, amount=amount)
        if result.outcome == "approved" and result.amount != amount:
            result = replace(result, amount=amount)
        return result

    def _record(
        self,
        intent: PaymentIntent,
        outcome: Outcome,
        approved: int,
        code: str,
        repeat: bool = False,
    ) -> None:
        is_refund = intent.intent_id in self._refund_of
        record = ChargeRecord(
            self._clock.now(), intent.intent_id, intent.amount, outcome, approved, repeat, code
        )
        (self.refunds if is_refund else self.charges).append(record)


class SimWalletGateway(_ScriptedPayments):
    """A wallet gateway (WeChat Pay, Alipay style): approvals carry ref ``W-nnnnnn`` and no
    card details."""

    kind_name = "wallet gateway"
    ref_prefix = "W-"
    method = "wallet"

    def __init__(
        self,
        clock: Clock,
        name: str = "wallet_gateway",
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock, name, sleep, rng, card_last4=None)

    def charge(self, intent: PaymentIntent, payment_code: str, timeout_s: float) -> PaymentResult:
        self._check(intent, timeout_s)
        masked = mask_code(payment_code)
        earlier = self._repeat(intent, masked)
        if earlier is not None:
            return earlier
        if not (
            16 <= len(payment_code) <= 24 and payment_code.isascii() and payment_code.isdigit()
        ):
            result = PaymentResult("declined", message="invalid payment code")
            return self._finish(intent, result, masked)
        return self._run(intent, timeout_s, masked)
