"""``kiosk-central`` commands: db init, stock movements, reports in three formats, dead letters."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from central.apply import Applier
from central.cli import default_client_id, main
from central.config import load_config
from central.finance import FinanceHandler
from central.inventory import InventoryHandler
from central.storage import make_engine
from tests.central.conftest import inbound
from tests.central.factory import Item, KioskChain

DAY = "2026-11-27"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(
        '[database]\nurl = "sqlite:///data/central.db"\n[kiosks]\nstores = ["s0001"]\n'
        '[inventory.low_stock]\nSKU0001 = "5"\n'
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ready(config: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "db", "init", "--config", str(config))[0] == 0
    return config


def apply_sales(config: Path) -> list[dict[str, object]]:
    settings = load_config(config)
    engine = make_engine(settings.database_url)
    k1, k2 = KioskChain("s0001-k01"), KioskChain("s0001-k02")
    events = [k1.sale(), k1.sale(cash=True, cash_rounding=-3), k2.sale([Item("SKU0001", "3")])]
    for handler in (InventoryHandler(settings.inventory), FinanceHandler(settings.finance)):
        Applier(engine, handler, settings.kiosks, 65536, "cli-test").apply(
            [inbound(e) for e in events]
        )
    engine.dispose()
    return events


def test_db_init_creates_the_schema_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "init", "--config", str(config)) == (0, "schema created\n", "")
    assert (config.parent / "data" / "central.db").exists()
    code, out, _ = run(capsys, "db", "init", "--config", str(config))
    assert code == 0 and "already present" in out


def test_commands_refuse_a_database_without_schema(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "report", "sales", "--config", str(config), "--store", "s0001")
    assert code == 1 and "run `kiosk-central db init`" in err


def test_a_bad_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "central.toml"
    path.write_text("[consumer]\nbatch_size = -1\n")
    code, _, err = run(capsys, "db", "init", "--config", str(path))
    assert code == 2 and "'consumer.batch_size'" in err


def test_stock_receive_adjust_count(ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", str(ready), "--store", "s0001", "--sku", "SKU0001"]
    code, out, _ = run(
        capsys,
        "stock",
        "receive",
        *base,
        "--qty",
        "24",
        "--supplier",
        "ACME",
        "--po",
        "PO-1",
        "--id",
        "rcv-1",
    )
    assert code == 0 and out.endswith("recorded (rcv-1): on hand 24 ea\n")
    code, out, _ = run(
        capsys, "stock", "receive", *base, "--qty", "24", "--supplier", "ACME", "--id", "rcv-1"
    )
    assert "already recorded, unchanged" in out and out.endswith("on hand 24 ea\n")
    assert run(capsys, "stock", "adjust", *base, "--qty", "-2.5", "--reason", "damaged")[
        1
    ].endswith("on hand 21.5 ea\n")
    code, out, _ = run(capsys, "stock", "count", *base, "--qty", "4")
    assert out.splitlines()[-1] == (
        "low stock: SKU0001 at s0001 is 4, below 5 (alert queued for the inventory consumer)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("receive", "--qty", "0", "--supplier", "A"), "--qty of a receipt must be more than 0"),
        (("adjust", "--qty", "0", "--reason", "x"), "must not be 0"),
        (("count", "--qty", "-1"), "must be 0 or more"),
        (("count", "--qty", "lots"), "--qty 'lots' is not a number"),
        (("count", "--qty", "1", "--day", "27.11.2026"), "--day '27.11.2026' is not a date"),
    ],
)
def test_stock_usage_errors_exit_2(
    ready: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(
        capsys,
        "stock",
        args[0],
        "--config",
        str(ready),
        "--store",
        "s0001",
        "--sku",
        "X",
        *args[1:],
    )
    assert code == 2 and message in err


def test_report_sales_per_store_and_kiosk(ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = apply_sales(ready)
    common = ["--config", str(ready), "--store", "s0001", "--from", DAY, "--to", DAY]
    code, out, _ = run(capsys, "report", "sales", *common, "--format", "json")
    rows = json.loads(out)["rows"]
    assert code == 0 and rows == [
        {
            "business_day": DAY,
            "currency": "CNY",
            "sales": 3,
            "gross": sum(e["totals"]["gross"] for e in events),  # type: ignore[index]
            "discount": 0,
            "tax": sum(e["totals"]["tax"] for e in events),  # type: ignore[index]
            "rounding": -3,
            "due": sum(e["totals"]["due"] for e in events),  # type: ignore[index]
        }
    ]
    out = run(capsys, "report", "sales", *common, "--by", "kiosk", "--format", "csv")[1]
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["kiosk_id"], r["sales"]) for r in table] == [("s0001-k01", "2"), ("s0001-k02", "1")]
    text = run(capsys, "report", "sales", *common)[1]
    assert "Sales of s0001" in text and "-0.03" in text


def test_report_tax_and_tenders_add_up(ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = apply_sales(ready)
    common = ["--config", str(ready), "--store", "s0001", "--from", DAY, "--format", "json"]
    due = sum(e["totals"]["due"] for e in events)  # type: ignore[index]
    (tax,) = json.loads(run(capsys, "report", "tax", *common)[1])["rows"]
    assert tax["tax_code"] == "VAT13" and tax["total"] == due + 3  # before cash rounding
    tenders = {
        r["tender"]: r for r in json.loads(run(capsys, "report", "tenders", *common)[1])["rows"]
    }
    assert tenders["card"]["payments"] == 2 and tenders["cash"]["payments"] == 1
    assert tenders["card"]["amount"] + tenders["cash"]["amount"] == due
    assert tenders["cash"]["tendered"] - tenders["cash"]["change"] == tenders["cash"]["amount"]


def test_report_stock_shows_on_hand_and_movements(
    ready: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        capsys,
        "stock",
        "receive",
        "--config",
        str(ready),
        "--store",
        "s0001",
        "--sku",
        "SKU0001",
        "--qty",
        "10",
        "--supplier",
        "ACME",
        "--day",
        DAY,
    )
    apply_sales(ready)
    out = run(
        capsys,
        "report",
        "stock",
        "--config",
        str(ready),
        "--store",
        "s0001",
        "--from",
        DAY,
        "--format",
        "json",
    )[1]
    rows = {r["sku"]: r for r in json.loads(out)["rows"]}
    assert rows["SKU0001"] == {
        "sku": "SKU0001",
        "unit": "ea",
        "on_hand": "3",
        "sold": "7",
        "returned": "0",
        "received": "10",
        "adjusted": "0",
        "low": "yes",
    }
    assert rows["BANANA"]["sold"] == "1.024" and rows["BANANA"]["unit"] == "kg"


def test_report_refuses_a_range_that_ends_before_it_starts(
    ready: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "report",
        "tax",
        "--config",
        str(ready),
        "--store",
        "s0001",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-01",
    )
    assert code == 2 and "is before --from" in err


def test_report_shifts_and_discrepancies(ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_config(ready)
    engine = make_engine(settings.database_url)
    chain = KioskChain()
    chain.sales(2)
    chain.shift_closed(sales={**chain.shift_figures(1, 2)["sales"], "count": 9})
    Applier(engine, FinanceHandler(settings.finance), settings.kiosks, 65536, "t").apply(
        [inbound(e) for e in chain.events]
    )
    common = ["--config", str(ready), "--store", "s0001", "--from", DAY, "--format", "json"]
    (shift,) = json.loads(run(capsys, "report", "shifts", *common)[1])["rows"]
    assert (shift["status"], shift["first_seq"], shift["last_seq"]) == ("discrepancy", 1, 2)
    (found,) = json.loads(run(capsys, "report", "discrepancies", *common)[1])["rows"]
    assert (
        found["kind"] == "shift"
        and "sales.count: kiosk declared 9, ledger has 2" in found["detail"]
    )


def test_dead_letters_are_listed(ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_config(ready)
    engine = make_engine(settings.database_url)
    Applier(engine, FinanceHandler(settings.finance), settings.kiosks, 65536, "t").apply(
        [inbound(KioskChain("s0009-k01", "s0009").sale())]
    )
    code, out, _ = run(capsys, "dead-letters", "--config", str(ready))
    assert code == 0 and "finance" in out and "unknown_kiosk: kiosk s0009-k01" in out
    (row,) = json.loads(run(capsys, "dead-letters", "--config", str(ready), "--format", "json")[1])
    assert (row["reason_code"], row["kiosk_id"], row["seq"]) == ("unknown_kiosk", "s0009-k01", 1)


def test_default_client_id_is_a_valid_mqtt_id() -> None:
    client_id = default_client_id("inventory")
    assert client_id.startswith("central-inventory-") and len(client_id) <= 63
    assert client_id == client_id.lower() and " " not in client_id
