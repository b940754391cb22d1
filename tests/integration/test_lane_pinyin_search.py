"""The lane's ``search`` command finds Chinese names by pinyin on the demo kiosk: full pinyin
and initials typed on the Latin keyboard, with the lane's paging and the category filter."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from tests.integration.lane_kit import Event, LaneKit, make_kiosk, only

EXTRA_MILK = [f"95{i:04d},,,奶类/Milk,ea,5.00,VAT9,0,0,0,牛奶 {i},Milk {i}" for i in range(10)]


def demo_skus(word: str, category: str = "") -> set[str]:
    """SKUs of the demo catalog products whose Chinese name holds ``word``."""
    text = (resources.files("kiosk") / "demo" / "catalog.csv").read_text(encoding="utf-8")
    return {
        row["sku"]
        for row in csv.DictReader(text.splitlines())
        if word in row["name_zh_CN"] and category in ("", row["category"])
    }


def pages(kit: LaneKit, query: str) -> list[Event]:
    """Every page of a search, asked one after the other as the lookup screen does."""
    found = []
    page = 0
    while True:
        result = only(kit.cmd("search", query=query, page=page), "search_results")
        found.append(result)
        if not result["has_more"]:
            return found
        page += 1


def test_search_by_full_pinyin_finds_the_chinese_names(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    result = only(kit.cmd("search", query="niunai"), "search_results")
    assert result["query"] == "niunai"
    assert {p["sku"] for p in result["products"]} == demo_skus("牛奶")
    assert "晨光牧场 鲜牛奶 950ml" in [p["name"] for p in result["products"]]
    apples = only(kit.cmd("search", query="Ping Guo"), "search_results")["products"]
    assert {p["sku"] for p in apples} == demo_skus("苹果")
    assert kit.view()["mode"] == "idle"  # searching starts no sale


def test_search_by_initials_finds_the_chinese_names(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    apples = only(kit.cmd("search", query="pg"), "search_results")["products"]
    assert apples[0]["name"] == "富士苹果"  # "pg" in its initials "fspg", the shortest key
    assert demo_skus("苹果") <= {p["sku"] for p in apples}
    kit.cmd("language", language="en")
    milk = only(kit.cmd("search", query="cgmcxnn"), "search_results")["products"]
    assert [p["name"] for p in milk] == ["Dawn Pasture fresh milk 950ml"]


def test_pinyin_results_keep_the_lane_paging(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, extra_products=EXTRA_MILK)
    found = pages(kit, query="niunai")
    assert [(p["page"], len(p["products"])) for p in found] == [(0, 20), (1, 3)]
    skus = [p["sku"] for page in found for p in page["products"]]
    assert sorted(skus) == sorted(demo_skus("牛奶") | {row.split(",")[0] for row in EXTRA_MILK})


def test_pinyin_search_within_a_category(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    result = only(kit.cmd("search", query="niu nai", category="乳制品/Dairy"), "search_results")
    assert result["category"] == "乳制品/Dairy"
    assert {p["sku"] for p in result["products"]} == demo_skus("牛奶", "乳制品/Dairy")
    initials = only(kit.cmd("search", query="nn", category="乳制品/Dairy"), "search_results")
    found = {p["sku"] for p in initials["products"]}
    assert demo_skus("牛奶", "乳制品/Dairy") <= found <= demo_skus("", "乳制品/Dairy")
    assert demo_skus("酸奶", "乳制品/Dairy") <= found  # suannai holds "nn" too
    snacks = only(kit.cmd("search", query="niunai", category="零食/Snacks"), "search_results")
    assert {p["sku"] for p in snacks["products"]} == demo_skus("牛奶", "零食/Snacks")


def test_a_pinyin_query_matching_nothing_answers_an_empty_page(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    result = only(kit.cmd("search", query="zzxq"), "search_results")
    assert (result["products"], result["has_more"]) == ([], False)
