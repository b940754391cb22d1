"""kiosk.hw.escpos_render, printer_profiles and raster: ESC/POS bytes for receipts and text,
checked byte for byte and against python-escpos's own commands (its Dummy printer)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from escpos import constants
from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from kiosk.errors import ConfigError, DeviceError
from kiosk.hw import escpos_render as er
from kiosk.hw.printer_profiles import (
    DEFAULT_FONT,
    PROFILES,
    Cutter,
    PrinterProfile,
    get_profile,
)
from kiosk.hw.raster import RasterFont, raster_command
from kiosk.receipt import (
    Receipt,
    ReceiptAdjustment,
    ReceiptLine,
    ReceiptTax,
    ReceiptTender,
    ReceiptTotals,
    render_text,
)
from kiosk.receipt_text import display_width

ZH = get_profile("epson-tm-t88-zh")  # GB18030 ROM, 42 columns, code page 0 (cp437)
LATIN = get_profile("epson-tm-t88")  # no CJK ROM, code page 16 (cp1252)
CUT = b"\x1dVB\x00"  # GS V 66 0: feed to the cutter, partial cut


def font() -> RasterFont:
    return RasterFont.load(DEFAULT_FONT)


def make_receipt(
    language: str = "en", names: tuple[str, ...] = ("Milk",), **changes: object
) -> Receipt:
    lines = tuple(ReceiptLine(name, "1", "ea", 350, 350, (), "VAT13") for name in names)
    due = 350 * len(names)
    receipt = Receipt(
        store_name="Shop",
        address=(),
        header=(),
        kiosk_id="k1",
        receipt_no="s1-k1-42",
        seq=42,
        occurred_at="2026-11-27 17:15",
        business_day="2026-11-27",
        language=language,
        currency="CNY",
        lines=lines,
        basket_adjustments=(),
        taxes=(ReceiptTax("VAT13", "13%", 310 * len(names), 40 * len(names)),),
        totals=ReceiptTotals(due, 0, 40 * len(names), True, 0, due),
        tenders=(ReceiptTender("card", due, ref="****4242"),),
        change=0,
        member_id=None,
        barcode="Rs1-k1-42",
        footer=(),
    )
    return replace(receipt, **changes)  # type: ignore[arg-type]


def job_bytes(text: str, profile: PrinterProfile, barcode: str = "", **kw: object) -> bytes:
    lines = er.text_lines(text, profile.columns)
    return er.render_job(lines, barcode, profile, kw.get("font"), None).data  # type: ignore[arg-type]


# -- text, code pages and Kanji mode ---------------------------------------------------------------
def test_ascii_text_job_is_init_text_and_cut_exactly() -> None:
    assert job_bytes("Total 12.00\n", LATIN) == b"\x1b@Total 12.00\n" + CUT


def test_chinese_text_is_gb18030_in_kanji_mode_with_fs_and_around_it() -> None:
    data = job_bytes("合计 12.00\nCafé\n", ZH)
    assert data == (
        b"\x1b@"
        + b"\x1c&" + "合计".encode("gb18030") + b" 12.00\n"  # FS & on before the CJK
        + b"Caf\x1c.\x1bt\x00\x82\n"  # FS . off and code page 0 for the cp437 e-acute
        + CUT
    )  # fmt: skip


def test_kanji_mode_is_switched_off_at_the_end_of_the_job() -> None:
    data = job_bytes("香蕉\n", ZH)
    assert data == b"\x1b@\x1c&" + "香蕉".encode("gb18030") + b"\n\x1c." + CUT


def test_kanji_mode_is_sent_once_for_consecutive_chinese_lines() -> None:
    data = job_bytes("香蕉 x2\n苹果\n", ZH)
    assert data.count(b"\x1c&") == 1
    assert "香蕉".encode("gb18030") + b" x2\n" + "苹果".encode("gb18030") in data


def test_latin_accents_use_the_profile_code_page_without_kanji_commands() -> None:
    data = job_bytes("Crème brûlée €3\n", LATIN)
    assert data == b"\x1b@Cr\x1bt\x10" + "ème brûlée €3".encode("cp1252") + b"\n" + CUT
    assert b"\x1c" not in data  # a printer without Kanji mode never sees FS


def test_control_characters_in_text_never_reach_the_printer() -> None:
    data = job_bytes("Milk\x1bd\x05\x07\n", LATIN)
    assert data == b"\x1b@Milkd\n" + CUT


def test_text_wider_than_the_paper_breaks_at_the_column_edge() -> None:
    lines = er.text_lines("a" * 40 + "苹果苹果", 42)
    assert [line.text for line in lines] == ["a" * 40 + "苹", "果苹果"]


# -- receipt document: bold total, barcode, cut --------------------------------------------------
def test_receipt_total_is_bold_and_nothing_else() -> None:
    receipt = make_receipt()
    data = er.render_receipt(receipt, LATIN, None).data
    total = next(line for line in render_text(receipt, 42).splitlines() if line.startswith("Total"))
    assert data.count(b"\x1bE\x01") == 1
    assert b"\x1bE\x01" + total.encode() + b"\x1bE\x00\n" in data


def test_chinese_receipt_total_is_bold_gb18030() -> None:
    data = er.render_receipt(make_receipt("zh_CN"), ZH, None).data
    bold = re.search(rb"\x1bE\x01(.*?)\x1bE\x00", data, re.S)
    assert bold is not None
    assert bold.group(1).startswith("合计".encode("gb18030"))


def test_receipt_bytes_are_the_layout_then_barcode_then_cut() -> None:
    receipt = make_receipt()
    data = er.render_receipt(receipt, LATIN, None).data
    body = render_text(receipt, 42).encode()
    assert data.startswith(b"\x1b@")
    assert data.replace(b"\x1bE\x01", b"").replace(b"\x1bE\x00", b"").startswith(b"\x1b@" + body)
    assert data.endswith(er.code128("Rs1-k1-42", 2, 60) + b"\x1ba\x00" + CUT)


def test_code128_bytes_match_python_escpos() -> None:
    dummy = Dummy()
    dummy._hw_barcode("{BRs1-k1-42", "CODE128", 60, 2, "BELOW", "A", True, "B")
    assert er.code128("Rs1-k1-42", 2, 60) == dummy.output


def test_code128_uses_code_set_c_for_a_long_trailing_number() -> None:
    data = er.code128("Rs0001-k01-000123", 2, 60)
    assert data.endswith(b"\x1dkI\x12{BRs0001-k01-{C\x00\x01\x17")
    assert er.code128_modules("Rs0001-k01-000123") == 11 * (11 + 1 + 3 + 2) + 13


def test_code128_escapes_a_brace_in_the_data() -> None:
    assert er.code128("A{B", 2, 60).endswith(b"\x1dkI\x06{BA{{B")


@pytest.mark.parametrize("bad", ["", "R\x00", "收据"])
def test_barcode_that_is_not_printable_ascii_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        er.code128(bad, 2, 60)
    with pytest.raises(ValueError, match="printable ASCII"):
        er.qr_code(bad, 4)


def test_qr_bytes_match_python_escpos_native_qr() -> None:
    dummy = Dummy()
    dummy.qr("Rs1-k1-42", ec=constants.QR_ECLEVEL_M, size=5, native=True)
    assert er.qr_code("Rs1-k1-42", 5) == dummy.output


def test_long_receipt_number_on_58mm_paper_prints_as_qr() -> None:
    profile = get_profile("xprinter-58")
    number = "Rs0001-k01-000123"
    assert er.code128_modules(number) * 2 > profile.dots
    data = er.render_job([], number, replace(profile, barcode="code128"), None).data
    assert b"\x1dkI" not in data
    assert er.qr_code(number, profile.qr_module) + number.encode() + b"\n" in data


def test_no_barcode_when_the_number_is_empty_or_the_kind_is_none() -> None:
    assert er.render_job([], "", LATIN, None).data == b"\x1b@" + CUT
    assert er.render_job([], "R1-1", LATIN, None, "none").data == b"\x1b@" + CUT


@pytest.mark.parametrize(
    ("changes", "tail"),
    [
        ({"cutter": "partial"}, b"\x1dVB\x00"),
        ({"cutter": "full"}, b"\x1dVA\x00"),
        ({"cutter": "none", "feed_lines": 5}, b"\x1bd\x05"),
        ({"cutter": "full", "cut_with_feed": False, "feed_lines": 6}, b"\x1bd\x06\x1dV\x00"),
    ],
)
def test_feed_and_cut_follows_the_profile(changes: dict[str, object], tail: bytes) -> None:
    assert er.feed_and_cut(replace(LATIN, **changes)) == tail  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "cutter"), [("FULL", "full"), ("PART", "partial")])
def test_feed_then_cut_matches_python_escpos_cut(mode: str, cutter: Cutter) -> None:
    dummy = Dummy()
    dummy.cut(mode=mode)
    profile = replace(LATIN, cutter=cutter, cut_with_feed=False, feed_lines=6)
    assert er.feed_and_cut(profile) == dummy.output


def test_drawer_kick_matches_python_escpos_and_checks_its_arguments() -> None:
    assert er.drawer_kick(2, 50, 50) == constants.CD_KICK_2
    assert er.drawer_kick(5, 50, 50) == constants.CD_KICK_5
    assert er.realtime_drawer_pulse(2, 1) == b"\x10\x14\x01\x00\x01"
    with pytest.raises(ValueError, match="pin must be 2 or 5"):
        er.drawer_kick(3, 50, 50)
    with pytest.raises(ValueError, match=r"1\.\.255"):
        er.drawer_kick(2, 0, 50)
    with pytest.raises(ValueError, match=r"1\.\.8"):
        er.realtime_drawer_pulse(2, 9)


# -- raster fallback -----------------------------------------------------------------------------
def test_cjk_lines_on_a_printer_without_cjk_become_one_raster_image() -> None:
    data = job_bytes("Receipt\n香蕉 x2\n合计 12.00\nThank you\n", LATIN, font=font)
    assert data.startswith(b"\x1b@Receipt\n\x1dv0\x00")
    assert data.count(b"\x1dv0") == 1  # the two CJK lines share one image
    assert data.endswith(b"Thank you\n" + CUT)  # the Latin line after the image stays text
    assert "香蕉".encode("gb18030") not in data
    assert b"\x1c&" not in data


def test_raster_image_is_as_tall_as_the_text_lines_it_replaces() -> None:
    data = job_bytes("合计 12.00\n", LATIN, font=font)
    header = data[data.index(b"\x1dv0") :][:8]
    width_bytes, height = (
        int.from_bytes(header[4:6], "little"),
        int.from_bytes(header[6:8], "little"),
    )
    assert height == LATIN.line_dots
    assert width_bytes * 8 >= display_width("合计 12.00") * LATIN.char_dots
    assert width_bytes * 8 <= LATIN.dots


def test_no_raster_on_a_printer_with_a_cjk_font() -> None:
    data = job_bytes("Receipt\n香蕉 x2\n", ZH, font=font)
    assert b"\x1dv0" not in data
    assert "香蕉".encode("gb18030") in data


def test_without_a_raster_font_unprintable_characters_become_question_marks() -> None:
    job = er.render_job(er.text_lines("香蕉 x2\n", 42), "", LATIN, None)
    assert job.data == b"\x1b@?? x2\n" + CUT
    assert job.replaced == 2


def test_a_missing_raster_font_is_a_clear_device_error(tmp_path: object) -> None:
    missing = f"{tmp_path}/NoSuchFont.ttc"
    with pytest.raises(DeviceError, match=r"^no_font: raster font .*NoSuchFont.ttc does not exist"):
        job_bytes("香蕉\n", LATIN, font=lambda: RasterFont.load(missing))


def test_a_file_that_is_not_a_font_is_a_clear_device_error(tmp_path: object) -> None:
    path = f"{tmp_path}/fake.ttc"
    with open(path, "wb") as f:
        f.write(b"not a font")
    with pytest.raises(DeviceError, match=r"^no_font: cannot load .*fake.ttc face 7"):
        RasterFont.load(path)


def test_a_character_missing_from_the_font_prints_as_question_mark_never_tofu() -> None:
    loaded = font()
    clef = "\U0001d11e"  # one column wide, not in Noto Sans CJK
    assert loaded.has_glyph("香")
    assert not loaded.has_glyph(clef)
    drawn = loaded.render([(f"a{clef}b", False)], 12, 30, 512).tobytes()
    assert drawn == loaded.render([("a?b", False)], 12, 30, 512).tobytes()
    assert drawn != loaded.render([("a b", False)], 12, 30, 512).tobytes()


def test_raster_command_matches_python_escpos_for_a_black_and_white_image() -> None:
    image = Image.new("1", (20, 9), 1)
    ImageDraw.Draw(image).rectangle((2, 1, 13, 6), fill=0)
    dummy = Dummy()
    dummy.image(image)
    assert raster_command(image) == dummy.output


def test_raster_command_splits_tall_images_into_fragments() -> None:
    data = raster_command(Image.new("L", (16, 1000), 0))
    assert data.count(b"\x1dv0") == 2
    assert data.startswith(b"\x1dv0\x00\x02\x00\xc0\x03" + b"\xff" * 2)


# -- bytes budget (bench) ------------------------------------------------------------------------
def test_twenty_line_chinese_receipt_sends_at_most_one_and_a_half_times_the_text() -> None:
    names = tuple(f"商品{i} 苹果" for i in range(8))
    budget = er.measure_receipt(make_receipt("zh_CN", names), ZH, font)
    assert budget.text_lines >= 20
    assert budget.raster_lines == 0
    assert budget.ratio <= 1.5


def test_minimal_text_bytes_counts_gb18030_and_line_feeds() -> None:
    assert er.minimal_text_bytes(["ab", "合计"], LATIN) == 3 + 5


# -- status --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("replies", "expected", "fault"),
    [
        ({1: 0x12, 4: 0x12}, (True, "ok", False, None), None),
        ({1: 0x12, 4: 0x1E}, (True, "near_end", False, None), None),
        ({1: 0x1A, 2: 0x32, 4: 0x72}, (False, "out", False, None), "paper_out"),
        ({1: 0x1A, 2: 0x16, 4: 0x12}, (False, "ok", True, None), "cover_open"),
        ({1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}, (False, "ok", False, "autocutter error"), "offline"),
        ({1: 0x1A, 2: 0x12, 4: 0x12}, (False, "ok", False, None), "offline"),
    ],
)
def test_status_bytes_decode_to_states_and_faults(
    replies: dict[int, int], expected: tuple[object, ...], fault: str | None
) -> None:
    status = er.decode_status(replies)
    assert (status.online, status.paper, status.cover_open, status.error) == expected
    assert (status.fault() or "").split(":")[0] == (fault or "")


def test_status_queries_ask_the_cause_only_when_offline() -> None:
    asked: list[int] = []
    replies: dict[int, int] = {}
    script = {1: 0x1A, 2: 0x52, 3: 0x12, 4: 0x12}
    while (n := er.next_status_query(replies)) is not None:
        asked.append(n)
        replies[n] = script[n]
    assert asked == [1, 2, 3, 4]
    assert er.next_status_query({1: 0x12}) == 4
    assert er.next_status_query({1: 0x12, 4: 0x12}) is None


def test_a_reply_that_is_not_a_status_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="DLE EOT 1 reply 0x41 is not a status byte"):
        er.decode_status({1: 0x41, 4: 0x12})
    with pytest.raises(ValueError, match=r"DLE EOT n must be 1\.\.4"):
        er.status_query(5)


def test_status_query_bytes_match_python_escpos() -> None:
    assert er.status_query(1) == constants.RT_STATUS_ONLINE
    assert er.status_query(4) == constants.RT_STATUS_PAPER


# -- profiles ------------------------------------------------------------------------------------
def test_every_profile_fits_its_paper_and_58mm_uses_32_columns() -> None:
    for profile in PROFILES.values():
        assert profile.columns * profile.char_dots <= profile.dots
        assert profile.columns == 32 if profile.paper_mm == 58 else profile.columns in (42, 48)


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown printer profile 'tm-x'.*epson-tm-t88"):
        get_profile("tm-x")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"columns": 48}, "do not fit"),
        ({"paper_mm": 76}, "58 or 80"),
        ({"cjk_encoding": "gb99"}, "unknown encoding"),
        ({"cutter": "laser"}, "cutter must be"),
        ({"barcode_module": 1}, "barcode_module"),
    ],
)
def test_a_wrong_profile_is_refused_when_defined(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        replace(LATIN, **changes)  # type: ignore[arg-type]


# -- columns never overflow ---------------------------------------------------------------------
def _printed_columns(line: bytes, kanji: bool) -> tuple[int, bool]:
    """Columns a printer advances for one encoded line, following FS & / FS . and skipping
    ESC t n and ESC E n, as the printer does."""
    columns, i = 0, 0
    while i < len(line):
        if line[i : i + 2] in (b"\x1c&", b"\x1c."):
            kanji = line[i + 1 : i + 2] == b"&"
            i += 2
        elif line[i : i + 1] == b"\x1b":
            i += 3
        elif kanji and line[i] >= 0x81:
            step = 4 if 0x30 <= line[i + 1] <= 0x39 else 2
            columns, i = columns + 2, i + step
        else:
            columns, i = columns + 1, i + 1
    return columns, kanji


TEXT = st.text(
    st.sampled_from(list("abcXYZ 0123.-éü€") + list("苹果香蕉合计小票") + ["\u3000", "ｱ", "Ω"]),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.sampled_from([ZH, get_profile("xprinter-58"), get_profile("generic-80")]))
def test_mixed_cjk_and_latin_text_never_overflows_the_paper(
    text: str, profile: PrinterProfile
) -> None:
    lines = er.text_lines(text, profile.columns)
    assert all(display_width(line.text) <= profile.columns for line in lines)
    job = er.render_job(lines, "", profile, None)
    body = job.data[2 : -len(er.feed_and_cut(profile))]
    kanji = False
    for encoded in body.split(b"\n")[:-1]:
        columns, kanji = _printed_columns(encoded, kanji)
        assert columns <= profile.columns


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT.filter(str.strip), min_size=1, max_size=4), st.sampled_from([32, 42, 48]))
def test_receipt_lines_with_mixed_names_fit_the_paper(names: list[str], columns: int) -> None:
    receipt = make_receipt(
        "zh_CN", tuple(names), basket_adjustments=(ReceiptAdjustment("优惠", -10),)
    )
    assert all(display_width(line.text) <= columns for line in er.receipt_lines(receipt, columns))
