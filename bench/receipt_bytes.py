"""Issue 3 benchmark: bytes a receipt job sends, beside the minimal text bytes of its lines.

Main thread, no I/O but reading the demo catalog and, for the raster figures, the CJK font.
A sale of 20 item lines (the first 20 products for sale by the each in the shipped demo catalog,
one of each, their real names and prices, VAT13 and VAT9 lines) becomes a ``Receipt`` in
English and in Chinese, which ``kiosk.hw.escpos_render.measure_receipt`` renders exactly as
``EscposPrinter`` prints it: ``ESC @``, the lines, bold total, the CODE128 of the receipt
number, feed and cut.

- Figures ``en_text`` and ``zh_text``: on ``epson-tm-t88-zh`` (42 columns, a GB18030 font ROM,
  so Chinese prints as text in Kanji mode), the bytes sent and the printed lines.
- Floor (same lines): the fewest bytes that could carry them as text, one byte per ASCII or
  code-page character, the GB18030 length of the rest, one line feed per line
  (``minimal_text_bytes``). Goal (issue 3): sent ≤ 1.5× minimal, no raster line on a
  text-capable printer.
- For information, ``en_raster`` and ``zh_raster``: the same receipts on ``epson-tm-t88`` (no
  CJK font, same 42 columns), where every line holding Chinese (the store name and address on
  both, the item names on the Chinese one) is sent as a raster image drawn with Noto Sans CJK.
  No goal: that is the price of a printer without a font ROM.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from importlib import resources
from typing import Any, Final

from bench.fixtures import Context
from bench.harness import ratio, result
from kiosk.hw.escpos_render import ByteBudget, measure_receipt
from kiosk.hw.printer_profiles import DEFAULT_FONT, DEFAULT_FONT_INDEX, PrinterProfile, get_profile
from kiosk.hw.raster import RasterFont
from kiosk.receipt import Receipt, ReceiptLine, ReceiptTax, ReceiptTender, ReceiptTotals

NAME: Final = "receipt_bytes"
GOAL_RATIO: Final = 1.5
ITEM_LINES: Final = 20
TEXT_PROFILE: Final = "epson-tm-t88-zh"
RASTER_PROFILE: Final = "epson-tm-t88"
RATES: Final[dict[str, tuple[int, str]]] = {"VAT13": (13, "13%"), "VAT9": (9, "9%")}


def demo_items(count: int = ITEM_LINES) -> list[dict[str, str]]:
    """The first ``count`` products for sale by the each in the shipped demo catalog."""
    text = (resources.files("kiosk") / "demo" / "catalog.csv").read_text(encoding="utf-8")
    rows = [
        row
        for row in csv.DictReader(text.splitlines())
        if row["unit"] == "ea" and row.get("not_for_sale", "0") in ("", "0")
    ]
    if len(rows) < count:
        raise RuntimeError(f"the demo catalog has {len(rows)} items sold by the each, need {count}")
    return rows[:count]


def _fen(price: str) -> int:
    yuan, _, fen = price.partition(".")
    return int(yuan) * 100 + int((fen + "00")[:2])


def _included_tax(gross: int, percent: int) -> int:
    """VAT included in ``gross`` at ``percent``, rounded half up (integer fen)."""
    return (2 * gross * percent + 100 + percent) // (2 * (100 + percent))


def twenty_line_receipt(language: str) -> Receipt:
    """A paid card sale of the 20 demo items in ``language`` (``en`` or ``zh_CN``)."""
    items = demo_items()
    name_key = "name_zh_CN" if language == "zh_CN" else "name_en"
    lines = tuple(
        ReceiptLine(row[name_key], "1", "ea", _fen(row["price"]), _fen(row["price"]), (), code)
        for row in items
        for code in [row["tax_code"]]
    )
    taxes = []
    for code, (percent, text) in RATES.items():
        gross = sum(line.gross for line in lines if line.tax_code == code)
        if gross:
            tax = _included_tax(gross, percent)
            taxes.append(ReceiptTax(code, text, gross - tax, tax))
    due = sum(line.gross for line in lines)
    tax_total = sum(t.tax for t in taxes)
    return Receipt(
        store_name="示例超市 Demo Market",
        address=("上海市浦东新区示例路 1 号", "1 Example Road, Pudong, Shanghai"),
        header=(),
        kiosk_id="s0001-k01",
        receipt_no="s0001-k01-1234",
        seq=1234,
        occurred_at="2026-11-27 17:15",
        business_day="2026-11-27",
        language=language,
        currency="CNY",
        lines=lines,
        basket_adjustments=(),
        taxes=tuple(taxes),
        totals=ReceiptTotals(due, 0, tax_total, True, 0, due),
        tenders=(ReceiptTender("card", due, ref="****4242"),),
        change=0,
        member_id=None,
        barcode="Rs0001-k01-1234",
        footer=(),
    )


def _font_source(profile: PrinterProfile) -> Callable[[], RasterFont]:
    loaded: list[RasterFont] = []

    def load() -> RasterFont:
        if not loaded:
            loaded.append(RasterFont.load(DEFAULT_FONT, DEFAULT_FONT_INDEX, 2 * profile.char_dots))
        return loaded[0]

    return load


def _budget(budget: ByteBudget) -> dict[str, Any]:
    return {
        "bytes": budget.sent,
        "text_lines": budget.text_lines,
        "raster_lines": budget.raster_lines,
        "vs_minimal": round(budget.ratio, 2),
    }


def run(ctx: Context) -> dict[str, Any]:
    del ctx  # nothing to build: the receipts come from the shipped demo catalog
    text_profile, raster_profile = get_profile(TEXT_PROFILE), get_profile(RASTER_PROFILE)
    fonts = _font_source(raster_profile)
    figures: dict[str, Any] = {}
    floor: dict[str, Any] = {}
    ratios: dict[str, float] = {}
    raster_free = True
    for short, language in (("en", "en"), ("zh", "zh_CN")):
        receipt = twenty_line_receipt(language)
        text = measure_receipt(receipt, text_profile, fonts)
        raster = measure_receipt(receipt, raster_profile, fonts)
        figures[f"{short}_text"] = _budget(text)
        figures[f"{short}_raster"] = _budget(raster)
        floor[f"{short}_minimal_text"] = {
            "bytes": text.minimal,
            "lines": text.text_lines + text.raster_lines,
        }
        ratios[f"{short}_text_vs_minimal"] = ratio(text.sent, text.minimal)
        ratios[f"{short}_raster_vs_minimal"] = ratio(raster.sent, raster.minimal)
        raster_free = raster_free and text.raster_lines == 0
    ratios["worst_text_vs_minimal"] = max(
        ratios["en_text_vs_minimal"], ratios["zh_text_vs_minimal"]
    )
    primary = "worst_text_vs_minimal"
    return result(
        NAME,
        figures=figures,
        floor=floor,
        ratios=ratios,
        primary=primary,
        goal=(
            f"text receipt bytes <= {GOAL_RATIO:g}x minimal text bytes (en and zh), "
            f"no raster lines on {TEXT_PROFILE}"
        ),
        met=ratios[primary] <= GOAL_RATIO and raster_free,
        params={
            "item_lines": ITEM_LINES,
            "text_profile": TEXT_PROFILE,
            "raster_profile": RASTER_PROFILE,
            "columns": text_profile.columns,
            "raster_font": DEFAULT_FONT,
        },
    )
