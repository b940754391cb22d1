"""Small exact searches the promotion engine uses to pick the best combination. Pure core.

Lane thread. Everything here is deterministic: inputs are rule ranks (canonical order:
priority descending, then id), outputs are sorted, and every tie goes to the first candidate
in that order.

- ``components``: rules that share an item must be decided together; rules that do not are
  independent, so each connected group is searched on its own (usually one rule).
- ``orders``: the orders in which the overlapping multi-buy rules of one group take units: every
  permutation up to ``EXACT_ORDERS`` rules, otherwise each rule first followed by the rest in
  canonical order (so each rule is at least once first: never worse than that rule alone).
- ``best_independent``: the set of non-overlapping spend thresholds that saves the most: exact
  up to ``EXACT_SET`` rules in a group, otherwise greedy by saving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import permutations
from typing import Final

EXACT_ORDERS: Final = 4
EXACT_SET: Final = 12


def components(members: Mapping[int, Iterable[int]]) -> list[list[int]]:
    """Group rule ranks whose member positions overlap; each group and the list sorted."""
    parent = {rank: rank for rank in members}

    def root(rank: int) -> int:
        while parent[rank] != rank:
            parent[rank] = parent[parent[rank]]
            rank = parent[rank]
        return rank

    owner: dict[int, int] = {}
    for rank in sorted(members):
        for pos in members[rank]:
            other = owner.setdefault(pos, rank)
            a, b = root(rank), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for rank in sorted(members):
        groups.setdefault(root(rank), []).append(rank)
    return [groups[key] for key in sorted(groups)]


def orders(ranks: Sequence[int]) -> list[tuple[int, ...]]:
    """Orders to try for one group of overlapping rules (``ranks`` sorted)."""
    if len(ranks) <= EXACT_ORDERS:
        return list(permutations(ranks))
    return [(rank, *(r for r in ranks if r != rank)) for rank in ranks]


def best_independent(values: Mapping[int, int], masks: Mapping[int, int]) -> list[int]:
    """The ranks of the non-overlapping rules (``masks``: rank -> bit set of item positions)
    with the largest total of ``values``; ties go to the set that takes the earlier ranks."""
    groups: list[tuple[int, list[int]]] = []  # disjoint: (union of masks, ranks)
    for rank in sorted(r for r, value in values.items() if value > 0):
        mask, ranks = masks[rank], [rank]
        rest = []
        for group_mask, group_ranks in groups:
            if group_mask & mask:
                mask |= group_mask
                ranks.extend(group_ranks)
            else:
                rest.append((group_mask, group_ranks))
        groups = [*rest, (mask, sorted(ranks))]
    chosen: list[int] = []
    for _, ranks in groups:
        if len(ranks) <= EXACT_SET:
            chosen.extend(_exact(ranks, values, masks))
        else:
            chosen.extend(_greedy(ranks, values, masks))
    return sorted(chosen)


def _exact(ranks: Sequence[int], values: Mapping[int, int], masks: Mapping[int, int]) -> list[int]:
    best: tuple[int, list[int]] = (0, [])

    def walk(i: int, taken: list[int], used: int, total: int) -> None:
        nonlocal best
        if total > best[0]:
            best = (total, list(taken))
        for j in range(i, len(ranks)):
            rank = ranks[j]
            if not used & masks[rank]:
                taken.append(rank)
                walk(j + 1, taken, used | masks[rank], total + values[rank])
                taken.pop()

    walk(0, [], 0, 0)
    return best[1]


def _greedy(ranks: Sequence[int], values: Mapping[int, int], masks: Mapping[int, int]) -> list[int]:
    taken: list[int] = []
    used = 0
    for rank in sorted(ranks, key=lambda r: (-values[r], r)):
        if not used & masks[rank]:
            taken.append(rank)
            used |= masks[rank]
    return taken
