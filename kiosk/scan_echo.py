"""What the scanner test shows of one scan: its kind, symbology, GS1 elements and the code,
masked for a staff badge or a payment code. Pure core (``kiosk.lane_device_tests`` uses it).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from biip import ParseConfig, ParseError
from biip.gs1_messages import GS1Message
from biip.symbology import SymbologyIdentifier

from kiosk import barcodes

logger = logging.getLogger(__name__)

# The echoed code is cut to this many characters (a scan may be up to 512).
ECHO_MAX_CHARS: Final = 80
# Kinds of code whose digits are masked in the echo, but the last ``MASK_KEEP``.
MASKED_KINDS: Final = frozenset({"staff_badge", "wallet"})
MASK_KEEP: Final = 4

_GS: Final = "\x1d"
_GS1_PARSE: Final = ParseConfig(separator_chars=(_GS,))
_KINDS: Final[dict[type, str]] = {
    barcodes.ProductScan: "product",
    barcodes.VariableMeasureScan: "variable_measure",
    barcodes.StaffBadgeScan: "staff_badge",
    barcodes.MemberScan: "member",
    barcodes.CouponScan: "coupon",
    barcodes.WalletScan: "wallet",
    barcodes.ReceiptScan: "receipt",
    barcodes.InvalidScan: "invalid",
}


def describe_scan(raw: str, result: barcodes.ScanResult) -> dict[str, Any]:
    """What the scanner test shows of one scan: ``code`` (printable, masked for a staff badge
    or a payment code, cut to ``ECHO_MAX_CHARS``), ``kind``, ``symbology`` (the classifier's,
    for a product), ``identifier`` (the ISO symbology of an AIM identifier the scanner sent,
    e.g. ``CODE_128``), ``details`` (text fields: gtin, batch, expiry, weight, price...) and
    ``ais`` (each GS1 element string: ``ai``, ``title``, ``value``)."""
    text = _strip_terminator(raw)
    kind = _KINDS[type(result)]
    details: dict[str, str] = {}
    ais: list[dict[str, str]] = []
    symbology: str | None = None
    if isinstance(result, barcodes.ProductScan):
        symbology = result.symbology
        details["gtin"] = result.gtin
        if result.batch is not None:
            details["batch"] = result.batch
        if result.expiry is not None:
            details["expiry"] = result.expiry.isoformat()
            if result.expired:
                details["expired"] = "yes"
        if result.weight_kg is not None:
            details["weight_kg"] = str(result.weight_kg)
        if result.price is not None:
            details["price"] = str(result.price)
        if result.symbology == "gs1":
            ais = gs1_elements(text)
    elif isinstance(result, barcodes.VariableMeasureScan):
        symbology = "ean13"
        details.update(prefix=result.prefix, item=result.item, measure=result.kind)
        if result.price is not None:
            details["price"] = str(result.price)
        if result.weight_kg is not None:
            details["weight_kg"] = str(result.weight_kg)
    elif isinstance(result, barcodes.ReceiptScan):
        details["receipt_no"] = result.receipt_no
    elif isinstance(result, barcodes.InvalidScan):
        details.update(reason=result.reason, message=result.message)
    shown = _printable(text)
    masked = kind in MASKED_KINDS
    if masked:
        shown = _mask(shown)
    if len(shown) > ECHO_MAX_CHARS:
        shown = shown[: ECHO_MAX_CHARS - 1] + "…"
    return {
        "code": shown,
        "masked": masked,
        "kind": kind,
        "symbology": symbology,
        "identifier": _identifier(text),
        "details": details,
        "ais": ais,
    }


def gs1_elements(text: str) -> list[dict[str, str]]:
    """Every GS1 element string of a code the classifier read as GS1: ``ai``, ``title`` (the
    GS1 data title, e.g. ``BATCH/LOT``) and ``value``; [] when it cannot be parsed."""
    body = text
    try:
        identifier = SymbologyIdentifier.extract(text)
    except ParseError:
        identifier = None
    if identifier is not None:
        body = text[len(identifier.value) :]
    try:
        message = GS1Message.parse(body.strip(_GS), config=_GS1_PARSE)
    except (ParseError, ValueError) as exc:
        logger.warning("scanner test: GS1 elements not listed: %s", exc)
        return []
    return [
        {"ai": element.ai.ai, "title": element.ai.data_title, "value": element.value}
        for element in message.element_strings
    ]


def _identifier(text: str) -> str | None:
    try:
        found = SymbologyIdentifier.extract(text)
    except ParseError:
        return None
    return found.iso_symbology.name


def _strip_terminator(raw: str) -> str:
    for terminator in ("\r\n", "\n", "\r"):
        if raw.endswith(terminator):
            return raw[: -len(terminator)]
    return raw


def _printable(text: str) -> str:
    """Control characters (a GS1 separator, say) as ``<1D>``, so the echo can be shown."""
    return "".join(ch if ch.isprintable() else f"<{ord(ch):02X}>" for ch in text)


def _mask(text: str) -> str:
    keep = text[-MASK_KEEP:] if len(text) > MASK_KEEP else ""
    return "*" * (len(text) - len(keep)) + keep
