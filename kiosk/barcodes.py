"""Barcode classifier: one scanned string in, one typed scan result out. Pure core.

Called on the lane thread for every scan (``classify``); ``gtin14`` and ``check_digit`` are also
used by the catalog import and the demo data. ``classify`` never raises for any input string:
bad input becomes an ``InvalidScan`` with a reason code (the UI translates by code) and an
English sentence a customer could read. GS1 parts (element strings, check digits, symbology
identifiers, UPC-E expansion) come from ``biip``.

Classification, first rule that applies wins (``data`` is the text after the symbology
identifier; patterns are the ``[barcodes]`` settings, matched against the whole of ``data``):

====================================================  ==========================================
Input                                                 Result
====================================================  ==========================================
one trailing CR, LF or CRLF                           stripped (only one; ``raw`` excludes it)
nothing left                                          InvalidScan ``empty``
longer than ``max_length`` characters                 InvalidScan ``too_long``
a control or format character (not GS, see below)     InvalidScan ``control_chars``
leading ``]`` + letter + modifier (AIM identifier)    identifier removed, used below
GS1 symbology id (``]C1 ]e0 ]d2 ]Q3 ]J1``) or GS    GS1 element string (below)
GS with a non-GS1 identifier (``]E0``, ``]Q1``, ...)  InvalidScan ``control_chars``
non-ASCII ``data``                                    InvalidScan ``unknown_format``
``staff_badge``/``member``/``coupon``/``wallet``      StaffBadgeScan/MemberScan/CouponScan/
/``receipt`` pattern, tried in that order             WalletScan/ReceiptScan (``R`` removed)
``]E0`` + 13 / 12 digits                              EAN-13 (or variable measure) / UPC-A
``]E0`` + 8 digits starting 0/1, or 6 or 7 digits     UPC-E, expanded to UPC-A
``]E0`` + 8 other digits; ``]E4`` + 8 digits          EAN-8
``]E3`` + 15 or 18 digits                             EAN-13 of the first 13; add-on ignored
``]I1`` + 14 digits                                   GTIN-14
any other identifier, or other lengths after one      InvalidScan ``unknown_format``
8 digits (no identifier)                              EAN-8 if its check digit holds, else UPC-E
                                                      (number system 0/1) if that holds, else
                                                      InvalidScan ``bad_check_digit``
12 / 14 digits                                        UPC-A / GTIN-14
13 digits, prefix 20-29 with a configured layout      VariableMeasureScan (EAN-13 check first)
13 digits otherwise                                   EAN-13
more than 14 digits, or ``01`` + 14 digits + more     GS1 element string
anything else                                         InvalidScan ``unknown_format``
====================================================  ==========================================

Every GTIN is validated (``bad_check_digit``) and normalised to 14 digits. Notes on the rules:

* UPC-E vs EAN-8: without an identifier an 8-digit code is EAN-8 first. About one UPC-E code
  in ten also has a valid EAN-8 check digit and is then read as EAN-8; stores selling UPC-E
  items should switch on AIM symbology identifiers in their scanners (``]E0`` is then UPC-E).
  6- and 7-digit UPC-E (no check digit sent) are accepted only after ``]E0``.
* 13-digit codes with prefix 20-29 and no configured layout, UPC number system 2 (EAN-13
  prefix 02) and company-internal prefixes 04/40-49 are ordinary ProductScans: the catalog
  may hold such store-internal GTINs. A variable-measure price is the value digits read as
  minor units; a weight is the value digits / 10**decimals kg. Price check digits inside the
  code are not verified (the layout does not say where they are).
* GS1 element strings: leading/trailing GS (FNC1) is dropped; the text must use the GS1
  character set; AI 01 is required (``bad_gs1`` otherwise); AI 10 -> ``batch``; AI 17 ->
  ``expiry`` (day 00 = last day of the month), ``expired`` when expiry < today; AI 310x ->
  ``weight_kg``; AI 392x -> ``price`` in minor units, refused (``bad_gs1``) if it has more
  decimals than the currency unless they are zeros. Other AIs are validated and ignored.
  biip resolves two-digit years within -49..+50 years of the current year.
* Patterns only see ASCII text, so ``\\d`` never matches non-ASCII digits; they are skipped
  for GS1 symbologies and strings holding GS.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal, TypeAlias

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_messages import GS1Message
from biip.symbology import GS1Symbology
from biip.upc import Upc

from kiosk.config import BarcodeConfig, VariableMeasureLayout
from kiosk.errors import ConfigError

logger = logging.getLogger(__name__)

Symbology = Literal["ean13", "ean8", "upca", "upce", "gtin14", "gs1"]
InvalidReason = Literal[
    "empty", "too_long", "control_chars", "bad_check_digit", "bad_gs1", "unknown_format"
]


@dataclass(frozen=True, slots=True)
class ProductScan:
    """A trade item: ``gtin`` is the normalised 14-digit GTIN; ``price`` is minor units."""

    gtin: str
    symbology: Symbology
    raw: str
    batch: str | None = None
    expiry: date | None = None
    expired: bool = False
    weight_kg: Decimal | None = None
    price: int | None = None


@dataclass(frozen=True, slots=True)
class VariableMeasureScan:
    """A store-printed EAN-13 (prefix 20-29) with the price or weight in the code."""

    prefix: str
    item: str
    kind: Literal["price", "weight"]
    price: int | None
    weight_kg: Decimal | None
    raw: str


@dataclass(frozen=True, slots=True)
class StaffBadgeScan:
    code: str


@dataclass(frozen=True, slots=True)
class MemberScan:
    code: str


@dataclass(frozen=True, slots=True)
class CouponScan:
    code: str


@dataclass(frozen=True, slots=True)
class WalletScan:
    code: str


@dataclass(frozen=True, slots=True)
class ReceiptScan:
    receipt_no: str


@dataclass(frozen=True, slots=True)
class InvalidScan:
    """A scan the kiosk cannot use; ``message`` is an English sentence for the customer."""

    reason: InvalidReason
    message: str
    raw: str


ScanResult: TypeAlias = (
    ProductScan
    | VariableMeasureScan
    | StaffBadgeScan
    | MemberScan
    | CouponScan
    | WalletScan
    | ReceiptScan
    | InvalidScan
)

_GS: Final = "\x1d"
_DIGITS: Final = re.compile(r"[0-9]+")
_AIM_IDENTIFIER: Final = re.compile(r"\][A-Za-z][0-9A-Za-z]")
# GS1 AI encodable character set 82 (GS1 General Specifications figure 7.11-1) plus GS.
_GS1_CHARS: Final = re.compile(r"[!\"%-?A-Z_a-z\x1d]+")
_GS1_START: Final = re.compile(r"01[0-9]{14}")
_BIIP_AI: Final = re.compile(r"GS1 AI \((\d+)\)")
_CONTROL_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs"})
_PARSE_CONFIG: Final = ParseConfig(separator_chars=(_GS,))
_CANNOT_READ: Final = "That barcode could not be read"
_MESSAGES: Final[dict[InvalidReason, str]] = {
    "empty": "Nothing was scanned. Please scan the barcode again.",
    "too_long": f"{_CANNOT_READ}: it is too long.",
    "control_chars": f"{_CANNOT_READ}: it contains characters a barcode cannot hold.",
    "bad_check_digit": f"{_CANNOT_READ}: the check digit is wrong.",
    "bad_gs1": f"{_CANNOT_READ}: its GS1 data could not be decoded.",
    "unknown_format": "This barcode is not one the kiosk knows. Please ask staff for help.",
}


def check_digit(body: str) -> str:
    """GS1 mod-10 check digit for ``body``, the digits before it; ValueError if not digits."""
    if not _DIGITS.fullmatch(body):
        raise ValueError(f"a check digit needs a body of digits 0-9, got {body!r}")
    return str(gs1_standard_check_digit(body))


def gtin14(code: str) -> str:
    """Left-pad a valid GTIN-8/12/13/14 to 14 digits. Raises ValueError naming the problem."""
    if not _DIGITS.fullmatch(code) or len(code) not in (8, 12, 13, 14):
        raise ValueError(f"{code!r} is not a GTIN: expected 8, 12, 13 or 14 digits 0-9")
    if not _check_ok(code):
        raise ValueError(
            f"{code!r} is not a GTIN: the check digit should be {check_digit(code[:-1])}"
        )
    return code.zfill(14)


def expand_upce(code: str) -> str:
    """Expand an 8-digit UPC-E (number system 0/1, check digit last) to its 12-digit UPC-A."""
    if not _DIGITS.fullmatch(code) or len(code) != 8:
        raise ValueError(f"{code!r} is not a UPC-E: expected 8 digits 0-9")
    if code[0] not in "01":
        raise ValueError(f"{code!r} is not a UPC-E: the number system must be 0 or 1")
    try:
        return Upc.parse(code).as_upc_a()
    except ParseError as exc:
        raise ValueError(f"{code!r} is not a UPC-E: the check digit is wrong") from exc


def classify(
    raw: str, config: BarcodeConfig, today: date, currency_exponent: int = 2
) -> ScanResult:
    """Classify and validate one scan; see the module docstring for the rules.

    Never raises for any ``raw`` string. Only a hand-built ``config`` whose variable-measure
    layout reaches past the 13 digits (``parse_config`` refuses those) raises ``ConfigError``.
    """
    text = _strip_terminator(raw)
    if not text:
        return _invalid("empty", text)
    if len(text) > config.max_length:
        return _invalid("too_long", text)
    if any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in text if ch != _GS):
        return _invalid("control_chars", text)
    symbology, has_identifier, data = _split_identifier(text)
    if not data:
        return _invalid("empty", text)
    is_gs1_symbology = symbology in GS1Symbology.with_gs1_messages()
    if _GS in data and has_identifier and not is_gs1_symbology:
        return _invalid("control_chars", text)
    if is_gs1_symbology or _GS in data:
        return _classify_gs1(data, text, today, currency_exponent)
    if not data.isascii():
        return _invalid("unknown_format", text)
    matched = _match_patterns(data, config)
    if matched is not None:
        return matched
    if has_identifier:
        return _classify_identified(symbology, data, text, config)
    return _classify_plain(data, text, config, today, currency_exponent)


def _strip_terminator(raw: str) -> str:
    for terminator in ("\r\n", "\n", "\r"):
        if raw.endswith(terminator):
            return raw[: -len(terminator)]
    return raw


def _split_identifier(text: str) -> tuple[GS1Symbology | None, bool, str]:
    """(GS1 symbology or None, whether an AIM identifier was present, the data after it)."""
    if not _AIM_IDENTIFIER.match(text):
        return None, False, text
    try:
        symbology: GS1Symbology | None = GS1Symbology(text[1:3])
    except ValueError:
        symbology = None  # a valid identifier of a symbology outside the GS1 system
    return symbology, True, text[3:]


def _match_patterns(data: str, config: BarcodeConfig) -> ScanResult | None:
    if re.fullmatch(config.staff_badge, data):
        return StaffBadgeScan(data)
    if re.fullmatch(config.member, data):
        return MemberScan(data)
    if re.fullmatch(config.coupon, data):
        return CouponScan(data)
    if re.fullmatch(config.wallet, data):
        return WalletScan(data)
    if re.fullmatch(config.receipt, data):
        return ReceiptScan(data.removeprefix("R"))
    return None


def _classify_identified(
    symbology: GS1Symbology | None, data: str, text: str, config: BarcodeConfig
) -> ScanResult:
    if _DIGITS.fullmatch(data):
        n = len(data)
        if symbology is GS1Symbology.EAN_13:
            if n == 13:
                return _ean13(data, text, config)
            if n == 12:
                return _product(data, "upca", text)
            if n in (6, 7) or (n == 8 and data[0] in "01"):
                return _upce(data, text)
            if n == 8:
                return _product(data, "ean8", text)
        elif symbology is GS1Symbology.EAN_13_WITH_ADD_ON and n in (15, 18):
            return _ean13(data[:13], text, config)
        elif symbology is GS1Symbology.EAN_8 and n == 8:
            return _product(data, "ean8", text)
        elif symbology is GS1Symbology.ITF_14 and n == 14:
            return _product(data, "gtin14", text)
    return _invalid("unknown_format", text)


def _classify_plain(
    data: str, text: str, config: BarcodeConfig, today: date, currency_exponent: int
) -> ScanResult:
    if _DIGITS.fullmatch(data):
        n = len(data)
        if n == 8:
            if not _check_ok(data) and data[0] in "01" and _upce_ok(data):
                return _upce(data, text)
            return _product(data, "ean8", text)
        if n == 12:
            return _product(data, "upca", text)
        if n == 13:
            return _ean13(data, text, config)
        if n == 14:
            return _product(data, "gtin14", text)
        if n > 14:
            return _classify_gs1(data, text, today, currency_exponent)
    elif _GS1_START.match(data):
        return _classify_gs1(data, text, today, currency_exponent)
    return _invalid("unknown_format", text)


def _check_ok(code: str) -> bool:
    return str(gs1_standard_check_digit(code[:-1])) == code[-1]


def _upce_ok(code: str) -> bool:
    try:
        Upc.parse(code)
    except ParseError:
        return False
    return True


def _product(code: str, symbology: Symbology, text: str) -> ProductScan | InvalidScan:
    if not _check_ok(code):
        return _invalid("bad_check_digit", text)
    return ProductScan(gtin=code.zfill(14), symbology=symbology, raw=text)


def _upce(code: str, text: str) -> ProductScan | InvalidScan:
    """UPC-E of 6 digits (number system 0 implied), 7 (no check digit) or 8 digits."""
    if len(code) > 6 and code[0] not in "01":
        return _invalid("unknown_format", text)
    try:
        upca = Upc.parse(code).as_upc_a()
    except ParseError:
        return _invalid("bad_check_digit", text)
    return ProductScan(gtin=upca.zfill(14), symbology="upce", raw=text)


def _ean13(code: str, text: str, config: BarcodeConfig) -> ScanResult:
    if not _check_ok(code):
        return _invalid("bad_check_digit", text)
    layout = next((lay for lay in config.variable_measure if lay.prefix == code[:2]), None)
    if layout is None:
        return ProductScan(gtin=code.zfill(14), symbology="ean13", raw=text)
    return _variable_measure(code, layout, text)


def _variable_measure(code: str, layout: VariableMeasureLayout, text: str) -> VariableMeasureScan:
    item = code[layout.item_start : layout.item_start + layout.item_length]
    value = code[layout.value_start : layout.value_start + layout.value_length]
    if len(item) != layout.item_length or len(value) != layout.value_length or not value:
        raise ConfigError(
            "barcodes.variable_measure",
            f"layout for prefix {layout.prefix} reaches past the 13 digits of an EAN-13",
        )
    if layout.kind == "price":
        return VariableMeasureScan(layout.prefix, item, "price", int(value), None, text)
    weight = Decimal(int(value)).scaleb(-layout.decimals)
    return VariableMeasureScan(layout.prefix, item, "weight", None, weight, text)


def _classify_gs1(data: str, text: str, today: date, currency_exponent: int) -> ScanResult:
    body = data.strip(_GS)
    if not body:
        return _bad_gs1(text, "it holds no GS1 data")
    if not _GS1_CHARS.fullmatch(body):
        return _bad_gs1(text, "it contains characters a GS1 barcode cannot hold")
    try:
        message = GS1Message.parse(body, config=_PARSE_CONFIG)
    except (ParseError, ValueError) as exc:
        logger.debug("GS1 parse failed for %r: %s", body, exc)
        ai = _BIIP_AI.search(str(exc))
        if ai is None:
            return _bad_gs1(text, "it contains an unknown or malformed GS1 field")
        return _bad_gs1(text, f"its GS1 field ({ai.group(1)}) is malformed")
    elements = message.element_strings
    gtins = elements.filter(ai="01")
    if not gtins:
        return _bad_gs1(text, "it has no product number (GS1 AI 01)")
    if len({element.value for element in gtins}) > 1:
        return _bad_gs1(text, "it has two different product numbers (GS1 AI 01)")
    if gtins[0].gtin is None:
        return _invalid("bad_check_digit", text)
    batch = elements.get(ai="10")
    expiry_element = elements.get(ai="17")
    expiry = expiry_element.date if expiry_element is not None else None
    weight = elements.get(ai="310")
    price_element = elements.get(ai="392")
    price: int | None = None
    if price_element is not None and price_element.decimal is not None:
        minor = price_element.decimal.scaleb(currency_exponent)
        if minor != minor.to_integral_value():
            return _bad_gs1(
                text, "its price (GS1 AI 392x) has more decimals than the currency allows"
            )
        price = int(minor)
    return ProductScan(
        gtin=gtins[0].value,
        symbology="gs1",
        raw=text,
        batch=batch.value if batch is not None else None,
        expiry=expiry,
        expired=expiry is not None and expiry < today,
        weight_kg=weight.decimal if weight is not None else None,
        price=price,
    )


def _invalid(reason: InvalidReason, text: str) -> InvalidScan:
    return InvalidScan(reason=reason, message=_MESSAGES[reason], raw=text)


def _bad_gs1(text: str, problem: str) -> InvalidScan:
    return InvalidScan(reason="bad_gs1", message=f"{_CANNOT_READ}: {problem}.", raw=text)
