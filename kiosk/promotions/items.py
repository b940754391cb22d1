"""Item-level promotions: per-item rules and multi-buy groups, on the lane thread. Pure core.

``item_phase`` prices the units of the basket's items in two steps (docs/promotions.md,
"Stacking and resolution"):

1. **Best.** Every unit gets at most one ``best``-mode item promotion: either the per-item rule
   that saves it the most, or a place in a multi-buy group. Multi-buy rules whose items overlap
   are tried in several orders (``search.orders``); each takes, from the units still free,
   the groups that save more than the per-item rules those units would lose.
2. **Stackable.** Each ``stackable`` item rule, highest priority first, then takes its part off
   what the units cost after step 1 and the stackable rules before it.

Units are kept as ``{amount: count}`` per item, so a line of 500 identical units costs no more
than a line of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from kiosk.promotions.rules import MultiBuy, Promotion
from kiosk.promotions.search import components, orders
from kiosk.promotions.view import Item, round_div, unit_saving
from kiosk.tax import allocate


@dataclass(slots=True)
class Ledger:
    """Savings (positive minor units) per (item position, rule rank), in the order made."""

    savings: dict[tuple[int, int], int] = field(default_factory=dict)

    def add(self, pos: int, rank: int, amount: int) -> None:
        if amount:
            key = (pos, rank)
            self.savings[key] = self.savings.get(key, 0) + amount

    def total(self) -> int:
        return sum(self.savings.values())

    def absorb(self, other: Ledger) -> None:
        """Add ``other``'s savings to these."""
        savings = self.savings
        for key, amount in other.savings.items():
            savings[key] = savings.get(key, 0) + amount


class Run(NamedTuple):
    """``many`` units of item ``pos`` that cost ``amount`` each; consuming one of them into a
    group loses ``lost`` (the per-item saving it would otherwise get)."""

    pos: int
    amount: int
    many: int
    lost: int


class Chunk(NamedTuple):
    """One multi-buy group, ``repeat`` times over: ``units`` as (pos, amount, discount)."""

    units: tuple[tuple[int, int, int], ...]
    repeat: int
    gain: int  # saving minus the per-item savings lost, per group


def _slices(runs: Sequence[Run], size: int) -> list[tuple[tuple[tuple[Run, int], ...], int]]:
    """Cut sorted runs into groups of ``size`` units: (pieces, repeat); an incomplete last
    group is dropped. Groups that lie inside one run are counted, not listed."""
    out: list[tuple[tuple[tuple[Run, int], ...], int]] = []
    i, left = 0, runs[0].many if runs else 0
    while i < len(runs):
        if left >= size:
            repeat = left // size
            out.append((((runs[i], size),), repeat))
            left -= repeat * size
        pieces: list[tuple[Run, int]] = []
        need = size
        while need and i < len(runs):
            if left == 0:
                i += 1
                left = runs[i].many if i < len(runs) else 0
                continue
            take = min(need, left)
            pieces.append((runs[i], take))
            need -= take
            left -= take
        if need == 0 and pieces:
            out.append((tuple(pieces), 1))
        elif need:
            break
    return out


def plan(offer: MultiBuy, runs: Sequence[Run], items: Sequence[Item], mode: str) -> list[Chunk]:
    """The groups one multi-buy rule takes from ``runs`` (docs/promotions.md, "How items are
    priced").

    ``N for X``: units sorted by what they cost after their per-item saving, dearest first;
    groups are taken while one saves more than it loses (the best choice for any number of
    groups). Buy N get M: see ``_buy_get``.
    """
    if offer.price is None:
        return _buy_get(offer, runs, items, mode)
    chunks: list[Chunk] = []
    ordered = sorted(runs, key=lambda r: (r.lost - r.amount, items[r.pos].sku, r.pos, r.amount))
    for pieces, repeat in _slices(ordered, offer.size):
        units = [(run.pos, run.amount, run.lost) for run, n in pieces for _ in range(n)]
        total = sum(u[1] for u in units)
        gain = total - offer.price - sum(u[2] for u in units)
        if gain <= 0:
            break
        shares = allocate(total - offer.price, [u[1] for u in units])
        done = tuple((p, a, s) for (p, a, _), s in zip(units, shares, strict=True))
        chunks.append(Chunk(done, repeat, gain))
    return chunks


