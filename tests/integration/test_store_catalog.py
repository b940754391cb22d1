"""kiosk.store.catalog and catalog_import on a real kiosk.db: lookups, search, CSV import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from kiosk.barcodes import check_digit
from kiosk.errors import CatalogImportError
from kiosk.store.catalog import SqliteCatalog
from kiosk.store.catalog_import import ImportReport, import_catalog
from kiosk.store.catalog_rows import parse_price
from kiosk.store.db import open_db
from kiosk.store.importing import ImportRejected

HEADER = (
    "sku,gtins,plu,category,unit,price,tax_code,age_limit,not_for_sale,quantity_limit,"
    "name_zh_CN,name_en"
)
TAX = {"VAT13", "VAT9"}


def gtin13(body12: str) -> str:
    return body12 + check_digit(body12)


COLA = gtin13("690102807583")
COLA_CAN = gtin13("690102807584")
BEER = gtin13("690000000001")
UPC = "036000291452"  # a real UPC-A

GOOD_ROWS = [
    f"100234,{COLA}|{COLA_CAN},,drinks,ea,3.50,VAT13,,,,可口可乐 330ml,Coca-Cola 330ml",
    f"100235,{BEER},,drinks,ea,6,VAT13,18,0,12,青岛啤酒,Tsingtao Beer",
    "200001,,4011,fruit,kg,15.8,VAT9,0,0,0,香蕉,Bananas",
    f"300001,{UPC},,snacks,ea,12.90,VAT13,0,1,0,,Imported crackers",
    "300002,,,bakery,ea,0.99,VAT9,,,,可乐味软糖,Cola gummies",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def catalog(db: sqlite_utils.Database, tmp_path: Path) -> SqliteCatalog:
    import_catalog(db, write_csv(tmp_path, GOOD_ROWS), 2, TAX)
    return SqliteCatalog(db)


def skus(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT sku FROM products ORDER BY sku")]


# -- lookups ----------------------------------------------------------------------------------


def test_by_gtin_finds_the_product_with_all_its_gtins(catalog: SqliteCatalog) -> None:
    product = catalog.by_gtin("0" + COLA_CAN)
    assert product is not None
    assert product.sku == "100234"
    assert product.names == {"zh_CN": "可口可乐 330ml", "en": "Coca-Cola 330ml"}
    assert (product.price, product.tax_code, product.unit) == (350, "VAT13", "ea")
    assert sorted(product.gtins) == sorted(["0" + COLA, "0" + COLA_CAN])


def test_by_gtin_reads_flags_and_limits(catalog: SqliteCatalog) -> None:
    beer = catalog.by_gtin("0" + BEER)
    crackers = catalog.by_gtin("00" + UPC)
    assert beer is not None and crackers is not None
    assert (beer.age_limit, beer.quantity_limit, beer.not_for_sale) == (18, 12, False)
    assert crackers.not_for_sale is True
    assert crackers.names == {"en": "Imported crackers"}


def test_by_gtin_is_none_for_an_unknown_gtin(catalog: SqliteCatalog) -> None:
    assert catalog.by_gtin("0" + gtin13("123456789012")) is None
    assert catalog.by_gtin("") is None


def test_by_gtin_pads_a_short_gtin(catalog: SqliteCatalog) -> None:
    cola = catalog.by_gtin(COLA)
    assert cola is not None and cola.sku == "100234"


def test_by_plu_and_by_sku(catalog: SqliteCatalog) -> None:
    bananas = catalog.by_plu("4011")
    assert bananas is not None
    assert (bananas.sku, bananas.unit, bananas.price, bananas.gtins) == ("200001", "kg", 1580, ())
    assert catalog.by_sku("100235") is not None
    assert catalog.by_sku("nope") is None
    assert catalog.by_plu("9999") is None


def test_search_finds_chinese_substrings_of_any_length(catalog: SqliteCatalog) -> None:
    assert [p.sku for p in catalog.search("可口可乐").products] == ["100234"]
    assert {p.sku for p in catalog.search("可乐").products} == {"100234", "300002"}
    assert [p.sku for p in catalog.search("啤").products] == ["100235"]


def test_search_finds_english_case_insensitively(catalog: SqliteCatalog) -> None:
    assert {p.sku for p in catalog.search("cola").products} == {"100234", "300002"}
    assert [p.sku for p in catalog.search("TSINGTAO").products] == ["100235"]
    assert [p.sku for p in catalog.search("coca 330").products] == ["100234"]


def test_search_ranks_a_name_starting_with_the_word_first(catalog: SqliteCatalog) -> None:
    assert catalog.search("可乐").products[0].sku == "300002"  # 可乐味软糖


def test_search_of_nothing_finds_nothing(catalog: SqliteCatalog) -> None:
    page = catalog.search("   ")
    assert page.products == () and page.has_more is False
    assert catalog.search("zzzzzz").products == ()


def test_search_handles_fts_syntax_characters(catalog: SqliteCatalog) -> None:
    for query in ('"', "a*b", '"x"', "(x", "100%", "a_b", "NEAR(", "x AND y", "^z"):
        assert catalog.search(query).products == ()


def test_search_pages_through_results(db: sqlite_utils.Database, tmp_path: Path) -> None:
    rows = [f"S{i:03d},,,c,ea,1.00,VAT9,,,,苹果{i},Apple {i}" for i in range(45)]
    import_catalog(db, write_csv(tmp_path, rows), 2, TAX)
    catalog = SqliteCatalog(db)
    pages = [catalog.search("apple", page, 20) for page in range(3)]
    assert [len(p.products) for p in pages] == [20, 20, 5]
    assert [p.has_more for p in pages] == [True, True, False]
    found = [p.sku for page in pages for p in page.products]
    assert sorted(found) == [f"S{i:03d}" for i in range(45)]
    short = [catalog.search("苹果", page, 20) for page in range(3)]
    assert sorted(p.sku for page in short for p in page.products) == sorted(found)
    assert short[2].has_more is False


def test_search_without_trigram_index_falls_back_to_like(
    catalog: SqliteCatalog, db: sqlite_utils.Database
) -> None:
    db.execute("UPDATE kiosk_state SET value = 'unicode61' WHERE key = 'fts_tokenizer'")
    fallback = SqliteCatalog(db)
    assert [p.sku for p in fallback.search("可口可乐").products] == ["100234"]
    assert {p.sku for p in fallback.search("cola 330").products} == {"100234"}


def test_search_refuses_bad_paging(catalog: SqliteCatalog) -> None:
    with pytest.raises(ValueError, match="page must be"):
        catalog.search("cola", -1)
    with pytest.raises(ValueError, match="page_size"):
        catalog.search("cola", 0, 0)
    with pytest.raises(ValueError, match="page_size"):
        catalog.search("cola", 0, 201)


# -- import -----------------------------------------------------------------------------------


def test_import_reports_counts_and_progress(db: sqlite_utils.Database, tmp_path: Path) -> None:
    seen: list[int] = []
    report = import_catalog(db, write_csv(tmp_path, GOOD_ROWS), 2, TAX, seen.append)
    assert isinstance(report, ImportReport)
    assert (report.products, report.gtins, report.replaced) == (5, 4, 0)
    assert seen == [5]
    again = import_catalog(db, write_csv(tmp_path, GOOD_ROWS[:2]), 2, TAX)
    assert (again.products, again.replaced) == (2, 5)
    assert skus(db) == ["100234", "100235"]


def test_import_replaces_the_catalog_under_an_open_lane_connection(
    db: sqlite_utils.Database, db_path: Path, tmp_path: Path
) -> None:
    import_catalog(db, write_csv(tmp_path, GOOD_ROWS), 2, TAX)
    lane_db = open_db(db_path)
    lane = SqliteCatalog(lane_db)
    assert lane.by_gtin("0" + COLA) is not None
    import_catalog(db, write_csv(tmp_path, GOOD_ROWS[2:]), 2, TAX)
    assert lane.by_gtin("0" + COLA) is None
    assert [p.sku for p in lane.search("香蕉").products] == ["200001"]
    lane_db.close()


def test_import_leaves_no_staging_tables_and_a_sound_index(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_catalog(db, write_csv(tmp_path, GOOD_ROWS), 2, TAX)
    import_catalog(db, write_csv(tmp_path, GOOD_ROWS[2:]), 2, TAX)
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_schema")}
    assert not {n for n in names if n.endswith(("_new", "_old"))}
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check = db.execute(
        "INSERT INTO products_fts (products_fts, rank) VALUES ('integrity-check', 1)"
    )
    assert check.fetchall() == []
    catalog = SqliteCatalog(db)
    assert catalog.by_gtin("0" + COLA) is None
    assert [p.sku for p in catalog.search("香蕉").products] == ["200001"]


def test_import_accepts_a_bom_a_binary_file_and_any_column_order(
    db: sqlite_utils.Database,
) -> None:
    text = "\ufeffname_en,price,sku,unit,tax_code,gtins\nMilk,5.5,M1,ea,VAT9,\n"
    import_catalog(db, io.BytesIO(text.encode("utf-8")), 2, TAX)
    milk = SqliteCatalog(db).by_sku("M1")
    assert milk is not None and milk.price == 550 and milk.names == {"en": "Milk"}


def test_import_uses_the_currency_exponent(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_catalog(db, write_csv(tmp_path, ["J1,,,c,ea,1200,VAT9,,,,,Onigiri"]), 0, TAX)
    product = SqliteCatalog(db).by_sku("J1")
    assert product is not None and product.price == 1200


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (f"X1,{COLA[:-1]}0,,c,ea,1.00,VAT9,,,,,x", "is not a GTIN: the check digit should be"),
        ("X1,12345,,c,ea,1.00,VAT9,,,,,x", "gtins: '12345' is not a GTIN: expected 8, 12, 13"),
        ("X1,69010abc,,c,ea,1.00,VAT9,,,,,x", "'69010abc' is not a GTIN: expected 8"),
        (f"X1,{COLA}|{COLA},,c,ea,1.00,VAT9,,,,,x", "listed twice in the row"),
        ("X1,,,c,each,1.00,VAT9,,,,,x", "unit 'each' must be ea or kg"),
        ("X1,,,c,ea,1.001,VAT9,,,,,x", "has 3 decimals; the currency has 2"),
        ("X1,,,c,ea,1e3,VAT9,,,,,x", "not a decimal amount"),
        ("X1,,,c,ea,-1.00,VAT9,,,,,x", "not a decimal amount"),
        ("X1,,,c,ea,,VAT9,,,,,x", "not a decimal amount"),
        ("X1,,,c,ea,1.00,VAT7,,,,,x", "tax_code 'VAT7' is not a configured tax code"),
        ("X1,,,c,ea,1.00,VAT9,abc,,,,x", "age_limit: 'abc' is not a whole number"),
        ("X1,,,c,ea,1.00,VAT9,,2,,,x", "not_for_sale: 2 is outside 0..1"),
        ("X1,,,c,ea,1.00,VAT9,,,-1,,x", "quantity_limit: '-1' is not a whole number"),
        ("X1,,,c,ea,1.00,VAT9,,,,,", "needs a name"),
        ("X 1,,,c,ea,1.00,VAT9,,,,,x", "sku 'X 1' must be"),
        (",,,c,ea,1.00,VAT9,,,,,x", "sku '' must be"),
        ("X1,,40a1,c,ea,1.00,VAT9,,,,,x", "plu '40a1' must be 1-16 digits"),
        ("X1,,,c,ea,1.00,VAT9,,,,x", "has 11 fields, the header has 12"),
    ],
)
def test_import_reports_a_bad_row_with_its_line_and_changes_nothing(
    catalog: SqliteCatalog, db: sqlite_utils.Database, tmp_path: Path, row: str, problem: str
) -> None:
    before = skus(db)
    path = write_csv(tmp_path, [*GOOD_ROWS[:2], row, GOOD_ROWS[2]], name="bad.csv")
    with pytest.raises(CatalogImportError) as caught:
        import_catalog(db, path, 2, TAX)
    assert caught.value.line == 4
    assert problem in caught.value.problem
    assert "line 4: " in str(caught.value) and problem in str(caught.value)
    assert skus(db) == before
    assert catalog.by_gtin("0" + COLA) is not None


def test_import_names_both_lines_of_a_duplicate_gtin(
    catalog: SqliteCatalog, db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows = [*GOOD_ROWS, f"400001,{BEER},,c,ea,1.00,VAT9,,,,,Other beer"]
    with pytest.raises(ImportRejected) as caught:
        import_catalog(db, write_csv(tmp_path, rows, name="dup.csv"), 2, TAX)
    assert [(p.line, p.problem) for p in caught.value.problems] == [
        (7, f"gtin '0{BEER}' is also on line 3")
    ]
    assert skus(db) == ["100234", "100235", "200001", "300001", "300002"]


def test_import_reports_duplicate_skus_and_plus_and_every_bad_row(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows = [
        *GOOD_ROWS,
        "100234,,,c,ea,1.00,VAT9,,,,,dup sku",
        "500001,,4011,c,kg,1.00,VAT9,,,,,dup plu",
        "500002,,,c,ea,1.00,BAD,,,,,bad tax",
    ]
    with pytest.raises(ImportRejected) as caught:
        import_catalog(db, write_csv(tmp_path, rows), 2, TAX)
    lines = [(p.line, p.problem.split(" ")[0]) for p in caught.value.problems]
    assert lines == [(7, "sku"), (8, "plu"), (9, "tax_code")]
    assert caught.value.total == 3
    assert "catalog import refused, nothing changed: 3 problem(s)" in str(caught.value)
    assert skus(db) == []


def test_import_counts_lines_across_quoted_newlines(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows = ['A1,,,c,ea,1.00,VAT9,,,,,"two\nlines"', "A2,,,c,ea,x,VAT9,,,,,bad"]
    with pytest.raises(ImportRejected) as caught:
        import_catalog(db, write_csv(tmp_path, rows), 2, TAX)
    assert caught.value.line == 4


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("sku,gtins,unit,price,tax_code", "the header has no 'name_"),
        ("sku,gtins,unit,price,name_en", "the header has no 'tax_code' column"),
        ("sku,gtins,unit,price,tax_code,name_en,colour", "unknown column 'colour'"),
        ("sku,sku,gtins,unit,price,tax_code,name_en", "column 'sku' appears twice"),
    ],
)
def test_import_refuses_a_bad_header(
    db: sqlite_utils.Database, tmp_path: Path, header: str, problem: str
) -> None:
    path = write_csv(tmp_path, [], header=header)
    with pytest.raises(ImportRejected) as caught:
        import_catalog(db, path, 2, TAX)
    assert caught.value.line == 1
    assert any(problem in p.problem for p in caught.value.problems) or problem in str(caught.value)


def test_import_refuses_a_file_without_products(db: sqlite_utils.Database, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected, match="no products"):
        import_catalog(db, write_csv(tmp_path, []), 2, TAX)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportRejected, match="empty"):
        import_catalog(db, empty, 2, TAX)


def test_import_refuses_a_file_that_is_not_utf8(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "\n" + GOOD_ROWS[0] + "\n").encode("gbk"))
    with pytest.raises(ImportRejected, match="not UTF-8"):
        import_catalog(db, path, 2, TAX)


def test_import_refuses_a_missing_file(db: sqlite_utils.Database, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected, match="cannot open"):
        import_catalog(db, tmp_path / "nope.csv", 2, TAX)


def test_import_of_20000_rows_works_with_progress(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(20_000):
            out.write(
                f"B{i:06d},{gtin13(f'69{i:010d}')},,c,ea,{i % 90}.{i % 100:02d},VAT13,,,,"
                f"商品{i},Item {i}\n"
            )
    seen: list[int] = []
    report = import_catalog(db, path, 2, TAX, seen.append)
    assert (report.products, report.gtins) == (20_000, 20_000)
    assert seen[0] == 1000 and seen[-1] == 20_000
    catalog = SqliteCatalog(db)
    assert catalog.count() == 20_000
    product = catalog.by_gtin("0" + gtin13("690000012345"))
    assert product is not None and product.sku == "B012345" and product.price == 1545
    assert [p.sku for p in catalog.search("Item 19999").products] == ["B019999"]


def test_old_catalog_survives_a_crash_during_the_build(
    db: sqlite_utils.Database, tmp_path: Path, catalog: SqliteCatalog
) -> None:
    # A crash after the *_new tables were built but before the swap leaves leftovers only.
    db.execute("CREATE TABLE products_new (x)")
    db.execute("CREATE TABLE product_gtins_old (x)")
    assert catalog.by_gtin("0" + COLA) is not None
    report = import_catalog(db, write_csv(tmp_path, GOOD_ROWS[:1], name="next.csv"), 2, TAX)
    assert report.products == 1
    assert skus(db) == ["100234"]


@given(st.integers(0, 10**11))
def test_parse_price_round_trips_any_amount(minor: int) -> None:
    assert parse_price(f"{minor // 100}.{minor % 100:02d}", 2) == minor
    assert parse_price(str(minor), 0) == minor


@pytest.mark.parametrize(
    ("text", "minor"), [("12.90", 1290), ("12.9", 1290), ("0", 0), ("0.01", 1), ("7", 700)]
)
def test_parse_price_is_exact(text: str, minor: int) -> None:
    assert parse_price(text, 2) == minor
