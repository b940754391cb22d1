"""Pinyin search on a real kiosk.db: keys written by the catalog import and by the schema 9
migration, searched by full pinyin and by initials, with paging and the category filter."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.store import pinyin_keys
from kiosk.store.catalog import SqliteCatalog
from kiosk.store.catalog_import import import_catalog
from kiosk.store.db import open_db
from kiosk.store.migrations import MIGRATIONS, SCHEMA_VERSION, migrate
from kiosk.store.pinyin_keys import KeyWorker, KeyWorkerError

HEADER = "sku,gtins,plu,category,unit,price,tax_code,name_zh_CN,name_en"
TAX = {"VAT13", "VAT9"}
ROWS = [
    "D1,,,dairy,ea,9.90,VAT9,晨光牧场 鲜牛奶 950ml,Dawn Pasture fresh milk 950ml",
    "D2,,,dairy,ea,4.50,VAT9,牛奶,Milk",
    "S1,,,snacks,ea,8.00,VAT13,牛奶巧克力 80g,Milk chocolate 80g",
    "F1,,,fruit,kg,12.80,VAT9,富士苹果,Fuji apple",
    "J1,,,drinks,ea,9.90,VAT13,绿源 苹果汁 1L,Green Source apple juice 1L",
    "C1,,,drinks,ea,3.50,VAT13,Coca-Cola 可口可乐 330ml,Coca-Cola 330ml",
    "E1,,,drinks,ea,15.00,VAT13,,Pingguo Orchard cider",
    "T1,,,drinks,ea,6.00,VAT13,绿茶 500ml,Green tea 500ml",
]


def write_csv(tmp_path: Path, rows: list[str], name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def catalog(db: sqlite_utils.Database, tmp_path: Path) -> SqliteCatalog:
    import_catalog(db, write_csv(tmp_path, ROWS), 2, TAX)
    return SqliteCatalog(db)


def found(catalog: SqliteCatalog, query: str, category: str = "") -> list[str]:
    return [p.sku for p in catalog.search(query, category=category).products]


def fts_sound(db: sqlite_utils.Database) -> None:
    for table in ("products_fts", "products_pinyin_fts"):
        check = db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
        assert check.fetchall() == []


# -- search -------------------------------------------------------------------------------------
def test_full_pinyin_finds_the_chinese_names(catalog: SqliteCatalog) -> None:
    assert found(catalog, "niunai") == ["D2", "S1", "D1"]  # keys starting niunai first
    assert found(catalog, "pingguo")[1:] == ["F1", "J1"]
    assert found(catalog, "kekoukele") == ["C1"]
    assert found(catalog, "lvcha") == ["T1"]


def test_a_name_match_comes_before_pinyin_matches_and_each_product_once(
    catalog: SqliteCatalog,
) -> None:
    assert found(catalog, "pingguo") == ["E1", "F1", "J1"]  # "Pingguo Orchard" by its name
    assert found(catalog, "cola") == ["C1", "S1"]  # by names and keys, once; "chocolate"


def test_initials_find_the_chinese_names(catalog: SqliteCatalog) -> None:
    assert found(catalog, "nn") == ["D2", "S1", "D1"]  # keys starting nn, then shorter keys
    assert found(catalog, "pg") == ["F1", "J1"]
    assert found(catalog, "kkkl") == ["C1"]
    assert found(catalog, "cgmcxnn") == ["D1"]


def test_initials_rank_before_a_match_inside_a_full_pinyin(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows = [
        "Y1,,,dairy,ea,6.00,VAT9,草原 酸奶,Grassland yoghurt",  # caoyuansuannai: "nn" inside
        "M1,,,dairy,ea,9.90,VAT9,晨光 纯牛奶,Dawn whole milk",  # initials cgcnn
        "M2,,,dairy,ea,4.50,VAT9,牛奶,Milk",  # initials nn: a key line starts so
    ]
    import_catalog(db, write_csv(tmp_path, rows), 2, TAX)
    catalog = SqliteCatalog(db)
    assert found(catalog, "nn") == ["M2", "M1", "Y1"]
    assert found(catalog, "nn", category="dairy") == ["Y1", "M1", "M2"]  # catalog order


def test_pinyin_ignores_case_spaces_and_tone_marks(catalog: SqliteCatalog) -> None:
    for query in ("NIUNAI", "Niu Nai", "niú nǎi", "NN", "NiúNǎi"):
        assert set(found(catalog, query)) == {"D1", "D2", "S1"}, query
    assert found(catalog, "lü chá") == ["T1"]


def test_a_query_matching_nothing_finds_nothing(catalog: SqliteCatalog) -> None:
    for query in ("xyzzy", "qq", "niunaix", "牛奶 xyzzy"):
        page = catalog.search(query)
        assert (page.products, page.has_more) == ((), False), query


def test_chinese_and_english_queries_still_match_the_names(catalog: SqliteCatalog) -> None:
    assert found(catalog, "牛奶") == ["D2", "S1", "D1"]
    assert found(catalog, "apple") == ["F1", "J1"]


def test_pinyin_search_without_the_trigram_tokenizer_scans_the_keys(
    db: sqlite_utils.Database, catalog: SqliteCatalog
) -> None:
    db.execute("UPDATE kiosk_state SET value = 'unicode61' WHERE key = 'fts_tokenizer'")
    scanning = SqliteCatalog(db)
    assert found(scanning, "niunai") == ["D2", "S1", "D1"]
    assert found(scanning, "pg") == ["F1", "J1"]


def test_pinyin_results_page(db: sqlite_utils.Database, tmp_path: Path) -> None:
    rows = [f"M{i:02d},,,dairy,ea,5.00,VAT9,牛奶 {i},Milk {i}" for i in range(25)]
    import_catalog(db, write_csv(tmp_path, rows), 2, TAX)
    catalog = SqliteCatalog(db)
    for query in ("niunai", "nn"):
        pages = [catalog.search(query, page=n, page_size=10) for n in range(3)]
        assert [len(p.products) for p in pages] == [10, 10, 5]
        assert [p.has_more for p in pages] == [True, True, False]
        skus = [p.sku for page in pages for p in page.products]
        assert sorted(skus) == [f"M{i:02d}" for i in range(25)]


def test_pinyin_search_within_a_category(catalog: SqliteCatalog) -> None:
    assert found(catalog, "nn", category="dairy") == ["D1", "D2"]  # catalog order
    assert found(catalog, "niunai", category="snacks") == ["S1"]
    assert found(catalog, "pingguo", category="drinks") == ["J1", "E1"]  # pinyin or name
    assert found(catalog, "niunai", category="fruit") == []
    assert found(catalog, "", category="dairy") == ["D1", "D2"]


# -- keys kept in step with the catalog -----------------------------------------------------------
def test_each_import_writes_the_keys_of_its_names(
    db: sqlite_utils.Database, catalog: SqliteCatalog, tmp_path: Path
) -> None:
    keys = dict(db.execute("SELECT sku, pinyin FROM products").fetchall())
    assert keys["D2"] == "nn\nniunai"
    assert keys["E1"] == ""  # no Chinese name
    renamed = [row.replace("牛奶,Milk", "酸奶,Yogurt") for row in ROWS]
    import_catalog(db, write_csv(tmp_path, renamed, "renamed.csv"), 2, TAX)
    catalog = SqliteCatalog(db)
    assert "D2" not in found(catalog, "niunai")
    assert found(catalog, "suannai") == ["D2"]
    fts_sound(db)


# -- the migration of a catalog imported before pinyin search -----------------------------------
def _catalog_before_pinyin(db_path: Path, rows: int = 3) -> sqlite_utils.Database:
    """A kiosk.db at schema 8 holding products written as the import did then."""
    db = open_db(db_path)
    conn = db.conn
    for steps in MIGRATIONS[:8]:
        conn.execute("BEGIN")
        for step in steps:
            conn.execute(step) if isinstance(step, str) else step(conn)
        conn.execute("COMMIT")
    conn.execute("PRAGMA user_version = 8")
    names = [
        {"zh_CN": "牛奶", "en": "Milk"},
        {"zh_CN": "富士苹果", "en": "Fuji apple"},
        {"en": "Imported crackers"},
    ]
    conn.execute("BEGIN")
    for i in range(rows):
        product = names[i % len(names)]
        conn.execute(
            "INSERT INTO products (id, sku, names, price, tax_code, unit, category, search_text) "
            "VALUES (?, ?, ?, 100, 'VAT13', 'ea', 'c', ?)",
            (
                i + 1,
                f"P{i + 1}",
                json.dumps(product, ensure_ascii=False),
                "\n".join(product.values()),
            ),
        )
    conn.execute("INSERT INTO products_fts (products_fts) VALUES ('rebuild')")
    conn.execute("INSERT INTO category_products SELECT category, id FROM products")
    conn.execute("COMMIT")
    return db


def test_the_migration_fills_the_keys_of_the_catalog_already_there(db_path: Path) -> None:
    db = _catalog_before_pinyin(db_path, rows=4500)  # more than one worker batch
    assert migrate(db) == SCHEMA_VERSION
    keys = db.execute("SELECT pinyin FROM products WHERE id <= 3 ORDER BY id").fetchall()
    assert [k[0] for k in keys] == ["nn\nniunai", "fspg\nfushipingguo", ""]
    catalog = SqliteCatalog(db)
    assert [p.names["en"] for p in catalog.search("niunai", page_size=3).products] == ["Milk"] * 3
    assert catalog.search("fspg", page_size=200).has_more  # 1500 of them
    assert catalog.search("pg", category="c", page_size=1).products[0].sku == "P2"
    fts_sound(db)


def test_the_migrating_process_does_not_load_pypinyin(db_path: Path) -> None:
    _catalog_before_pinyin(db_path).close()
    code = (
        "import sys; from kiosk.store import open_db, migrate; "
        "from kiosk.store.catalog import SqliteCatalog; "
        f"db = open_db({str(db_path)!r}); migrate(db); "
        "print([p.sku for p in SqliteCatalog(db).search('niunai').products], "
        "'pypinyin' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['P1'] False"


def test_a_failing_key_worker_leaves_the_keys_empty_and_the_kiosk_starting(
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = _catalog_before_pinyin(db_path)
    monkeypatch.setattr(pinyin_keys, "_WORKER_CODE", "import sys; sys.exit('no pypinyin here')")
    with caplog.at_level(logging.ERROR, logger="kiosk.store.pinyin_keys"):
        assert migrate(db) == SCHEMA_VERSION
    assert "no pypinyin here" in caplog.text
    assert "after the next catalog import" in caplog.text
    assert db.execute("SELECT count(*) FROM products WHERE pinyin != ''").fetchone()[0] == 0
    catalog = SqliteCatalog(db)
    assert found(catalog, "niunai") == []
    assert found(catalog, "牛奶") == ["P1"]  # name search is unharmed
    fts_sound(db)
    monkeypatch.undo()
    import_catalog(db, write_csv(tmp_path, ROWS), 2, TAX)
    assert found(SqliteCatalog(db), "nn", category="dairy") == ["D1", "D2"]
    fts_sound(db)


def test_a_worker_answering_nonsense_is_an_error() -> None:
    worker = KeyWorker([sys.executable, "-c", "input(); print('not json', flush=True)"])
    try:
        with pytest.raises(KeyWorkerError, match="answered 'not json"):
            worker.keys([{"zh_CN": "牛奶"}])
    finally:
        worker.close()


def test_a_worker_answering_too_few_keys_is_an_error() -> None:
    worker = KeyWorker([sys.executable, "-c", "input(); print('[]', flush=True)"])
    try:
        with pytest.raises(KeyWorkerError, match="answered 1 names wrongly"):
            worker.keys([{"zh_CN": "牛奶"}])
    finally:
        worker.close()


def test_a_worker_that_does_not_answer_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinyin_keys, "ANSWER_TIMEOUT_S", 0.2)
    worker = KeyWorker([sys.executable, "-c", "import time; input(); time.sleep(30)"])
    try:
        with pytest.raises(KeyWorkerError, match="did not answer in 0 s"):
            worker.keys([{"zh_CN": "牛奶"}])
    finally:
        worker.close()


def test_the_migration_of_an_empty_catalog_starts_no_worker(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _catalog_before_pinyin(db_path, rows=0)

    def no_worker(*args: object) -> None:
        raise AssertionError("a worker was started for an empty catalog")

    monkeypatch.setattr(pinyin_keys.KeyWorker, "__init__", no_worker)
    assert migrate(db) == SCHEMA_VERSION
    columns = [row[1] for row in db.execute("PRAGMA table_info(products)")]
    assert "pinyin" in columns
    with pytest.raises(sqlite3.OperationalError):  # the index is an FTS5 table, not a view
        db.conn.execute("INSERT INTO products_pinyin_fts (products_pinyin_fts) VALUES ('bad')")
