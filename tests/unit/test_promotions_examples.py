"""The promotion engine's worked examples (tests/unit/promotions_examples.json, the same table as
docs/promotions.md): each basket goes through the file format, ``apply_promotions``,
``with_promotions`` and ``price_basket``, and every figure the table gives is checked."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kiosk.basket import Basket, Line
from kiosk.config import TaxConfig
from kiosk.money import Money
from kiosk.pricing import price_basket
from kiosk.promotions import (
    FORMAT,
    PresentedCoupon,
    PromoContext,
    apply_promotions,
    promotions_from_data,
    with_promotions,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = json.loads((Path(__file__).parent / "promotions_examples.json").read_text("utf-8"))
DOC = ROOT / "docs" / "promotions.md"
EXAMPLES = DATA["examples"]


def minor(text: str, currency: str) -> int:
    return Money.from_decimal(text, currency).minor


def build(example: dict[str, Any]) -> tuple[Basket, PromoContext, TaxConfig, str]:
    defaults = DATA["defaults"]
    currency = example.get("currency", defaults["currency"])
    tax_data = {**defaults["tax"], **example.get("tax", {})}
    tax = TaxConfig(
        mode=tax_data["mode"],
        rounding=tax_data["rounding"],
        rounding_mode=tax_data["rounding_mode"],
        codes={code: Decimal(rate) for code, rate in tax_data["codes"].items()},
    )
    lines = []
    for n, spec in enumerate(example["lines"], start=1):
        product = DATA["catalog"][spec["sku"]]
        lines.append(
            Line(
                line_no=n,
                sku=spec["sku"],
                names={"en": spec["sku"]},
                unit=product.get("unit", "ea"),
                qty=Decimal(spec.get("qty", "1")),
                unit_price=minor(spec.get("price", product["price"]), currency),
                tax_code=product["tax"],
                voided=spec.get("voided", False),
            )
        )
    given = example.get("context", {})
    context = PromoContext(
        now=datetime.fromisoformat(given.get("now", defaults["now"])),
        store_id=given.get("store", defaults["store"]),
        member_level=given.get("member"),
        coupons=tuple(
            PresentedCoupon(c["code"], c.get("uses", 0)) for c in given.get("coupons", [])
        ),
        member_coupon_uses=given.get("member_coupon_uses", {}),
        categories={sku: p["category"] for sku, p in DATA["catalog"].items()},
        language="en",
        rounding_mode=tax.rounding_mode,
    )
    return Basket(lines=lines), context, tax, currency


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_worked_example_prices_as_documented(example: dict[str, Any]) -> None:
    basket, context, tax, currency = build(example)
    rules = promotions_from_data(
        {
            "format": FORMAT,
            "version": example["id"],
            "currency": currency,
            "promotions": example["promotions"],
        }
    )
    expect = example["expect"]

    result = apply_promotions(basket, rules, context)
    totals = price_basket(with_promotions(basket, result), tax, currency)

    assert result.saving == minor(expect["saving"], currency)
    assert totals.discount == -result.saving
    assert totals.due == minor(expect["due"], currency)
    assert totals.tax == minor(expect["tax"], currency)
    assert [p.amount for p in totals.lines] == [minor(a, currency) for a in expect["amounts"]]
    assert {a.rule_id: a.saving for a in result.applied} == {
        rule_id: minor(amount, currency) for rule_id, amount in expect["applied"].items()
    }
    assert {c.code: c.status for c in result.coupons} == expect.get("coupons", {})


def test_examples_number_at_least_twenty_with_unique_ids() -> None:
    ids = [e["id"] for e in EXAMPLES]
    assert len(ids) >= 20
    assert len(set(ids)) == len(ids)


def test_promotions_doc_lists_every_example_with_its_saving_and_due() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\|\s*(E\d\d)\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    assert sorted(rows) == sorted(e["id"] for e in EXAMPLES)
    for example in EXAMPLES:
        cells = rows[example["id"]]
        assert example["expect"]["saving"] in cells, example["id"]
        assert example["expect"]["due"] in cells, example["id"]
