"""kiosk.promotions.format: the promotion file format, JSON and TOML, and every error it names."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kiosk.promotions import (
    FORMAT,
    AmountOff,
    CouponTerms,
    FixedPrice,
    MultiBuy,
    PercentOff,
    PromotionFormatError,
    SpendThreshold,
    Target,
    Tier,
    parse_promotions,
    promotions_from_data,
)
from kiosk.promotions.schedule import Schedule

JSON_FILE = """
{
  "format": "kiosk-promotions/1",
  "version": "2026-11-27.1",
  "currency": "CNY",
  "promotions": [
    {"id": "COLA3", "type": "multi_buy", "name": {"zh_CN": "可乐3件10元", "en": "Cola 3 for 10"},
     "items": {"skus": ["COLA"]}, "buy": 3, "price": "10.00", "priority": 2},
    {"id": "M100", "type": "spend", "name": {"zh_CN": "满100减10 满200减25"},
     "tiers": [{"spend": 100, "save": "10"}, {"spend": "200", "save": 25.00}],
     "when": {"from": "2026-11-01", "until": "2026-11-30", "days": ["Fri", "sat"],
              "hours": ["17:00-19:00", "08:00-10:00"]},
     "stores": ["s0001"]},
    {"id": "CP10", "type": "percent_off", "name": {"en": "Coupon 10 %"},
     "items": {"categories": ["drinks"]}, "percent": 12.5, "stacking": "exclusive",
     "members": "*",
     "coupon": {"prefix": "CP10", "single_use": true, "valid_from": "2026-11-01",
                "valid_until": "2026-12-31"}}
  ]
}
"""

TOML_FILE = """
format = "kiosk-promotions/1"
version = "2026-11-27.1"
currency = "CNY"

[[promotions]]
id = "COLA3"
type = "multi_buy"
name = { zh_CN = "可乐3件10元", en = "Cola 3 for 10" }
items = { skus = ["COLA"] }
buy = 3
price = "10.00"
priority = 2

[[promotions]]
id = "M100"
type = "spend"
name = { zh_CN = "满100减10 满200减25" }
tiers = [{ spend = 100, save = "10" }, { spend = "200", save = 25.00 }]
stores = ["s0001"]

[promotions.when]
from = 2026-11-01
until = "2026-11-30"
days = ["Fri", "sat"]
hours = ["17:00-19:00", "08:00-10:00"]

