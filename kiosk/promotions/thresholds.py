"""Spend thresholds (满减, spend X get Y % off), on the lane thread. Pure core.

``threshold_phase`` runs after the item promotions. The spend of a threshold is what the items
in its scope cost after their item promotions (and manual adjustments); every threshold measures
its spend on that same amount, so thresholds never lower each other's spend. ``best``-mode
thresholds whose scopes share an item compete: the set of non-overlapping ones that saves the
most is taken (``search.best_independent``). ``stackable`` ones then all apply, highest
priority first. Each saving is spread over the items of its scope in proportion to what they
still cost (``kiosk.tax.allocate``, largest remainder), so it is taxed at each line's own rate,
a refund can reverse it line by line, and no line goes below 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kiosk.promotions.items import Ledger
from kiosk.promotions.rules import Promotion, SpendThreshold
from kiosk.promotions.search import best_independent
from kiosk.promotions.view import round_div
from kiosk.tax import allocate


def threshold_saving(offer: SpendThreshold, spend: int, mode: str) -> int:
    """What ``offer`` saves on ``spend``: the best tier reached (or ``every`` full step),
    never more than the spend."""
    if spend <= 0:
        return 0
    if offer.every:
        tier = offer.tiers[0]
        times = spend // tier.spend
        if offer.max_times:
            times = min(times, offer.max_times)
        return min(times * (tier.save or 0), spend)
    best = 0
    for tier in offer.tiers:
        if spend < tier.spend:
            break
        if tier.save is not None:
            saving = tier.save
        else:
            num, den = tier.ratio
            saving = round_div(spend * num, den, mode)
        best = max(best, saving)
    return min(best, spend)


@dataclass(slots=True)
class ThresholdPlan:
    """The thresholds taken and the order they apply in, as ``order`` of (rank, saving before
    any cap). ``ceiling`` is their sum; ``total`` and ``ledger`` cap each saving at what its
    scope still costs and spread it over the lines, only when asked: a candidate that cannot
    win is never spread."""

    order: tuple[tuple[int, int], ...]
    scopes: Mapping[int, Sequence[int]]
    base: Sequence[int]
    spends: Mapping[int, int]
    _steps: tuple[tuple[int, int], ...] | None = None
    _ledger: Ledger | None = None

    @property
    def ceiling(self) -> int:
        return sum(value for _, value in self.order)

    @property
    def total(self) -> int:
        return sum(saving for _, saving in self._capped())

    def ledger(self) -> Ledger:
        steps = self._capped()
        if self._ledger is None:
            self._ledger = Ledger()
            _spread(steps, self.scopes, list(self.base), self._ledger)
        return self._ledger

    def _capped(self) -> tuple[tuple[int, int], ...]:
        """Each saving capped at what its scope still costs after the ones before it. While
        the savings so far cannot have used a scope up, no spreading is needed to know."""
        if self._steps is not None:
            return self._steps
        steps: list[tuple[int, int]] = []
        spent = 0
        current: list[int] | None = None
        ledger = Ledger()
        for rank, value in self.order:
            if current is None and spent + value <= self.spends[rank]:
                saving = value
            else:
                if current is None:
                    current = list(self.base)
                    _spread(steps, self.scopes, current, ledger)
                saving = min(value, sum([current[pos] for pos in self.scopes[rank]]))
                _spread([(rank, saving)], self.scopes, current, ledger)
            if saving > 0:
                steps.append((rank, saving))
                spent += saving
        self._steps = tuple(steps)
        if current is not None:
            self._ledger = ledger
        return self._steps


def _spread(
    steps: Sequence[tuple[int, int]],
    scopes: Mapping[int, Sequence[int]],
    current: list[int],
    ledger: Ledger,
) -> None:
    """Spread each step's saving over its scope in proportion to what the items still cost."""
    savings = ledger.savings
    for rank, saving in steps:
        scope = scopes[rank]
        for pos, share in zip(scope, allocate(saving, [current[p] for p in scope]), strict=True):
            if share:
                current[pos] -= share
                key = (pos, rank)
                savings[key] = savings.get(key, 0) + share


def threshold_phase(
    rules: Sequence[Promotion],
    scopes: Mapping[int, Sequence[int]],
    base: Sequence[int],
    stackable: frozenset[int],
    mode: str,
) -> ThresholdPlan:
    """Plan the thresholds in ``scopes`` (rank -> item positions, ascending) on items that
    cost ``base`` after item promotions: the best non-overlapping ``best``-mode ones, then
    every ``stackable`` one in rank order."""
    whole, everything = len(base), sum(base)
    values: dict[int, int] = {}
    spends: dict[int, int] = {}
    for rank, scope in scopes.items():
        offer = rules[rank].offer
        assert isinstance(offer, SpendThreshold)
        spend = everything if len(scope) == whole else sum([base[pos] for pos in scope])
        spends[rank] = spend
        values[rank] = threshold_saving(offer, spend, mode)
    competing = {rank: values[rank] for rank in scopes if rank not in stackable}
    masks = {rank: _mask(scopes[rank], whole) for rank, value in competing.items() if value > 0}
    chosen = best_independent({rank: competing[rank] for rank in masks}, masks)
    order = chosen + sorted(rank for rank in scopes if rank in stackable and values[rank] > 0)
    return ThresholdPlan(tuple((rank, values[rank]) for rank in order), scopes, base, spends)


def _mask(scope: Sequence[int], whole: int) -> int:
    """The positions of ``scope`` as a bit set."""
    if len(scope) == whole:
        return (1 << whole) - 1
    mask = 0
    for pos in scope:
        mask |= 1 << pos
    return mask