def _buy_get(offer: MultiBuy, runs: Sequence[Run], items: Sequence[Item], mode: str) -> list[Chunk]:
    """Buy N get M: units cut into groups of N + M, and the M cheapest (shelf price) of each
    group get the discount; a group is taken when it saves more than its units lose.

    Two ways of cutting are tried and the one that gains more is kept (ties: the first): the
    shelf order (dearest first, the classic "cheapest free"), and, when some units have a
    per-item saving of their own, the same order with those units last, so that they keep it.
    """

    def shelf(run: Run) -> tuple[int, str, int, int]:
        return (-items[run.pos].unit, items[run.pos].sku, run.pos, -run.amount)

    cuts = [sorted(runs, key=shelf)]
    if any(run.lost for run in runs):
        cuts.append(sorted(runs, key=lambda run: (run.lost > 0, *shelf(run))))
    num, den = offer.ratio
    best: list[Chunk] = []
    best_gain = 0
    for ordered in cuts:
        chunks: list[Chunk] = []
        for pieces, repeat in _slices(ordered, offer.size):
            group = sorted(pieces, key=lambda piece: shelf(piece[0]))
            units = [(run.pos, run.amount, run.lost) for run, n in group for _ in range(n)]
            discounts = [0] * offer.buy + [
                min(round_div(a * num, den, mode), a) for _, a, _ in units[offer.buy :]
            ]
            gain = sum(discounts) - sum(u[2] for u in units)
            if gain > 0:
                done = tuple((p, a, d) for (p, a, _), d in zip(units, discounts, strict=True))
                chunks.append(Chunk(done, repeat, gain))
        total = sum(chunk.gain * chunk.repeat for chunk in chunks)
        if total > best_gain:
            best, best_gain = chunks, total
    return best


def _sort_links(
    items: Sequence[Item],
    rules: Sequence[Promotion],
    links: Mapping[int, Sequence[int]],
    stackable: frozenset[int],
    mode: str,
) -> tuple[dict[int, tuple[int, int]], dict[int, list[int]], dict[int, list[int]]]:
    """One pass over the links: per item the best ``best``-mode per-item rule (saving per
    unit, rank); per ``best``-mode multi-buy rule the groupable items it may take units of;
    per ``stackable`` rule the items it applies to."""
    singles: dict[int, tuple[int, int]] = {}
    members: dict[int, list[int]] = {}
    stacked: dict[int, list[int]] = {}
    for pos, ranks in links.items():
        item = items[pos]
        top, top_rank = 0, -1
        for rank in ranks:
            if rank in stackable:
                stacked.setdefault(rank, []).append(pos)
                continue
            offer = rules[rank].offer
            if isinstance(offer, MultiBuy):
                if item.groupable:
                    members.setdefault(rank, []).append(pos)
                continue
            saving = unit_saving(offer, item, item.unit, mode)
            if saving > top:
                top, top_rank = saving, rank
        if top_rank >= 0:
            singles[pos] = (top, top_rank)
    return singles, members, stacked


def _search_component(
    ranks: Sequence[int],
    members: Mapping[int, list[int]],
    items: Sequence[Item],
    rules: Sequence[Promotion],
    singles: Mapping[int, tuple[int, int]],
    mode: str,
) -> list[tuple[int, list[Chunk]]]:
    """The order of overlapping multi-buy rules that gains the most, and its groups."""
    if len(ranks) == 1:
        (rank,) = ranks
        offer = rules[rank].offer
        assert isinstance(offer, MultiBuy)
        runs = [
            Run(pos, items[pos].unit, items[pos].count, singles.get(pos, (0, -1))[0])
            for pos in members[rank]
        ]
        return [(rank, plan(offer, runs, items, mode))]
    best_plans: list[tuple[int, list[Chunk]]] = []
    best_gain = -1
    for order in orders(ranks):
        free = {pos: items[pos].count for rank in order for pos in members[rank]}
        plans: list[tuple[int, list[Chunk]]] = []
        gain = 0
        for rank in order:
            offer = rules[rank].offer
            assert isinstance(offer, MultiBuy)
            runs = [
                Run(pos, items[pos].unit, free[pos], singles.get(pos, (0, -1))[0])
                for pos in members[rank]
                if free[pos]
            ]
            chunks = plan(offer, runs, items, mode)
            for chunk in chunks:
                gain += chunk.gain * chunk.repeat
                for pos, _, _ in chunk.units:
                    free[pos] -= chunk.repeat
            plans.append((rank, chunks))
        if gain > best_gain:
            best_gain, best_plans = gain, plans
    return best_plans


