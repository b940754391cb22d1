"""kiosk.store.pinyin_keys: the pinyin keys of product names and of typed queries."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from kiosk.store.pinyin_keys import fold, is_han, name_keys, pinyin_keys, pinyin_query, serve


# -- name keys ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("牛奶", ("niunai", "nn")),
        ("苹果", ("pingguo", "pg")),
        ("晨光牧场 鲜牛奶 950ml", ("chenguangmuchangxianniunai950ml", "cgmcxnn950ml")),
        ("Coca-Cola 可口可乐 330ml", ("cocacolakekoukele330ml", "cocacolakkkl330ml")),
        ("绿茶", ("lvcha", "lc")),  # ü is typed v
        ("ＡＢＣ牛奶", ("abcniunai", "abcnn")),  # full-width Latin letters fold to ASCII
        ("Café 咖啡", ("cafekafei", "cafekf")),  # accents of Latin letters are dropped
        ("奶", ("nai", "n")),
    ],
)
def test_chinese_names_get_their_full_pinyin_and_initials(name: str, keys: tuple[str, ...]) -> None:
    assert name_keys(name) == keys


def test_heteronyms_read_as_pypinyin_reads_them_by_default() -> None:
    assert name_keys("银行") == ("yinhang", "yh")  # 行: hang in this word, not xing
    assert name_keys("行走") == ("xingzou", "xz")
    assert name_keys("长城") == ("changcheng", "cc")  # zh/ch/sh initials are one letter


@pytest.mark.parametrize("name", ["Fresh milk 1L", "", "330", "   ", "りんご", "(500ml)"])
def test_names_without_han_characters_have_no_keys(name: str) -> None:
    assert name_keys(name) == ()


def test_a_name_whose_initials_equal_its_full_pinyin_has_one_key() -> None:
    assert name_keys("嗯") == ("n",)  # 嗯 reads "n": the initials are the same text


def test_product_keys_come_from_its_chinese_names_only_one_per_line() -> None:
    assert pinyin_keys({"zh_CN": "牛奶", "en": "Milk", "ja": "牛乳"}) == "nn\nniunai"
    assert pinyin_keys({"zh_TW": "蘋果", "zh": "苹果"}) == "pg\npingguo"  # same keys once
    assert pinyin_keys({"en": "Coca-Cola 330ml", "ja": "牛乳"}) == ""
    assert pinyin_keys({}) == ""


def test_is_han_knows_the_extension_blocks() -> None:
    assert all(is_han(c) for c in "牛〇㐀𠀀豈")
    assert not any(is_han(c) for c in "aあア１,")


# -- queries ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("niunai", "niunai"),
        ("NiuNai", "niunai"),
        ("niu nai", "niunai"),
        ("Niú nǎi", "niunai"),
        ("niu\u0301 nai", "niunai"),  # a combining tone mark typed on its own
        ("xi'an", "xian"),
        ("xi’an", "xian"),
        ("lü cha", "lvcha"),
        ("nn", "nn"),
        ("kkkl 330ml", "kkkl330ml"),
    ],
)
def test_a_latin_query_is_folded_like_the_keys(query: str, key: str) -> None:
    assert pinyin_query(query) == key


@pytest.mark.parametrize(
    "query", ["", "  ", "330", "可乐", "cola 可乐", "(x", "a*b", "100%", "a_b"]
)
def test_a_query_that_cannot_be_pinyin_has_no_key(query: str) -> None:
    assert pinyin_query(query) == ""


def test_fold_keeps_ascii_letters_and_digits() -> None:
    assert fold("Ĉoca-Cola, 330 ML!") == "cocacola330ml"


# -- the worker's loop --------------------------------------------------------------------------
def test_serve_answers_each_batch_with_one_line_of_keys() -> None:
    batches = [[{"zh_CN": "牛奶"}, {"en": "Milk"}], [{"zh_CN": "苹果", "en": "Apple"}]]
    stdin = io.StringIO("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in batches))
    stdout = io.StringIO()
    serve(stdin, stdout)
    assert [json.loads(line) for line in stdout.getvalue().splitlines()] == [
        ["nn\nniunai", ""],
        ["pg\npingguo"],
    ]


def test_searching_needs_no_pypinyin() -> None:
    code = (
        "import sys; from kiosk.store.pinyin_keys import pinyin_query; "
        "import kiosk.store.catalog, kiosk.store.migrations; "
        "assert pinyin_query('niu nai') == 'niunai'; print('pypinyin' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
