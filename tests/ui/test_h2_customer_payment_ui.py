"""Customer lookup, member and split payment on the real KioskApp under Xvfb (helper H2).

The scenario (``lookup_member_split``) runs in a child process on the test run's Xvfb display,
driven by ``tests.ui.driver.Driver`` (tests/ui/conftest.py ``run_scenario``): it taps the
screens with simulated touches at each button's window position, keys a PLU and its weight, a
phone number and a split amount, pays by card twice, saves a screenshot of each H2 screen to
artifacts/screenshots/<lang>/<screen>.png and notes the screen and lane mode at each step;
every step waits until the lane has answered (no fixed delays). The test then checks those
screens and the sale committed in kiosk.db.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.ui.conftest import SHOTS, Scenario
from tests.ui.driver import Driver

WATER = "6921168509256"
BANANA_PLU = "10001"  # sold by weight
BAKERY = {"zh_CN": "面包", "en": "Bakery"}  # a category tile
LANGS = "zh_CN,en"
TOAST = {"zh_CN": "金麦 吐司 400g", "en": "Golden Wheat toast 400g"}  # 100010, in the bakery


# ---------------------------------------------------------------------- the child process
def _note(d: Driver, lang: str, label: str) -> None:
    seen = d.result.setdefault(lang, {}).setdefault("seen", [])
    seen.append([label, d.app.screen_name, d.app.view.get("mode")])


def _card_button(d: Driver) -> None:
    def press() -> Any:
        label = d.app.t("Bank card")
        button = next(b for b in d.widget("methods").children if b.text == label)
        return d._touch_down(button)

    touch = d.ui(press)
    d.ui(touch.touch_up)


def _has_button(d: Driver, text: str) -> bool:
    """The current screen shows a button with ``text`` (in the lane's language)."""
    try:
        d.button_with(text)
    except AssertionError:
        return False
    return True


def _lines(d: Driver) -> int:
    return len(d.app.view.get("lines") or ())


def lookup_member_split(d: Driver, langs: str) -> None:
    """The sale in each of ``langs`` (comma-separated), one after the other in this app."""
    for lang in langs.split(","):
        _sale(d, lang)
        d.tap("done_button")
        d.wait_screen("attract")


def _sale(d: Driver, lang: str) -> None:
    d.wait_screen("attract")
    d.send({"cmd": "start", "language": lang})
    d.wait_screen("basket")
    d.send({"cmd": "scan", "code": WATER})
    d.wait(lambda: _lines(d) == 1, "the water in the basket")
    d.ui(lambda: d.app.show("lookup"))
    d.wait_screen("lookup")
    lookup = d.app.screen("lookup")
    d.wait(lambda: lookup.panel == "categories" and _has_button(d, BAKERY[lang]), "categories")
    d.wait(  # the pictures are decoded on a thread of their own
        lambda: all(t.picture is not None for t in lookup.ids.categories.children), "pictures"
    )
    d.screenshot(lang, "lookup_categories")
    d.tap(text=BAKERY[lang])
    d.wait(lambda: lookup.panel == "results" and lookup.local.results, "the bakery's items")
    d.screenshot(lang, "lookup_category")
    d.tap(text=TOAST[lang])
    d.wait(lambda: _lines(d) == 2, "the toast in the basket")
    d.wait_screen("basket")
    d.ui(lambda: d.app.show("lookup"))
    d.wait_screen("lookup")
    d.tap("tab_plu")
    d.wait(lambda: d.app.screen("lookup").panel == "plu", "the PLU keypad")
    _note(d, lang, "lookup")
    d.keys("plu_pad", BANANA_PLU)
    d.screenshot(lang, "lookup")
    d.tap("plu_add")
    d.wait(lambda: d.app.screen("lookup").panel == "weight", "the weight prompt")
    _note(d, lang, "weight")
    d.keys("weight_pad", "500")
    d.screenshot(lang, "lookup_weight")
    d.tap("weight_add")
    d.wait(lambda: _lines(d) == 3, "the banana in the basket")
    d.wait_screen("basket")
    _note(d, lang, "after_weight")
    d.ui(lambda: d.app.show("lookup"))
    d.wait_screen("lookup")
    d.tap("tab_search")
    d.ui(lambda: [d.app.screen("lookup").type_key(k) for k in "WATER"])
    d.tap("search_button")
    d.wait(lambda: d.app.screen("lookup").panel == "results", "the search results")
    _note(d, lang, "results")
    d.screenshot(lang, "lookup_search")
    d.ui(lambda: d.app.show("member"))
    d.wait_screen("member")
    d.keys("phone_pad", "13800000001")
    d.tap("phone_submit")
    d.wait(lambda: d.app.screen("member").identified, "the member identified")
    _note(d, lang, "member")
    d.screenshot(lang, "member")
    d.tap("phone_submit")  # "Continue shopping"
    d.wait_screen("basket")
    d.ui(lambda: d.app.show("payment"))
    d.wait_screen("payment")
    _note(d, lang, "payment")
    d.screenshot(lang, "payment")
    d.tap("split_button")
    d.keys("split_pad", "100")
    d.screenshot(lang, "payment_split")
    d.tap("split_ok")
    d.wait(lambda: d.app.screen("payment").panel == "choose", "the split amount taken")
    _card_button(d)
    d.wait(lambda: d.app.view.get("mode") == "paying", "the first part paid")
    d.wait_screen("processing")
    _note(d, lang, "after_part")
    d.screenshot(lang, "processing")
    d.tap("choose_button")
    d.wait_screen("payment")
    _note(d, lang, "choose_rest")
    _card_button(d)
    d.wait(lambda: d.app.view.get("mode") == "complete", "the sale completed")
    d.wait_screen("receipt")
    _note(d, lang, "done")
    d.result[lang]["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]


# ---------------------------------------------------------------------- the test
def test_lookup_member_and_split_card_payment(run_scenario: Scenario, tmp_path: Path) -> None:
    """The same sale in Chinese, then in English, in one app (one process)."""
    found = run_scenario("tests.ui.test_h2_customer_payment_ui:lookup_member_split", lang=LANGS)
    db = tmp_path / "demo" / "kiosk.db"
    for lang in LANGS.split(","):
        _check(found["result"][lang], lang, db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sales").fetchone() == (2,)


def _check(result: dict[str, Any], lang: str, db_path: Path) -> None:
    seen = {label: (screen, mode) for label, screen, mode in result["seen"]}
    assert seen["lookup"] == ("lookup", "scanning")
    assert seen["weight"][0] == "lookup"
    assert seen["after_weight"] == ("basket", "scanning")  # the item was added: back to basket
    assert seen["results"][0] == "lookup"
    assert seen["payment"] == ("payment", "scanning")
    assert seen["after_part"] == ("processing", "paying")
    assert seen["choose_rest"] == ("payment", "paying")
    assert seen["done"] == ("receipt", "complete")
    for name in (
        "lookup_categories",
        "lookup_category",
        "lookup",
        "lookup_weight",
        "lookup_search",
        "member",
        "payment",
        "processing",
    ):
        assert (SHOTS / lang / f"{name}.png").stat().st_size > 0

    db = sqlite3.connect(db_path)
    try:
        (seq, due, paid, member) = db.execute(
            "SELECT seq, due, paid, member_id FROM sales WHERE receipt_no = ?",
            (result["receipt_no"],),
        ).fetchone()
        lines = db.execute("SELECT sku, qty FROM sale_lines WHERE seq = ? ORDER BY line_no", (seq,))
        tenders = db.execute(
            "SELECT type, amount FROM sale_tenders WHERE seq = ? ORDER BY idx", (seq,)
        )
        assert lines.fetchall() == [("100001", "1"), ("100010", "1"), ("100003", "0.5")]
        assert tenders.fetchall() == [("card", 100), ("card", due - 100)]
        assert paid == due
        assert member == "C0001"
    finally:
        db.close()
