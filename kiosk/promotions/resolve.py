"""Stacking and the best combination: which promotions the customer gets. Pure core.

Lane thread, called by ``kiosk.promotions.engine``. The rules (docs/promotions.md, "Stacking
and resolution"):

- ``exclusive`` promotions are never combined with any other: each is tried alone.
- All the others are combined (candidate **A**): item promotions (``best`` ones compete per
  unit, ``stackable`` ones add up), then spend thresholds on what the items cost after them.
- Item promotions can take a basket under a threshold it would otherwise reach, so candidate
  **C** leaves out the item promotions on every item a threshold counts, and applies the
  thresholds to the full amounts (item promotions elsewhere stay).
- The candidate that saves the customer the most wins; on a tie the earlier one (A, C, then
  the exclusive ones in canonical rule order). A candidate whose ceiling (a cheap bound of
  what it can save) is not above the best so far is not worked out. The result is a pure
  function of the basket, the rules and the context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kiosk.promotions.items import Ledger, item_phase
from kiosk.promotions.rules import MultiBuy, Promotion, SpendThreshold
from kiosk.promotions.thresholds import ThresholdPlan, threshold_phase, threshold_saving
from kiosk.promotions.view import Item, unit_saving


@dataclass(frozen=True, slots=True)
class Candidate:
    """One allowed combination: item savings, then a plan of spend thresholds."""

    items: Ledger
    thresholds: ThresholdPlan | None = None

    @property
    def total(self) -> int:
        return self.items.total() + (self.thresholds.total if self.thresholds else 0)

    @property
    def ceiling(self) -> int:
        """At least ``total``: the threshold savings before any cap."""
        return self.items.total() + (self.thresholds.ceiling if self.thresholds else 0)

    def ledger(self) -> Ledger:
        """All the savings: the item promotions', then the thresholds'."""
        if self.thresholds is None:
            return self.items
        both = Ledger(dict(self.items.savings))
        both.absorb(self.thresholds.ledger())
        return both


def best_combination(
    items: Sequence[Item],
    rules: Sequence[Promotion],
    links: Mapping[int, Sequence[int]],
    scopes: Mapping[int, Sequence[int]],
    stacking: tuple[frozenset[int], frozenset[int]],
    mode: str,
) -> Ledger:
    """The savings of the best allowed combination.

    ``links``: item position -> ranks of the active item rules for it (ascending);
    ``scopes``: rank of an active spend threshold -> the positions it counts (ascending);
    ``stacking``: the ranks of the ``stackable`` and of the ``exclusive`` rules.
    """
    stackable, shared = stacking
    links_a: dict[int, list[int]] = {}
    alone: dict[int, list[int]] = {}  # exclusive rank -> its positions
    for pos, ranks in links.items():
        kept = [rank for rank in ranks if rank not in shared]
        if len(kept) != len(ranks):
            for rank in ranks:
                if rank in shared:
                    alone.setdefault(rank, []).append(pos)
        if kept:
            links_a[pos] = kept
    scopes_a = {rank: scope for rank, scope in scopes.items() if rank not in shared}
    exclusive = sorted({*alone, *(rank for rank in scopes if rank in shared)})

    best = _combined(items, rules, links_a, scopes_a, stackable, mode)
    best_total = best.total
    counted = {pos for scope in scopes_a.values() for pos in scope}
    if counted and any(pos in counted for pos, _ in best.items.savings):
        links_c = {pos: ranks for pos, ranks in links_a.items() if pos not in counted}
        other = _combined(items, rules, links_c, scopes_a, stackable, mode)
        if other.ceiling > best_total and other.total > best_total:
            best, best_total = other, other.total
    if exclusive:
        starts = [item.start for item in items]
        for rank in exclusive:
            positions = scopes[rank] if rank in scopes else alone.get(rank, [])
            if _ceiling(items, rules[rank], positions, starts, mode) <= best_total:
                continue  # it cannot save more than the best so far
            if rank in scopes:
                plan = threshold_phase(rules, {rank: positions}, starts, frozenset(), mode)
                candidate = Candidate(Ledger(), plan)
            else:
                only = {pos: [rank] for pos in positions}
                candidate = Candidate(item_phase(items, rules, only, frozenset(), mode)[0])
            if candidate.total > best_total:
                best, best_total = candidate, candidate.total
    return best.ledger()


def _ceiling(
    items: Sequence[Item], rule: Promotion, positions: Sequence[int], starts: list[int], mode: str
) -> int:
    """At least what ``rule`` alone saves on ``positions``, cheaply."""
    offer = rule.offer
    if isinstance(offer, SpendThreshold):
        return threshold_saving(offer, sum(starts[pos] for pos in positions), mode)
    if isinstance(offer, MultiBuy):
        return sum(items[pos].unit * items[pos].count for pos in positions if items[pos].groupable)
    return sum(
        unit_saving(offer, items[pos], items[pos].unit, mode) * items[pos].count
        for pos in positions
    )


def _combined(
    items: Sequence[Item],
    rules: Sequence[Promotion],
    links: Mapping[int, Sequence[int]],
    scopes: Mapping[int, Sequence[int]],
    stackable: frozenset[int],
    mode: str,
) -> Candidate:
    ledger, amounts = item_phase(items, rules, links, stackable, mode)
    if not scopes:
        return Candidate(ledger)
    return Candidate(ledger, threshold_phase(rules, scopes, amounts, stackable, mode))
