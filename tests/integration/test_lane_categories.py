"""The lane's ``categories`` command and ``search`` by category on the demo kiosk, and the
machine-readable error for a weighed PLU added without its weight."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.integration.lane_kit import BANANA_PLU, error_of, make_kiosk, names, only

DEMO_CATEGORIES = [
    ("饮料/Drinks", "饮料", "Drinks", 46),
    ("酒类/Alcohol", "酒类", "Alcohol", 20),
    ("水果/Fruit", "水果", "Fruit", 26),
    ("香烟/Tobacco", "香烟", "Tobacco", 10),
    ("零食/Snacks", "零食", "Snacks", 51),  # 52 rows, the recalled jelly is not for sale
    ("乳制品/Dairy", "乳制品", "Dairy", 25),
    ("粮油/Staples", "粮油", "Staples", 16),
    ("日用品/Household", "日用品", "Household", 41),  # one recalled batch
    ("面包/Bakery", "面包", "Bakery", 20),
    ("调味品/Condiments", "调味品", "Condiments", 15),
    ("蔬菜/Vegetables", "蔬菜", "Vegetables", 28),
]


def categories_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert names(events) == ["categories"]
    listed: list[dict[str, Any]] = events[0]["categories"]
    return listed


def test_categories_are_named_in_the_lane_language_with_counts_for_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    zh = categories_of(kit.cmd("categories"))
    assert [(c["category"], c["name"], c["count"]) for c in zh] == [
        (key, name_zh, count) for key, name_zh, _, count in DEMO_CATEGORIES
    ]
    assert all(c["picture"] is None for c in zh)  # the kit's pictures folder does not exist
    kit.cmd("language", language="en")
    en = categories_of(kit.cmd("categories"))
    assert [c["name"] for c in en] == [name_en for _, _, name_en, _ in DEMO_CATEGORIES]
    assert kit.view()["mode"] == "idle"  # listing starts no sale


def test_categories_carry_the_path_of_each_picture_that_exists(tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    with resources.as_file(resources.files("kiosk") / "demo" / "pictures") as shipped:
        shutil.copytree(shipped, pictures)
    (pictures / "tobacco.png").unlink()
    kit = make_kiosk(tmp_path, paths={"pictures": str(pictures)})
    listed = {c["category"]: c["picture"] for c in categories_of(kit.cmd("categories"))}
    assert listed["饮料/Drinks"] == str(pictures / "drinks.png")
    assert listed["香烟/Tobacco"] is None  # missing file: a plain tile, no error
    assert sum(p is not None for p in listed.values()) == len(DEMO_CATEGORIES) - 1


def test_search_by_category_pages_through_its_products(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    pages = [
        only(kit.cmd("search", query="", category="饮料/Drinks", page=n), "search_results")
        for n in range(3)
    ]
    assert [len(p["products"]) for p in pages] == [20, 20, 6]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert {p["category"] for p in pages} == {"饮料/Drinks"}
    first = pages[0]["products"][0]
    assert first == {
        "sku": "100001",
        "name": "农夫山泉 550ml",
        "price": 200,
        "unit": "ea",
        "plu": None,
    }
    skus = [p["sku"] for page in pages for p in page["products"]]
    assert len(set(skus)) == 46


def test_search_by_category_leaves_out_products_not_for_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    skus = [
        p["sku"]
        for n in range(3)
        for p in only(
            kit.cmd("search", query="", category="零食/Snacks", page=n), "search_results"
        )["products"]
    ]
    assert len(skus) == 51 and "100008" not in skus


def test_search_by_category_and_query_and_the_product_added_from_it(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("language", language="en")
    found = only(kit.cmd("search", query="banana", category="水果/Fruit"), "search_results")
    assert [p["name"] for p in found["products"]] == ["Banana"]
    assert (
        only(kit.cmd("search", query="banana", category="饮料/Drinks"), "search_results")[
            "products"
        ]
        == []
    )
    added = only(kit.cmd("add", sku=found["products"][0]["sku"], weight_kg="0.500"), "item_added")
    assert (added["sku"], added["qty"]) == ("100003", "0.500")


def test_search_by_an_unknown_category_answers_an_empty_page(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    page = only(kit.cmd("search", query="", category="no such category"), "search_results")
    assert (page["products"], page["has_more"], page["category"]) == ([], False, "no such category")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"query": "", "category": "饮料/Drinks", "page": -1}, "search.page must be 0 or more"),
        (
            {"query": "", "category": "饮料/Drinks", "page": "1"},
            "search.page must be a whole number",
        ),
        ({"query": "", "category": ""}, "search.category must not be empty"),
        ({"query": "", "category": 7}, "search.category must be a string, got 7"),
        ({"category": "饮料/Drinks"}, "search needs 'query'"),
    ],
)
def test_bad_search_by_category_is_an_invalid_command(
    tmp_path: Path, args: dict[str, Any], message: str
) -> None:
    kit = make_kiosk(tmp_path)
    error = error_of(kit.cmd("search", **args))
    assert error["code"] == "invalid_command"
    assert str(error["message"]).startswith(message)


def test_categories_takes_no_arguments(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    error = error_of(kit.cmd("categories", language="en"))
    assert (error["code"], error["message"]) == (
        "invalid_command",
        "categories has no argument 'language'",
    )


def test_a_weighed_plu_without_a_weight_says_what_it_needs(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    error = error_of(kit.cmd("add", plu=BANANA_PLU))
    assert error == {
        "event": "error",
        "code": "invalid_command",
        "message": "100003 is sold by weight: add needs 'weight_kg'",
        "needs": "weight_kg",
        "unit": "kg",
        "sku": "100003",
    }
    other = error_of(kit.cmd("add", plu=BANANA_PLU, qty="2"))
    assert "needs" not in other  # other invalid commands carry no such field
    assert kit.view()["lines"] == []


def test_demo_init_copies_the_pictures_and_config_check_warns_of_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kiosk.cli import main

    folder = tmp_path / "demo"
    assert main(["demo", "init", "--dir", str(folder)]) == 0
    pictures = sorted(p.name for p in (folder / "pictures").iterdir())
    assert len(pictures) == len(DEMO_CATEGORIES) and "drinks.png" in pictures
    config = str(folder / "kiosk.toml")
    capsys.readouterr()
    assert main(["config", "check", config]) == 0
    assert "warning" not in capsys.readouterr().err
    (folder / "pictures" / "drinks.png").unlink()
    assert main(["config", "check", config]) == 0  # a warning, not a failure
    err = capsys.readouterr().err
    assert f"warning: category '饮料/Drinks': picture {folder / 'pictures' / 'drinks.png'}" in err
