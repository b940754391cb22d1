"""Catalog categories in kiosk.db: collected by the catalog import, listed for the lookup screen.

The catalog CSV names a product's ``category`` (an id, e.g. ``饮料/Drinks``) and may give, on
any of the category's rows, its names (``category_name_<lang>``) and a picture
(``category_picture``: a PNG or JPEG file name in ``[paths] pictures``). Rows of one category
must not disagree; an empty cell says nothing. The import (``kiosk.store.catalog_import``, on
the CLI's thread) collects them with ``CategoryCollector`` and fills two catalog tables swapped
in with the products (see ``kiosk.store.migrations`` version 8):

- ``categories``: one row per category with its names, picture name, number of products for
  sale and position (the first line naming it, so the file orders the tiles);
- ``category_products``: (category, product id) of every product for sale, the index that
  browsing a category pages through.

``list_categories`` (the lane thread, through ``SqliteCatalog.categories``) reads the small
``categories`` table only; a picture is given as a path when its file exists, otherwise as
None with a warning logged once per file. ``picture_warnings`` lists missing picture files
for ``kiosk config check``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kiosk.catalog import Category
from kiosk.errors import StoreError
from kiosk.store.db import open_db, translate_errors

logger = logging.getLogger(__name__)

CATEGORY_TABLES: Final[tuple[str, ...]] = ("categories", "category_products")
PICTURE_COLUMN: Final[str] = "category_picture"
PICTURE_SUFFIXES: Final[frozenset[str]] = frozenset({".png", ".jpg", ".jpeg"})

_NAME_COLUMN: Final = re.compile(r"category_name_([a-z]{2,3}(?:_[A-Z]{2})?)")
_PICTURE_NAME: Final = re.compile(r"[^/\\\x00-\x1f\x7f.][^/\\\x00-\x1f\x7f]{0,127}")

_LIST: Final[str] = (
    "SELECT category, names, count, picture FROM categories WHERE count > 0 "
    "ORDER BY position, category"
)
_warned: set[str] = set()


def is_category_column(name: str) -> bool:
    """Whether ``name`` is one of the optional category columns of the catalog CSV."""
    return name == PICTURE_COLUMN or _NAME_COLUMN.fullmatch(name) is not None


def picture_problem(name: str) -> str | None:
    """What is wrong with a ``category_picture`` value (a bare file name), or None."""
    if not _PICTURE_NAME.fullmatch(name):
        return (
            f"category_picture {name!r} must be a file name (no folder, not starting with "
            "'.', at most 128 characters) in [paths] pictures"
        )
    if Path(name).suffix.lower() not in PICTURE_SUFFIXES:
        return f"category_picture {name!r} must be a .png, .jpg or .jpeg file"
    return None


@dataclass(slots=True)
class _Draft:
    position: int
    names: dict[str, tuple[str, int]] = field(default_factory=dict)  # lang -> (name, line)
    picture: tuple[str, int] | None = None


class CategoryCollector:
    """The categories of one catalog file, as its rows are read (import thread)."""

    def __init__(self) -> None:
        self._drafts: dict[str, _Draft] = {}

    def add(self, line: int, row: Mapping[str, str]) -> list[str]:
        """Note the category of a row; returns the row's category problems (conflicts with
        an earlier row, a bad picture name, category columns without a category)."""
        category = row.get("category", "")
        names = {
            match.group(1): value.strip()
            for column, value in row.items()
            if value and value.strip() and (match := _NAME_COLUMN.fullmatch(column))
        }
        picture = row.get(PICTURE_COLUMN, "").strip()
        if not category:
            if names or picture:
                return ["category_name_* or category_picture given without a category"]
            return []
        draft = self._drafts.setdefault(category, _Draft(position=line))
        bad: list[str] = []
        for lang, name in names.items():
            known = draft.names.setdefault(lang, (name, line))
            if known[0] != name:
                bad.append(
                    f"category {category!r}: category_name_{lang} {name!r} differs from "
                    f"{known[0]!r} on line {known[1]}"
                )
        if picture:
            problem = picture_problem(picture)
            if problem is not None:
                bad.append(problem)
            elif draft.picture is None:
                draft.picture = (picture, line)
            elif draft.picture[0] != picture:
                bad.append(
                    f"category {category!r}: category_picture {picture!r} differs from "
                    f"{draft.picture[0]!r} on line {draft.picture[1]}"
                )
        return bad

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(category, names JSON, picture, position) for each category seen."""
        return [
            (
                category,
                json.dumps(
                    {lang: name for lang, (name, _) in draft.names.items()},
                    ensure_ascii=False,
                    sort_keys=True,
                ),
                draft.picture[0] if draft.picture else "",
                draft.position,
            )
            for category, draft in self._drafts.items()
        ]


