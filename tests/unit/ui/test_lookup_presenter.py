"""The lookup presenter (kiosk.ui.presenters.lookup) without Kivy."""

from __future__ import annotations

import pytest

from kiosk.ui.presenters import lookup as p


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor / 100:.2f}"


def test_keypad_press_digits_back_clear_and_limit() -> None:
    assert p.keypad_press("12", "3", 8) == "123"
    assert p.keypad_press("12", "back", 8) == "1"
    assert p.keypad_press("12", "del", 8) == "1"
    assert p.keypad_press("12", "clear", 8) == ""
    assert p.keypad_press("1234", "5", 4) == "1234"


def test_keypad_press_refuses_an_unknown_key() -> None:
    with pytest.raises(ValueError, match="'x'"):
        p.keypad_press("", "x", 8)


def test_digits_keeps_only_digits_up_to_the_limit() -> None:
    assert p.digits("1a2-3", 8) == "123"
    assert p.digits("123456789", 4) == "1234"


def test_plu_entry_builds_add() -> None:
    local = p.fresh()
    for key in "10001":
        p.press_plu(local, key)
    assert p.plu_command(local) == {"cmd": "add", "plu": "10001"}


def test_empty_plu_is_not_sent_and_says_why() -> None:
    local = p.fresh()
    assert p.plu_command(local) is None
    assert p.lookup_model(local, t, money).message == "Type the item's PLU number first."


def test_plu_of_an_item_sold_by_weight_asks_for_the_weight() -> None:
    local = p.fresh()
    local.plu = "10001"
    p.apply_events(
        local,
        [
            {
                "event": "error",
                "code": "invalid_command",
                "message": "100003 is sold by weight: add needs 'weight_kg'",
                "needs": "weight_kg",
                "unit": "kg",
                "sku": "100003",
            }
        ],
    )
    assert local.weight_for == {"plu": "10001"}
    for key in "735":
        p.press_weight(local, key)
    model = p.lookup_model(local, t, money)
    assert model.weight_prompt == "Weight of PLU 10001 in kg"
    assert model.weight_text == "0.735 kg"
    assert p.weight_command(local) == {"cmd": "add", "plu": "10001", "weight_kg": "0.735"}


def test_an_invalid_command_without_needs_does_not_ask_for_a_weight() -> None:
    local = p.fresh()
    local.plu = "10001"
    message = "100003 is sold by weight: add needs 'weight_kg'"  # the text alone is not a signal
    p.apply_events(local, [{"event": "error", "code": "invalid_command", "message": message}])
    assert local.weight_for is None
    assert local.message == "That did not work. Please check and try again."


def test_weight_zero_or_over_100_kg_is_refused_with_a_message() -> None:
    local = p.fresh()
    local.weight_for = {"sku": "100003"}
    assert p.weight_command(local) is None
    assert local.message == "Type the weight shown on the scale."
    local.weight = "100001"
    assert p.weight_command(local) is None
    assert local.message == "Weights up to 100 kg only."


def test_weight_command_without_a_pending_item_is_none() -> None:
    assert p.weight_command(p.fresh()) is None


def test_unknown_plu_names_it() -> None:
    local = p.fresh()
    local.plu = "99999"
    p.apply_events(local, [{"event": "error", "code": "not_found", "message": "no such"}])
    assert p.lookup_model(local, t, money).message == "No item has the PLU 99999."


def test_other_errors_map_to_customer_messages() -> None:
    local = p.fresh()
    p.apply_events(local, [{"event": "error", "code": "wrong_state", "message": "paying"}])
    assert local.message == "Items cannot be added now."
    p.apply_events(local, [{"event": "error", "code": "bogus", "message": "?"}])
    assert local.message == "That did not work. Please call an attendant."


def test_search_pages_and_results() -> None:
    local = p.fresh()
    p.select_tab(local, "search")
    for key in "cola":
        p.type_query(local, key)
    assert p.search_command(local) == {"cmd": "search", "query": "cola", "page": 0}
    p.apply_events(
        local,
        [
            {
                "event": "search_results",
                "query": "cola",
                "page": 1,
                "has_more": True,
                "products": [
                    {"sku": "1", "name": "Cola 330ml", "price": 300, "unit": "ea", "plu": None},
                    {"sku": "2", "name": "Banana", "price": 698, "unit": "kg", "plu": "10001"},
                ],
            }
        ],
    )
    model = p.lookup_model(local, t, money)
    assert [r.name for r in model.rows] == ["Cola 330ml", "Banana"]
    assert model.rows[0].price == "¥3.00"
    assert model.rows[1].price == "¥6.98 / kg"
    assert model.rows[1].detail == "PLU 10001"
    assert model.page_text == "Page 2"
    assert model.can_prev and model.can_next
    assert p.search_command(local, 2) == {"cmd": "search", "query": "cola", "page": 2}


