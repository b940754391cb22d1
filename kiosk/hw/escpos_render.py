"""ESC/POS as bytes: the commands (each written once), a receipt or pre-rendered text turned into
one print job for a printer profile, and the decoding of real-time status replies.

Pure apart from the raster fallback: called from the thread that prints (the lane's printer
job) and by bench/. Nothing here talks to a printer; ``kiosk.hw.escpos_printer`` sends the
bytes through a python-escpos transport.

Text mode, the normal case. ASCII prints as is. Other single-column characters print from the
profile's code page (``ESC t n``, Kanji mode off: ``FS .``). Double-column (CJK) characters
print in Kanji mode (``FS &``) in the profile's CJK encoding (GB18030 on Chinese printers), two
columns each, exactly as ``kiosk.receipt_text`` counts them, so columns line up. Mode commands
are sent only when the mode must change; the job ends with Kanji mode off.

Raster fallback. A line with a character the printer cannot print as text (CJK on a printer
without a CJK font ROM) is drawn by ``kiosk.hw.raster`` and sent as a ``GS v 0`` image;
neighbouring raster lines share one image. The other lines stay text. Without a raster font
(``font=None``) such characters print as ``?`` and the job says how many were replaced.

The receipt ends with the receipt number as CODE128 (``GS k``, code set C for long digit runs)
or QR (``GS ( k``) when CODE128 would not fit the paper, then a feed and a cut (``GS V``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.hw.printer_profiles import BarcodeKind, PrinterProfile
from kiosk.hw.raster import RasterFont, raster_command
from kiosk.money import Money
from kiosk.receipt import Receipt
from kiosk.receipt_text import char_width, clean, label, render_text

__all__ = [
    "BOLD_OFF",
    "BOLD_ON",
    "INIT",
    "KANJI_OFF",
    "KANJI_ON",
    "UNKNOWN_STATUS",
    "ByteBudget",
    "PrinterStatus",
    "RenderedJob",
    "StyledLine",
    "code128",
    "code128_modules",
    "decode_status",
    "drawer_kick",
    "feed_and_cut",
    "measure_receipt",
    "minimal_text_bytes",
    "next_status_query",
    "qr_code",
    "realtime_drawer_pulse",
    "receipt_lines",
    "render_job",
    "render_receipt",
    "status_query",
    "test_page_lines",
    "text_lines",
]

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
LF = b"\n"
INIT = ESC + b"@"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
KANJI_ON, KANJI_OFF = FS + b"&", FS + b"."
ALIGN_LEFT, ALIGN_CENTER = ESC + b"a\x00", ESC + b"a\x01"

FontSource = Callable[[], RasterFont]
PaperState = Literal["ok", "near_end", "out", "unknown"]


# -- commands ----------------------------------------------------------------------------------
def select_codepage(table: int) -> bytes:
    """``ESC t n``: the character code table for bytes 0x80..0xFF outside Kanji mode."""
    return ESC + b"t" + bytes((table,))


def status_query(n: int) -> bytes:
    """``DLE EOT n``: ask for real-time status byte ``n`` (1 printer, 2 offline cause, 3 error
    cause, 4 paper sensor)."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return DLE + b"\x04" + bytes((n,))


def _drawer_pin(pin: int) -> int:
    if pin not in (2, 5):
        raise ValueError(f"drawer kick connector pin must be 2 or 5, got {pin}")
    return 0 if pin == 2 else 1


def drawer_kick(pin: int, on_units: int, off_units: int) -> bytes:
    """``ESC p m t1 t2``: pulse connector ``pin`` for ``on_units`` then rest ``off_units``."""
    if not (1 <= on_units <= 255 and 1 <= off_units <= 255):
        raise ValueError(f"drawer pulse units must be 1..255, got {on_units}/{off_units}")
    return ESC + b"p" + bytes((_drawer_pin(pin), on_units, off_units))


def realtime_drawer_pulse(pin: int, hundreds_ms: int) -> bytes:
    """``DLE DC4 1 m t``: a pulse of ``hundreds_ms`` x 100 ms, done even while offline."""
    if not 1 <= hundreds_ms <= 8:
        raise ValueError(f"real-time pulse must be 1..8 x 100 ms, got {hundreds_ms}")
    return DLE + b"\x14\x01" + bytes((_drawer_pin(pin), hundreds_ms))


def feed_and_cut(profile: PrinterProfile) -> bytes:
    """Feed the last line past the cutter (or the tear bar) and cut as the profile says."""
    if profile.cutter == "none":
        return ESC + b"d" + bytes((profile.feed_lines,))
    if profile.cut_with_feed:  # GS V m n, m = 65 full / 66 partial: feed to the cutter, cut
        return GS + b"V" + (b"A" if profile.cutter == "full" else b"B") + b"\x00"
    cut = b"\x00" if profile.cutter == "full" else b"\x01"
    return ESC + b"d" + bytes((profile.feed_lines,)) + GS + b"V" + cut


