"""Properties of the lane on a real kiosk.db (hypothesis): whatever sequence of scans, adds,
quantity changes, discounts and voids a customer and an attendant make,

- the view's totals are the pricing of the active lines, recomputed here from the committed
  lane snapshot (unit price x quantity rounded half up, or the label's price, plus the line's
  adjustments; VAT included and rounded per line);
- a restart restores exactly the same basket;
- voiding every line brings the basket to zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.lane_kit import (
    BANANA_PRICE_LABEL,
    BANANA_WEIGHT_LABEL,
    BEER,
    CHIPS,
    EGGS,
    MILK,
    TOAST,
    WATER,
    LaneKit,
    basket_of,
    make_kiosk,
)

RATES = {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}
CODES = [WATER, MILK, BEER, TOAST, EGGS, *CHIPS, BANANA_WEIGHT_LABEL, BANANA_PRICE_LABEL]
SKUS = ["100001", "100005", "100006", "100009", "100010"]


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_totals(saved_lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Inclusive VAT, rounded per line, half up: the demo store's policy."""
    gross_sum = amount_sum = tax_sum = items = 0
    per_line = {}
    for line in saved_lines:
        if line["voided"]:
            continue
        qty = Decimal(line["qty"])
        if line["fixed_amount"] is not None:
            gross = int(line["fixed_amount"])
        else:
            gross = half_up(Decimal(line["unit_price"]) * qty)
        amount = gross + sum(int(a["amount"]) for a in line["adjustments"])
        rate = RATES[line["tax_code"]]
        tax = half_up(Decimal(amount) * rate / (1 + rate))
        per_line[line["line_no"]] = (gross, amount)
        gross_sum += gross
        amount_sum += amount
        tax_sum += tax
        items += int(qty) if line["unit"] == "ea" else 1
    return {
        "gross": gross_sum,
        "discount": amount_sum - gross_sum,
        "tax": tax_sum,
        "due": amount_sum,
        "items": str(items),
        "lines": per_line,
    }


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaneKit]:
    lane = make_kiosk(tmp_path_factory.mktemp("properties"))
    yield lane
    lane.close()


def fresh_sale(kit: LaneKit) -> None:
    if kit.view()["attendant"] is None:
        kit.login()
    if kit.view()["mode"] in ("scanning", "paying"):
        kit.cmd("cancel_sale")
    assert kit.view()["lines"] == []


def pick_line(kit: LaneKit, index: int) -> int | None:
    active = [e["line"] for e in kit.view()["lines"] if not e["voided"]]
    return active[index % len(active)] if active else None


OPS = st.one_of(
    st.tuples(st.just("scan"), st.sampled_from(CODES)),
    st.tuples(st.just("add"), st.sampled_from(SKUS), st.integers(1, 5)),
    st.tuples(st.just("set_qty"), st.integers(0, 20), st.integers(1, 6)),
    st.tuples(st.just("void"), st.integers(0, 20)),
    st.tuples(st.just("discount"), st.integers(0, 20), st.integers(1, 50)),
)


def apply(kit: LaneKit, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "scan":
        kit.cmd("scan", code=op[1])
    elif kind == "add":
        kit.cmd("add", sku=op[1], qty=str(op[2]))
    else:
        line = pick_line(kit, op[1])
        if line is None:
            return
        if kind == "set_qty":
            kit.cmd("set_qty", line=line, qty=str(op[2]))
        elif kind == "void":
            kit.cmd("void_line", line=line)
        else:
            kit.cmd("discount_line", line=line, percent=str(op[2]), reason="property")


def check_totals(kit: LaneKit) -> None:
    view = kit.view()
    expected = expected_totals(kit.snapshot()["basket"]["lines"])
    totals = view["totals"]
    for key in ("gross", "discount", "tax", "due", "items"):
        assert totals[key] == expected[key], (key, totals, expected)
    assert totals["remaining"] == totals["due"]
    assert sum(t["tax"] for t in view["taxes"]) == totals["tax"]
    for entry in view["lines"]:
        if not entry["voided"]:
            assert (entry["gross"], entry["amount"]) == expected["lines"][entry["line"]]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, max_size=12))
def test_totals_are_the_pricing_of_the_active_lines_and_voiding_all_gives_zero(
    kit: LaneKit, ops: list[tuple[Any, ...]]
) -> None:
    fresh_sale(kit)
    for op in ops:
        apply(kit, op)
        check_totals(kit)
    before = basket_of(kit.view())
    kit.restart()
    assert basket_of(kit.view()) == before
    kit.login()
    for entry in kit.view()["lines"]:
        if not entry["voided"]:
            kit.cmd("void_line", line=entry["line"])
    view = kit.view()
    assert all(entry["voided"] for entry in view["lines"])
    assert view["totals"] == {
        "gross": 0,
        "discount": 0,
        "tax": 0,
        "due": 0,
        "cash_rounding": 0,
        "paid": 0,
        "remaining": 0,
        "items": "0",
    }
    assert view["taxes"] == []
    assert kit.snapshot()["basket"]["lines"] == [
        {**line, "voided": True} for line in kit.snapshot()["basket"]["lines"]
    ]