def test_search_without_a_query_or_with_a_bad_page() -> None:
    local = p.fresh()
    assert p.search_command(local) is None
    assert local.message == "Type part of the item's name first."
    with pytest.raises(ValueError, match="page must be 0 or more"):
        p.search_command(local, -1)


def test_empty_results_say_nothing_found() -> None:
    local = p.fresh()
    p.apply_events(
        local,
        [{"event": "search_results", "query": "x", "page": 0, "has_more": False, "products": []}],
    )
    assert local.message == "Nothing found. Try another word."
    assert not p.lookup_model(local, t, money).can_next


def test_query_keyboard_space_back_clear_and_limit() -> None:
    local = p.fresh()
    p.type_query(local, "space")  # no leading space
    for key in "ab":
        p.type_query(local, key)
    p.type_query(local, "space")
    p.type_query(local, "space")  # no double space
    p.type_query(local, "c")
    assert local.query == "ab c"
    p.type_query(local, "back")
    assert local.query == "ab "
    p.type_query(local, "clear")
    assert local.query == ""
    for _ in range(p.QUERY_MAX_CHARS + 5):
        p.type_query(local, "z")
    assert len(local.query) == p.QUERY_MAX_CHARS
    with pytest.raises(ValueError, match="unknown keyboard key"):
        p.type_query(local, "\n")


def test_choosing_a_result_adds_an_item_sold_each_and_asks_weight_for_kg() -> None:
    local = p.fresh()
    each = p.ProductTile("1", "Cola", 300, "ea", None)
    weighed = p.ProductTile("2", "Banana", 698, "kg", "10001")
    assert p.choose_product(local, each) == {"cmd": "add", "sku": "1"}
    assert p.choose_product(local, weighed) is None
    assert p.lookup_model(local, t, money).weight_prompt == "Weight of Banana in kg"
    local.weight = "1250"
    assert p.weight_command(local) == {"cmd": "add", "sku": "2", "weight_kg": "1.250"}
    p.cancel_weight(local)
    assert local.weight_for is None


def test_item_added_marks_the_lookup_done() -> None:
    local = p.fresh()
    local.plu = "10001"
    p.apply_events(local, [{"event": "item_added", "name": "Banana", "line": 1}])
    assert local.added
    assert local.plu == ""
    assert p.lookup_model(local, t, money).message == "Added: Banana"


def test_categories_from_the_lane_and_browsing_one() -> None:
    local = p.fresh(with_categories=True)
    assert local.tab == "categories"
    p.apply_events(
        local,
        [
            {
                "event": "categories",
                "categories": [
                    {"category": "水果/Fruit", "name": "Fruit", "count": 22},
                    {"category": "蔬菜/Vegetables", "count": 28, "picture": "/x/veg.png"},
                ],
            }
        ],
    )
    fruit, veg = local.categories
    assert (fruit.name, fruit.initial, fruit.count) == ("Fruit", "F", 22)
    assert veg.name == "Vegetables" and veg.picture == "/x/veg.png"
    assert fruit.colour in p.TILE_COLOURS
    assert fruit.colour == p.Category("水果/Fruit", "水果").colour  # stable per key
    command = p.open_category(local, "水果/Fruit")
    assert command == {"cmd": "search", "query": "", "category": "水果/Fruit", "page": 0}
    assert p.lookup_model(local, t, money).category_title == "Fruit"
    p.close_category(local)
    assert local.category == ""
    again = p.fresh(local, with_categories=True)
    assert again.categories == local.categories


def test_categories_tab_needs_lane_support() -> None:
    local = p.fresh(with_categories=False)
    assert local.tab == "plu"
    assert not p.lookup_model(local, t, money).show_categories
    with pytest.raises(ValueError, match="cannot list categories"):
        p.select_tab(local, "categories")
    with pytest.raises(ValueError, match="unknown lookup tab"):
        p.select_tab(local, "nope")


def test_categories_supported_reads_the_command_table() -> None:
    assert not p.categories_supported({"search": {"query": ("str", True)}})
    assert p.categories_supported(
        {"categories": {}, "search": {"query": ("str", True), "category": ("str", False)}}
    )


def test_category_tile_text_is_the_name_under_a_picture() -> None:
    bakery = p.Category("面包/Bakery", "Bakery", picture="/x/bakery.png")
    assert bakery.tile_text(pictured=True) == "Bakery"  # the picture, then one name label
    assert bakery.tile_text(pictured=False) == "B\nBakery"  # no picture (or unreadable)


def test_category_initial_falls_back() -> None:
    assert p.Category("", "").initial == "?"
    assert p.Category("dairy", " ").initial == "D"