def _check_barcode_data(data: str) -> None:
    if not data or not all(" " <= ch <= "~" for ch in data):
        raise ValueError(f"barcode {data!r} must be non-empty printable ASCII")


def _code128_segments(data: str) -> list[tuple[str, str]]:
    """``data`` as (code set, text) segments: code set C for digit runs long enough to save
    symbols (4 at either end, 6 inside), code set B for the rest."""
    segments: list[tuple[str, str]] = []
    tokens = re.findall(r"\d+|\D+", data)
    for i, token in enumerate(tokens):
        edge = i in (0, len(tokens) - 1)
        if token[0].isdigit() and len(token) >= (4 if edge else 6):
            odd = len(token) % 2
            if odd:
                segments.append(("B", token[0]))
            segments.append(("C", token[odd:]))
        else:
            segments.append(("B", token))
    merged: list[tuple[str, str]] = []
    for code_set, text in segments:
        if merged and merged[-1][0] == code_set:
            merged[-1] = (code_set, merged[-1][1] + text)
        else:
            merged.append((code_set, text))
    return merged


def code128_modules(data: str) -> int:
    """Width of ``data`` as a CODE128 symbol in modules (quiet zones not counted)."""
    segments = _code128_segments(data)
    symbols = sum(len(t) if s == "B" else len(t) // 2 for s, t in segments) + len(segments) - 1
    return 11 * (symbols + 2) + 13  # start + data + check character, then the 13-module stop


def code128(data: str, module: int, height: int) -> bytes:
    """Centred CODE128 of ``data`` with its text below (``GS k 73``); the same bytes as
    python-escpos ``barcode(..., "CODE128", function_type="B")`` for the same payload."""
    _check_barcode_data(data)
    payload = bytearray()
    for code_set, text in _code128_segments(data):
        payload += b"{" + code_set.encode()
        if code_set == "C":
            payload += bytes(int(text[j : j + 2]) for j in range(0, len(text), 2))
        else:
            payload += text.replace("{", "{{").encode("ascii")
    if len(payload) > 255:
        raise ValueError(f"barcode {data!r} is too long for CODE128 (GS k n <= 255)")
    return (
        ALIGN_CENTER
        + GS + b"h" + bytes((height,))
        + GS + b"w" + bytes((module,))
        + GS + b"f\x00"  # HRI font A
        + GS + b"H\x02"  # HRI below the bars
        + GS + b"kI" + bytes((len(payload),)) + bytes(payload)
    )  # fmt: skip


def qr_code(data: str, module: int) -> bytes:
    """QR code of ``data`` (model 2, error correction M) with ``GS ( k``, as python-escpos
    ``qr(data, native=True, size=module, ec=QR_ECLEVEL_M)`` sends it."""
    _check_barcode_data(data)

    def fn(code: int, body: bytes, m: bytes = b"") -> bytes:
        size = len(body) + len(m) + 2
        return GS + b"(k" + size.to_bytes(2, "little") + b"1" + bytes((code,)) + m + body

    return (
        fn(65, b"2\x00")  # model 2
        + fn(67, bytes((module,)))
        + fn(69, b"1")  # error correction M
        + fn(80, data.encode("ascii"), b"0")  # store the data
        + fn(81, b"", b"0")  # print it
    )


def _receipt_number(data: str, profile: PrinterProfile, kind: BarcodeKind) -> bytes:
    if kind == "none" or not data:
        return b""
    if kind == "code128" and code128_modules(data) * 2 <= profile.dots:
        module = profile.barcode_module
        while module > 2 and code128_modules(data) * module > profile.dots:
            module -= 1
        return LF + code128(data, module, profile.barcode_height) + ALIGN_LEFT
    # QR, asked for or because CODE128 would not fit the paper; the number printed below it
    return LF + ALIGN_CENTER + qr_code(data, profile.qr_module) + data.encode() + LF + ALIGN_LEFT


# -- lines ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StyledLine:
    """One printed line (at most the paper's columns wide) and whether it prints bold."""

    text: str
    bold: bool = False


def receipt_lines(receipt: Receipt, columns: int) -> list[StyledLine]:
    """The receipt laid out by ``kiosk.receipt_text.render_text`` at ``columns``, with the
    total row in bold (the last row that starts with the "total" label and ends with the
    amount due, so an item named "Total..." above it is never the one)."""
    total = label("total", receipt.language)
    due = Money(receipt.totals.due, receipt.currency).format_plain()
    lines = render_text(receipt, columns).splitlines()
    matches = [i for i, line in enumerate(lines) if line.startswith(total) and line.endswith(due)]
    bold_at = matches[-1] if matches else -1
    return [StyledLine(line, i == bold_at) for i, line in enumerate(lines)]


def test_page_lines(profile: PrinterProfile) -> list[StyledLine]:
    """An installer's test page: the profile, a ruler exactly ``columns`` wide, Chinese,
    accented Latin and a bold line, each of which must print without wrapping."""
    ruler = "".join(str(i % 10) for i in range(1, profile.columns + 1))
    return [
        StyledLine(f"{profile.name} ({profile.paper_mm} mm, {profile.columns} columns)"),
        StyledLine(ruler),
        StyledLine("中文 测试 合计 ¥12.50"),
        StyledLine("Crème brûlée à la carte"),
        StyledLine("Bold line / 粗体", bold=True),
        StyledLine("-" * profile.columns),
    ]


def text_lines(text: str, columns: int) -> list[StyledLine]:
    """Pre-rendered text as printable lines: control characters dropped, trailing spaces
    removed, and a line wider than ``columns`` broken at the column edge (never mid-character),
    so the printer never wraps on its own."""
    out: list[StyledLine] = []
    for raw in text.splitlines():
        line = clean(unicodedata.normalize("NFC", raw)).rstrip()
        while True:
            used, cut = 0, len(line)
            for i, ch in enumerate(line):
                used += char_width(ch)
                if used > columns:
                    cut = i
                    break
            out.append(StyledLine(line[:cut].rstrip()))
            line = line[cut:]
            if not line:
                break
    return out


class _TextEncoder:
    """Encodes lines for one job, remembering the printer's Kanji mode and code page so each
    mode command is sent only when needed."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.kanji: bool | None = None  # unknown after ESC @
        self.codepage_sent = False

    def _kind(self, ch: str) -> str | None:
        if " " <= ch <= "~":
            return "ascii"
        width = char_width(ch)
        codec = self.profile.codepage_encoding if width == 1 else self.profile.cjk_encoding
        if width == 0 or codec is None:
            return None
        try:
            ch.encode(codec)
        except UnicodeEncodeError:
            return None
        return "codepage" if width == 1 else "cjk"

    def encodable(self, text: str) -> bool:
        return all(self._kind(ch) is not None for ch in text)

    def encode(self, text: str) -> bytes:
        """``text`` (every character encodable) as bytes with the mode changes it needs."""
        out = bytearray()
        for ch in text:
            kind = self._kind(ch)
            if kind == "codepage":
                if self.profile.has_cjk and self.kanji is not False:
                    out += KANJI_OFF
                    self.kanji = False
                if not self.codepage_sent:
                    out += select_codepage(self.profile.codepage)
                    self.codepage_sent = True
                out += ch.encode(self.profile.codepage_encoding)
            elif kind == "cjk":
                if self.kanji is not True:
                    out += KANJI_ON
                    self.kanji = True
                out += ch.encode(str(self.profile.cjk_encoding))
            else:
                out += ch.encode("ascii")
        return bytes(out)

    def finish(self) -> bytes:
        return KANJI_OFF if self.kanji else b""


def minimal_text_bytes(lines: Sequence[str], profile: PrinterProfile) -> int:
    """The fewest bytes that could carry ``lines`` as text: one byte per ASCII or code-page
    character, the GB18030 length of anything else, and a line feed per line."""
    total = 0
    for line in lines:
        for ch in unicodedata.normalize("NFC", line):
            try:
                ch.encode(profile.codepage_encoding)
                total += 1
            except UnicodeEncodeError:
                total += len(ch.encode("gb18030"))
        total += 1
    return total


# -- jobs ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RenderedJob:
    """The bytes of one print job and what went into them."""

    data: bytes
    text_lines: int
    raster_lines: int
    minimal_bytes: int
    replaced: int = 0  # characters printed as '?' (no raster font configured)


def render_job(
    lines: Sequence[StyledLine],
    barcode: str,
    profile: PrinterProfile,
    font: FontSource | None,
    barcode_kind: BarcodeKind | None = None,
) -> RenderedJob:
    """One job: ``ESC @``, the lines (text, or raster where the printer cannot print them),
    the barcode of ``barcode`` (none when empty), feed and cut.

    ``font`` is called only when a line needs the raster fallback; it raises
    ``DeviceError("no_font: ...")`` when the font is missing. ``font=None`` disables the
    fallback: unprintable characters become ``?``."""
    encoder = _TextEncoder(profile)
    out = bytearray(INIT)
    pending: list[tuple[str, bool]] = []
    text_count = raster_count = replaced = 0

    def flush_raster() -> None:
        if pending:
            assert font is not None
            image = font().render(pending, profile.char_dots, profile.line_dots, profile.dots)
            out.extend(raster_command(image))
            pending.clear()

    for line in lines:
        text = unicodedata.normalize("NFC", line.text)
        if not encoder.encodable(text):
            if font is not None:
                pending.append((text, line.bold))
                raster_count += 1
                continue
            fixed = "".join(ch if encoder.encodable(ch) else "?" for ch in text)
            replaced += sum(a != b for a, b in zip(text, fixed, strict=True))
            text = fixed
        flush_raster()
        body = encoder.encode(text)
        out += (BOLD_ON + body + BOLD_OFF if line.bold else body) + LF
        text_count += 1
    flush_raster()
    out += encoder.finish()
    out += _receipt_number(barcode, profile, barcode_kind or profile.barcode)
    out += feed_and_cut(profile)
    minimal = minimal_text_bytes([line.text for line in lines], profile)
    return RenderedJob(bytes(out), text_count, raster_count, minimal, replaced)


def render_receipt(
    receipt: Receipt,
    profile: PrinterProfile,
    font: FontSource | None,
    barcode_kind: BarcodeKind | None = None,
) -> RenderedJob:
    """The receipt document as one job at the profile's columns (bold total, barcode, cut)."""
    lines = receipt_lines(receipt, profile.columns)
    return render_job(lines, receipt.barcode, profile, font, barcode_kind)


@dataclass(frozen=True, slots=True)
class ByteBudget:
    """Bytes a receipt job sends beside the minimal text bytes of the same lines (bench)."""

    sent: int
    minimal: int
    text_lines: int
    raster_lines: int

    @property
    def ratio(self) -> float:
        return self.sent / self.minimal if self.minimal else float("inf")


def measure_receipt(
    receipt: Receipt, profile: PrinterProfile, font: FontSource | None = None
) -> ByteBudget:
    """How many bytes printing ``receipt`` on ``profile`` sends, and the minimal text bytes."""
    job = render_receipt(receipt, profile, font)
    return ByteBudget(len(job.data), job.minimal_bytes, job.text_lines, job.raster_lines)


# -- real-time status ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself; ``online=None`` means it could not be asked."""

    online: bool | None
    paper: PaperState
    cover_open: bool | None
    error: str | None = None

    @property
    def known(self) -> bool:
        return self.online is not None

    def fault(self) -> str | None:
        """``"<code>: <message>"`` when the printer cannot print now, else None."""
        if self.cover_open:
            return "cover_open: the printer cover is open"
        if self.paper == "out":
            return "paper_out: the printer is out of paper"
        if self.error:
            return f"offline: the printer reports an error ({self.error})"
        if self.online is False:
            return "offline: the printer reports that it is offline"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "paper": self.paper,
            "cover_open": self.cover_open,
            "error": self.error,
        }


