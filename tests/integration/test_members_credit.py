"""``kiosk members credit``: an audited top-up of a member's stored value or points on a real
kiosk.db (the demo kiosk), and every bad input refused with a message naming it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.store.loyalty_admin import MAX_TOP_UP, TopUpError, parse_amount


@pytest.fixture
def config(demo_template: Path, tmp_path: Path) -> str:
    folder = tmp_path / "kiosk"
    shutil.copytree(demo_template, folder)
    return str(folder / "kiosk.toml")


def rows(config: str, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(Path(config).parent / "kiosk.db")
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def credit(config: str, *extra: str) -> int:
    return main(["members", "credit", "--config", config, *extra])


def test_a_top_up_is_one_ledger_row_with_its_audit_row(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--member", "C0001", "--staff", "E01", "--day", "2026-11-27"]
    assert credit(config, *base, "--amount", "50", "--reason", "top-up T-1") == 0
    assert capsys.readouterr().out == "credited 5000 stored_value to C0001: balance 5000\n"
    assert credit(config, *base, "--amount", "0.50", "--reason", "top-up T-2") == 0
    assert credit(config, *base, "--amount", "300", "--account", "points", "--reason", "gift") == 0
    assert "balance 300" in capsys.readouterr().out
    assert rows(
        config, "SELECT account, kind, amount, business_day, reason FROM member_ledger"
    ) == [
        ("stored_value", "credit", 5000, "2026-11-27", "top-up T-1"),
        ("stored_value", "credit", 50, "2026-11-27", "top-up T-2"),
        ("points", "credit", 300, "2026-11-27", "gift"),
    ]
    audits = [
        json.loads(str(r[0]))
        for r in rows(config, "SELECT detail FROM audit WHERE kind = 'member_credit' ORDER BY id")
    ]
    assert [(a["member_id"], a["amount"], a["balance"], a["staff"]) for a in audits] == [
        ("C0001", 5000, 5000, "E01"),
        ("C0001", 50, 5050, "E01"),
        ("C0001", 300, 300, "E01"),
    ]


def test_the_default_day_is_todays_business_day(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--member", "C0002", "--staff", "E02", "--amount", "1", "--reason", "x"]
    assert credit(config, *args) == 0
    ((day,),) = rows(config, "SELECT business_day FROM member_ledger")
    assert len(str(day)) == 10 and str(day)[4] == "-"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--member", "C9999", "--amount", "5"], "no member 'C9999'"),
        (["--member", "C0001", "--amount", "5", "--staff-override"], None),
        (["--member", "C0001", "--amount", "-5"], "must be a positive number"),
        (["--member", "C0001", "--amount", "0"], "must be more than 0"),
        (["--member", "C0001", "--amount", "1.234"], "at most 2 decimals"),
        (["--member", "C0001", "--amount", "abc"], "must be a positive number"),
        (["--member", "C0001", "--amount", "1.5", "--account", "points"], "whole numbers"),
        (["--member", "C0001", "--amount", "100001"], f"at most {MAX_TOP_UP}"),
        (["--member", "C0001", "--amount", "5", "--day", "27/11/2026"], "YYYY-MM-DD"),
    ],
)
def test_bad_top_ups_are_refused_and_write_nothing(
    config: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str | None
) -> None:
    if message is None:  # an unknown option is argparse's usage error
        with pytest.raises(SystemExit) as exit_info:
            credit(config, *args, "--staff", "E01", "--reason", "r")
        assert exit_info.value.code == 2
        return
    assert credit(config, *args, "--staff", "E01", "--reason", "r") == 2
    err = capsys.readouterr().err
    assert err.startswith("kiosk: members credit: ") and message in err
    assert rows(config, "SELECT count(*) FROM member_ledger") == [(0,)]


def test_an_unknown_staff_member_or_a_blank_reason_is_refused(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--member", "C0001", "--amount", "5"]
    assert credit(config, *args, "--staff", "E99", "--reason", "r") == 2
    assert "no staff member 'E99'" in capsys.readouterr().err
    assert credit(config, *args, "--staff", "E01", "--reason", "  ") == 2
    assert "needs a reason" in capsys.readouterr().err
    assert rows(config, "SELECT count(*) FROM member_ledger") == [(0,)]


def test_parse_amount_uses_the_currency_exponent() -> None:
    assert parse_amount("12", "stored_value", "JPY") == 12
    assert parse_amount("12.5", "stored_value", "CNY") == 1250
    with pytest.raises(TopUpError, match="JPY amounts have at most 0 decimals"):
        parse_amount("12.5", "stored_value", "JPY")
