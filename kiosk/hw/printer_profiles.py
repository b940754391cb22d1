"""Receipt printers as data: capability profiles (every printer quirk the ESC/POS adapter
needs) and ``EscposSettings`` (which printer, on which transport, with which profile).

Read-only data, used from any thread: ``kiosk.hw.escpos_render`` lays receipts out from a
profile (columns, code page, CJK mode, cutter, barcode) and ``kiosk.hw.escpos_printer`` asks it
whether the printer answers real-time status and how long a drawer-kick unit is.

How to add a printer
--------------------
1. Print the printer's self-test page (hold FEED while switching on): it shows the firmware,
   the print width in dots, the code pages and, on Chinese models, the GB18030 / GBK font.
2. Copy the closest profile below into ``PROFILES`` under a new lower-case name and change what
   differs: ``columns`` and ``dots`` (font A is 12 dots wide: 32 columns = 384 dots on 58 mm
   paper, 42 = 512 or 48 = 576 on 80 mm), ``codepage`` / ``codepage_encoding`` (the ESC t table
   number and the Python codec of that table), ``cjk_encoding`` (``"gb18030"`` only when the
   printer has a Chinese font ROM; ``None`` makes CJK lines print as raster images),
   ``status`` (whether it answers DLE EOT), ``cutter``, ``drawer_pulse_unit_ms`` (ESC p timing
   unit, from the command reference) and ``barcode``.
3. Set ``profile`` in ``[devices.escpos_printer]`` to the new name and print the test page
   (``EscposPrinter.print_test_page``, what ``kiosk hw test printer`` prints): a ruler exactly
   ``columns`` wide (it must not wrap), Chinese and accented text, a bold line, the barcode
   and the cut.
4. Add the profile to the table in docs/hardware.md ("Receipt printers").

Every profile is checked when this module is imported (``PrinterProfile.__post_init__``), so a
typo in the table fails the test run instead of a receipt.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from kiosk.errors import ConfigError

__all__ = [
    "CONFIG_TABLE",
    "DEFAULT_FONT",
    "DEFAULT_FONT_INDEX",
    "PROFILES",
    "TRANSPORTS",
    "BarcodeKind",
    "Cutter",
    "EscposSettings",
    "PrinterProfile",
    "Transport",
    "get_profile",
]

CONFIG_TABLE: Final = "devices.escpos_printer"  # where EscposSettings live in kiosk.toml

# Debian/Raspberry Pi OS package fonts-noto-cjk; face 7 is "Noto Sans Mono CJK SC", whose Latin
# glyphs are exactly half the width of its ideographs, like a printer's own font.
DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
DEFAULT_FONT_INDEX = 7

Transport = Literal["usb", "serial", "network", "file", "dummy"]
TRANSPORTS: tuple[str, ...] = ("usb", "serial", "network", "file", "dummy")
Cutter = Literal["full", "partial", "none"]
BarcodeKind = Literal["code128", "qr", "none"]

_CUTTERS: tuple[str, ...] = ("full", "partial", "none")
_BARCODES: tuple[str, ...] = ("code128", "qr", "none")


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    """What one printer model can do.

    ``columns``/``dots``/``char_dots``: characters per line in font A, printable dots per line
    and dots per column (a CJK character takes two columns). ``line_dots``: the height of one
    text line (default line spacing), used for raster lines so they stack like text.
    ``codepage``: the ESC t table for non-ASCII Latin text, ``codepage_encoding`` its codec.
    ``cjk_encoding``: the Kanji-mode (FS &) encoding of a printer with a CJK font ROM, or None.
    ``status``: answers DLE EOT n real-time status. ``cutter``: GS V cut kind; ``cut_with_feed``:
    understands GS V 65/66 n (feed to the cutter, then cut); otherwise ``feed_lines`` are fed
    with ESC d first. ``drawer_pulse_unit_ms``: the unit of ESC p t1/t2 (2 ms on Epson TM).
    ``realtime_drawer``: understands DLE DC4 1 (pulse even while offline, e.g. out of paper).
    ``barcode``: what prints the receipt number; ``barcode_module``/``barcode_height``: CODE128
    bar width (GS w) and height (GS h) in dots; ``qr_module``: QR module size (GS ( k 67).
    """

    name: str
    description: str
    paper_mm: int
    columns: int
    dots: int
    char_dots: int = 12
    line_dots: int = 30
    codepage: int = 0
    codepage_encoding: str = "cp437"
    cjk_encoding: str | None = None
    status: bool = True
    cutter: Cutter = "partial"
    cut_with_feed: bool = True
    feed_lines: int = 4
    drawer_pulse_unit_ms: int = 2
    realtime_drawer: bool = False
    barcode: BarcodeKind = "code128"
    barcode_module: int = 2
    barcode_height: int = 60
    qr_module: int = 5

    def __post_init__(self) -> None:
        key = f"printer profile {self.name!r}"
        if self.paper_mm not in (58, 80):
            raise ValueError(f"{key}: paper_mm must be 58 or 80, got {self.paper_mm}")
        if not 24 <= self.columns <= 64:  # kiosk.receipt_text lays out 24 columns and more
            raise ValueError(f"{key}: columns {self.columns} is outside 24..64")
        if not 1 <= self.char_dots <= 24 or self.columns * self.char_dots > self.dots:
            raise ValueError(
                f"{key}: {self.columns} columns of {self.char_dots} dots do not fit "
                f"{self.dots} dots"
            )
        if not 24 <= self.line_dots <= 255:
            raise ValueError(f"{key}: line_dots {self.line_dots} is outside 24..255")
        if not 0 <= self.codepage <= 255:
            raise ValueError(f"{key}: codepage {self.codepage} is outside 0..255")
        for codec in filter(None, (self.codepage_encoding, self.cjk_encoding)):
            try:
                codecs.lookup(codec)
            except LookupError as exc:
                raise ValueError(f"{key}: unknown encoding {codec!r}") from exc
        if self.cutter not in _CUTTERS:
            raise ValueError(f"{key}: cutter must be one of {', '.join(_CUTTERS)}")
        if self.barcode not in _BARCODES:
            raise ValueError(f"{key}: barcode must be one of {', '.join(_BARCODES)}")
        if not 0 <= self.feed_lines <= 20:
            raise ValueError(f"{key}: feed_lines {self.feed_lines} is outside 0..20")
        if not 1 <= self.drawer_pulse_unit_ms <= 10:
            raise ValueError(f"{key}: drawer_pulse_unit_ms must be 1..10 ms")
        if not 2 <= self.barcode_module <= 6 or not 1 <= self.barcode_height <= 255:
            raise ValueError(f"{key}: barcode_module 2..6 and barcode_height 1..255 dots")
        if not 1 <= self.qr_module <= 16:
            raise ValueError(f"{key}: qr_module {self.qr_module} is outside 1..16")

    @property
    def has_cjk(self) -> bool:
        """True when the printer has a CJK font ROM (Kanji mode with ``cjk_encoding``)."""
        return self.cjk_encoding is not None


def _table(*profiles: PrinterProfile) -> Mapping[str, PrinterProfile]:
    return MappingProxyType({p.name: p for p in profiles})


PROFILES: Mapping[str, PrinterProfile] = _table(
    PrinterProfile(
        name="generic-58",
        description="Any 58 mm ESC/POS printer without a CJK font (203 dpi, 384 dots)",
        paper_mm=58,
        columns=32,
        dots=384,
        line_dots=32,
        cutter="none",
        feed_lines=4,
        barcode="qr",
        qr_module=4,
    ),
    PrinterProfile(
        name="generic-80",
        description="Any 80 mm ESC/POS printer without a CJK font, 48 columns (576 dots)",
        paper_mm=80,
        columns=48,
        dots=576,
        line_dots=32,
    ),
    PrinterProfile(
        name="generic-80-42",
        description="Any 80 mm ESC/POS printer without a CJK font, 42 columns (512 dots)",
        paper_mm=80,
        columns=42,
        dots=512,
    ),
    PrinterProfile(
        name="epson-tm-t88",
        description="Epson TM-T88IV/V/VI, standard ROM (no Chinese font), 80 mm, 42 columns",
        paper_mm=80,
        columns=42,
        dots=512,
        codepage=16,
        codepage_encoding="cp1252",
        realtime_drawer=True,
    ),
    PrinterProfile(
        name="epson-tm-t88-zh",
        description="Epson TM-T88IV/V/VI Simplified Chinese model (GB18030 ROM), 80 mm",
        paper_mm=80,
        columns=42,
        dots=512,
        cjk_encoding="gb18030",
        realtime_drawer=True,
    ),
    PrinterProfile(
        name="epson-tm-t20",
        description="Epson TM-T20II/III, standard ROM, 80 mm, 48 columns (576 dots)",
        paper_mm=80,
        columns=48,
        dots=576,
        line_dots=34,
        codepage=16,
        codepage_encoding="cp1252",
        realtime_drawer=True,
    ),
    PrinterProfile(
        name="xprinter-58",
        description="Xprinter XP-58 class (Chinese firmware, GB18030), 58 mm, 32 columns",
        paper_mm=58,
        columns=32,
        dots=384,
        line_dots=32,
        cjk_encoding="gb18030",
        cutter="none",
        barcode="qr",
        qr_module=4,
    ),
    PrinterProfile(
        name="xprinter-80",
        description="Xprinter XP-80 class (Chinese firmware, GB18030), 80 mm, 48 columns",
        paper_mm=80,
        columns=48,
        dots=576,
        line_dots=32,
        cjk_encoding="gb18030",
    ),
)


def get_profile(name: str) -> PrinterProfile:
    """The profile called ``name``; ``ConfigError`` on ``devices.escpos_printer.profile``
    listing the known names when there is none."""
    profile = PROFILES.get(name)
    if profile is None:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(
            f"{CONFIG_TABLE}.profile", f"unknown printer profile {name!r} (known: {known})"
        )
    return profile


@dataclass(frozen=True)
class EscposSettings:
    """Where the printer is and how to treat it: the ``[devices.escpos_printer]`` table, one
    key per field (errors name ``devices.escpos_printer.<field>``).

    ``status`` None follows the profile; False stops the DLE EOT queries (for a printer that
    does not answer them). ``barcode`` None follows the profile. ``raster_font`` "" disables
    the raster fallback (unprintable characters become ``?``)."""

    transport: Transport = "dummy"
    profile: str = "generic-80"
    name: str = "printer"
    usb_vendor_id: int = 0
    usb_product_id: int = 0
    usb_in_ep: int = 0x82
    usb_out_ep: int = 0x01
    serial_device: str = ""
    serial_baud: int = 9600
    serial_dsrdtr: bool = True
    host: str = ""
    port: int = 9100
    file_path: str = ""
    timeout_s: float = 3.0
    status: bool | None = None
    barcode: BarcodeKind | None = None
    raster_font: str = DEFAULT_FONT
    raster_font_index: int = DEFAULT_FONT_INDEX

    def __post_init__(self) -> None:
        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{CONFIG_TABLE}.{key}", problem)

        if self.transport not in TRANSPORTS:
            raise bad("transport", f"{self.transport!r} is not one of {', '.join(TRANSPORTS)}")
        get_profile(self.profile)
        if self.transport == "usb":
            for key in ("usb_vendor_id", "usb_product_id"):
                if not 0 < getattr(self, key) <= 0xFFFF:
                    raise bad(key, "must be a USB id 0x0001..0xFFFF (see lsusb)")
        if self.transport == "serial" and not self.serial_device:
            raise bad("serial_device", "is required for the serial transport")
        if self.serial_baud not in (2400, 4800, 9600, 19200, 38400, 57600, 115200):
            raise bad("serial_baud", f"{self.serial_baud} is not a printer baud rate")
        if self.transport == "network" and not self.host:
            raise bad("host", "is required for the network transport")
        if not 0 < self.port < 65536:
            raise bad("port", f"{self.port} is not a TCP port")
        if self.transport == "file" and not self.file_path:
            raise bad("file_path", "is required for the file transport (e.g. /dev/usb/lp0)")
        if not 0.1 <= self.timeout_s <= 60:
            raise bad("timeout_s", f"{self.timeout_s} is outside 0.1..60 s")
        if self.barcode not in (None, "code128", "qr", "none"):
            raise bad("barcode", f"{self.barcode!r} is not code128, qr or none")
        if not 0 <= self.raster_font_index <= 64:
            raise bad("raster_font_index", f"{self.raster_font_index} is not a font face index")

    def where(self) -> str:
        """The printer's address for messages: ``network 10.0.0.5:9100``."""
        return {
            "usb": f"usb {self.usb_vendor_id:04x}:{self.usb_product_id:04x}",
            "serial": f"serial {self.serial_device}@{self.serial_baud}",
            "network": f"network {self.host}:{self.port}",
            "file": f"file {self.file_path}",
            "dummy": "dummy",
        }[self.transport]
