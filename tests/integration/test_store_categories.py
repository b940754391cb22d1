"""Catalog categories on a real kiosk.db: the import's category columns and index, listing,
browsing by category, pictures, the schema-8 migration, and no catalog scan at 250 000 rows."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.barcodes import check_digit
from kiosk.store.catalog import SqliteCatalog
from kiosk.store.catalog_categories import picture_warnings, resolve_picture
from kiosk.store.catalog_import import import_catalog
from kiosk.store.db import open_db
from kiosk.store.importing import ImportRejected
from kiosk.store.migrations import MIGRATIONS, migrate

HEADER = (
    "sku,gtins,plu,category,unit,price,tax_code,age_limit,not_for_sale,quantity_limit,"
    "name_zh_CN,name_en,category_name_zh_CN,category_name_en,category_picture"
)
TAX = {"VAT13", "VAT9"}


def gtin13(body12: str) -> str:
    return body12 + check_digit(body12)


ROWS = [
    f"1,{gtin13('690000000011')},,drinks,ea,3.50,VAT13,,,,可乐,Cola,饮料,Drinks,drinks.png",
    f"2,{gtin13('690000000012')},,drinks,ea,2.00,VAT13,,,,矿泉水,Water,,,",
    f"3,{gtin13('690000000013')},,snacks,ea,6.50,VAT13,,1,,召回薯片,Recalled chips,零食,Snacks,",
    f"4,{gtin13('690000000014')},,snacks,ea,5.00,VAT13,,,,饼干,Crackers,,,snacks.png",
    "5,,10001,fruit,kg,6.98,VAT9,,,,香蕉,Banana,水果,,",
    f"6,{gtin13('690000000016')},,recalled,ea,1.00,VAT13,,1,,旧货,Old stock,,Recalled,",
    f"7,{gtin13('690000000017')},,,ea,1.00,VAT13,,,,无类,Uncategorised,,,",
    f"8,{gtin13('690000000018')},,drinks,ea,4.00,VAT13,,,,可乐 2L,Cola 2L,饮料,Drinks,",
]


def write_csv(tmp_path: Path, rows: list[str], name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "drinks.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder  # snacks.png is missing on purpose


@pytest.fixture
def catalog(db: sqlite_utils.Database, tmp_path: Path, pictures: Path) -> SqliteCatalog:
    import_catalog(db, write_csv(tmp_path, ROWS), 2, TAX)
    return SqliteCatalog(db, pictures_dir=str(pictures))


def skus(page: object) -> list[str]:
    return [p.sku for p in page.products]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- listing
def test_categories_list_names_counts_and_pictures_in_file_order(
    catalog: SqliteCatalog, pictures: Path
) -> None:
    listed = catalog.categories()
    assert [c.category for c in listed] == ["drinks", "snacks", "fruit"]
    drinks, snacks, fruit = listed
    assert (drinks.count, snacks.count, fruit.count) == (3, 1, 1)  # not for sale not counted
    assert drinks.names == {"zh_CN": "饮料", "en": "Drinks"}
    assert (drinks.name("zh_CN"), drinks.name("en"), drinks.name("ja")) == (
        "饮料",
        "Drinks",
        "Drinks",
    )
    assert fruit.name("en") == "水果"  # no English name: any name
    assert drinks.picture == str(pictures / "drinks.png")
    assert snacks.picture is None  # named, but the file is missing
    assert fruit.picture is None  # none named


def test_a_category_without_names_is_named_by_its_id(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_catalog(db, write_csv(tmp_path, ROWS[1:2]), 2, TAX)
    (only,) = SqliteCatalog(db).categories()
    assert (only.category, only.name("zh_CN"), only.picture) == ("drinks", "drinks", None)


def test_a_category_with_only_products_not_for_sale_is_not_listed(catalog: SqliteCatalog) -> None:
    assert "recalled" not in [c.category for c in catalog.categories()]
    assert catalog.search("", category="recalled").products == ()


def test_without_a_pictures_folder_no_category_has_a_picture(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_catalog(db, write_csv(tmp_path, ROWS), 2, TAX)
    assert [c.picture for c in SqliteCatalog(db).categories()] == [None, None, None]


def test_a_missing_picture_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.store.catalog_categories"):
        assert resolve_picture(str(tmp_path), "gone-once.png") is None
        assert resolve_picture(str(tmp_path), "gone-once.png") is None
    assert sum("gone-once.png" in r.getMessage() for r in caplog.records) == 1


# --------------------------------------------------------------------------- browsing
def test_search_by_category_pages_its_products_for_sale_in_catalog_order(
    catalog: SqliteCatalog,
) -> None:
    first = catalog.search("", page=0, page_size=2, category="drinks")
    assert (skus(first), first.has_more, first.category) == (["1", "2"], True, "drinks")
    second = catalog.search("", page=1, page_size=2, category="drinks")
    assert (skus(second), second.has_more) == (["8"], False)
    assert skus(catalog.search("", category="snacks")) == ["4"]  # 3 is not for sale


def test_search_by_category_with_a_query_matches_within_the_category(
    catalog: SqliteCatalog,
) -> None:
    assert skus(catalog.search("可乐", category="drinks")) == ["1", "8"]
    assert skus(catalog.search("cola 2l", category="drinks")) == ["8"]
    assert skus(catalog.search("cola", category="snacks")) == []
    assert skus(catalog.search("100%_", category="drinks")) == []  # LIKE characters are text


def test_search_by_an_unknown_category_finds_nothing(catalog: SqliteCatalog) -> None:
    page = catalog.search("", category="no-such-category")
    assert (page.products, page.has_more) == ((), False)


def test_search_by_category_refuses_bad_paging(catalog: SqliteCatalog) -> None:
    with pytest.raises(ValueError, match="page must be 0 or more"):
        catalog.search("", page=-1, category="drinks")
    with pytest.raises(ValueError, match=r"page_size must be 1\.\.200"):
        catalog.search("", page_size=0, category="drinks")


def test_a_new_import_replaces_the_categories(
    db: sqlite_utils.Database, tmp_path: Path, catalog: SqliteCatalog
) -> None:
    import_catalog(db, write_csv(tmp_path, ROWS[4:5], name="next.csv"), 2, TAX)
    assert [c.category for c in catalog.categories()] == ["fruit"]
    assert catalog.search("", category="drinks").products == ()


# --------------------------------------------------------------------------- import checks
@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (
            [ROWS[0], ROWS[1].replace(",,,", ",饮品,,")],
            "line 3: category 'drinks': category_name_zh_CN '饮品' differs from '饮料' on line 2",
        ),
        (
            [ROWS[0], ROWS[1].replace(",,,", ",,,cola.png")],
            "line 3: category 'drinks': category_picture 'cola.png' differs from 'drinks.png' "
            "on line 2",
        ),
        (
            [f"7,{gtin13('690000000017')},,,ea,1.00,VAT13,,,,无类,Other,,Misc,"],
            "line 2: category_name_* or category_picture given without a category",
        ),
        (
            [ROWS[0].replace("drinks.png", "../etc/passwd.png")],
            "line 2: category_picture '../etc/passwd.png' must be a file name",
        ),
        (
            [ROWS[0].replace("drinks.png", "drinks.gif")],
            "line 2: category_picture 'drinks.gif' must be a .png, .jpg or .jpeg file",
        ),
    ],
)
def test_import_refuses_bad_category_columns_and_changes_nothing(
    db: sqlite_utils.Database,
    tmp_path: Path,
    catalog: SqliteCatalog,
    rows: list[str],
    problem: str,
) -> None:
    with pytest.raises(ImportRejected) as caught:
        import_catalog(db, write_csv(tmp_path, rows, name="bad.csv"), 2, TAX)
    assert problem in str(caught.value)
    assert [c.category for c in catalog.categories()] == ["drinks", "snacks", "fruit"]


def test_import_without_category_columns_still_indexes_categories(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    header = HEADER.rsplit(",", 3)[0]
    rows = [r.rsplit(",", 3)[0] for r in ROWS]
    path = tmp_path / "plain.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    import_catalog(db, path, 2, TAX)
    listed = SqliteCatalog(db).categories()
    assert [(c.category, c.count, dict(c.names)) for c in listed] == [
        ("drinks", 3, {}),
        ("snacks", 1, {}),
        ("fruit", 1, {}),
    ]


# --------------------------------------------------------------------------- config check
def test_picture_warnings_name_each_missing_file(
    db: sqlite_utils.Database, db_path: Path, catalog: SqliteCatalog, pictures: Path
) -> None:
    assert picture_warnings(str(db_path), str(pictures)) == [
        f"category 'snacks': picture {pictures / 'snacks.png'} is missing "
        "(the tile is drawn without it)"
    ]
    gone = pictures.parent / "nowhere"
    assert picture_warnings(str(db_path), str(gone)) == [
        f"[paths] pictures {gone} is not a folder: no category has a picture"
    ]


def test_picture_warnings_without_a_database_or_categories_are_empty(tmp_path: Path) -> None:
    assert picture_warnings(str(tmp_path / "absent.db"), str(tmp_path)) == []
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()
    assert picture_warnings(str(bare), str(tmp_path)) == []


# --------------------------------------------------------------------------- scale
PRODUCTS_AT_SCALE = 250_000


def _catalog_at_schema_7_with(db: sqlite_utils.Database, products: int) -> None:
    """A kiosk.db at schema 7 (before categories) holding ``products`` products in 50
    categories, every seventh not for sale."""
    conn = db.conn
    for steps in MIGRATIONS[:7]:
        conn.execute("BEGIN")
        for step in steps:
            if isinstance(step, str):
                conn.execute(step)
            else:
                step(conn)
        conn.execute("COMMIT")
    conn.execute("PRAGMA user_version = 7")
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO products (id, sku, names, price, tax_code, unit, category, not_for_sale, "
        "search_text) SELECT i, 'S' || i, json_object('en', 'Item ' || i), 100, 'VAT13', 'ea', "
        "'cat' || (i % 50), i % 7 = 0, 'Item ' || i FROM n",
        (products,),
    )
    conn.execute("COMMIT")


def _steps(conn: sqlite3.Connection, action: object) -> int:
    """SQLite virtual-machine steps (in thousands) ``action()`` takes: a measure of rows read
    that does not depend on the machine's speed."""
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    conn.set_progress_handler(tick, 1000)
    try:
        action()  # type: ignore[operator]
    finally:
        conn.set_progress_handler(None, 0)
    return count


