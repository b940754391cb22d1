"""Catalog import from CSV: validate everything, then swap the new catalog in atomically.

Called from the CLI (``kiosk catalog import FILE``) on its own connection; the lane may keep
selling meanwhile. Columns (header row required, any order, UTF-8):

    sku             required, 1-64 printable characters without spaces, unique in the file
    gtins           0 or more GTIN-8/12/13/14 separated by "|", each with a valid GS1 check
                    digit; stored normalised to 14 digits; unique in the file
    plu             optional, 1-16 digits, unique in the file
    category        optional text
    unit            ea | kg
    price           major units as a decimal string ("12.90", "3"); per kg for unit kg;
                    at most as many decimals as the currency has
    tax_code        one of the configured tax codes
    age_limit       optional whole number 0..120 (0: none)
    not_for_sale    optional 0 | 1
    quantity_limit  optional whole number 0..9999 (0: no limit)
    name_<lang>     one column per language (name_zh_CN, name_en...); at least one non-empty
    category_name_<lang>  optional: the category's name in a language (category tiles)
    category_picture      optional: the category's picture, a .png/.jpg file name in
                    [paths] pictures; rows of one category must not disagree on these
                    (see ``kiosk.store.catalog_categories``)

How nothing is ever half-imported:

1. Every row is parsed and validated in Python (``kiosk.store.catalog_rows``; GTINs by
   ``kiosk.barcodes.gtin14``, as a scan is) and written to TEMP staging tables (a private
   temp file of this connection; kiosk.db is not touched). Duplicates across rows are found
   with SQL over the staging tables. Any problem: ``ImportRejected`` lists the problems with
   their line numbers and the live catalog is untouched.
2. ``products_new``, ``product_gtins_new``, ``products_fts_new``, ``categories_new`` and
   ``category_products_new`` are created with the live tables' own DDL and filled in short
   chunked transactions (the lane's writes interleave; the live catalog is untouched and a
   crash leaves only ``*_new`` leftovers, dropped next time).
3. ONE transaction renames the live tables to ``*_old`` and the new ones to the live names
   (milliseconds, whatever the size), then the old ones are dropped.

The FTS index is external-content (``content='products'``): rows inserted into
``products_fts_new`` only write the index, which reads names from ``products`` (the new table
after the rename). 250 000 rows take a few seconds. The pinyin keys of Chinese names
(``kiosk.store.pinyin_keys``, loading pypinyin in this process) are computed with each row and
indexed in ``products_pinyin_fts`` the same way.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final

import sqlite_utils

from kiosk.store.catalog_categories import (
    CATEGORY_TABLES,
    CategoryCollector,
    fill_categories,
    index_products,
)
from kiosk.store.catalog_rows import (
    REQUIRED,
    ProductRow,
    RowParser,
    column_ok,
    names_in_header,
)
from kiosk.store.db import translate_errors, write_transaction
from kiosk.store.importing import Problems, Source, read_rows, rejected
from kiosk.store.pinyin_keys import PINYIN_FTS

logger = logging.getLogger(__name__)

CATALOG_TABLES: Final[tuple[str, ...]] = (
    "products",
    "product_gtins",
    "products_fts",
    PINYIN_FTS,
    *CATEGORY_TABLES,
)
PROGRESS_EVERY: Final[int] = 1000
CHUNK_ROWS: Final[int] = 20_000

_STAGING_DDL: Final[tuple[str, ...]] = (
    "DROP TABLE IF EXISTS temp.import_products",
    "DROP TABLE IF EXISTS temp.import_gtins",
    """CREATE TEMP TABLE import_products (line INTEGER NOT NULL, sku TEXT NOT NULL,
        names TEXT NOT NULL, price INTEGER NOT NULL, tax_code TEXT NOT NULL, unit TEXT NOT NULL,
        plu TEXT, category TEXT NOT NULL, age_limit INTEGER NOT NULL,
        not_for_sale INTEGER NOT NULL, quantity_limit INTEGER NOT NULL,
        gtins TEXT NOT NULL, search_text TEXT NOT NULL, pinyin TEXT NOT NULL)""",
    "CREATE TEMP TABLE import_gtins (line INTEGER NOT NULL, gtin TEXT NOT NULL, sku TEXT)",
)
_STAGE_PRODUCT: Final[str] = "INSERT INTO temp.import_products VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
_STAGE_GTIN: Final[str] = "INSERT INTO temp.import_gtins VALUES (?,?,?)"
_PRODUCT_COLUMNS: Final[str] = (
    "sku, names, price, tax_code, unit, plu, category, age_limit, not_for_sale, "
    "quantity_limit, gtins, search_text, pinyin"
)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: products and GTINs now live, products replaced, time taken."""

    products: int
    gtins: int
    replaced: int
    seconds: float


