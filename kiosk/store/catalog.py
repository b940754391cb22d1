"""The catalog port over kiosk.db: lookups by GTIN, PLU and SKU, and name search.

Called from the lane thread on every scan (``by_gtin`` is on the benchmark hot path). Nothing is
preloaded: each lookup is one indexed query on the lane's own connection, so its cost does not
depend on catalog size. Lookups use the raw ``sqlite3`` connection with SQL text the sqlite3
module caches as prepared statements; ``sqlite_utils`` is not in the hot path.

Search matches any substring of any of a product's names, in every language. Queries of 3
characters or more per word use the FTS5 trigram index ranked by bm25; shorter words (``可乐``,
``奶``, ``tv``) are matched with LIKE on ``products.search_text`` (a scan; names that start with
the word first, then shorter names). See ``kiosk.store.migrations`` for the index.

A query that can be pinyin (Latin letters, digits, spaces, tone marks: ``niunai``, ``nn``) is
also looked for, folded (``kiosk.store.pinyin_keys.pinyin_query``), in ``products.pinyin``, the
pinyin keys of the Chinese names the catalog import stored: through the trigram index
``products_pinyin_fts`` from 3 letters, with LIKE below. Those hits come after the name hits,
each product once. Searching never loads pypinyin.

Categories (``categories``, ``search(..., category=...)``) read the ``categories`` and
``category_products`` tables the catalog import builds (``kiosk.store.catalog_categories``):
listing reads one small row per category, browsing one is a range of the (category, product
id) primary key, in catalog order, whatever the catalog size. A query within a category is
matched with LIKE over that category's products only (names, or pinyin keys).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

import sqlite_utils

from kiosk.catalog import Category, Product, SearchPage, Unit
from kiosk.store.catalog_categories import list_categories
from kiosk.store.db import map_error, open_db, translate_errors
from kiosk.store.pinyin_keys import PINYIN_FTS, pinyin_query

_COLUMNS: Final[str] = (
    "p.sku, p.names, p.price, p.tax_code, p.unit, p.plu, p.category, p.age_limit, "
    "p.not_for_sale, p.quantity_limit, p.gtins"
)
_BY_GTIN: Final[str] = (
    f"SELECT {_COLUMNS} FROM product_gtins g JOIN products p ON p.id = g.product_id "
    "WHERE g.gtin = ?"
)
_BY_PLU: Final[str] = f"SELECT {_COLUMNS} FROM products p WHERE p.plu = ?"
_BY_SKU: Final[str] = f"SELECT {_COLUMNS} FROM products p WHERE p.sku = ?"
_IN_CATEGORY: Final[str] = (
    f"SELECT {_COLUMNS} FROM category_products c JOIN products p ON p.id = c.product_id "
    "WHERE c.category = ?"
)

MAX_PAGE_SIZE: Final[int] = 200
MAX_QUERY_LENGTH: Final[int] = 100
_TRIGRAM: Final[int] = 3

Row = Sequence[Any]


def product_from_row(row: Row) -> Product:
    """A ``Product`` from a row of ``_COLUMNS``."""
    sku, names, price, tax_code, unit, plu, category, age, nfs, qlimit, gtins = row
    unit_value: Unit = "kg" if unit == "kg" else "ea"
    return Product(
        sku=str(sku),
        names=json.loads(str(names)),
        price=int(price),
        tax_code=str(tax_code),
        unit=unit_value,
        gtins=tuple(str(gtins).split("|")) if gtins else (),
        plu=None if plu is None else str(plu),
        category=str(category),
        age_limit=int(age),
        not_for_sale=bool(nfs),
        quantity_limit=int(qlimit),
    )


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


_STARTS: Final[str] = "p.search_text LIKE ? ESCAPE '\\' OR p.search_text LIKE ? ESCAPE '\\'"


def _starts_params(word: str) -> list[object]:
    """Parameters of ``_STARTS``: a text starting with ``word``, or a line of it doing so."""
    prefix = _like_pattern(word)[1:]
    return [prefix, f"%\n{prefix}"]


LOOKUP_MMAP_BYTES: Final[int] = 1 << 30
LOOKUP_CACHE_KIB: Final[int] = 32 * 1024


def open_catalog_reader(path: str) -> sqlite_utils.Database:
    """A read-only connection tuned for per-scan lookups: the file is memory-mapped (up to
    1 GiB) and the page cache is 32 MiB, so a lookup in a large catalog reads pages from memory
    instead of copying them through read() calls. It is separate from the lane's write
    connection: a catalog import on the writer is seen here after its swap commits. (With
    mmap an I/O error on the file arrives as SIGBUS and stops the process; kiosk.db is
    crash-safe and the service manager restarts it.)"""
    db = open_db(path, read_only=True)
    with translate_errors():
        db.conn.execute(f"PRAGMA mmap_size={LOOKUP_MMAP_BYTES}")
        db.conn.execute(f"PRAGMA cache_size=-{LOOKUP_CACHE_KIB}")
    return db


class SqliteCatalog:
    """``kiosk.ports.Catalog`` over the products tables of kiosk.db. ``pictures_dir`` is
    ``[paths] pictures``, where the categories' picture files are (None: no pictures)."""

    def __init__(self, db: sqlite_utils.Database, pictures_dir: str | None = None) -> None:
        self._conn: sqlite3.Connection = db.conn
        self._pictures_dir = pictures_dir
        with translate_errors():
            row = self._conn.execute(
                "SELECT value FROM kiosk_state WHERE key = 'fts_tokenizer'"
            ).fetchone()
        self._trigram = row is not None and row[0] == "trigram"

    def _one(self, sql: str, key: str) -> Product | None:
        try:  # inline rather than translate_errors(): this is the per-scan hot path
            row = self._conn.execute(sql, (key,)).fetchone()
        except sqlite3.Error as exc:
            raise map_error(exc) from exc
        return None if row is None else product_from_row(row)

    def by_gtin(self, gtin: str) -> Product | None:
        """The product with this GTIN (14 digits; a shorter GTIN is left-padded with zeros)."""
        return self._one(_BY_GTIN, gtin if len(gtin) == 14 else gtin.zfill(14))

    def by_plu(self, plu: str) -> Product | None:
        return self._one(_BY_PLU, plu)

    def by_sku(self, sku: str) -> Product | None:
        return self._one(_BY_SKU, sku)

    def count(self) -> int:
        """Number of products (for status lines and tests; not used by the lane)."""
        with translate_errors():
            return int(self._conn.execute("SELECT count(*) FROM products").fetchone()[0])

    def categories(self) -> tuple[Category, ...]:
        """The categories with products for sale, in catalog order, pictures resolved."""
        return list_categories(self._conn, self._pictures_dir)

    def search(
        self, query: str, page: int = 0, page_size: int = 20, category: str = ""
    ) -> SearchPage:
        """Products whose names contain every word of ``query``, or whose pinyin keys contain
        the query typed in Latin letters (``niunai``, ``nn``: spaces, tones and case ignored),
        best first, one page: name matches first, then pinyin ones.

        ``page`` counts from 0; ``page_size`` is 1..200. An empty query finds nothing, unless
        ``category`` is given: then the page holds that category's products for sale (those
        matching ``query`` when it has words), in catalog order; an unknown category has none.
        """
        if page < 0:
            raise ValueError(f"page must be 0 or more, got {page}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        words = [w for w in query[:MAX_QUERY_LENGTH].split() if w.isprintable()]
        key = pinyin_query(" ".join(words))
        if category:
            return self._in_category(query, words, key, category, page, page_size)
        if not words:
            return SearchPage(query, page, page_size, (), False)
        long_words = [w for w in words if self._trigram and len(w) >= _TRIGRAM]
        short_words = [w for w in words if w not in long_words]
        likes = " AND ".join("p.search_text LIKE ? ESCAPE '\\'" for _ in short_words)
        params: list[object] = [_like_pattern(w) for w in short_words]
        if long_words:
            where = "products_fts MATCH ?" + (f" AND {likes}" if likes else "")
            hits = (
                "SELECT p.id, f.rank AS r1, 0 AS r2 FROM products_fts f "
                f"JOIN products p ON p.id = f.rowid WHERE {where}"
            )
            params.insert(0, " AND ".join(_fts_phrase(w) for w in long_words))
        else:
            # Rank: a name that starts with the first word, then shorter names.
            hits = (
                f"SELECT p.id, CASE WHEN {_STARTS} THEN 0 ELSE 1 END AS r1, "
                f"length(p.search_text) AS r2 FROM products p WHERE {likes}"
            )
            params[:0] = _starts_params(short_words[0])
        if key:
            hits, params = self._with_pinyin(hits, params, key)
        sql = (
            f"SELECT {_COLUMNS} FROM ({hits}) h JOIN products p ON p.id = h.id "
            "ORDER BY h.r1, h.r2, h.id LIMIT ? OFFSET ?"
        )
        params += [page_size + 1, page * page_size]
        with translate_errors():
            rows = self._conn.execute(sql, params).fetchall()
        products = tuple(product_from_row(r) for r in rows[:page_size])
        return SearchPage(query, page, page_size, products, len(rows) > page_size)

    def _with_pinyin(self, hits: str, params: list[object], key: str) -> tuple[str, list[object]]:
        """``hits`` (name matches: id, r1, r2) and the products whose pinyin keys contain
        ``key``, each product once, name matches first. Pinyin matches rank (r1) a key line
        starting with ``key`` first, then ``key`` inside the initials of the first Chinese name
        (its first line), then inside a full pinyin; then (r2) shorter keys."""
        rank = (
            f"CASE WHEN {_STARTS.replace('search_text', 'pinyin')} THEN 2 "
            "WHEN instr(p.pinyin, ?) < instr(p.pinyin || char(10), char(10)) THEN 3 ELSE 4 END"
        )
        rank_params = [*_starts_params(key), key]
        if self._trigram and len(key) >= _TRIGRAM:
            pinyin_hits = (
                f"SELECT p.id, {rank}, length(p.pinyin) FROM {PINYIN_FTS} f "
                f"JOIN products p ON p.id = f.rowid WHERE {PINYIN_FTS} MATCH ?"
            )
            pinyin_params: list[object] = [*rank_params, _fts_phrase(key)]
        else:
            pinyin_hits = (
                f"SELECT p.id, {rank}, length(p.pinyin) FROM products p WHERE p.pinyin LIKE ?"
            )
            pinyin_params = [*rank_params, f"%{key}%"]
        # With one min() aggregate, SQLite takes r1 and r2 from the row holding the minimum.
        both = (
            f"SELECT id, min(src), r1, r2 FROM (SELECT 0 AS src, * FROM ({hits}) UNION ALL "
            f"SELECT 1, * FROM ({pinyin_hits})) GROUP BY id"
        )
        return both, [*params, *pinyin_params]

    def _in_category(
        self, query: str, words: list[str], key: str, category: str, page: int, page_size: int
    ) -> SearchPage:
        likes = " AND ".join("p.search_text LIKE ? ESCAPE '\\'" for _ in words)
        params: list[object] = [category, *(_like_pattern(w) for w in words)]
        if likes and key:
            likes = f"(({likes}) OR p.pinyin LIKE ?)"
            params.append(f"%{key}%")
        where = f" AND {likes}" if likes else ""
        sql = f"{_IN_CATEGORY}{where} ORDER BY c.product_id LIMIT ? OFFSET ?"
        params += [page_size + 1, page * page_size]
        with translate_errors():
            rows = self._conn.execute(sql, params).fetchall()
        products = tuple(product_from_row(r) for r in rows[:page_size])
        return SearchPage(query, page, page_size, products, len(rows) > page_size, category)
