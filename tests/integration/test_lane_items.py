"""The lane's items on a real kiosk.db: scan, add, search, quantities, removing lines, weighed
items, and the item interventions (unknown, not for sale, expired, quantity limit, age).

Each test drives ``Lane.handle`` with lane-protocol commands and checks the events, the view
and what kiosk.db holds (the lane snapshot, audit rows, nothing sold yet).
"""

from __future__ import annotations

from pathlib import Path

from kiosk.barcodes import check_digit
from tests.integration.lane_kit import (
    BANANA_PLU,
    BANANA_PRICE_LABEL,
    BANANA_WEIGHT_LABEL,
    BEER,
    CHIPS,
    CIGARETTES,
    EGGS,
    JELLY_RECALLED,
    MEMBER_GOLD,
    MILK,
    UNKNOWN_GTIN,
    WATER,
    LaneKit,
    error_of,
    line_view,
    make_kiosk,
    names,
    only,
)

NOTHING_SOLD = {
    "sales": 0,
    "sale_lines": 0,
    "sale_tenders": 0,
    "journal": 0,
    "outbox": 0,
    "payment_intents": 0,
}

RICE_GTIN = "690000000001" + check_digit("690000000001")  # loose rice: kg, with a GTIN
POTATO_PLU = "19001"  # roast sweet potato: sold each, but has a PLU
EXTRA = [
    f"900001,{RICE_GTIN},,粮油/Grain,kg,8.00,VAT9,0,0,0,散装大米,Loose rice",
    f"900002,,{POTATO_PLU},熟食/Deli,ea,3.00,VAT13,0,0,0,烤红薯,Roast sweet potato",
]


def gs1(gtin13: str, *fields: str) -> str:
    """A GS1 element string: AI 01 with the GTIN, then the given AI fields (variable-length
    ones last)."""
    return "01" + gtin13.zfill(14) + "".join(fields)


def active_skus(kit: LaneKit) -> list[str]:
    return [entry["sku"] for entry in kit.view()["lines"] if not entry["voided"]]


def open_reasons(kit: LaneKit) -> list[str]:
    return [i["reason"] for i in kit.view()["interventions"]]