def _stage(
    conn: sqlite3.Connection,
    source: Source,
    parser: RowParser,
    progress: Callable[[int], None] | None,
) -> int:
    """Parse the file into the TEMP staging tables; returns the number of data rows."""
    rows = 0
    products: list[ProductRow] = []
    gtins: list[tuple[int, str, str]] = []

    def flush() -> None:
        conn.executemany(_STAGE_PRODUCT, products)
        conn.executemany(_STAGE_GTIN, gtins)
        products.clear()
        gtins.clear()

    rows_in = read_rows(source, "catalog", column_ok, REQUIRED, parser.problems, names_in_header)
    for line, row in rows_in:
        rows += 1
        parsed = parser.parse(line, row)
        if parsed is not None:
            products.append(parsed[0])
            gtins.extend((line, gtin, parsed[0][1]) for gtin in parsed[1])
        if len(products) >= CHUNK_ROWS:
            flush()
        if progress is not None and rows % PROGRESS_EVERY == 0:
            progress(rows)
    flush()
    if progress is not None:
        progress(rows)
    return rows


def _scalar(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _find_duplicates(conn: sqlite3.Connection, problems: Problems) -> None:
    checks = (("sku", "import_products"), ("plu", "import_products"), ("gtin", "import_gtins"))
    for column, table in checks:
        sql = (
            f"SELECT {column}, group_concat(line, ',') FROM "
            f"(SELECT {column}, line FROM temp.{table} WHERE {column} IS NOT NULL "
            f"ORDER BY {column}, line) GROUP BY {column} HAVING count(*) > 1"
        )
        for value, lines_text in conn.execute(sql):
            lines = [int(n) for n in str(lines_text).split(",")]
            for later in lines[1:]:
                problems.add(later, f"{column} {value!r} is also on line {lines[0]}")


def _clone_ddl(conn: sqlite3.Connection, table: str, new_name: str) -> str:
    row = conn.execute(
        "SELECT sql FROM sqlite_schema WHERE name = ? AND type = 'table'", (table,)
    ).fetchone()
    if row is None:
        raise rejected("catalog", 0, f"kiosk.db has no {table} table: run the migrations first")
    pattern = re.compile(rf'^(CREATE\s+(?:VIRTUAL\s+)?TABLE\s+)("?){re.escape(table)}\2', re.I)
    ddl, count = pattern.subn(lambda m: f"{m.group(1)}{new_name}", str(row[0]), count=1)
    if count != 1:
        raise rejected("catalog", 0, f"cannot read the DDL of table {table}")
    return ddl


def _drop_leftovers(conn: sqlite3.Connection) -> None:
    with write_transaction(conn):
        for suffix in ("_new", "_old"):
            for table in CATALOG_TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}{suffix}")


