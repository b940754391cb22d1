"""Generate the demo catalog, staff and members in kiosk/demo/ (deterministic: seeded random).

A developer tool run by hand (`make demo-data`, or `python -m provisioning.make_demo_data
[--out DIR]`). Its outputs are committed; tests/test_tooling.py checks that they are exactly
what this script writes. The demo config kiosk/demo/kiosk.toml is written by hand, not here.
It also draws a picture per category into kiosk/demo/pictures/ (``provisioning.demo_pictures``,
with Pillow); every row names its category's picture and names (``category_picture``,
``category_name_zh_CN``, ``category_name_en``, derived from the ``中文/English`` category).

The catalog starts with FIXED_CSV below: well-known entries that tests and the scripted demo
rely on (docs/operations.md lists them too; change them only together with those). The other
rows are generated from made-up brands and product words.

Variable-measure codes for the two fixed kg items (default layouts of kiosk/config.py):
  2110001012501  prefix 21, PLU 10001 (banana), weight 01250 = 1.250 kg, 6.98 x 1.250 = 8.73
  2110002008503  prefix 21, PLU 10002 (Fuji apple), weight 00850 = 0.850 kg
  2010001008736  prefix 20, PLU 10001 (banana), embedded price 00873 = 8.73

Catalog columns: ``gtins`` holds EAN-13s separated by "|" (empty for loose produce sold by
weight, which has a 5-digit ``plu`` instead); ``price`` is a major-unit decimal string per item
(unit ``ea``) or per kilogram (unit ``kg``); ``not_for_sale`` is 0/1; ``age_limit`` and
``quantity_limit`` of 0 mean none. Staff PINs are plain text: demo only, `kiosk demo init`
hashes them on import.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The well-known demo entries. Their GTINs carry valid GS1 check digits (checked at import).
FIXED_CSV = """\
sku,gtins,plu,category,unit,price,tax_code,age_limit,not_for_sale,quantity_limit,name_zh_CN,name_en
100001,6921168509256,,饮料/Drinks,ea,2.00,VAT13,0,0,0,农夫山泉 550ml,Nongfu Spring water 550ml
100002,6935284410013,,酒类/Alcohol,ea,5.50,VAT13,18,0,0,海岸啤酒 经典 500ml,Coastline Lager 500ml
100003,,10001,水果/Fruit,kg,6.98,VAT9,0,0,0,香蕉,Banana
100004,6942103700125,,香烟/Tobacco,ea,15.00,VAT13,18,0,0,金桥 香烟 (硬盒) 20支,Golden Bridge cigarettes hard pack 20
100005,6918473200565|6918473201579,,零食/Snacks,ea,6.50,VAT13,0,0,0,康乐 薯片 原味 70g,Kangle potato chips original 70g
100006,6950318800233,,乳制品/Dairy,ea,12.90,VAT9,0,0,0,晨光牧场 鲜牛奶 950ml,Dawn Pasture fresh milk 950ml
100007,6926007701082,,粮油/Staples,ea,9.90,VAT9,0,0,2,福满 鸡蛋 10枚,Fuman eggs 10 pack
100008,6904552100369,,零食/Snacks,ea,8.80,VAT13,0,1,0,喜悦 果冻 (已召回),Joyful jelly cups (recalled)
100009,6931189000410,,日用品/Household,ea,9.90,VAT13,0,0,0,白云 抽纸 3包,White Cloud facial tissue 3 pack
100010,6908876500195,,面包/Bakery,ea,7.99,VAT13,0,0,0,金麦 吐司 400g,Golden Wheat toast 400g
100011,,10002,水果/Fruit,kg,12.80,VAT9,0,0,0,富士苹果,Fuji apple
100012,6926007702072,,粮油/Staples,ea,39.90,VAT9,0,0,2,福满 东北大米 5kg,Fuman northeast rice 5kg
100013,6958123000176,,日用品/Household,ea,29.90,VAT13,0,1,0,蓝湾 洗衣液 2kg (召回批次),Blue Bay laundry liquid 2kg (recalled batch)
"""  # noqa: E501

STAFF = (  # staff_id, name, role, badge, pin
    ("E01", "王芳", "attendant", "ST0001", "1234"),
    ("E02", "李强", "supervisor", "ST0002", "9999"),
    ("E07", "陈静", "attendant", "ST0007", "2468"),
)
MEMBERS = (  # member_id, code, phone, level, name
    ("C0001", "M000123", "13800000001", "gold", "刘洋"),
    ("C0002", "M000456", "13800000002", "silver", "赵敏"),
    ("C0003", "M1234567", "13800000003", "standard", "孙丽"),
    ("C0004", "M00000042", "13800000004", "standard", "Emily Chen"),
)

# Packaged goods, one block per category: a header ``[category] TAX count=N age=A``, brand lines
# ``brand: zh | en | GS1 prefix`` (made-up brands, mostly Chinese 690-695), then product lines
# ``zh | en | size | lowest-highest price in yuan``. Every brand x product pairing can occur.
PACKAGED = """
[饮料/Drinks] VAT13 count=45 age=0
brand: 山泉谷 | Spring Valley | 692
brand: 绿源 | Green Source | 693
brand: 蓝湾 | Blue Bay | 695
brand: 喜悦 | Joyful | 690
brand: 港湾 | Harbour | 489
brand: 首尔 | Seoul Fresh | 880
矿泉水 | mineral water | 550ml | 1.50-3.00
矿泉水 | mineral water | 1.5L | 3.50-6.00
绿茶 | green tea | 500ml | 3.00-4.50
乌龙茶 | oolong tea | 500ml | 3.50-5.00
可乐 | cola | 330ml | 2.50-4.00
可乐 | cola | 2L | 6.00-9.00
橙汁 | orange juice | 1L | 9.00-15.00
苹果汁 | apple juice | 1L | 9.00-14.00
椰子水 | coconut water | 330ml | 6.00-10.00
苏打水 | soda water | 350ml | 3.00-5.50
功能饮料 | energy drink | 250ml | 5.00-7.50
柠檬茶 | lemon tea | 500ml | 3.50-5.00
即饮咖啡 | iced coffee | 280ml | 5.50-9.00
酸梅汤 | sour plum drink | 500ml | 4.00-6.00

