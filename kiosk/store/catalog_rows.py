"""One row of a catalog CSV file checked and turned into the product row the import stages
(``kiosk.store.catalog_import``, whose docstring lists the columns and their rules). Every
problem of a row is collected with its line number; a row with any is not staged.

GTINs are checked and padded to 14 digits by ``kiosk.barcodes.gtin14``, the same rule the
lane's barcode classifier applies to a scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from decimal import Decimal
from typing import Final

from kiosk.barcodes import gtin14
from kiosk.store.catalog_categories import CategoryCollector, is_category_column
from kiosk.store.importing import Problems, parse_int
from kiosk.store.pinyin_keys import pinyin_keys

REQUIRED: Final[tuple[str, ...]] = ("sku", "gtins", "unit", "price", "tax_code")
OPTIONAL: Final[frozenset[str]] = frozenset(
    {"plu", "category", "age_limit", "not_for_sale", "quantity_limit"}
)
_NAME_COLUMN: Final = re.compile(r"name_([a-z]{2,3}(?:_[A-Z]{2})?)")
_SKU: Final = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")
_PLU: Final = re.compile(r"[0-9]{1,16}")
_PRICE: Final = re.compile(r"([0-9]{1,12})(?:\.([0-9]+))?")

# (line, sku, names JSON, price, tax_code, unit, plu, category, age_limit, not_for_sale,
# quantity_limit, gtins, search_text, pinyin): a row of temp.import_products
ProductRow = tuple[int, str, str, int, str, str, str | None, str, int, int, int, str, str, str]


def parse_price(text: str, currency_exponent: int) -> int:
    """Major units text (``"12.90"``) to integer minor units, exactly, through Decimal."""
    match = _PRICE.fullmatch(text)
    if match is None:
        raise ValueError(f"price {text!r} is not a decimal amount like 12.90")
    decimals = match.group(2) or ""
    if len(decimals) > currency_exponent:
        raise ValueError(
            f"price {text!r} has {len(decimals)} decimals; the currency has {currency_exponent}"
        )
    return int(Decimal(text).scaleb(currency_exponent))


class RowParser:
    """Checks one data row of a catalog file and turns it into a staged product row."""

    def __init__(self, exponent: int, tax_codes: Collection[str], problems: Problems) -> None:
        self.exponent = exponent
        self.tax_codes = frozenset(tax_codes)
        self.problems = problems
        self.categories = CategoryCollector()

    def parse(self, line: int, row: dict[str, str]) -> tuple[ProductRow, list[str]] | None:
        bad: list[str] = []
        sku = row["sku"]
        if not _SKU.fullmatch(sku):
            bad.append(f"sku {sku!r} must be 1-64 characters without spaces")
        gtins: list[str] = []
        for part in row["gtins"].split("|") if row["gtins"] else []:
            try:
                gtin = gtin14(part.strip())
            except ValueError as exc:
                bad.append(f"gtins: {exc}")
                continue
            if gtin in gtins:
                bad.append(f"GTIN {part.strip()!r} is listed twice in the row")
            gtins.append(gtin)
        plu = row.get("plu", "") or None
        if plu is not None and not _PLU.fullmatch(plu):
            bad.append(f"plu {plu!r} must be 1-16 digits")
        unit = row["unit"]
        if unit not in ("ea", "kg"):
            bad.append(f"unit {unit!r} must be ea or kg")
        price = 0
        try:
            price = parse_price(row["price"], self.exponent)
        except ValueError as exc:
            bad.append(str(exc))
        tax_code = row["tax_code"]
        if tax_code not in self.tax_codes:
            known = ", ".join(sorted(self.tax_codes))
            bad.append(f"tax_code {tax_code!r} is not a configured tax code ({known})")
        numbers = []
        for column, high in (("age_limit", 120), ("not_for_sale", 1), ("quantity_limit", 9999)):
            try:
                numbers.append(parse_int(row.get(column, ""), 0, high))
            except ValueError as exc:
                bad.append(f"{column}: {exc}")
                numbers.append(0)
        names = {
            match.group(1): value
            for column, value in row.items()
            if value and (match := _NAME_COLUMN.fullmatch(column))
        }
        if not names:
            bad.append("every name_<lang> column is empty: a product needs a name")
        bad += self.categories.add(line, row)
        for problem in bad:
            self.problems.add(line, problem)
        if bad:
            return None
        product: ProductRow = (
            line,
            sku,
            json.dumps(names, ensure_ascii=False, sort_keys=True),
            price,
            tax_code,
            unit,
            plu,
            row.get("category", ""),
            numbers[0],
            numbers[1],
            numbers[2],
            "|".join(gtins),
            "\n".join(names.values()),
            pinyin_keys(names),
        )
        return product, gtins


def column_ok(name: str) -> bool:
    """Whether a header column is one a catalog file may have."""
    return (
        name in REQUIRED
        or name in OPTIONAL
        or _NAME_COLUMN.fullmatch(name) is not None
        or is_category_column(name)
    )


def names_in_header(header: list[str]) -> str | None:
    """What is wrong with a header that has no name column, else None."""
    if any(_NAME_COLUMN.fullmatch(name) for name in header):
        return None
    return "the header has no 'name_<lang>' column (name_zh_CN, name_en...)"