def _take(runs: dict[int, int], amount: int, count: int) -> None:
    runs[amount] -= count
    if not runs[amount]:
        del runs[amount]


def _commit(
    chunks: Sequence[Chunk],
    rank: int,
    units: dict[int, dict[int, int]],
    ledger: Ledger,
    consumed: dict[int, int] | None = None,
) -> None:
    for chunk in chunks:
        for pos, amount, discount in chunk.units:
            _take(units[pos], amount, chunk.repeat)
            new = amount - discount
            units[pos][new] = units[pos].get(new, 0) + chunk.repeat
            ledger.add(pos, rank, discount * chunk.repeat)
            if consumed is not None:
                consumed[pos] += chunk.repeat


def item_phase(
    items: Sequence[Item],
    rules: Sequence[Promotion],
    links: Mapping[int, Sequence[int]],
    stackable: frozenset[int],
    mode: str,
) -> tuple[Ledger, list[int]]:
    """Apply the item rules ``links`` (item position -> rule ranks, ascending) allows.

    Returns the savings and what each item costs afterwards (never below 0; a line whose
    manual discounts already took it to 0 gets no promotion).
    """
    ledger = Ledger()
    singles, members, stacked = _sort_links(items, rules, links, stackable, mode)
    units = {pos: {items[pos].unit: items[pos].count} for pos in links}
    consumed = dict.fromkeys(links, 0)
    for group in components(members):
        for rank, chunks in _search_component(group, members, items, rules, singles, mode):
            _commit(chunks, rank, units, ledger, consumed)
    for pos, (saving, rank) in singles.items():
        item = items[pos]
        free = item.count - consumed[pos]
        if free:
            _take(units[pos], item.unit, free)
            units[pos][item.unit - saving] = units[pos].get(item.unit - saving, 0) + free
            ledger.add(pos, rank, saving * free)
    for rank in sorted(stacked):
        offer = rules[rank].offer
        if isinstance(offer, MultiBuy):
            runs = [
                Run(p, a, c, 0)
                for p in stacked[rank]
                if items[p].groupable
                for a, c in units[p].items()
            ]
            _commit(plan(offer, runs, items, mode), rank, units, ledger)
            continue
        for pos in stacked[rank]:
            new: dict[int, int] = {}
            for amount, count in units[pos].items():
                saving = unit_saving(offer, items[pos], amount, mode)
                new[amount - saving] = new.get(amount - saving, 0) + count
                ledger.add(pos, rank, saving * count)
            units[pos] = new
    return ledger, _clamp(items, ledger)


def _clamp(items: Sequence[Item], ledger: Ledger) -> list[int]:
    """Cut promotion savings that would take a line below 0 (it has manual discounts), the
    latest first; return each item's amount after item promotions."""
    per_item: dict[int, int] = {}
    for (pos, _), amount in ledger.savings.items():
        per_item[pos] = per_item.get(pos, 0) + amount
    amounts = [item.start for item in items]
    for pos, saved in per_item.items():
        excess = saved - items[pos].start
        if excess > 0:
            for key in reversed([k for k in ledger.savings if k[0] == pos]):
                cut = min(excess, ledger.savings[key])
                ledger.savings[key] -= cut
                excess -= cut
                if not ledger.savings[key]:
                    del ledger.savings[key]
        amounts[pos] = max(items[pos].start - saved, 0)
    return amounts