def _plan(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> str:
    return "\n".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_categories_at_250k_products_read_an_index_not_the_catalog(db_path: Path) -> None:
    db = open_db(db_path)
    _catalog_at_schema_7_with(db, PRODUCTS_AT_SCALE)
    migrate(db)  # schema 8 indexes the existing catalog
    conn = db.conn
    catalog = SqliteCatalog(db)

    listed = catalog.categories()
    assert len(listed) == 50
    assert sum(c.count for c in listed) == PRODUCTS_AT_SCALE - PRODUCTS_AT_SCALE // 7

    # The plans: the small categories table, and a primary-key range per category page.
    listing = _plan(conn, "SELECT category, names, count, picture FROM categories", ())
    assert "products" not in listing
    browse = _plan(
        conn,
        "SELECT p.sku FROM category_products c JOIN products p ON p.id = c.product_id "
        "WHERE c.category = ? ORDER BY c.product_id LIMIT 21 OFFSET 0",
        ("cat7",),
    )
    assert "SEARCH c USING PRIMARY KEY (category=?)" in browse, browse
    assert "SCAN p" not in browse and "TEMP B-TREE" not in browse, browse

    # Rows read: listing and a first page cost what they cost in a tiny catalog; a full
    # scan of 250 000 products takes thousands of thousand-step ticks.
    assert _steps(conn, catalog.categories) <= 5
    assert _steps(conn, lambda: catalog.search("", category="cat7")) <= 5
    page = catalog.search("", page=3, category="cat7")
    for_sale = [i for i in range(7, PRODUCTS_AT_SCALE + 1, 50) if i % 7]
    assert [p.sku for p in page.products] == [f"S{i}" for i in for_sale[60:80]]
    scan = "SELECT count(*) FROM products WHERE category = 'cat7' AND not_for_sale = 0"
    full_scan = _steps(conn, lambda: conn.execute(scan).fetchone())
    assert full_scan > 100 * max(1, _steps(conn, catalog.categories)), full_scan
    db.conn.close()