# ------------------------------------------------------------------------------ scan and add
def test_scan_adds_a_line_and_commits_the_basket_before_answering(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("scan", code=WATER)
    assert names(events) == ["sale_started", "item_added"]
    added = only(events, "item_added")
    assert (added["line"], added["sku"], added["qty"], added["unit_price"]) == (
        1,
        "100001",
        "1",
        200,
    )
    view = kit.view()
    assert view["mode"] == "scanning"
    assert view["sale_id"] == only(events, "sale_started")["sale_id"]
    assert view["totals"] == {
        "gross": 200,
        "discount": 0,
        "tax": 23,
        "due": 200,
        "cash_rounding": 0,
        "paid": 0,
        "remaining": 200,
        "items": "1",
    }
    saved = kit.snapshot()
    assert saved["sale_id"] == view["sale_id"]
    assert [line["sku"] for line in saved["basket"]["lines"]] == ["100001"]
    assert kit.committed() == NOTHING_SOLD
    assert kit.kiosk.light.state == "ready"


def test_repeated_scans_of_the_same_item_merge_into_the_last_line(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    for _ in range(3):
        kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=WATER)
    view = kit.view()
    assert [(e["line"], e["sku"], e["qty"]) for e in view["lines"]] == [
        (1, "100001", "3"),
        (2, "100006", "1"),
        (3, "100001", "1"),
    ]
    assert view["totals"]["due"] == 3 * 200 + 1290 + 200
    assert view["totals"]["items"] == "5"


def test_two_gtins_of_one_product_are_kept_on_separate_lines(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=CHIPS[0])
    kit.cmd("scan", code=CHIPS[1])
    assert [(e["sku"], e["qty"]) for e in kit.view()["lines"]] == [("100005", "1")] * 2


def test_add_by_sku_with_a_quantity_and_by_plu_with_a_weight(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("add", sku="100006", qty="2")
    events = kit.cmd("add", plu=BANANA_PLU, weight_kg="0.735")
    assert only(events, "item_added")["qty"] == "0.735"
    view = kit.view()
    assert line_view(view, 1)["amount"] == 2580
    banana = line_view(view, 2)
    assert (banana["unit"], banana["qty"], banana["gross"]) == ("kg", "0.735", 513)  # 513.03
    assert {t["code"] for t in view["taxes"]} == {"VAT9"}


def test_add_of_an_item_sold_by_weight_needs_weight_kg(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    error = error_of(kit.cmd("add", plu=BANANA_PLU))
    assert error["code"] == "invalid_command"
    assert "weight_kg" in error["message"]
    assert kit.view()["mode"] == "idle"


def test_bad_add_arguments_are_refused_and_start_no_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    cases = [
        ({"sku": "100001", "qty": "0"}, "add.qty"),
        ({"sku": "100001", "qty": "1.5"}, "add.qty"),
        ({"sku": "100001", "qty": "100"}, "add.qty"),
        ({"plu": BANANA_PLU, "weight_kg": "0"}, "add.weight_kg"),
        ({"plu": BANANA_PLU, "weight_kg": "100.5"}, "add.weight_kg"),
        ({"sku": "100001", "weight_kg": "1"}, "weight_kg"),
        ({"plu": BANANA_PLU, "weight_kg": "1", "qty": "2"}, "qty"),
        ({"sku": "100001", "plu": BANANA_PLU}, "exactly one of 'sku' or 'plu'"),
        ({}, "exactly one of 'sku' or 'plu'"),
    ]
    for args, named in cases:
        error = error_of(kit.cmd("add", **args))
        assert error["code"] == "invalid_command", args
        assert named in error["message"], (args, error["message"])
    assert kit.view()["mode"] == "idle"
    assert kit.snapshot()["mode"] == "idle"
    assert kit.snapshot()["sale_id"] is None


def test_add_of_an_unknown_product_is_not_found_naming_it(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    assert error_of(kit.cmd("add", sku="999999")) == {
        "event": "error",
        "code": "not_found",
        "message": "no product with sku 999999",
    }
    assert error_of(kit.cmd("add", plu="99999"))["message"] == "no product with PLU 99999"
    assert error_of(kit.cmd("add", sku=""))["message"] == "no product with sku ''"
    assert kit.view()["mode"] == "idle"


# ------------------------------------------------------------------------------ search
def test_search_finds_chinese_names_with_a_short_word_and_pages(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    first = only(kit.cmd("search", query="奶"), "search_results")
    assert (first["page"], first["has_more"], len(first["products"])) == (0, True, 20)
    assert all("奶" in p["name"] for p in first["products"])
    second = only(kit.cmd("search", query="奶", page=1), "search_results")
    assert (second["has_more"], len(second["products"])) == (False, 3)
    skus = {p["sku"] for p in first["products"]} | {p["sku"] for p in second["products"]}
    assert len(skus) == 23
    assert kit.view()["mode"] == "idle"  # searching starts no sale


def test_search_in_english_names_the_products_in_the_current_language(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("language", language="en")
    first = only(kit.cmd("search", query="500ml"), "search_results")
    assert first["has_more"] is True
    second = only(kit.cmd("search", query="500ml", page=1), "search_results")
    assert len(first["products"]) + len(second["products"]) == 25
    assert all("500ml" in p["name"] for p in first["products"])
    milk = only(kit.cmd("search", query="milk"), "search_results")["products"]
    assert "Dawn Pasture fresh milk 950ml" in [p["name"] for p in milk]
    kit.cmd("language", language="zh_CN")
    milk_zh = only(kit.cmd("search", query="milk"), "search_results")["products"]
    assert "晨光牧场 鲜牛奶 950ml" in [p["name"] for p in milk_zh]
    banana = only(kit.cmd("search", query="香蕉"), "search_results")["products"][0]
    assert banana == {"sku": "100003", "name": "香蕉", "price": 698, "unit": "kg", "plu": "10001"}


def test_search_with_a_negative_page_is_refused(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    error = error_of(kit.cmd("search", query="milk", page=-1))
    assert (error["code"], error["message"]) == ("invalid_command", "search.page must be 0 or more")


# ------------------------------------------------------------------------------ quantities
def test_set_qty_raises_a_quantity_without_an_attendant(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    events = kit.cmd("set_qty", line=1, qty="4")
    assert only(events, "line_changed") == {"event": "line_changed", "line": 1, "qty": "4"}
    assert kit.view()["totals"]["due"] == 800
    assert kit.snapshot()["basket"]["lines"][0]["qty"] == "4"


def test_set_qty_lower_needs_an_attendant_by_default(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("add", sku="100001", qty="4")
    assert error_of(kit.cmd("set_qty", line=1, qty="2"))["code"] == "not_allowed"
    assert line_view(kit.view(), 1)["qty"] == "4"
    kit.login()
    assert names(kit.cmd("set_qty", line=1, qty="2")) == ["line_changed"]
    assert line_view(kit.view(), 1)["qty"] == "2"


def test_set_qty_lower_without_an_attendant_when_the_config_allows(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, lane={"remove_line_needs_attendant": False})
    kit.cmd("add", sku="100001", qty="4")
    assert names(kit.cmd("set_qty", line=1, qty="1")) == ["line_changed"]
    assert kit.view()["totals"]["due"] == 200


def test_set_qty_is_refused_for_weighed_and_label_priced_lines(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=BANANA_WEIGHT_LABEL)
    kit.cmd("scan", code=BANANA_PRICE_LABEL)
    for line in (1, 2):
        error = error_of(kit.cmd("set_qty", line=line, qty="2"))
        assert error["code"] == "invalid_command"
        assert "cannot be changed" in error["message"]


def test_set_qty_of_a_missing_line_is_not_found_and_starts_no_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    error = error_of(kit.cmd("set_qty", line=3, qty="2"))
    assert (error["code"], error["message"]) == ("not_found", "there is no line 3 in the basket")
    assert kit.view()["mode"] == "idle"
    assert kit.snapshot()["sale_id"] is None


def test_set_qty_refuses_a_bad_quantity_naming_it(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    for qty in ("0", "2.5", "100", "-1"):
        error = error_of(kit.cmd("set_qty", line=1, qty=qty))
        assert error["code"] == "invalid_command"
        assert "set_qty.qty" in error["message"]
    assert line_view(kit.view(), 1)["qty"] == "1"


# ------------------------------------------------------------------------------ removing lines
def test_remove_line_opens_a_void_intervention_once_and_approve_voids(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    opened = only(kit.cmd("remove_line", line=1), "intervention_opened")
    assert (opened["reason"], opened["line"]) == ("void", 1)
    assert kit.cmd("remove_line", line=1) == []  # the same line again: nothing new
    assert open_reasons(kit) == ["void"]
    assert kit.view()["blocked"] is True
    assert kit.kiosk.light.state == "intervention"
    kit.login()
    events = kit.cmd("clear", intervention="void", resolution="approve")
    assert names(events) == ["line_voided", "intervention_cleared"]
    assert active_skus(kit) == ["100006"]
    assert line_view(kit.view(), 1)["voided"] is True
    assert kit.view()["totals"]["due"] == 1290
    assert [a["kind"] for a in kit.snapshot()["actions"]] == ["void"]
    cleared = kit.audit("intervention_cleared")
    assert [(c["reason"], c["staff"], c["resolution"]) for c in cleared] == [
        ("void", "E01", "approve")
    ]


def test_remove_line_rejected_by_the_attendant_keeps_the_line(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("remove_line", line=1)
    kit.login()
    kit.cmd("clear", intervention="void", resolution="reject")
    assert active_skus(kit) == ["100001"]
    assert open_reasons(kit) == []


def test_remove_line_voids_at_once_when_the_config_needs_no_attendant(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, lane={"remove_line_needs_attendant": False})
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    assert names(kit.cmd("remove_line", line=2)) == ["line_voided"]
    assert active_skus(kit) == ["100001"]
    assert open_reasons(kit) == []
    assert kit.snapshot()["actions"] == []  # nobody to record


def test_remove_line_with_an_attendant_logged_in_voids_and_records_who(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    assert names(kit.cmd("remove_line", line=1)) == ["line_voided"]
    assert [(a["kind"], a["staff"]) for a in kit.snapshot()["actions"]] == [("void", "E01")]


def test_voiding_a_line_closes_its_open_void_intervention(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.cmd("remove_line", line=1)
    kit.login()
    events = kit.cmd("void_line", line=1)
    assert names(events) == ["line_voided", "intervention_cleared"]
    assert open_reasons(kit) == []
    assert kit.view()["blocked"] is False


# ------------------------------------------------------------------------------ weighed items
def test_a_weight_label_adds_the_weighed_item_at_its_price_per_kg(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    added = only(kit.cmd("scan", code=BANANA_WEIGHT_LABEL), "item_added")
    assert (added["sku"], added["qty"], added["unit"], added["unit_price"]) == (
        "100003",
        "1.250",
        "kg",
        698,
    )
    view = kit.view()
    assert line_view(view, 1)["gross"] == 873  # 6.98 x 1.250 = 8.725 -> 8.73
    assert view["taxes"] == [{"code": "VAT9", "rate": "0.09", "base": 801, "tax": 72}]
    kit.cmd("scan", code=BANANA_WEIGHT_LABEL)  # a second label is its own line
    assert len(kit.view()["lines"]) == 2


def test_a_price_label_adds_the_item_at_the_printed_price(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    added = only(kit.cmd("scan", code=BANANA_PRICE_LABEL), "item_added")
    assert (added["sku"], added["qty"]) == ("100003", "1.251")  # 8.73 / 6.98 per kg
    assert line_view(kit.view(), 1)["gross"] == 873
    assert kit.snapshot()["basket"]["lines"][0]["fixed_amount"] == 873


def test_a_kg_product_scanned_by_its_plain_gtin_needs_a_weight(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, extra_products=EXTRA)
    events = kit.cmd("scan", code=RICE_GTIN)
    assert names(events) == ["scan_rejected"]
    assert only(events, "scan_rejected")["reason"] == "needs_weight"
    assert kit.view()["mode"] == "idle"
    assert kit.view()["lines"] == []


def test_a_gs1_weight_or_price_on_a_kg_product_is_used(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, extra_products=EXTRA)
    by_weight = only(kit.cmd("scan", code=gs1(RICE_GTIN, "3103", "002500")), "item_added")
    assert (by_weight["sku"], by_weight["qty"]) == ("900001", "2.500")
    by_price = only(kit.cmd("scan", code=gs1(RICE_GTIN, "3922", "1000")), "item_added")
    assert by_price["qty"] == "1.250"  # 10.00 / 8.00 per kg
    view = kit.view()
    assert [line_view(view, n)["gross"] for n in (1, 2)] == [2000, 1000]


def test_a_label_with_a_zero_weight_or_price_is_rejected(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, extra_products=EXTRA)
    weight_label = "21" + BANANA_PLU + "00000"
    price_label = "20" + BANANA_PLU + "00000"
    codes = [
        weight_label + check_digit(weight_label),
        price_label + check_digit(price_label),
        gs1(RICE_GTIN, "3103", "000000"),
        gs1(RICE_GTIN, "3922", "0"),
    ]
    for code in codes:
        events = kit.cmd("scan", code=code)
        assert names(events) == ["scan_rejected"], code
        assert events[0]["reason"] == "needs_weight"
        assert "zero" in events[0]["message"]
    assert kit.view()["mode"] == "idle"


def test_a_weight_label_for_an_item_sold_each_adds_one_item(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, extra_products=EXTRA)
    label = "21" + POTATO_PLU + "00450"
    added = only(kit.cmd("scan", code=label + check_digit(label)), "item_added")
    assert (added["sku"], added["qty"], added["unit"]) == ("900002", "1", "ea")
    assert kit.view()["totals"]["due"] == 300


def test_a_weight_label_of_an_unknown_plu_is_an_unknown_item(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    label = "2199999" + "01000"
    code = label + check_digit(label)
    opened = only(kit.cmd("scan", code=code), "intervention_opened")
    assert (opened["reason"], opened["detail"]) == ("unknown_item", {"code": code})


# ------------------------------------------------------------------------------ age check
def test_age_check_is_asked_once_per_sale_and_approval_covers_later_items(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    opened = only(kit.cmd("scan", code=BEER), "intervention_opened")
    assert (opened["reason"], opened["line"], opened["detail"]["age"]) == ("age_check", 1, 18)
    assert "intervention_opened" not in names(kit.cmd("scan", code=CIGARETTES))
    assert open_reasons(kit) == ["age_check"]
    assert error_of(kit.cmd("pay", method="card"))["code"] == "blocked"
    kit.login()
    kit.clock.advance(42)
    cleared = only(
        kit.cmd("clear", intervention="age_check", resolution="approve"), "intervention_cleared"
    )
    assert (cleared["staff"], cleared["open_seconds"]) == ("E01", 42.0)
    kit.logout()
    assert "intervention_opened" not in names(kit.cmd("scan", code=BEER))
    assert open_reasons(kit) == []
    assert [a["kind"] for a in kit.snapshot()["actions"]] == ["age_check"]
    assert kit.snapshot()["age_verified"] is True


def test_age_check_rejected_voids_every_age_restricted_line(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=BEER)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=CIGARETTES)
    kit.login()
    events = kit.cmd("clear", intervention="age_check", resolution="reject")
    assert names(events) == ["line_voided", "line_voided", "intervention_cleared"]
    assert only(events, "intervention_cleared")["resolution"] == "reject"
    assert active_skus(kit) == ["100001"]
    assert kit.view()["totals"]["due"] == 200
    assert open_reasons(kit) == []


def test_age_check_is_asked_again_for_each_item_when_not_once_per_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, lane={"age_check_once_per_sale": False})
    kit.cmd("scan", code=BEER)
    kit.login()
    kit.cmd("clear", intervention="age_check", resolution="approve")
    opened = only(kit.cmd("scan", code=CIGARETTES), "intervention_opened")
    assert (opened["reason"], opened["line"]) == ("age_check", 2)


def test_the_age_check_of_a_new_sale_is_asked_again(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=BEER)
    kit.login()
    kit.cmd("clear", intervention="age_check", resolution="approve")
    kit.logout()
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    events = kit.cmd("scan", code=BEER)
    assert names(events)[0] == "sale_started"
    assert only(events, "intervention_opened")["reason"] == "age_check"


def test_voiding_the_only_age_restricted_line_closes_the_age_check(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, lane={"remove_line_needs_attendant": False})
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=BEER)
    events = kit.cmd("remove_line", line=2)
    assert names(events) == ["line_voided", "intervention_cleared"]
    assert (events[1]["reason"], events[1]["staff"]) == ("age_check", "customer")
    assert kit.view()["blocked"] is False


# ------------------------------------------------------------------------------ unknown item
def test_an_unknown_barcode_is_cleared_by_keying_in_a_sku(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("scan", code=UNKNOWN_GTIN)
    assert names(events) == ["sale_started", "intervention_opened"]
    assert events[1]["detail"] == {"code": "0" + UNKNOWN_GTIN}
    assert kit.view()["lines"] == []
    kit.cmd("scan", code=WATER)
    assert error_of(kit.cmd("pay", method="card"))["message"] == (
        "an attendant must clear: unknown_item"
    )
    kit.login()
    missing = error_of(kit.cmd("clear", intervention="unknown_item", resolution="approve"))
    assert (missing["code"], missing["message"]) == (
        "invalid_command",
        "to approve an unknown item give its 'sku' or 'plu'",
    )
    nothing = error_of(
        kit.cmd("clear", intervention="unknown_item", resolution="approve", sku="999999")
    )
    assert nothing["code"] == "not_found"
    assert open_reasons(kit) == ["unknown_item"]
    events = kit.cmd("clear", intervention="unknown_item", resolution="approve", sku="100006")
    assert names(events) == ["item_added", "intervention_cleared"]
    assert active_skus(kit) == ["100001", "100006"]
    assert kit.view()["blocked"] is False


def test_an_unknown_barcode_rejected_adds_nothing(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=UNKNOWN_GTIN)
    kit.login()
    kit.cmd("clear", intervention="unknown_item", resolution="reject")
    assert kit.view()["lines"] == []
    assert open_reasons(kit) == []


def test_an_unknown_barcode_can_be_cleared_with_a_plu_of_an_item_sold_each(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path, extra_products=EXTRA)
    kit.cmd("scan", code=UNKNOWN_GTIN)
    kit.login()
    weighed = error_of(
        kit.cmd("clear", intervention="unknown_item", resolution="approve", plu=BANANA_PLU)
    )
    assert "sold by weight" in weighed["message"]
    kit.cmd("clear", intervention="unknown_item", resolution="approve", plu=POTATO_PLU)
    assert active_skus(kit) == ["900002"]


# ------------------------------------------------------------------------------ limits, flags
def test_quantity_limit_holds_the_item_back_until_an_attendant_approves(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=EGGS)
    kit.cmd("scan", code=EGGS)
    events = kit.cmd("scan", code=EGGS)
    opened = only(events, "intervention_opened")
    assert (opened["reason"], opened["detail"]["limit"], opened["detail"]["qty"]) == (
        "quantity_limit",
        2,
        "1",
    )
    assert line_view(kit.view(), 1)["qty"] == "2"
    kit.login()
    kit.cmd("clear", intervention="quantity_limit", resolution="reject")
    assert line_view(kit.view(), 1)["qty"] == "2"
    kit.cmd("scan", code=EGGS)
    events = kit.cmd("clear", intervention="quantity_limit", resolution="approve")
    assert names(events) == ["item_added", "intervention_cleared"]
    assert line_view(kit.view(), 1)["qty"] == "3"
    assert ("quantity_limit", "100007") in [
        (a["kind"], a["detail"]) for a in kit.snapshot()["actions"]
    ]


def test_quantity_limit_applies_to_add_and_set_qty(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    assert only(kit.cmd("add", sku="100007", qty="3"), "intervention_opened")["reason"] == (
        "quantity_limit"
    )
    kit.login()
    kit.cmd("clear", intervention="quantity_limit", resolution="reject")
    kit.cmd("add", sku="100007", qty="2")
    error = error_of(kit.cmd("set_qty", line=1, qty="3"))
    assert error["message"] == "福满 鸡蛋 10枚 is limited to 2 per sale"


def test_an_expired_item_is_held_back_and_approval_adds_it_with_batch_and_expiry(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    expired = gs1(WATER, "17", "250131", "10", "LOT7")
    opened = only(kit.cmd("scan", code=expired), "intervention_opened")
    assert opened["reason"] == "expired_item"
    assert (opened["detail"]["expiry"], opened["detail"]["batch"]) == ("2025-01-31", "LOT7")
    assert kit.view()["lines"] == []
    kit.login()
    events = kit.cmd("clear", intervention="expired_item", resolution="approve")
    assert names(events) == ["item_added", "intervention_cleared"]
    saved = kit.snapshot()["basket"]["lines"][0]
    assert (saved["sku"], saved["expiry"], saved["batch"]) == ("100001", "2025-01-31", "LOT7")


def test_an_item_expiring_today_or_later_is_sold(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("scan", code=gs1(WATER, "17", "260302", "10", "LOT8"))  # today
    assert names(events) == ["sale_started", "item_added"]
    assert kit.snapshot()["basket"]["lines"][0]["expiry"] == "2026-03-02"


def test_an_expired_item_rejected_is_not_added(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=gs1(WATER, "17", "260301"))  # yesterday
    kit.login()
    kit.cmd("clear", intervention="expired_item", resolution="reject")
    assert kit.view()["lines"] == []
    assert kit.view()["blocked"] is False


def test_a_product_not_for_sale_is_never_added(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    opened = only(kit.cmd("scan", code=JELLY_RECALLED), "intervention_opened")
    assert (opened["reason"], opened["detail"]["sku"]) == ("not_for_sale", "100008")
    kit.cmd("scan", code=WATER)
    assert error_of(kit.cmd("pay", method="card"))["code"] == "blocked"
    kit.login()
    kit.cmd("clear", intervention="not_for_sale", resolution="approve")
    assert active_skus(kit) == ["100001"]
    assert kit.view()["blocked"] is False


# ------------------------------------------------------------------------------ other scans
def test_unreadable_coupon_and_receipt_scans_are_rejected_without_a_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    cases = {
        "6921168509257": "bad_check_digit",
        "CPSPRING24": "coupon_not_accepted",
        "Rs0001-k01-7": "receipt_scanned",
        "hello": "unknown_format",
        "": "empty",
        "6921168509256\x07": "control_chars",
    }
    for code, reason in cases.items():
        events = kit.cmd("scan", code=code)
        assert names(events) == ["scan_rejected"], code
        assert events[0]["reason"] == reason
        assert events[0]["message"]
    assert kit.view()["mode"] == "idle"
    assert kit.snapshot()["sale_id"] is None


def test_help_calls_an_attendant_once_and_does_not_block_payment(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    assert only(kit.cmd("help"), "intervention_opened")["reason"] == "help"
    assert names(kit.cmd("help")) == ["help_already_requested"]
    assert kit.kiosk.light.state == "attention"
    assert kit.view()["blocked"] is False
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert open_reasons(kit) == ["help"]  # still open for the attendant
    kit.login()
    cleared = only(
        kit.cmd("clear", intervention="help", resolution="approve"), "intervention_cleared"
    )
    assert cleared["reason"] == "help"
    assert kit.kiosk.light.state == "ready"


def test_an_open_help_request_survives_the_next_sale_start(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("help")
    kit.cmd("scan", code=WATER)
    assert open_reasons(kit) == ["help"]


def test_a_member_code_identifies_the_customer_and_goes_with_the_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    events = kit.cmd("scan", code=MEMBER_GOLD)
    assert only(events, "member_identified") == {
        "event": "member_identified",
        "member": "C0001",
        "level": "gold",
        "phone": "138****0001",
    }
    assert kit.view()["member"] == {"member": "C0001", "level": "gold", "phone": "138****0001"}
    kit.cmd("pay", method="card")
    assert kit.rows("SELECT member_id FROM sales") == [("C0001",)]


def test_an_unknown_member_code_is_rejected_without_a_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("member", code="M999999")
    assert names(events) == ["scan_rejected"]
    assert events[0]["reason"] == "unknown_member"
    assert kit.view()["mode"] == "idle"


def test_switching_language_mid_basket_renames_the_lines(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    assert line_view(kit.view(), 1)["name"] == "农夫山泉 550ml"
    assert names(kit.cmd("language", language="en")) == ["language_changed"]
    assert line_view(kit.view(), 1)["name"] == "Nongfu Spring water 550ml"
    assert only(kit.cmd("scan", code=MILK), "item_added")["name"] == (
        "Dawn Pasture fresh milk 950ml"
    )
    assert kit.snapshot()["language"] == "en"
    error = error_of(kit.cmd("language", language="fr"))
    assert (error["code"], error["message"]) == (
        "invalid_command",
        "language 'fr' is not one of zh_CN, en, ja",
    )
    assert kit.view()["language"] == "en"
    assert kit.view()["totals"]["due"] == 1490  # the basket is untouched


def test_start_with_a_language_opens_a_sale_in_that_language(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("start", language="en")
    assert names(events) == ["language_changed", "sale_started"]
    assert (kit.view()["mode"], kit.view()["language"]) == ("scanning", "en")
