"""The UI scenarios, each run by tests/ui/driver.py in its own Kivy process. Each drives the
kiosk like a customer and puts what the test asserts on (besides the screens visited and
kiosk.db) into ``d.result``. Runs on the driver's scenario thread."""

from __future__ import annotations

from typing import Any

from kiosk.ui.i18n import LANGUAGES
from tests.ui.driver import Driver

WATER = "6921168509256"  # 2.00, sold each
CRISPS = "6918473200565"  # 6.50
NOT_A_BARCODE = "HELLO-123"  # no barcode format the kiosk knows
STAFF_BADGE = "ST0001"  # demo staff E01, attendant


def _lines(d: Driver) -> int:
    return len(d.app.view.get("lines") or ())


def _pay_by_card(d: Driver) -> None:
    d.tap("pay_button")
    d.wait_screen("payment")
    d.tap(text=d.ui(lambda: d.app.t("Bank card")))
    d.wait_screen("receipt")


def _finish(d: Driver) -> None:
    d.tap("done_button")
    d.wait_screen("attract")


def full_sale(d: Driver) -> None:
    d.wait_screen("attract")
    d.tap("start_button")
    d.wait_screen("basket")
    d.scan(WATER)
    d.scan(WATER)
    d.scan(CRISPS)
    d.wait(lambda: _lines(d) == 2, "two basket lines")
    d.result["total"] = d.ui(lambda: d.widget("total").text)
    d.result["pay_label"] = d.ui(lambda: d.widget("pay_button").text)
    _pay_by_card(d)
    d.wait(lambda: (d.app.view.get("last_receipt") or {}).get("printed"), "the receipt printed")
    d.result["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]
    d.result["message"] = d.ui(lambda: d.widget("message").text)
    d.result["qr"] = d.ui(lambda: d.widget("qr").payload)
    _finish(d)


def paper_out(d: Driver) -> None:
    d.wait_screen("attract")
    d.scan(WATER)  # a scan starts the sale from the attract screen
    d.wait_screen("basket")
    d.sim("printer.paper_out")
    _pay_by_card(d)
    d.wait(lambda: (d.app.view.get("last_receipt") or {}).get("print_error"), "a print error")
    d.wait(lambda: d.widget("qr").payload, "the QR code")
    d.result["qr"] = d.ui(lambda: d.widget("qr").payload)
    d.result["qr_texture"] = d.ui(lambda: d.widget("qr").texture is not None)
    d.result["receipt_no"] = d.app.view["last_receipt"]["receipt_no"]
    d.result["message"] = d.ui(lambda: d.widget("message").text)
    d.screenshot("zh_CN", "receipt_qr")


def language_switch(d: Driver) -> None:
    d.wait_screen("attract")
    d.scan(WATER)
    d.wait_screen("basket")
    d.scan(NOT_A_BARCODE)
    d.wait(lambda: d.app.notice, "the message for a bad code")

    def seen() -> dict[str, Any]:
        return {
            "lang": d.app.lang,
            "view_language": d.app.view.get("language"),
            "pay": d.widget("pay_button").text,
            "notice": d.widget("notice").text,
            "row": d.app.view["lines"][0]["name"],
            "total": d.widget("total").text,
        }

    d.result["before"] = d.ui(seen)
    d.tap(text=LANGUAGES["en"])
    d.wait(lambda: d.app.view.get("language") == "en", "the lane in English")
    d.frames()
    d.result["after"] = d.ui(seen)
    d.result["lines"] = _lines(d)
    d.tap(text=LANGUAGES["ja"])
    d.wait(lambda: d.app.view.get("language") == "ja", "the lane in Japanese")
    d.frames()
    d.result["ja"] = d.ui(seen)


def cjk_glyphs(d: Driver) -> None:
    """Render single characters with the kiosk font and with Kivy's default font; return a
    digest of each texture's pixels (equal digests = the same picture, e.g. the same box)."""

    def render() -> dict[str, Any]:
        import hashlib

        from kivy.core.text import Label as CoreLabel

        def picture(char: str, font: str) -> str:
            label = CoreLabel(text=char, font_name=font, font_size=48)
            label.refresh()
            return hashlib.sha256(label.texture.pixels).hexdigest()

        chars = {"zh": "中", "zh2": "文", "ja": "あ", "ja2": "カ", "missing": "\ue000"}
        return {
            "kiosk": {k: picture(c, "KioskFont") for k, c in chars.items()},
            "default": {k: picture(c, "Roboto") for k, c in chars.items()},
        }

    d.result.update(d.ui(render))
    d.scan(WATER)
    d.wait_screen("basket")
    d.result["row_font"] = d.ui(lambda: d.widget("last_name").font_name)


def screenshots(d: Driver, langs: str) -> None:
    """Every customer screen of the shell in each of ``langs`` (comma-separated), one after
    the other in this one app (a sale each)."""
    d.result["out_of_service"] = {}
    for lang in langs.split(","):
        _screenshots(d, lang)


def _screenshots(d: Driver, lang: str) -> None:
    d.wait_screen("attract")
    d.tap(text=LANGUAGES[lang])
    d.wait(lambda: d.app.lang == lang, f"the language {lang}")
    d.screenshot(lang, "attract")
    _out_of_service(d, lang)
    d.scan(WATER)
    d.wait_screen("basket")
    d.scan(WATER)
    d.scan(CRISPS)
    d.scan(NOT_A_BARCODE)
    d.wait(lambda: _lines(d) == 2 and d.app.notice, "two lines and a message")
    d.screenshot(lang, "basket")
    d.tap("help_button")
    d.wait_screen("help")
    d.wait(lambda: d.app.view.get("interventions"), "the help request")
    d.screenshot(lang, "help")
    d.tap("action_button")
    d.wait_screen("basket")
    _pay_by_card(d)
    d.wait(lambda: (d.app.view.get("last_receipt") or {}).get("printed"), "the receipt printed")
    d.screenshot(lang, "receipt")
    _finish(d)


def _staff(d: Driver, msgid: str) -> str:
    return str(d.ui(lambda: d.app.t(msgid, d.app.staff_lang)))


def _out_of_service(d: Driver, lang: str) -> None:
    """An attendant closes the lane for cleaning by touch and logs out (the customer's language
    is kept), then opens it again."""
    d.scan(STAFF_BADGE)
    d.wait_screen("attendant")
    d.tap("service")  # "Close the lane": it asks why, in the queue's place
    d.wait(lambda: d.app.screen("attendant").closing, "the reasons")
    d.frames(2)
    d.screenshot(lang, "attendant_close_lane")
    d.result.setdefault("close_reasons", {})[lang] = d.ui(
        lambda: [b.text for b in d.widget("queue").walk() if type(b).__name__ == "KioskButton"]
    )
    d.tap(text=_staff(d, "Cleaning"))
    d.wait(lambda: d.app.view.get("mode") == "out_of_service", "out of service")
    d.result.setdefault("closed_reason", {})[lang] = d.app.view.get("out_of_service")
    d.tap("logout")
    d.wait_screen("out_of_service")
    d.screenshot(lang, "out_of_service")
    d.result["out_of_service"][lang] = d.ui(lambda: d.widget("message").text)
    d.scan(STAFF_BADGE)
    d.wait_screen("attendant")
    d.tap("service")  # "Open the lane"
    d.wait(lambda: d.app.view.get("mode") != "out_of_service", "open again")
    d.tap("logout")
    d.wait_screen("attract")


def idle(d: Driver, lang: str) -> None:
    """The idle prompt, then the suspended basket (the test config makes both quick)."""
    d.wait_screen("attract")
    d.tap(text=LANGUAGES[lang])
    d.wait(lambda: d.app.lang == lang, f"the language {lang}")
    d.scan(WATER)
    d.wait_screen("basket")
    d.wait_screen("still_there", timeout=15)
    d.screenshot(lang, "still_there")
    d.result["prompt"] = d.ui(lambda: d.widget("title").text)
    d.tap("action_button")  # "I'm still here"
    d.wait_screen("basket")
    d.wait(lambda: d.app.view.get("idle") == "suspended", "the sale suspended", 20)
    d.wait_screen("still_there")
    d.screenshot(lang, "still_there_suspended")
    d.result["suspended"] = d.ui(lambda: d.widget("title").text)
    d.result["lines"] = _lines(d)
