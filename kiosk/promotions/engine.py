"""The promotion engine's entry points: ``apply_promotions`` and ``with_promotions``. Pure core.

Called on the lane thread after every basket change (a scan, a quantity change, a void, a
member or coupon scan): the engine is a pure function of the basket, the rules and the context,
so removing one item of a 3-for-10 re-prices the other two on the next call.

    result = apply_promotions(basket, rules, context)
    basket = with_promotions(basket, result)      # drop old promotion adjustments, attach new
    totals = price_basket(basket, tax, currency)  # the figures on the screen and the receipt

Only the rules reached from the basket's SKUs and categories (through ``RuleSet``'s index) and
the whole-basket thresholds are looked at: the cost grows with the basket, not the catalog or
the number of rules.
"""

from __future__ import annotations

from dataclasses import fields, replace
from operator import attrgetter
from typing import Final

from kiosk.basket import Adjustment, Basket, Line
from kiosk.promotions.conditions import (
    check_context,
    coupon_outcomes,
    runs_now,
    unlocked_coupons,
)
from kiosk.promotions.context import AppliedPromotion, LineAdjustments, PromoContext, PromoResult
from kiosk.promotions.items import Ledger
from kiosk.promotions.resolve import best_combination
from kiosk.promotions.rules import PromotionError, RuleSet
from kiosk.promotions.view import PROMOTION_KINDS, Item, build_items