def _build_new(conn: sqlite3.Connection, categories: CategoryCollector) -> tuple[int, int]:
    with write_transaction(conn):
        for table in CATALOG_TABLES:
            conn.execute(_clone_ddl(conn, table, f"{table}_new"))
    last = _scalar(conn, "SELECT coalesce(max(rowid), 0) FROM temp.import_products")
    for start in range(1, last + 1, CHUNK_ROWS):
        end = start + CHUNK_ROWS - 1
        with write_transaction(conn):
            conn.execute(
                f"INSERT INTO products_new (id, {_PRODUCT_COLUMNS}) "
                f"SELECT rowid, {_PRODUCT_COLUMNS} "
                "FROM temp.import_products WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
                (start, end),
            )
            conn.execute(
                "INSERT INTO products_fts_new (rowid, search_text) "
                "SELECT id, search_text FROM products_new WHERE id BETWEEN ? AND ?",
                (start, end),
            )
            conn.execute(
                f"INSERT INTO {PINYIN_FTS}_new (rowid, pinyin) SELECT id, pinyin "
                "FROM products_new WHERE id BETWEEN ? AND ?",
                (start, end),
            )
            index_products(conn, start, end)
    with write_transaction(conn):
        fill_categories(conn, categories)
    gtin_last = _scalar(conn, "SELECT coalesce(max(rowid), 0) FROM temp.import_gtins")
    for start in range(1, gtin_last + 1, CHUNK_ROWS * 2):
        with write_transaction(conn):
            conn.execute(
                "INSERT INTO product_gtins_new (gtin, product_id, sku) "
                "SELECT g.gtin, p.id, g.sku FROM temp.import_gtins g "
                "JOIN products_new p ON p.sku = g.sku WHERE g.rowid BETWEEN ? AND ?",
                (start, start + CHUNK_ROWS * 2 - 1),
            )
    return (
        _scalar(conn, "SELECT count(*) FROM products_new"),
        _scalar(conn, "SELECT count(*) FROM product_gtins_new"),
    )


def _swap(conn: sqlite3.Connection, staged: tuple[int, int]) -> int:
    with write_transaction(conn):
        replaced = _scalar(conn, "SELECT count(*) FROM products")
        built = (
            _scalar(conn, "SELECT count(*) FROM products_new"),
            _scalar(conn, "SELECT count(*) FROM product_gtins_new"),
        )
        if built != staged:
            raise rejected("catalog", 0, f"staged {staged} products/GTINs but built {built}")
        for table in CATALOG_TABLES:
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
        for table in CATALOG_TABLES:
            conn.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
        conn.execute(
            "INSERT OR REPLACE INTO kiosk_state (key, value) VALUES "
            "('catalog_imported_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
            "('catalog_products', ?)",
            (str(built[0]),),
        )
    with write_transaction(conn):
        for table in CATALOG_TABLES:
            conn.execute(f"DROP TABLE {table}_old")
    return replaced


def import_catalog(
    db: sqlite_utils.Database,
    source: Source,
    currency_exponent: int,
    tax_codes: Collection[str],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Replace the whole catalog with the CSV ``source`` (a path or an open file).

    Raises ``ImportRejected`` (a ``CatalogImportError``) listing every problem with its line
    number; the live catalog is then unchanged. ``progress(rows_read)`` is called every
    ``PROGRESS_EVERY`` rows and once at the end of reading.
    """
    started = time.monotonic()
    conn = db.conn
    parser = RowParser(currency_exponent, tax_codes, Problems())
    with translate_errors():
        for statement in _STAGING_DDL:
            conn.execute(statement)
        try:
            conn.execute("BEGIN")  # the TEMP tables only: kiosk.db itself is not locked
            try:
                rows = _stage(conn, source, parser, progress)
                _find_duplicates(conn, parser.problems)
            finally:
                conn.execute("COMMIT")
            parser.problems.raise_if_any("catalog")
            if rows == 0:
                raise rejected("catalog", 1, "the file has a header but no products")
            _drop_leftovers(conn)
            staged = (
                _scalar(conn, "SELECT count(*) FROM temp.import_products"),
                _scalar(conn, "SELECT count(*) FROM temp.import_gtins"),
            )
            products, gtins = _build_new(conn, parser.categories)
            replaced = _swap(conn, staged)
        finally:
            conn.execute("DROP TABLE IF EXISTS temp.import_products")
            conn.execute("DROP TABLE IF EXISTS temp.import_gtins")
    seconds = time.monotonic() - started
    logger.info("catalog imported: %d products, %d GTINs in %.1f s", products, gtins, seconds)
    return ImportReport(products=products, gtins=gtins, replaced=replaced, seconds=seconds)