[零食/Snacks] VAT13 count=50 age=0
brand: 康乐 | Kangle | 691
brand: 小熊 | Little Bear | 694
brand: 喜悦 | Joyful | 690
brand: 金麦 | Golden Wheat | 690
brand: 首尔 | Seoul Snack | 880
brand: 北海道 | Hokkaido | 450
薯片 番茄味 | potato chips tomato | 70g | 5.50-8.00
薯片 黄瓜味 | potato chips cucumber | 70g | 5.50-8.00
苏打饼干 | soda crackers | 200g | 6.00-10.00
夹心饼干 | cream biscuits | 150g | 5.00-9.00
牛奶巧克力 | milk chocolate | 80g | 9.00-16.00
瓜子 | sunflower seeds | 260g | 8.00-13.00
花生 | roasted peanuts | 200g | 7.00-11.00
牛肉干 | beef jerky | 100g | 22.00-35.00
方便面 红烧牛肉 | instant noodles braised beef | 5 pack | 10.00-15.00
海苔 | seaweed snack | 30g | 7.00-12.00
辣条 | spicy gluten strips | 100g | 3.00-6.00
混合坚果 | mixed nuts | 150g | 20.00-35.00
水果糖 | fruit candy | 200g | 9.00-15.00

[水果/Fruit] VAT9 count=4 age=0
brand: 鲜果园 | Fresh Orchard | 693
brand: 南国 | Southland | 694
草莓 盒装 | strawberries punnet | 300g | 15.00-25.00
蓝莓 盒装 | blueberries punnet | 125g | 12.00-20.00
奇异果 | kiwifruit | 6 pack | 15.00-25.00
圣女果 | cherry tomatoes | 250g | 8.00-13.00

[酒类/Alcohol] VAT13 count=19 age=18
brand: 海岸 | Coastline | 693
brand: 金麦 | Golden Wheat | 690
brand: 长河 | Long River | 692
brand: 山城 | Hill Town | 691
brand: 北海道 | Hokkaido | 450
brand: 汉莎 | Hanse | 400
啤酒 罐装 | lager can | 330ml | 3.50-8.00
啤酒 | lager | 500ml | 4.50-10.00
精酿 IPA | craft IPA | 330ml | 12.00-22.00
白酒 52度 | baijiu 52% | 500ml | 58.00-299.00
黄酒 | Shaoxing rice wine | 500ml | 15.00-38.00
红葡萄酒 | red wine | 750ml | 49.00-168.00
白葡萄酒 | white wine | 750ml | 49.00-128.00
梅子酒 | plum wine | 720ml | 58.00-98.00
威士忌 | whisky | 700ml | 128.00-328.00