def _links(
    items: tuple[Item, ...], rules: RuleSet, context: PromoContext, coupons: dict[int, str]
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Per item the active item rules (ranks), and per active threshold the items it counts."""
    active: dict[int, bool] = {}
    threshold = rules.threshold_ranks
    links: dict[int, list[int]] = {}
    scopes: dict[int, list[int]] = {}
    for item in items:
        by_sku = rules.by_sku.get(item.sku, ())
        by_category = rules.by_category.get(item.category, ()) if item.category else ()
        ranks = sorted({*by_sku, *by_category}) if by_sku and by_category else by_sku or by_category
        mine: list[int] = []
        for rank in ranks:
            runs = active.get(rank)
            if runs is None:
                rule = rules.rules[rank]
                runs = (rule.coupon is None or rank in coupons) and runs_now(rule, context)
                active[rank] = runs
            if not runs:
                continue
            if rank in threshold:
                scopes.setdefault(rank, []).append(item.pos)
            elif item.takes_item_rules:
                mine.append(rank)
        if mine:
            links[item.pos] = mine
    if items:
        everything = [item.pos for item in items]
        for rank in rules.basket_wide:
            if runs_now(rules.rules[rank], context):
                scopes[rank] = everything
        for rank in coupons:  # unlocked coupons were checked against store, time and member
            if rules.rules[rank].target.whole_basket:
                scopes[rank] = everything
    return links, scopes


def _result(
    items: tuple[Item, ...],
    rules: RuleSet,
    context: PromoContext,
    ledger: Ledger,
    coupons: dict[int, str],
) -> tuple[tuple[LineAdjustments, ...], tuple[AppliedPromotion, ...]]:
    """Adjustments per line (item promotions first, then thresholds, each in rank order) and
    the summary per promotion."""
    late = len(rules)
    threshold = rules.threshold_ranks
    per_pos: dict[int, list[tuple[int, int]]] = {}
    totals: dict[int, int] = {}
    lines_of: dict[int, list[int]] = {}
    for (pos, rank), saving in ledger.savings.items():
        per_pos.setdefault(pos, []).append((rank + late if rank in threshold else rank, saving))
        if rank in totals:
            totals[rank] += saving
            lines_of[rank].append(items[pos].line_no)
        else:
            totals[rank] = saving
            lines_of[rank] = [items[pos].line_no]
    made: dict[tuple[int, int], Adjustment] = {}  # equal adjustments are one (immutable) object
    shown = {}
    for rank in totals:
        rule = rules.rules[rank]
        shown[rank] = (rule.kind, rule.name(context.language), rule.id)
    line_adjustments = []
    for pos in sorted(per_pos, key=lambda p: items[p].line_no):
        adjustments = []
        for key, saving in sorted(per_pos[pos]):
            rank = key - late if key >= late else key
            adjustment = made.get((rank, saving))
            if adjustment is None:
                kind, name, rule_id = shown[rank]
                adjustment = made[rank, saving] = Adjustment(-saving, kind, name, rule_id)
            adjustments.append(adjustment)
        line_adjustments.append(LineAdjustments(items[pos].line_no, tuple(adjustments)))
    applied = tuple(
        AppliedPromotion(
            rule_id=shown[rank][2],
            name=shown[rank][1],
            kind=shown[rank][0],
            saving=totals[rank],
            line_nos=tuple(sorted(lines_of[rank])),
            coupon_code=coupons.get(rank),
        )
        for rank in sorted(totals)
    )
    return tuple(line_adjustments), applied


def apply_promotions(basket: Basket, rules: RuleSet, context: PromoContext) -> PromoResult:
    """The best combination of promotions for ``basket`` (docs/promotions.md).

    Promotion and coupon adjustments already on the basket are ignored (the basket is re-priced
    from scratch), manual ones are kept in mind: a line with a ``price_override`` takes no item
    promotion, and no line is taken below 0. Raises ``PromotionError`` for a context it cannot
    use, ``LaneError`` / ``MoneyError`` / ``InvalidCommand`` for a malformed basket (as
    ``price_basket`` does).
    """
    check_context(context)
    items = build_items(basket, context.categories, rules.currency, context.rounding_mode)
    coupons, statuses = unlocked_coupons(rules, context)
    links, scopes = _links(items, rules, context, coupons)
    stacking = (rules.stackable_ranks, rules.exclusive_ranks)
    ledger = best_combination(items, rules.rules, links, scopes, stacking, context.rounding_mode)
    line_adjustments, applied = _result(items, rules, context, ledger, coupons)
    applied_ids = {a.rule_id for a in applied}
    used = {rank for rank in coupons if rules.rules[rank].id in applied_ids}
    outcomes = coupon_outcomes(rules, statuses, used, coupons)
    return PromoResult(
        rules_version=rules.version,
        lines=line_adjustments,
        applied=applied,
        coupons=outcomes,
        saving=ledger.total(),
    )


# ``dataclasses.replace`` looks the fields up on every call (about 5 µs a line); this copy reads
# them once, stays generic over ``Line``'s fields, and falls back to ``replace`` if a field ever
# becomes keyword-only.
_LINE_FIELDS: Final = tuple(f.name for f in fields(Line) if f.init)
_LINE_VALUES: Final = attrgetter(*_LINE_FIELDS)
_ADJUSTMENTS_AT: Final = _LINE_FIELDS.index("adjustments")
_POSITIONAL: Final = not any(f.kw_only for f in fields(Line))


def _with_adjustments(line: Line, adjustments: tuple[Adjustment, ...]) -> Line:
    """``replace(line, adjustments=adjustments)``, faster."""
    if not _POSITIONAL:
        return replace(line, adjustments=adjustments)
    values = list(_LINE_VALUES(line))
    values[_ADJUSTMENTS_AT] = adjustments
    return Line(*values)


def with_promotions(basket: Basket, result: PromoResult) -> Basket:
    """A copy of ``basket`` with every promotion and coupon adjustment replaced by ``result``'s.

    Manual adjustments (attendant discounts, price overrides) stay, on lines and on the basket.
    Raises ``PromotionError`` when ``result`` names a line the basket does not have (a result
    computed for another basket).
    """
    fresh = {entry.line_no: entry.adjustments for entry in result.lines}
    lines = []
    for line in basket.lines:
        kept = tuple(a for a in line.adjustments if a.kind not in PROMOTION_KINDS)
        added = fresh.pop(line.line_no, ()) if not line.voided else ()
        new = kept + added
        lines.append(line if new == line.adjustments else _with_adjustments(line, new))
    if fresh:
        raise PromotionError(
            f"promotion result names line {min(fresh)} that is not an active line of the basket"
        )
    kept_basket = [a for a in basket.adjustments if a.kind not in PROMOTION_KINDS]
    return Basket(lines=lines, adjustments=kept_basket)
