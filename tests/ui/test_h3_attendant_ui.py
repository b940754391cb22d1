"""Attendant screens on the real KioskApp under Xvfb (helper H3): an age-restricted item
approved by an attendant, a line voided and a price overridden with a reason, and a cash
payment with change and the drawer.

Each scenario runs in a child process on the test run's Xvfb display (tests/ui/conftest.py
``run_scenario``; both languages one after the other in one app), driven by ``Driver``
(simulated touches at each widget's window position, fake scans, sim actions on the fake
devices). The staff PIN login goes through the unmarked staff corner held down; the cash
scenario logs in by scanning the staff badge. Screenshots of every attendant screen go to
artifacts/screenshots/<lang>/<screen>.png. The test then checks the screens seen, what the
scenario read off them, and the sale committed in kiosk.db.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.ui.conftest import SHOTS, Scenario

WATER = "6921168509256"  # 2.00
CRISPS = "6918473200565"  # 6.50
BEER = "6935284410013"  # 5.50, age 18
BADGE = "ST0001"  # demo staff E01 (attendant), PIN 1234


# ---------------------------------------------------------------------- the child process
def _tap_button(d: Any, text: str) -> None:
    d.tap(text=text)


def _t(d: Any, msgid: str) -> str:
    return str(d.ui(lambda: d.app.t(msgid, d.app.staff_lang)))


def _hold_staff_corner(d: Any) -> None:
    """Hold the unmarked corner for longer than its hold time, then let go."""
    from kivy.tests.common import UnitTestTouch

    def down() -> Any:
        corner = d.app.root.ids["staff_corner"]
        x, y = corner.to_window(*corner.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        return touch, corner.hold_s

    touch, hold_s = d.ui(down)
    d.wait_screen("staff_login", timeout=hold_s + 5)
    d.ui(touch.touch_up)


def age_check(d: Any, lang: str) -> None:
    d.result[lang] = {}
    d.ui(lambda: d.app.set_staff_language(lang))
    d.wait_screen("attract")
    d.scan(WATER)
    d.wait_screen("basket")
    d.scan(BEER)
    d.wait(lambda: any(i["reason"] == "age_check" for i in d.app.view["interventions"]), "age")
    _hold_staff_corner(d)
    for key in ("E", "0", "1"):
        _tap_button(d, key)
    d.result[lang]["staff_id_shown"] = d.ui(lambda: d.widget("staff_id").text)
    d.tap("go_on")
    d.keys("keys", ["1", "2", "3", "4"])
    d.result[lang]["pin_shown"] = d.ui(lambda: d.widget("pin_dots").text)
    d.screenshot(lang, "staff_login")
    d.tap("go_on")
    d.wait_screen("attendant", timeout=20)
    d.wait(lambda: d.app.view.get("attendant"), "the attendant logged in")
    d.screenshot(lang, "attendant")
    queue = d.ui(lambda: [c.title for c in d.widget("queue").children if hasattr(c, "title")])
    d.result[lang]["queue"] = queue
    d.tap(text=_t(d, "Age checked: OK"))
    d.wait(lambda: not d.app.view["interventions"], "the age check cleared")
    d.result[lang]["empty_text"] = d.ui(lambda: d.app.screen("attendant").empty_text)
    d.tap("logout")
    d.wait_screen("basket")
    d.send({"cmd": "pay", "method": "card"})
    d.wait(lambda: d.app.view.get("mode") == "complete", "the sale completed")
    d.result[lang]["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]


def cash(d: Any, lang: str) -> None:
    d.result[lang] = {}
    d.ui(lambda: d.app.set_staff_language(lang))
    d.wait_screen("attract")
    d.scan(BADGE)  # the badge logs the attendant in, no PIN
    d.wait_screen("attendant")
    d.tap("shift")
    d.wait_screen("attendant_shift")
    d.tap("open_shift")
    d.wait(lambda: "shift-" in d.app.screen("attendant_shift").status, "the shift opened")
    d.tap("back")
    d.wait_screen("attendant")
    d.tap("logout")  # the shift is open: the customer sells
    d.wait_screen("attract")
    d.scan(WATER)
    d.wait_screen("basket")
    d.scan(CRISPS)
    d.wait(lambda: len(d.app.view["lines"]) == 2, "two lines")
    d.tap("pay_button")
    d.wait_screen("payment")
    d.tap(text=d.ui(lambda: d.app.t("Cash (an attendant comes)")))  # the customer's language
    d.wait(
        lambda: any(i["reason"] == "cash_payment" for i in d.app.view["interventions"]),
        "the attendant called for cash",
    )
    d.result[lang]["cash_screen"] = d.app.screen_name
    d.scan(BADGE)  # the attendant comes
    d.wait_screen("attendant")
    d.frames()
    d.result[lang]["cash_queue"] = d.ui(
        lambda: [c.title for c in d.widget("queue").children if hasattr(c, "title")]
    )
    d.ui(lambda: d.app.screen("attendant").open_line(1))
    d.wait_screen("attendant_item")
    d.screenshot(lang, "attendant_item")
    d.tap("back")
    d.wait_screen("attendant")
    d.tap(text=_t(d, "Take cash"))  # the queue's button for the cash payment
    d.wait_screen("attendant_cash")
    d.keys("keypad", ["2", "0", "00"])
    d.result[lang]["tendered_shown"] = d.ui(lambda: d.widget("tendered").text)
    d.tap("take")
    d.wait(lambda: d.app.screen("attendant_cash").taken, "cash taken")
    d.wait(lambda: d.app.screen("attendant_cash").waiting_for_drawer, "waiting for the drawer")
    d.result[lang]["change_shown"] = d.ui(lambda: d.widget("change").text)
    d.result[lang]["drawer_waiting"] = d.ui(lambda: d.widget("drawer").text)
    d.screenshot(lang, "attendant_cash")
    d.sim("drawer.close")
    d.wait(lambda: not d.app.screen("attendant_cash").waiting_for_drawer, "the drawer closed")
    d.result[lang]["drawer_closed"] = d.ui(lambda: d.widget("drawer").text)
    d.result[lang]["completed"] = d.ui(lambda: d.widget("completed").text)
    d.result[lang]["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]
    d.tap("back")
    d.wait_screen("attendant")
    d.tap("devices")
    d.wait_screen("attendant_devices")
    _device_tests(d, lang)
    d.screenshot(lang, "attendant_devices")
    d.tap(text=_t(d, "Test scanner"))  # leaving the screen stops a scanner test
    d.wait(lambda: _running(d) == ["scanner"], "the second scanner test started")
    d.tap("back")
    d.wait_screen("attendant")
    d.wait(lambda: _running(d) == [], "the scanner test stopped with the screen")
    d.tap("shift")
    d.wait_screen("attendant_shift")
    d.keys("keypad", ["8", "5", "0"])
    d.tap("close_shift")
    d.tap("close_shift")  # a second tap confirms
    d.wait(lambda: d.app.screen("attendant_shift").report, "the Z report on screen")
    d.result[lang]["report"] = d.ui(lambda: d.app.screen("attendant_shift").report)
    d.screenshot(lang, "attendant_shift")


def _running(d: Any) -> list[str]:
    return [str(test["device"]) for test in d.app.view.get("device_tests") or ()]


def _hint(d: Any, device_msgid: str) -> str:
    """The hint under a device's row on the devices screen (Kivy thread)."""
    title = d.app.t(device_msgid, d.app.staff_lang)
    for item in d.widget("devices").children:
        if getattr(item, "title", "").startswith(title):
            return str(item.hint)
    raise AssertionError(f"no {device_msgid!r} row on the devices screen")


