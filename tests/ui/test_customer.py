"""The customer's touchscreen, driven under Xvfb by touches and fake scans (tests/ui/driver.py)."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
from pathlib import Path
from typing import Any

from tests.ui.conftest import SHOTS, Scenario
from tests.ui.glyphs import missing_glyphs


def _sales(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM sales ORDER BY rowid")]


def test_a_full_customer_sale_is_committed(run_scenario: Scenario, tmp_path: Path) -> None:
    """... and, as under systemd (Type=notify), READY=1 once the lane restored and STOPPING=1
    at the exit reach $NOTIFY_SOCKET; the receipt is written to the receipts folder."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    try:
        report = run_scenario("full_sale", env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
        notify.setblocking(False)
        messages = []
        with contextlib.suppress(BlockingIOError):
            while True:
                messages.append(notify.recv(4096).decode())
    finally:
        notify.close()
    states = [line for message in messages for line in message.splitlines()]
    assert "READY=1" in states and states[-1] == "STOPPING=1"
    assert states.index("READY=1") < states.index("STOPPING=1")
    receipts = tmp_path / "demo" / "receipts"
    assert f"lane s0001-k01 ready (touchscreen); receipts in {receipts}" in report["stdout"]
    texts = sorted(receipts.glob("*.txt"))
    assert len(texts) == 1 and texts[0].with_suffix(".escpos").stat().st_size > 0
    assert report["screens"] == ["attract", "basket", "payment", "receipt", "attract"] or (
        report["screens"][:3] == ["attract", "basket", "payment"]
        and report["screens"][-2:] == ["receipt", "attract"]
    )
    result = report["result"]
    assert result["total"] == "¥10.50" and result["pay_label"] == "付款"
    assert result["message"] == "请取走您的小票。" and result["qr"] == ""
    sales = _sales(tmp_path / "demo" / "kiosk.db")
    assert len(sales) == 1
    assert sales[0]["receipt_no"] == result["receipt_no"]
    assert result["receipt_no"] in texts[0].read_text(encoding="utf-8")


def test_a_sale_while_the_printer_is_out_of_paper_shows_a_qr(
    run_scenario: Scenario, tmp_path: Path
) -> None:
    report = run_scenario("paper_out")
    result = report["result"]
    # the QR holds the receipt itself (a one-line sale fits): the number and the water in it
    assert result["receipt_no"] in result["qr"] and "农夫山泉" in result["qr"]
    assert result["qr_texture"]
    assert result["message"] == "打印机无法打印小票。请扫描此二维码保存小票。"
    assert [sale["receipt_no"] for sale in _sales(tmp_path / "demo" / "kiosk.db")] == [
        result["receipt_no"]
    ]
    assert (SHOTS / "zh_CN" / "receipt_qr.png").stat().st_size > 0


def test_the_language_switches_in_the_middle_of_a_basket(run_scenario: Scenario) -> None:
    report = run_scenario("language_switch", languages='["zh_CN", "en", "ja"]')
    before, after, ja = (report["result"][k] for k in ("before", "after", "ja"))
    assert (before["lang"], before["pay"], before["row"]) == ("zh_CN", "付款", "农夫山泉 550ml")
    assert before["notice"] == "无法识别此条码，请向工作人员求助。"
    assert (after["lang"], after["view_language"], after["pay"]) == ("en", "en", "Pay")
    assert after["row"] == "Nongfu Spring water 550ml"
    assert after["notice"] == "This barcode is not one the kiosk knows. Please ask staff for help."
    assert after["total"] == "CN¥2.00" and report["result"]["lines"] == 1  # basket kept
    assert (ja["lang"], ja["pay"]) == ("ja", "支払う")


def test_cjk_text_renders_as_glyphs_not_boxes(run_scenario: Scenario) -> None:
    report = run_scenario("cjk_glyphs", check_glyphs=False)  # draws boxes on purpose
    result = report["result"]
    kiosk, default = result["kiosk"], result["default"]
    # the check can see boxes: Kivy's default font draws every CJK character as the same box
    assert default["zh"] == default["zh2"] == default["missing"]
    # the kiosk font draws each character as itself, none as the font's missing-glyph box
    glyphs = [kiosk[k] for k in ("zh", "zh2", "ja", "ja2")]
    assert len(set(glyphs)) == 4
    assert kiosk["missing"] not in glyphs
    assert result["row_font"] == "KioskFont"
    # the glyph check every UI scenario gets (tests/ui/glyphs.py) finds exactly the boxes drawn
    found = missing_glyphs(report["drawn_text"])
    missing = {Path(font).name: chars for font, chars in found.items()}
    roboto = [name for name in missing if name.startswith("Roboto")]
    assert len(roboto) == 1 and set("中文あカ\ue000") <= set(missing.pop(roboto[0]))
    assert missing and set(missing.values()) == {"\ue000"}  # the kiosk font: only the planted one