[香烟/Tobacco] VAT13 count=9 age=18
brand: 金桥 | Golden Bridge | 694
brand: 红山 | Red Mountain | 692
brand: 云峰 | Cloud Peak | 695
brand: 长河 | Long River | 692
香烟 (软盒) 20支 | cigarettes soft pack 20 | | 10.00-25.00
香烟 (硬盒) 20支 | cigarettes hard pack 20 | | 15.00-45.00
细支香烟 20支 | slim cigarettes 20 | | 20.00-50.00

[日用品/Household] VAT13 count=40 age=0
brand: 白云 | White Cloud | 693
brand: 蓝湾 | Blue Bay | 695
brand: 洁美 | Clean Home | 691
brand: 家和 | Home Harmony | 692
brand: 阿尔卑 | Alpine | 760
抽纸 3包 | facial tissue 3 pack | | 8.00-15.00
卷纸 10卷 | toilet rolls 10 | | 19.00-35.00
洗洁精 | dish soap | 1.1kg | 9.00-16.00
洗衣液 | laundry liquid | 2kg | 25.00-45.00
牙膏 | toothpaste | 120g | 8.00-18.00
牙刷 2支 | toothbrush 2 pack | | 9.00-19.00
洗发水 | shampoo | 400ml | 25.00-59.00
沐浴露 | body wash | 750ml | 25.00-49.00
垃圾袋 50只 | bin bags 50 | | 6.00-12.00
AA电池 4节 | AA batteries 4 pack | | 12.00-25.00
湿巾 80片 | wet wipes 80 | | 9.00-16.00
保鲜膜 | cling film | 30m | 9.00-15.00

[乳制品/Dairy] VAT13 count=24 age=0
brand: 晨光牧场 | Dawn Pasture | 695
brand: 草原 | Grassland | 691
brand: 北海道 | Hokkaido | 450
brand: 绿源 | Green Source | 693
纯牛奶 | whole milk | 250ml x 12 | 45.00-65.00
纯牛奶 | whole milk | 1L | 12.00-18.00
原味酸奶 | plain yoghurt | 200g | 4.50-8.00
草莓酸奶 | strawberry yoghurt | 200g | 5.00-9.00
奶酪片 | cheese slices | 200g | 22.00-35.00
黄油 | butter | 227g | 28.00-45.00
乳酸菌饮料 | probiotic drink | 5 x 100ml | 9.00-15.00
低脂牛奶 | low-fat milk | 1L | 13.00-19.00

[面包/Bakery] VAT13 count=19 age=0
brand: 金麦 | Golden Wheat | 690
brand: 晨光 | Morning Sun | 692
brand: 面包房 | Bakehouse | 694
全麦面包 | wholemeal bread | 400g | 9.00-15.00
牛角包 4个 | croissants 4 | | 12.00-20.00
海绵蛋糕 | sponge cake | 300g | 10.00-18.00
菠萝包 4个 | pineapple buns 4 | | 9.00-15.00
餐包 8个 | dinner rolls 8 | | 8.00-13.00
蛋挞 4个 | egg tarts 4 | | 12.00-19.00
肉松面包 | pork floss bun | | 4.50-7.50

[粮油/Staples] VAT9 count=14 age=0
brand: 福满 | Fuman | 692
brand: 丰收 | Harvest | 691
brand: 田园 | Countryside | 693
东北大米 | northeast rice | 10kg | 65.00-99.00
泰国香米 | jasmine rice | 5kg | 45.00-69.00
面粉 | wheat flour | 2.5kg | 15.00-25.00
花生油 | peanut oil | 5L | 89.00-139.00
菜籽油 | rapeseed oil | 5L | 69.00-99.00
小米 | millet | 1kg | 12.00-20.00
绿豆 | mung beans | 1kg | 12.00-22.00
土鸡蛋 20枚 | free-range eggs 20 | | 25.00-39.00

[调味品/Condiments] VAT13 count=15 age=0
brand: 长河 | Long River | 692
brand: 家和 | Home Harmony | 692
brand: 南国 | Southland | 694
生抽酱油 | light soy sauce | 500ml | 8.00-15.00
老抽酱油 | dark soy sauce | 500ml | 9.00-16.00
香醋 | black vinegar | 500ml | 7.00-13.00
蚝油 | oyster sauce | 510g | 9.00-15.00
食盐 | table salt | 400g | 2.50-4.00
白砂糖 | white sugar | 1kg | 8.00-13.00
辣椒酱 | chilli sauce | 280g | 9.00-15.00
"""

# Loose produce sold by weight, VAT9, one PLU each: ``zh | en | price per kg in yuan``,
# combined with ORIGINS. Counts: LOOSE_COUNTS.
LOOSE = """
[水果/Fruit]
橙子 | orange | 6.00-12.00
鸭梨 | Ya pear | 5.00-10.00
葡萄 | grapes | 12.00-25.00
西瓜 | watermelon | 2.50-5.00
芒果 | mango | 10.00-20.00
火龙果 | dragon fruit | 9.00-18.00
荔枝 | lychee | 18.00-35.00
水蜜桃 | white peach | 12.00-24.00
樱桃 | cherries | 50.00-98.00