def _device_tests(d: Any, lang: str) -> None:
    """The scanner test echoes a scan without selling it; the light test cycles the light; the
    printer prints a test page."""
    found = d.result[lang]
    d.tap(text=_t(d, "Test scanner"))
    d.wait(lambda: _running(d) == ["scanner"], "the scanner test started")
    d.wait(lambda: _hint(d, "Scanner") != "", "the scan prompt")
    found["scanner_prompt"] = d.ui(lambda: _hint(d, "Scanner"))
    d.scan(WATER)
    d.wait(lambda: WATER in _hint(d, "Scanner"), "the scan echoed")
    found["scanner_echo"] = d.ui(lambda: _hint(d, "Scanner"))
    found["after_echo"] = d.ui(lambda: (d.app.view["mode"], len(d.app.view["lines"])))
    d.tap(text=_t(d, "Test the light"))
    d.wait(lambda: _running(d) == ["light"], "the light test started")
    found["light_step"] = d.ui(lambda: _hint(d, "Status light"))
    d.wait(lambda: _running(d) == [], "the light test ended", timeout=30)
    d.wait(lambda: _hint(d, "Status light") != found["light_step"], "the light's result")
    found["light_result"] = d.ui(lambda: _hint(d, "Status light"))
    d.tap(text=_t(d, "Print a test page"))
    printed = _t(d, "Test page printed")
    d.wait(lambda: _hint(d, "Receipt printer") == printed, "the test page printed")
    found["printer_result"] = d.ui(lambda: _hint(d, "Receipt printer"))
    found["device_log"] = d.ui(lambda: d.widget("log").text)
    found["test_passed"] = _t(d, "test passed")


def _next_customer(d: Any) -> None:
    """The attendant logs out and the customer touches Done: the attract screen again."""
    if d.app.view.get("attendant"):
        d.send({"cmd": "staff_logout"})
        d.wait(lambda: not d.app.view.get("attendant"), "the attendant logged out")
    d.wait_screen("receipt")
    d.tap("done_button")
    d.wait_screen("attract")