[[promotions]]
id = "CP10"
type = "percent_off"
name = { en = "Coupon 10 %" }
items = { categories = ["drinks"] }
percent = 12.5
stacking = "exclusive"
members = "*"
coupon = { prefix = "CP10", single_use = true, valid_from = 2026-11-01, valid_until = "2026-12-31" }
"""


def test_json_file_parses_into_the_documented_rules() -> None:
    rule_set = parse_promotions(JSON_FILE, "json")

    assert (rule_set.version, rule_set.currency, len(rule_set)) == ("2026-11-27.1", "CNY", 3)
    cola, coupon, spend = rule_set.rules  # priority 2 first, then by id
    assert cola.id == "COLA3" and cola.offer == MultiBuy(buy=3, price=1000)
    assert cola.name("zh_CN") == "可乐3件10元" and cola.name("de") == "Cola 3 for 10"
    assert spend.offer == SpendThreshold((Tier(10000, save=1000), Tier(20000, save=2500)))
    assert spend.target == Target()
    assert spend.schedule == Schedule(
        start=datetime(2026, 11, 1),
        end=datetime(2026, 12, 1),
        days=frozenset({4, 5}),
        hours=((480, 600), (1020, 1140)),
    )
    assert spend.stores == frozenset({"s0001"})
    assert coupon.offer == PercentOff(Decimal("12.5"))
    assert coupon.stacking == "exclusive" and coupon.member_levels == frozenset({"*"})
    assert coupon.coupon == CouponTerms(
        prefix="CP10", single_use=True, valid_from=date(2026, 11, 1), valid_until=date(2026, 12, 31)
    )
    assert rule_set.basket_wide == (rule_set.rank_of("M100"),)
    assert rule_set.coupon_rules("CP10-0001") == (rule_set.rank_of("CP10"),)


def test_toml_file_gives_the_same_rules_as_json() -> None:
    assert parse_promotions(TOML_FILE, "toml").rules == parse_promotions(JSON_FILE, "json").rules


def test_every_rule_type_parses() -> None:
    data = {
        "format": FORMAT,
        "version": "v",
        "currency": "JPY",
        "promotions": [
            {
                "id": "a",
                "type": "amount_off",
                "name": {"en": "a"},
                "items": {"skus": ["X"]},
                "amount": 50,
            },
            {
                "id": "b",
                "type": "fixed_price",
                "name": {"en": "b"},
                "items": {"skus": ["X"]},
                "price": 0,
            },
            {
                "id": "c",
                "type": "member_price",
                "name": {"en": "c"},
                "items": {"skus": ["X"]},
                "price": 90,
            },
            {
                "id": "d",
                "type": "mix_match",
                "name": {"en": "d"},
                "items": {"skus": ["X", "Y"]},
                "buy": 2,
                "get": 1,
                "percent": 50,
            },
            {
                "id": "e",
                "type": "spend",
                "name": {"en": "e"},
                "tiers": [{"spend": 1000, "save": 100}],
                "every": True,
                "max_times": 3,
            },
        ],
    }
    a, b, c, d, e = promotions_from_data(data).rules

    assert a.offer == AmountOff(50)
    assert b.offer == FixedPrice(0)
    assert c.offer == FixedPrice(90) and c.member_levels == frozenset({"*"})
    assert d.offer == MultiBuy(buy=2, get=1, percent=Decimal(50), mix=True)
    assert e.offer == SpendThreshold((Tier(1000, save=100),), every=True, max_times=3)


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "P1",
        "type": "percent_off",
        "name": {"en": "P1"},
        "items": {"skus": ["COLA"]},
        "percent": "10",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def document(*promotions: dict[str, Any], **top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"format": FORMAT, "version": "v1", "currency": "CNY"}
    data.update(top)
    data["promotions"] = list(promotions)
    return data


@pytest.mark.parametrize(
    ("data", "rule_id", "field", "problem"),
    [
        (document(format="kiosk-promotions/9"), None, "format", "must be"),
        (document(currency="XXX"), None, "currency", "unknown currency"),
        (document(currency=1), None, "currency", "must be a string"),
        (document(version=None), None, "version", "is missing"),
        (document(extra=1), None, "extra", "is not a field here"),
        (document(rule(id="")), None, "promotions[0].id", "non-empty"),
        (document(["not a table"]), None, "promotions[0]", "must be a table"),
        (document(rule(type="bogo")), "P1", "type", "'bogo' is not a promotion type"),
        (document(rule(name=None)), "P1", "name", "display name"),
        (document(rule(name={"en": 5})), "P1", "name.en", "must be a string"),
        (document(rule(items=None)), "P1", "items", "is missing"),
        (document(rule(items={"skus": []})), "P1", "items", "at least one sku"),
        (document(rule(items={"skus": "COLA"})), "P1", "items.skus", "list of non-empty strings"),
        (document(rule(items={"sku": ["COLA"]})), "P1", "items.sku", "is not a field here"),
        (document(rule(percent=None)), "P1", "percent", "is missing"),
        (document(rule(percent="0")), "P1", "percent", "above 0 and at most 100"),
        (document(rule(percent="101")), "P1", "percent", "above 0 and at most 100"),
        (document(rule(percent="ten")), "P1", "percent", "'ten' is not a number"),
        (document(rule(percent=True)), "P1", "percent", "must be a number"),
        (document(rule(percent="NaN")), "P1", "percent", "not a finite number"),
        (document(rule(amount="1")), "P1", "amount", "is not a field here"),
        (
            document(rule(type="amount_off", percent=None, amount="0.005")),
            "P1",
            "amount",
            "more than 2 decimals",
        ),
        (
            document(rule(type="amount_off", percent=None, amount="-1")),
            "P1",
            "amount",
            "must not be negative",
        ),
        (document(rule(type="amount_off", percent=None, amount="0")), "P1", "amount", "at least 1"),
        (document(rule(stacking="always")), "P1", "stacking", "'always'"),
        (document(rule(priority="high")), "P1", "priority", "must be a whole number"),
        (document(rule(members=[])), "P1", "members", "at least one level"),
        (document(rule(stores=[""])), "P1", "stores", "list of non-empty strings"),
        (document(rule(when={"days": ["funday"]})), "P1", "when.days", "'funday' is not a day"),
        (document(rule(when={"hours": ["9-5"]})), "P1", "when.hours", "not a window"),
        (
            document(rule(when={"hours": ["22:00-02:00"]})),
            "P1",
            "when.hours",
            "never crosses midnight",
        ),
        (document(rule(when={"hours": ["08:75-09:00"]})), "P1", "when.hours", "not a time of day"),
        (document(rule(when={"from": "27.11.2026"})), "P1", "when.from", "not an ISO date"),
        (document(rule(when={"from": "2026-11-27T08:00+08:00"})), "P1", "when.from", "time zone"),
        (
            document(rule(when={"from": "2026-11-27", "until": "2026-11-26"})),
            "P1",
            "when.until",
            "not after from",
        ),
        (document(rule(when={"at": "noon"})), "P1", "when.at", "is not a field here"),
        (
            document(rule(coupon={"code": "A", "prefix": "B"})),
            "P1",
            "coupon",
            "either code or prefix",
        ),
        (document(rule(coupon={})), "P1", "coupon", "either code or prefix"),
        (
            document(rule(coupon={"code": "A", "single_use": "yes"})),
            "P1",
            "coupon.single_use",
            "true or false",
        ),
        (
            document(
                rule(coupon={"code": "A", "valid_from": "2026-12-01", "valid_until": "2026-11-01"})
            ),
            "P1",
            "coupon.valid_until",
            "before valid_from",
        ),
        (
            document(rule(coupon={"code": "A", "max_uses": -1})),
            "P1",
            "coupon.max_uses",
            "at least 0",
        ),
        (document(rule(coupon="A")), "P1", "coupon", "must be a table"),
        (document(rule(type="multi_buy", percent=None, buy=3)), "P1", "get", "at least 1"),
        (
            document(rule(type="multi_buy", percent=None, buy=0, price="1")),
            "P1",
            "buy",
            "at least 1",
        ),
        (
            document(rule(type="multi_buy", percent=None, buy=3.0, price="1")),
            "P1",
            "buy",
            "whole number",
        ),
        (
            document(rule(type="multi_buy", percent="50", buy=3, price="1")),
            "P1",
            "price",
            "either a price",
        ),
        (
            document(rule(type="multi_buy", percent=None, buy=100, get=1)),
            "P1",
            "buy",
            "at most 100",
        ),
        (
            document(rule(type="mix_match", percent=None, buy=3, price="9")),
            "P1",
            "items",
            "two or more skus",
        ),
        (document(rule(type="spend", percent=None, items=None)), "P1", "tiers", "at least one"),
        (
            document(rule(type="spend", percent=None, tiers=[5])),
            "P1",
            "tiers[0]",
            "must be a table",
        ),
        (
            document(rule(type="spend", percent=None, tiers=[{"spend": 100}])),
            "P1",
            "tiers[0]",
            "either save",
        ),
        (
            document(
                rule(type="spend", percent=None, tiers=[{"spend": 100, "save": 5, "percent": 5}])
            ),
            "P1",
            "tiers[0]",
            "not both",
        ),
        (
            document(
                rule(
                    type="spend",
                    percent=None,
                    tiers=[{"spend": 100, "save": 5}, {"spend": 100, "save": 9}],
                )
            ),
            "P1",
            "tiers[1].spend",
            "increasing order",
        ),
        (
            document(rule(type="spend", percent=None, tiers=[{"spend": 100, "off": 5}])),
            "P1",
            "tiers[0].off",
            "is not a field here",
        ),
        (
            document(
                rule(type="spend", percent=None, tiers=[{"spend": 100, "percent": 5}], every=True)
            ),
            "P1",
            "every",
            "one tier with an amount",
        ),
        (document(rule(), rule()), "P1", "id", "two promotions have this id"),
    ],
)
def test_bad_promotion_is_refused_naming_rule_and_field(
    data: dict[str, Any], rule_id: str | None, field: str, problem: str
) -> None:
    with pytest.raises(PromotionFormatError) as info:
        promotions_from_data(data)

    error = info.value
    assert (error.rule_id, error.field) == (rule_id, field)
    assert problem in error.problem
    assert field in str(error)


def test_invalid_json_is_refused_with_its_position() -> None:
    with pytest.raises(PromotionFormatError, match="not valid JSON at line 1 column 2"):
        parse_promotions("{]", "json")


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(PromotionFormatError, match="not valid TOML"):
        parse_promotions("format = ", "toml")


def test_a_document_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(PromotionFormatError, match="must be an object"):
        parse_promotions(json.dumps([1, 2]), "json")


def test_unknown_syntax_is_refused() -> None:
    with pytest.raises(PromotionFormatError, match="unknown syntax 'yaml'"):
        parse_promotions("{}", "yaml")  # type: ignore[arg-type]


def test_json_numbers_with_a_fraction_are_read_exactly_never_as_floats() -> None:
    text = json.dumps(document(rule(percent="PERCENT"))).replace('"PERCENT"', "33.3333333333333333")
    offer = parse_promotions(text, "json").rules[0].offer

    assert isinstance(offer, PercentOff)
    assert offer.percent == Decimal("33.3333333333333333")


def test_the_example_file_in_the_docs_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "promotions.md").read_text("utf-8")
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]

    rule_set = parse_promotions(example, "json")

    assert sorted(rule.id for rule in rule_set.rules) == ["COLA3", "CP-50-10", "M100"]