def index_products(conn: sqlite3.Connection, start: int, end: int) -> None:
    """Index the products for sale with ids ``start..end`` of ``products_new`` by category
    (inside the import's chunk transaction)."""
    conn.execute(
        "INSERT INTO category_products_new (category, product_id) "
        "SELECT category, id FROM products_new "
        "WHERE id BETWEEN ? AND ? AND category != '' AND not_for_sale = 0",
        (start, end),
    )


def fill_categories(conn: sqlite3.Connection, collector: CategoryCollector) -> None:
    """Write ``categories_new`` from the collected categories and the index's counts (inside
    a write transaction of the import)."""
    counts = dict(
        conn.execute(
            "SELECT category, count(*) FROM category_products_new GROUP BY category"
        ).fetchall()
    )
    conn.executemany(
        "INSERT INTO categories_new (category, names, picture, count, position) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (category, names, picture, int(counts.get(category, 0)), position)
            for category, names, picture, position in collector.rows()
        ],
    )


def resolve_picture(pictures_dir: str | None, name: str) -> str | None:
    """The path of picture ``name`` in ``pictures_dir`` when the file exists, else None (a
    missing file is logged once, never raised: the lookup screen then draws a plain tile)."""
    if not name or not pictures_dir:
        return None
    path = Path(pictures_dir) / name
    if path.is_file():
        return str(path)
    if str(path) not in _warned:
        _warned.add(str(path))
        logger.warning("category picture %s is missing; the tile is drawn without it", path)
    return None


def list_categories(conn: sqlite3.Connection, pictures_dir: str | None) -> tuple[Category, ...]:
    """The categories with products for sale, in catalog order (lane thread)."""
    with translate_errors():
        rows = conn.execute(_LIST).fetchall()
    return tuple(
        Category(
            category=str(category),
            names=json.loads(str(names)),
            count=int(count),
            picture=resolve_picture(pictures_dir, str(picture)),
        )
        for category, names, count, picture in rows
    )


def picture_warnings(db_path: str, pictures_dir: str) -> list[str]:
    """For ``kiosk config check``: each category picture named in kiosk.db whose file is not in
    ``pictures_dir``, and a missing ``pictures_dir`` when some category names a picture. An
    absent or unreadable kiosk.db, or one without categories yet, gives no warning."""
    if not Path(db_path).is_file():
        return []
    try:
        db = open_db(db_path, read_only=True)
    except StoreError:
        return []
    try:
        with translate_errors():
            rows = db.conn.execute(
                "SELECT category, picture FROM categories WHERE picture != '' ORDER BY position"
            ).fetchall()
    except StoreError:
        return []  # an older schema: no categories table yet
    finally:
        db.conn.close()
    if rows and not Path(pictures_dir).is_dir():
        return [f"[paths] pictures {pictures_dir} is not a folder: no category has a picture"]
    return [
        f"category {category!r}: picture {Path(pictures_dir) / picture} is missing "
        "(the tile is drawn without it)"
        for category, picture in rows
        if not (Path(pictures_dir) / str(picture)).is_file()
    ]
