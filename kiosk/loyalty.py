"""Loyalty maths: points earned on a sale, what points are worth, and how much of a member's
points or stored value (储值) may be spent now. Pure core, called on the lane thread by
``kiosk.lane_members`` (and by the store adapter, which writes ``ledger_entries`` in the sale's
transaction). docs/loyalty.md explains the rules with examples.

**Earning.** A sale earns ``earn_points`` per ``earn_per`` minor units of its base, times the
member level's multiplier (``[loyalty.levels]``, 1 when the level is not listed), rounded once
(``down`` or ``half_up``). The base is what the customer owes (``totals.due``, cash rounding
left out), without tax when ``exclude_tax``; the share paid with points, and with stored value
when ``exclude_stored_value``, earns nothing::

    points = round(base × (due − excluded tenders) / due × earn_points × multiplier / earn_per)

**Spending.** ``redeem_points`` points pay ``redeem_value`` minor units. What a member may spend
now on one account (points, or stored value in minor units) is the smallest of the balance, the
per-sale cap and the per-day cap, each less what this sale and this business day already took
(``allowance``). The caps are the offline policy: the kiosk is the authority only for its own
ledger, so a member can spend at most one day's cap per kiosk before central reconciliation
sees it (docs/loyalty.md, "Offline policy").

**Levels.** The member's level is what member-only prices key on (the promotion engine's
``PromoContext.member_level``, from ``promo_member_level``); here it only scales earning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from math import gcd
from typing import Any, Final, Literal

from kiosk.config import LoyaltyConfig
from kiosk.members import Member
from kiosk.payments import Tender
from kiosk.pricing import Totals

Account = Literal["points", "stored_value"]
ACCOUNTS: Final[tuple[Account, ...]] = ("points", "stored_value")
# Ledger row kinds: a sale's earning and its redemptions, and money or points put on the
# account (a top-up at the service desk, an opening balance) or taken off by an adjustment.
# A refund gives redeemed points and stored value back (``refund``) and takes back the points
# the refunded part earned (``unearn``).
EntryKind = Literal["earn", "redeem", "credit", "debit", "refund", "unearn"]

_ROUNDING: Final[Mapping[str, str]] = {"down": ROUND_DOWN, "half_up": ROUND_HALF_UP}


class LoyaltyError(ValueError):
    """A loyalty amount that cannot be used (not a whole number of points, above a cap)."""


@dataclass(frozen=True, slots=True)
class Balances:
    """Points and stored value (minor units) of one member: a balance, or what was spent."""

    points: int = 0
    stored_value: int = 0

    def of(self, account: Account) -> int:
        return self.points if account == "points" else self.stored_value


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """What one sale did to a member's accounts, carried by ``CompletedSale.loyalty``.

    ``points_balance`` and ``stored_value_balance`` are the balances after the sale (None when
    the kiosk has no member ledger); they are printed on the receipt but never published: the
    kiosk's own ledger is not the member's whole balance (other kiosks, central top-ups).
    """

    member_id: str
    level: str
    masked_phone: str
    points_earned: int
    points_redeemed: int
    stored_value_used: int
    points_balance: int | None = None
    stored_value_balance: int | None = None

    def event_dict(self) -> dict[str, Any]:
        """The sale event's ``member`` object: what central needs to reconcile the accounts."""
        return {
            "id": self.member_id,
            "points_earned": self.points_earned,
            "points_redeemed": self.points_redeemed,
            "stored_value_used": self.stored_value_used,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def level_multiplier(cfg: LoyaltyConfig, level: str) -> Decimal:
    """The earning multiplier of ``level`` (1 when ``[loyalty.levels]`` does not list it)."""
    return cfg.levels.get(level, Decimal(1))


def promo_member_level(member: Member | None) -> str | None:
    """The level member-only prices key on (``PromoContext.member_level``): None without a
    member."""
    return None if member is None else member.level


def excluded_types(cfg: LoyaltyConfig) -> frozenset[str]:
    """Tender types whose share of a sale earns no points (points always; stored value when
    ``exclude_stored_value``)."""
    return frozenset({"points", "stored_value"} if cfg.exclude_stored_value else {"points"})


def points_earned(
    totals: Totals, tenders: Iterable[Tender], cfg: LoyaltyConfig, level: str = "standard"
) -> int:
    """Points a sale with ``totals`` paid by ``tenders`` earns a member of ``level``.

    Never negative; 0 when loyalty is disabled or nothing is owed. Tenders not yet taken count
    as eligible, so the figure shown while paying is what the sale earns if the rest is paid
    by card, wallet or cash.
    """
    due = totals.due
    if not cfg.enabled or due <= 0 or cfg.earn_points == 0:
        return 0
    base = due - totals.tax if cfg.exclude_tax else due
    skip = excluded_types(cfg)
    excluded = sum(t.amount for t in tenders if t.type in skip)
    eligible_share = max(due - excluded, 0)
    if base <= 0 or eligible_share == 0:
        return 0
    exact = (
        Decimal(base)
        * Decimal(eligible_share)
        * Decimal(cfg.earn_points)
        * level_multiplier(cfg, level)
        / (Decimal(due) * Decimal(cfg.earn_per))
    )
    return int(exact.quantize(Decimal(1), rounding=_ROUNDING[cfg.earn_rounding]))


def redeem_step(cfg: LoyaltyConfig) -> int:
    """The smallest amount (minor units) a whole number of points pays; amounts paid with
    points are multiples of it (1 when a point is worth a whole number of minor units)."""
    return cfg.redeem_value // gcd(cfg.redeem_value, cfg.redeem_points)


def points_for(amount: int, cfg: LoyaltyConfig) -> int:
    """The points that pay ``amount`` minor units. Raises ``LoyaltyError`` when ``amount`` is
    not a whole number of points (not a multiple of ``redeem_step``) or not positive."""
    if amount <= 0:
        raise LoyaltyError(f"an amount paid with points must be positive, got {amount}")
    step = redeem_step(cfg)
    if amount % step:
        raise LoyaltyError(
            f"{amount} is not a whole number of points: pay a multiple of {step} "
            f"({cfg.redeem_points} points = {cfg.redeem_value})"
        )
    return amount * cfg.redeem_points // cfg.redeem_value


def points_value(points: int, cfg: LoyaltyConfig) -> int:
    """The most minor units ``points`` can pay (a multiple of ``redeem_step``)."""
    if points <= 0:
        return 0
    amount = points * cfg.redeem_value // cfg.redeem_points
    return amount - amount % redeem_step(cfg)


def caps(cfg: LoyaltyConfig, account: Account) -> tuple[int, int]:
    """(per sale, per day) spending caps of ``account``: points, or minor units."""
    if account == "points":
        return cfg.max_points_per_sale, cfg.max_points_per_day
    return cfg.max_stored_value_per_sale, cfg.max_stored_value_per_day


def allowance(
    cfg: LoyaltyConfig, account: Account, balance: int, spent_today: int, in_sale: int
) -> int:
    """How much more of ``account`` (points, or minor units of stored value) may be spent in
    this sale: the smallest of the balance, the per-sale cap and the per-day cap, each less
    what is already spent (``in_sale``: this sale's tenders not yet in the ledger;
    ``spent_today``: the ledger's redemptions of this business day). Never negative; 0 when
    loyalty is disabled."""
    if not cfg.enabled:
        return 0
    per_sale, per_day = caps(cfg, account)
    return max(0, min(balance - in_sale, per_sale - in_sale, per_day - spent_today - in_sale))


def limit_reason(
    cfg: LoyaltyConfig, account: Account, balance: int, spent_today: int, in_sale: int
) -> str:
    """Which limit ``allowance`` stops at, in words (for the ``limit`` error)."""
    per_sale, per_day = caps(cfg, account)
    unit = "points" if account == "points" else "minor units of stored value"
    if not cfg.enabled:
        return "loyalty is disabled on this kiosk"
    limits = [
        (balance - in_sale, f"the balance is {balance} {unit}"),
        (per_sale - in_sale, f"at most {per_sale} {unit} may be spent per sale"),
        (
            per_day - spent_today - in_sale,
            f"at most {per_day} {unit} may be spent per day ({spent_today} spent today)",
        ),
    ]
    room, reason = min(limits, key=lambda item: item[0])
    if in_sale:
        reason += f", {in_sale} already in this sale"
    return reason if room > 0 else f"nothing left: {reason}"


def in_sale(tenders: Iterable[Tender], account: Account) -> int:
    """What this sale's tenders already took from ``account`` (points, or minor units)."""
    if account == "points":
        return sum(t.points for t in tenders if t.type == "points")
    return sum(t.amount for t in tenders if t.type == "stored_value")


def ledger_entries(activity: MemberActivity) -> list[tuple[Account, EntryKind, int]]:
    """The member ledger rows a recorded sale appends: (account, kind, signed amount), zero
    amounts left out. Redemptions are negative, earning positive."""
    rows: list[tuple[Account, EntryKind, int]] = [
        ("points", "redeem", -activity.points_redeemed),
        ("stored_value", "redeem", -activity.stored_value_used),
        ("points", "earn", activity.points_earned),
    ]
    return [row for row in rows if row[2]]


@dataclass(frozen=True, slots=True)
class RefundActivity:
    """What one refund does to a member's accounts (``CompletedRefund.loyalty``).

    ``points_refunded`` points (worth ``points_refunded_value``) and ``stored_value_refunded``
    minor units go back on the balances: the redemption reversed, pro rata. ``points_reversed``
    are the points the refunded part had earned; ``points_unrecovered`` is the part of them this
    kiosk's ledger could not take back because the balance was short (the member had spent
    them): central books all of ``points_reversed`` (docs/loyalty.md).
    """

    member_id: str
    points_refunded: int = 0
    points_refunded_value: int = 0
    stored_value_refunded: int = 0
    points_reversed: int = 0
    points_unrecovered: int = 0

    def event_dict(self) -> dict[str, Any]:
        """The refund event's ``member`` object: the movements central follows."""
        return {
            "id": self.member_id,
            "points_refunded": self.points_refunded,
            "stored_value_refunded": self.stored_value_refunded,
            "points_reversed": self.points_reversed,
            "points_unrecovered": self.points_unrecovered,
        }

    def capped(self, points_balance: int) -> RefundActivity:
        """This activity with the earned points taken back capped so the points balance
        (``points_balance`` before the refund) never goes below zero."""
        room = max(0, points_balance + self.points_refunded)
        taken = min(self.points_reversed, room)
        return RefundActivity(
            self.member_id,
            self.points_refunded,
            self.points_refunded_value,
            self.stored_value_refunded,
            self.points_reversed,
            self.points_reversed - taken,
        )


def refund_ledger_entries(activity: RefundActivity) -> list[tuple[Account, EntryKind, int]]:
    """The member ledger rows a recorded refund appends: what goes back (``refund``, +), then
    the earned points taken back (``unearn``, -); zero amounts left out."""
    rows: list[tuple[Account, EntryKind, int]] = [
        ("points", "refund", activity.points_refunded),
        ("stored_value", "refund", activity.stored_value_refunded),
        ("points", "unearn", -(activity.points_reversed - activity.points_unrecovered)),
    ]
    return [row for row in rows if row[2]]
