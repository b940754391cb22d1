"""The attract, receipt, help, out-of-service and still-there presenters."""

from __future__ import annotations

from collections.abc import Callable

import segno

from kiosk.ui.presenters.attract import present_attract
from kiosk.ui.presenters.notices import (
    CONTINUE_COMMAND,
    present_help,
    present_out_of_service,
    present_still_there,
)
from kiosk.ui.presenters.receipt import QR_TEXT_MAX_BYTES, present_receipt, qr_text
from kiosk.ui.presenters.text import Text
from tests.unit.ui.conftest import view

Make = Callable[[str], Text]
RECEIPT = {"receipt_no": "s0001-k01-7", "barcode": "Rs0001-k01-7", "text": "RECEIPT TEXT"}


def test_attract_offers_each_language_by_its_own_name(text_of: Make) -> None:
    shown = present_attract(view(language="zh_CN"), text_of("zh_CN"), "Demo", ["zh_CN", "en", "ja"])
    assert [(c.label, c.selected) for c in shown.languages] == [
        ("中文", True),
        ("English", False),
        ("日本語", False),
    ]
    assert shown.title == "欢迎光临" and shown.start == "开始" and shown.store == "Demo"
    assert present_attract(view(), text_of("ja"), "Demo", ["ja"]).title == "いらっしゃいませ"


def test_a_printed_receipt_says_take_it_and_shows_no_qr(text_of: Make) -> None:
    # the view's totals and tenders already belong to the next (empty) sale
    fields = view(
        mode="complete",
        last_receipt={**RECEIPT, "printed": True, "print_error": None, "paid": 1000, "change": 300},
        totals={"paid": 0},
        tenders=[],
    )
    shown = present_receipt(fields, text_of("en"))
    assert shown.message == "Please take your receipt."
    assert shown.qr_payload == "" and shown.receipt_text == "" and not shown.printing
    assert shown.total == "Paid CN¥10.00" and shown.change == "Change CN¥3.00"
    assert shown.receipt_no == "Receipt s0001-k01-7"


def test_a_receipt_the_printer_failed_is_shown_with_a_qr(text_of: Make) -> None:
    fields = view(
        mode="complete", last_receipt={**RECEIPT, "printed": False, "print_error": "paper_out"}
    )
    shown = present_receipt(fields, text_of("zh_CN"))
    assert shown.qr_payload == "RECEIPT TEXT" and shown.receipt_text == "RECEIPT TEXT"
    assert shown.message == "打印机无法打印小票。请扫描此二维码保存小票。"
    assert shown.change == ""


def test_the_qr_holds_the_receipt_compact_or_its_barcode_when_too_long(text_of: Make) -> None:
    printed = "  Demo Store  \n\n农夫山泉 550ml        1 x 2.00      2.00\n" + "-" * 32 + "\n"
    assert qr_text(printed) == "Demo Store\n农夫山泉 550ml  1 x 2.00  2.00\n--------"
    failed = {"printed": False, "print_error": "paper_out"}
    short = present_receipt(
        view(last_receipt={**RECEIPT, **failed, "text": printed}), text_of("en")
    )
    assert short.qr_payload == qr_text(printed)
    assert short.message == "The printer cannot print your receipt. Scan this code to keep it."
    long_text = "\n".join(f"商品 {n}  1 x 9.99  9.99" for n in range(60))  # over the limit
    assert len(qr_text(long_text).encode()) > QR_TEXT_MAX_BYTES
    long = present_receipt(
        view(last_receipt={**RECEIPT, **failed, "text": long_text}), text_of("en")
    )
    assert long.qr_payload == "Rs0001-k01-7" and long.receipt_text == long_text
    assert "attendant" in long.message


def test_the_longest_receipt_in_a_qr_fits_a_symbol_a_phone_reads_off_the_panel() -> None:
    """QR_TEXT_MAX_BYTES of UTF-8, Chinese or not, make a version 25 symbol at most, at the
    error level the screen draws (kiosk.ui.widgets.QrImage)."""
    chinese = ("农夫山泉" * 200).encode()[: QR_TEXT_MAX_BYTES - QR_TEXT_MAX_BYTES % 3].decode()
    for payload in (chinese, "x" * QR_TEXT_MAX_BYTES):
        assert segno.make(payload, error="m", micro=False).version <= 25
    assert segno.make("x" * (QR_TEXT_MAX_BYTES + 1), error="m", micro=False).version > 25


def test_a_receipt_still_printing_says_so(text_of: Make) -> None:
    fields = view(mode="complete", last_receipt={**RECEIPT, "printed": False, "print_error": None})
    shown = present_receipt(fields, text_of("en"))
    assert shown.printing and shown.qr_payload == ""


def test_help_says_whether_the_attendant_was_called(text_of: Make) -> None:
    calling = present_help(view(), text_of("en"))
    assert calling.message == "Calling an attendant…" and calling.action == "Back"
    called = present_help(view(interventions=[{"reason": "help"}]), text_of("en"))
    assert called.message == "An attendant has been called and will be with you shortly."


def test_out_of_service_shows_customers_only_a_reason_they_are_told(text_of: Make) -> None:
    given = present_out_of_service(view(out_of_service="cleaning"), text_of("en"))
    assert given.message == "Closed for cleaning.\nPlease use another checkout."
    assert given.action == ""
    chinese = present_out_of_service(view(out_of_service="Maintenance"), text_of("zh_CN"))
    assert "maintenance" not in chinese.message.lower() and "\n" in chinese.message
    for hidden in (  # a fault's text, the lane's own words, a free text: never to customers
        "storage: disk I/O error at /var/lib",
        "the saved lane could not be read: Expecting value: line 1 column 1",
        "closed by staff",
        "printer jammed, see Li",
    ):
        shown = present_out_of_service(view(out_of_service=hidden), text_of("en"))
        assert shown.message == "Please use another checkout.", hidden
        assert shown.title == "This checkout is closed"


def test_still_there_prompts_then_waits_for_staff(text_of: Make) -> None:
    prompt = present_still_there(view(idle="prompt"), text_of("en"))
    assert prompt.title == "Are you still there?" and prompt.action == "I'm still here"
    suspended = present_still_there(view(idle="suspended"), text_of("zh_CN"))
    assert suspended.title == "您的购物篮已保留" and suspended.action == ""
    assert CONTINUE_COMMAND == {"cmd": "still_here"}