def line_edits(d: Any, lang: str) -> None:
    """The attendant, called by a badge scan mid-sale, voids one line and sets a new price on
    another with a reason; the customer then pays by touch."""
    d.result[lang] = {}
    d.ui(lambda: d.app.set_staff_language(lang))
    d.wait_screen("attract")
    d.scan(WATER)
    d.wait_screen("basket")
    d.scan(CRISPS)
    d.wait(lambda: len(d.app.view["lines"]) == 2, "two lines")
    d.scan(BADGE)
    d.wait_screen("attendant")
    d.frames()
    d.ui(lambda: d.app.screen("attendant").open_line(1))
    d.wait_screen("attendant_item")
    d.tap("void")
    d.wait_screen("attendant")  # back by itself once the line is voided
    d.wait(lambda: d.app.view["lines"][0].get("voided"), "the water voided")
    d.frames()
    d.result[lang]["lines_shown"] = d.ui(lambda: [r["text"] for r in d.widget("lines").data])
    d.result[lang]["voided_word"] = _t(d, "(voided)")
    d.screenshot(lang, "attendant_voided")
    d.ui(lambda: d.app.screen("attendant").open_line(2))
    d.wait_screen("attendant_item")
    d.tap("override")  # no price typed yet: the screen says so, nothing is sent
    d.result[lang]["no_price"] = d.ui(lambda: d.app.screen("attendant_item").message)
    d.keys("keypad", ["5", "00"])
    d.tap("override")  # no reason chosen yet
    d.result[lang]["no_reason"] = d.ui(lambda: d.app.screen("attendant_item").message)
    d.tap(text=_t(d, "Damaged item"))
    d.tap("override")
    d.wait_screen("attendant")  # back by itself once the line has its new price
    d.tap("logout")
    d.wait_screen("basket")
    d.result[lang]["total_shown"] = d.ui(lambda: d.widget("total").text)
    d.tap("pay_button")
    d.wait_screen("payment")
    d.tap(text=d.ui(lambda: d.app.t("Bank card")))
    d.wait_screen("receipt")
    d.wait(lambda: d.app.view.get("mode") == "complete", "the sale completed")
    d.result[lang]["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]


def _each_language(d: Any, langs: str, scenario: Any) -> None:
    for lang in langs.split(","):
        start = len(d.screens)
        scenario(d, lang)
        d.result[lang]["screens"] = list(d.screens[start:])
        _next_customer(d)


def age_checks(d: Any, langs: str) -> None:
    """``age_check`` in each of ``langs`` (comma-separated), one after the other."""
    _each_language(d, langs, age_check)


def line_edit_sales(d: Any, langs: str) -> None:
    """``line_edits`` in each of ``langs`` (comma-separated), one after the other."""
    _each_language(d, langs, line_edits)


def cash_sales(d: Any, langs: str) -> None:
    """``cash`` in each of ``langs`` (comma-separated), one after the other."""
    _each_language(d, langs, cash)


# ---------------------------------------------------------------------- the tests
LANGS = "zh_CN,en"


def _run(run_scenario: Scenario, scenario: str) -> dict[str, Any]:
    """Both languages, one after the other, in one app on the test run's Xvfb display."""
    result: dict[str, Any] = run_scenario(f"tests.ui.test_h3_attendant_ui:{scenario}", lang=LANGS)
    return dict(result["result"])


def _sale(db: Path, receipt_no: str) -> tuple[Any, list[Any], list[Any]]:
    with sqlite3.connect(db) as conn:
        sale = conn.execute(
            "SELECT seq, due, paid, change, body FROM sales WHERE receipt_no = ?", (receipt_no,)
        ).fetchone()
        assert sale is not None, f"no sale {receipt_no} in kiosk.db"
        lines = conn.execute(
            "SELECT sku, qty, amount FROM sale_lines WHERE seq = ? ORDER BY line_no", (sale[0],)
        ).fetchall()
        tenders = conn.execute(
            "SELECT type, amount, tendered, change FROM sale_tenders WHERE seq = ?", (sale[0],)
        ).fetchall()
    return sale, lines, tenders


def test_age_restricted_item_approved_by_an_attendant(
    run_scenario: Scenario, tmp_path: Path
) -> None:
    results = _run(run_scenario, "age_checks")
    for lang in LANGS.split(","):
        _check_age(results[lang], lang, tmp_path / "demo" / "kiosk.db")


def _check_age(found: dict[str, Any], lang: str, db: Path) -> None:
    screens = found["screens"]
    assert screens.index("basket") < screens.index("staff_login") < screens.index("attendant")
    assert screens[-1] == "receipt"
    assert found["staff_id_shown"].endswith("E01")
    assert "1234" not in found["pin_shown"]
    assert found["pin_shown"].endswith("●●●●")
    assert len(found["queue"]) == 1
    assert found["empty_text"]  # "nothing is waiting" once the check was approved
    sale, lines, tenders = _sale(db, found["receipt_no"])
    assert [row[0] for row in lines] == ["100001", "100002"]  # the water and the beer
    assert sale[1] == 750
    assert [tender[:2] for tender in tenders] == [("card", 750)]
    actions = json.loads(sale[4])["attendant_actions"]
    checks = [a for a in actions if a["kind"] == "age_check"]
    assert [a["staff"] for a in checks] == ["E01"]  # who checked it is on record, no ID data
    assert set(checks[0]) == {"at", "kind", "staff"}  # nothing about the ID itself
    for screen in ("staff_login", "attendant"):
        assert (SHOTS / lang / f"{screen}.png").is_file()


def test_cash_payment_with_change_and_the_drawer(run_scenario: Scenario, tmp_path: Path) -> None:
    results = _run(run_scenario, "cash_sales")
    for lang in LANGS.split(","):
        _check_cash(results[lang], lang, tmp_path / "demo" / "kiosk.db")


def _check_cash(found: dict[str, Any], lang: str, db: Path) -> None:
    screens = found["screens"]
    for screen in ("attendant", "attendant_shift", "attendant_item", "attendant_cash"):
        assert screen in screens
    # the customer chose cash by touch; the attendant found it waiting in the queue
    assert screens.index("basket") < screens.index("payment") < screens.index("attendant_cash")
    assert len(found["cash_queue"]) == 1
    assert found["cash_screen"] == "processing"  # the customer waits, told an attendant comes
    assert "20.00" in found["tendered_shown"]
    assert "11.50" in found["change_shown"]  # 20.00 for 8.50
    assert found["drawer_waiting"]
    assert found["drawer_closed"] and found["drawer_closed"] != found["drawer_waiting"]
    assert found["completed"]
    assert "8.50" in found["report"]
    sale, lines, tenders = _sale(db, found["receipt_no"])
    assert [row[0] for row in lines] == ["100001", "100005"]  # the water and the crisps
    assert (sale[1], sale[2], sale[3]) == (850, 850, 1150)
    assert tenders == [("cash", 850, 2000, 1150)]
    for screen in ("attendant_cash", "attendant_item", "attendant_shift", "attendant_devices"):
        assert (SHOTS / lang / f"{screen}.png").is_file()
    # the devices screen: a scan echoed (not sold: the sale stays complete, no new basket)
    assert found["scanner_prompt"] and WATER not in found["scanner_prompt"]
    assert "EAN-13" in found["scanner_echo"] and WATER in found["scanner_echo"]
    assert found["after_echo"] == ["complete", 0]
    assert found["light_step"] and found["light_result"]
    assert found["light_step"] != found["light_result"]
    assert found["test_passed"] in found["device_log"]  # in the staff's language
    assert lang == "en" or "test passed" not in found["device_log"]
    assert found["printer_result"] and found["printer_result"] != found["light_result"]


def test_an_attendant_voids_a_line_and_overrides_a_price_with_a_reason(
    run_scenario: Scenario, tmp_path: Path
) -> None:
    results = _run(run_scenario, "line_edit_sales")
    for lang in LANGS.split(","):
        _check_line_edits(results[lang], lang, tmp_path / "demo" / "kiosk.db")


def _check_line_edits(found: dict[str, Any], lang: str, db: Path) -> None:
    screens = found["screens"]
    assert screens.index("basket") < screens.index("attendant") < screens.index("attendant_item")
    assert screens[-1] == "receipt"
    voided, kept = found["lines_shown"]
    assert voided.endswith(found["voided_word"]) and found["voided_word"] not in kept
    assert lang == "en" or "voided" not in found["voided_word"]
    # refused before anything is sent, each with its own message
    assert found["no_price"] and found["no_reason"] and found["no_price"] != found["no_reason"]
    sale, lines, tenders = _sale(db, found["receipt_no"])
    assert lines == [("100005", "1", 500)]  # the crisps at 5.00; the voided water is not sold
    assert sale[1] == 500
    assert [tender[:2] for tender in tenders] == [("card", 500)]
    body = json.loads(sale[4])
    actions = body["attendant_actions"]
    assert [(a["kind"], a["staff"]) for a in actions] == [
        ("void", "E01"),
        ("price_override", "E01"),
    ]
    assert body["lines"][0]["discounts"] == [
        {"amount": -150, "kind": "price_override", "reason": "damaged item", "staff": "E01"}
    ]
    assert (SHOTS / lang / "attendant_voided.png").is_file()
