"""Promotions in the lane: imported rules re-price the basket after every change, coupons,
member prices, and the sale event's discounts naming their rules (docs/promotions.md, "In the
lane")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli import main
from kiosk.promotions import PromotionFormatError
from kiosk.store import SqlitePromotions
from tests.integration.lane_kit import (
    MEMBER_GOLD,
    MILK,
    TOAST,
    WATER,
    LaneKit,
    line_view,
    make_kiosk,
    names,
    only,
)

WATER3: dict[str, Any] = {
    "id": "WATER3",
    "type": "multi_buy",
    "name": {"zh_CN": "水3件5元", "en": "Water 3 for 5.00"},
    "items": {"skus": ["100001"]},
    "buy": 3,
    "price": "5.00",
}
M100: dict[str, Any] = {
    "id": "M100",
    "type": "spend",
    "name": {"zh_CN": "满100减10", "en": "Spend 100 save 10"},
    "tiers": [{"spend": "100", "save": "10"}],
}
TOAST_MEMBER: dict[str, Any] = {
    "id": "TOASTM",
    "type": "member_price",
    "name": {"en": "Members' toast 6.99"},
    "items": {"skus": ["100010"]},
    "price": "6.99",
}
COUPON: dict[str, Any] = {
    "id": "CP10S2",
    "type": "spend",
    "name": {"en": "Coupon: spend 10 save 2"},
    "tiers": [{"spend": "10", "save": "2"}],
    "coupon": {"prefix": "CPONE", "single_use": True},
}


def rules_file(*promotions: dict[str, Any], version: str = "v1", currency: str = "CNY") -> Any:
    return {
        "format": "kiosk-promotions/1",
        "version": version,
        "currency": currency,
        "promotions": list(promotions),
    }


def kiosk_with(tmp_path: Path, *promotions: dict[str, Any]) -> LaneKit:
    kit = make_kiosk(tmp_path, lane={"remove_line_needs_attendant": False})
    kit.import_promotions(rules_file(*promotions))
    kit.cmd("start", language="en")
    return kit


def promo_adjustments(view: dict[str, Any], line: int) -> list[tuple[str, int]]:
    return [
        (a["source"], a["amount"])
        for a in line_view(view, line)["adjustments"]
        if a["kind"] in ("promotion", "coupon")
    ]


def pay_by_card(kit: LaneKit) -> dict[str, Any]:
    events = kit.cmd("pay", method="card")
    assert "sale_completed" in names(events), events
    return kit.sale_events()[-1]


def test_multi_buy_shows_in_the_view_and_the_sale_event_discounts(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, WATER3, M100)
    for _ in range(3):
        kit.cmd("scan", code=WATER)
    view = kit.view()
    assert promo_adjustments(view, 1) == [("WATER3", -100)]
    assert line_view(view, 1)["adjustments"][0]["reason"] == "Water 3 for 5.00"
    assert view["totals"]["due"] == 500
    promos = kit.lane.deps.promotions
    assert isinstance(promos, SqlitePromotions) and promos.loads == 1  # parsed once
    event = pay_by_card(kit)
    (line,) = event["lines"]
    assert line["discounts"] == [
        {"kind": "promotion", "reason": "Water 3 for 5.00", "amount": -100, "promo_id": "WATER3"}
    ]


def test_three_for_five_is_repriced_after_a_void_and_a_quantity_change(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, WATER3)
    kit.cmd("scan", code=WATER)  # line 1
    kit.cmd("scan", code=TOAST)  # line 2
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=WATER)  # line 3, qty 2
    view = kit.view()
    assert sum(a for _, a in promo_adjustments(view, 1) + promo_adjustments(view, 3)) == -100
    assert view["totals"]["due"] == 500 + 799
    assert names(kit.cmd("remove_line", line=1)) == ["line_voided"]
    view = kit.view()
    assert promo_adjustments(view, 3) == [] and promo_adjustments(view, 1) == []
    assert view["totals"]["due"] == 400 + 799
    kit.cmd("set_qty", line=3, qty=3)
    assert promo_adjustments(kit.view(), 3) == [("WATER3", -100)]
    kit.cmd("set_qty", line=3, qty=2)
    assert promo_adjustments(kit.view(), 3) == []
    # What was saved is the basket as priced: a restart shows the same.
    kit.restart()
    assert kit.view()["totals"]["due"] == 400 + 799


def test_spend_100_save_10_applies_once_the_threshold_is_reached(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, M100)
    kit.cmd("add", sku="100006", qty=7)  # milk 7 x 12.90 = 90.30
    assert kit.view()["totals"]["discount"] == 0
    kit.cmd("scan", code=MILK)  # a new line: 103.20
    view = kit.view()
    assert view["totals"]["due"] == 10320 - 1000
    saved = promo_adjustments(view, 1) + promo_adjustments(view, 2)
    assert {source for source, _ in saved} == {"M100"}
    assert sum(amount for _, amount in saved) == -1000
    event = pay_by_card(kit)
    discounts = [d for line in event["lines"] for d in line["discounts"]]
    assert {d["promo_id"] for d in discounts} == {"M100"}
    assert sum(d["amount"] for d in discounts) == -1000


def test_member_price_needs_an_identified_member(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, TOAST_MEMBER)
    kit.cmd("scan", code=TOAST)
    assert kit.view()["totals"]["due"] == 799
    kit.cmd("member", code=MEMBER_GOLD)
    view = kit.view()
    assert promo_adjustments(view, 1) == [("TOASTM", -100)]
    assert view["totals"]["due"] == 699


def test_a_coupon_is_applied_recorded_and_then_used(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, COUPON)
    kit.cmd("scan", code=TOAST)
    kit.cmd("scan", code=TOAST)  # 15.98
    scanned = only(kit.cmd("scan", code="CPONE0001"), "coupon_scanned")
    assert (scanned["status"], scanned["rules"]) == ("applied", ["CP10S2"])
    view = kit.view()
    assert promo_adjustments(view, 1) == [("CP10S2", -200)]
    assert line_view(view, 1)["adjustments"][0]["kind"] == "coupon"
    sale_id = view["sale_id"]
    event = pay_by_card(kit)
    assert event["lines"][0]["discounts"][0]["promo_id"] == "CP10S2"
    assert kit.audit("coupon_redeemed") == [
        {"sale_id": sale_id, "code": "CPONE0001", "rules": ["CP10S2"]}
    ]
    # The single-use code is now used; another code of the same coupon still works.
    kit.cmd("new_sale")
    kit.cmd("scan", code=TOAST)
    kit.cmd("scan", code=TOAST)
    rejected = only(kit.cmd("scan", code="CPONE0001"), "scan_rejected")
    assert rejected["reason"] == "used"
    assert kit.view()["totals"]["due"] == 1598
    assert only(kit.cmd("scan", code="CPONE0002"), "coupon_scanned")["status"] == "applied"


def test_an_unknown_coupon_is_rejected_with_the_engine_status(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, COUPON)
    kit.cmd("scan", code=TOAST)
    events = kit.cmd("scan", code="CPNOPE01")
    assert only(events, "scan_rejected")["reason"] == "unknown"
    assert kit.snapshot()["coupons"] == []


def test_a_coupon_scanned_twice_is_rejected(tmp_path: Path) -> None:
    kit = kiosk_with(tmp_path, COUPON)
    kit.cmd("scan", code=TOAST)
    kit.cmd("scan", code="CPONE0003")
    events = kit.cmd("scan", code="CPONE0003")
    assert only(events, "scan_rejected")["reason"] == "coupon_already_scanned"


def test_a_bad_rules_file_is_refused_naming_the_rule_and_the_old_rules_stay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = kiosk_with(tmp_path, WATER3)
    bad = {**WATER3, "id": "BAD1", "type": "percent_off", "percent": "150"}
    del bad["buy"], bad["price"]
    with pytest.raises(PromotionFormatError) as caught:
        kit.import_promotions(rules_file(bad, version="v2"))
    assert caught.value.rule_id == "BAD1" and caught.value.field == "percent"
    path = kit.folder / "bad.json"
    path.write_text(json.dumps(rules_file(bad, version="v2")), encoding="utf-8")
    code = main(["promo", "import", str(path), "--config", str(kit.folder / "kiosk.toml")])
    err = capsys.readouterr().err
    assert code == 1 and "'BAD1'" in err and "'percent'" in err
    for _ in range(3):
        kit.cmd("scan", code=WATER)
    assert promo_adjustments(kit.view(), 1) == [("WATER3", -100)]  # v1 still in force


def test_a_rules_file_in_another_currency_is_refused(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    with pytest.raises(PromotionFormatError) as caught:
        kit.import_promotions(rules_file(WATER3, currency="USD"))
    assert caught.value.field == "currency" and "CNY" in str(caught.value)


def test_promo_import_cli_replaces_the_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = kiosk_with(tmp_path, WATER3)
    path = kit.folder / "next.json"
    path.write_text(json.dumps(rules_file(M100, version="v2")), encoding="utf-8")
    config = str(kit.folder / "kiosk.toml")
    assert main(["promo", "import", str(path), "--config", config]) == 0
    assert capsys.readouterr().out == "imported 1 promotions, version v2 (CNY); replaced v1\n"
    for _ in range(3):
        kit.cmd("scan", code=WATER)
    assert promo_adjustments(kit.view(), 1) == []  # WATER3 is gone with v1