UNKNOWN_STATUS = PrinterStatus(None, "unknown", None)

_ERRORS: tuple[tuple[int, str], ...] = (
    (0x08, "autocutter error"),
    (0x20, "unrecoverable error"),
    (0x40, "auto-recoverable error"),
)


def status_byte_ok(value: int) -> bool:
    """A real-time status byte has bits 1 and 4 set and bits 0 and 7 clear."""
    return value & 0x93 == 0x12


def next_status_query(replies: Mapping[int, int]) -> int | None:
    """Which ``DLE EOT n`` to send next given the replies so far, or None when done: always
    1 (printer) and 4 (paper); 2 (cause) when offline; 3 (error) when 2 reports an error."""
    if 1 not in replies:
        return 1
    if replies[1] & 0x08 and 2 not in replies:
        return 2
    if replies.get(2, 0) & 0x40 and 3 not in replies:
        return 3
    return None if 4 in replies else 4


def decode_status(replies: Mapping[int, int]) -> PrinterStatus:
    """The status from ``DLE EOT`` replies (``n -> byte``); ``ValueError`` names a reply that
    is not a status byte."""
    for n, value in replies.items():
        if not status_byte_ok(value):
            raise ValueError(f"DLE EOT {n} reply 0x{value:02x} is not a status byte")
    if 1 not in replies or 4 not in replies:
        raise ValueError("status needs the replies to DLE EOT 1 and 4")
    offline = bool(replies[1] & 0x08)
    cause = replies.get(2, 0x12)
    errors = [text for bit, text in _ERRORS if replies.get(3, 0x12) & bit]
    if cause & 0x40 and not errors:
        errors.append("error")
    paper_out = bool(replies[4] & 0x60 or cause & 0x20)
    paper: PaperState = "out" if paper_out else "near_end" if replies[4] & 0x0C else "ok"
    return PrinterStatus(not offline, paper, bool(cause & 0x04), ", ".join(errors) or None)