[蔬菜/Vegetables]
西红柿 | tomato | 5.00-9.00
黄瓜 | cucumber | 4.00-8.00
土豆 | potato | 2.50-5.00
胡萝卜 | carrot | 3.00-6.00
大白菜 | napa cabbage | 2.00-4.00
菠菜 | spinach | 6.00-12.00
青椒 | green pepper | 6.00-11.00
茄子 | eggplant | 5.00-9.00
洋葱 | onion | 3.00-6.00
西兰花 | broccoli | 8.00-14.00
生姜 | ginger | 10.00-18.00
大蒜 | garlic | 10.00-16.00
香菇 | shiitake mushrooms | 16.00-28.00
"""
LOOSE_COUNTS = {"水果/Fruit": 20, "蔬菜/Vegetables": 28}
ORIGINS = (
    "山东/Shandong",
    "海南/Hainan",
    "云南/Yunnan",
    "新疆/Xinjiang",
    "广西/Guangxi",
    "本地/local",
)

SEED = 20240601
CATALOG_SIZE = 300
FIRST_GENERATED_SKU = 100101
FIRST_GENERATED_PLU = 10003
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "kiosk" / "demo"

CATEGORY_COLUMNS = ["category_name_zh_CN", "category_name_en", "category_picture"]
CATALOG_COLUMNS = FIXED_CSV.splitlines()[0].split(",") + CATEGORY_COLUMNS
STAFF_COLUMNS = ["staff_id", "name", "role", "badge", "pin"]
MEMBER_COLUMNS = ["member_id", "code", "phone", "level", "name"]

Row = dict[str, str]


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit for ``body`` (all the digits before the check digit)."""
    if not body.isdigit():
        raise ValueError(f"a GS1 number is digits only, got {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and gs1_check_digit(code[:12]) == code[12]


def fixed_rows() -> list[Row]:
    rows = list(csv.DictReader(io.StringIO(FIXED_CSV)))
    for row in rows:
        for gtin in filter(None, row["gtins"].split("|")):
            if not is_valid_ean13(gtin):
                raise ValueError(f"fixed entry {row['sku']}: {gtin} has a wrong check digit")
    return rows


@dataclass(frozen=True)
class _Section:
    header: list[str]
    brands: list[list[str]]
    items: list[list[str]]


def _sections(spec: str) -> list[_Section]:
    sections: list[_Section] = []
    for line in filter(None, (raw.strip() for raw in spec.splitlines())):
        if line.startswith("["):
            name, _, rest = line[1:].partition("]")
            sections.append(_Section([name, *rest.split()], [], []))
        elif line.startswith("brand:"):
            sections[-1].brands.append([p.strip() for p in line[6:].split("|")])
        else:
            sections[-1].items.append([p.strip() for p in line.split("|")])
    return sections


def _fen(yuan: str) -> int:
    whole, _, fraction = yuan.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _price(rng: random.Random, price_range: str) -> int:
    """A shelf-like price in fen: mostly whole jiao, often x.90, sometimes x.x5, x.x8, x.x9."""
    low, high = (_fen(p) for p in price_range.split("-"))
    base = rng.randint(low, high)
    style = rng.random()
    if style < 0.35:
        return (base // 100) * 100 + 90
    if style < 0.75:
        return max((base // 10) * 10, 10)
    return (base // 10) * 10 + rng.choice((5, 8, 9))


class _Generator:
    def __init__(self, seed: int, fixed: list[Row]) -> None:
        self.rng = random.Random(seed)
        self.gtins = {g for row in fixed for g in row["gtins"].split("|") if g}
        self.names = {row["name_zh_CN"] for row in fixed}
        self.next_sku = FIRST_GENERATED_SKU
        self.next_plu = FIRST_GENERATED_PLU

    def _gtin(self, country: str) -> str:
        while True:
            body = country + f"{self.rng.randrange(10**9):09d}"
            code = body + gs1_check_digit(body)
            if code not in self.gtins:
                self.gtins.add(code)
                return code

    def _row(self, zh: str, en: str, **fields: str) -> Row:
        """A new row with the next sku; columns not in ``fields`` are 0 (gtins, plu empty)."""
        self.next_sku += 1
        row = dict.fromkeys(CATALOG_COLUMNS, "0")
        row.update(sku=str(self.next_sku - 1), gtins="", plu="", name_zh_CN=zh, name_en=en)
        row.update(fields)
        return row

    def packaged(self, section: _Section) -> list[Row]:
        category, tax, count_spec, age_spec = section.header
        count = int(count_spec.removeprefix("count="))
        combos = [(b, i) for b in section.brands for i in section.items]
        self.rng.shuffle(combos)
        rows: list[Row] = []
        for (b_zh, b_en, country), (i_zh, i_en, size, prices) in combos:
            zh = " ".join(p for p in (b_zh, i_zh, size) if p)
            if len(rows) == count or zh in self.names:
                continue
            self.names.add(zh)
            en = " ".join(p for p in (b_en, i_en, size) if p)
            price = _yuan(_price(self.rng, prices))
            gtins = [self._gtin(country)]
            if self.rng.random() < 0.06:  # a new pack design still selling under a 2nd GTIN
                gtins.append(self._gtin(country))
            rows.append(
                self._row(zh, en, category=category, unit="ea", price=price, tax_code=tax,
                          gtins="|".join(gtins), age_limit=age_spec.removeprefix("age="))
            )  # fmt: skip
        if len(rows) != count:
            raise ValueError(f"{category}: only {len(rows)} distinct products, want {count}")
        return rows

    def loose(self, section: _Section) -> list[Row]:
        category = section.header[0]
        combos = [(o.split("/"), i) for o in ORIGINS for i in section.items]
        self.rng.shuffle(combos)
        rows: list[Row] = []
        for (o_zh, o_en), (i_zh, i_en, prices) in combos[: LOOSE_COUNTS[category]]:
            zh, en = f"{o_zh}{i_zh}", f"{i_en[0].upper()}{i_en[1:]} ({o_en})"
            self.names.add(zh)
            price = _yuan(_price(self.rng, prices))
            plu = str(self.next_plu)
            self.next_plu += 1
            rows.append(
                self._row(
                    zh, en, category=category, unit="kg", price=price, tax_code="VAT9", plu=plu
                )
            )
        return rows


def picture_name(category: str) -> str:
    """The picture file of a ``中文/English`` category: ``drinks.png``."""
    english = category.partition("/")[2] or category
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in english.lower()) + ".png"


def category_columns(category: str) -> Row:
    """A row's category columns: its names from ``中文/English`` and its picture file."""
    zh, _, en = category.partition("/")
    return {
        "category_name_zh_CN": zh,
        "category_name_en": en,
        "category_picture": picture_name(category),
    }


def categories(rows: Sequence[Row]) -> list[str]:
    """The categories of ``rows``, in the order they first appear."""
    return list(dict.fromkeys(row["category"] for row in rows))


def build_catalog(seed: int = SEED) -> list[Row]:
    """The whole demo catalog: the fixed entries, then the generated ones; CATALOG_SIZE rows."""
    rows = fixed_rows()
    gen = _Generator(seed, rows)
    for section in _sections(PACKAGED):
        rows.extend(gen.packaged(section))
    for section in _sections(LOOSE):
        rows.extend(gen.loose(section))
    for row in rows:
        row.update(category_columns(row["category"]))
    if len(rows) != CATALOG_SIZE:
        raise ValueError(f"the catalog has {len(rows)} rows, want {CATALOG_SIZE}")
    return rows


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_demo_data(out: Path, seed: int = SEED) -> dict[str, int]:
    """Write catalog.csv, staff.csv and members.csv into ``out``; return the rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    catalog = build_catalog(seed)
    rows = [[row[c] for c in CATALOG_COLUMNS] for row in catalog]
    _write_csv(out / "catalog.csv", CATALOG_COLUMNS, rows)
    _write_csv(out / "staff.csv", STAFF_COLUMNS, STAFF)
    _write_csv(out / "members.csv", MEMBER_COLUMNS, MEMBERS)
    return {"catalog.csv": len(catalog), "staff.csv": len(STAFF), "members.csv": len(MEMBERS)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the demo catalog, staff and members.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    for name, count in write_demo_data(args.out).items():
        print(f"{args.out / name}: {count} rows")
    from provisioning.demo_pictures import write_pictures

    made = write_pictures(args.out / "pictures", categories(build_catalog()))
    print(f"{args.out / 'pictures'}: {len(made)} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
