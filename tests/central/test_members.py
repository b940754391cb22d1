"""Members at central: the finance consumer follows each member's points and stored value from
the sale and refund events of every kiosk, on SQLite and PostgreSQL, and ``report members``
lists the member-days over the daily caps or below zero (the double spend of two kiosks)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from central.apply import APPLIED, Applier
from central.cli import main
from central.config import load_config
from central.finance import FinanceHandler
from central.members import credit_member, member_problems
from central.reports import ReportQuery, build_report
from central.storage import make_engine
from central.storage.schema import member_movements
from kiosk.config import CashConfig
from kiosk.loyalty import MemberActivity
from kiosk.payments import Tender
from kiosk.protocol.refund_event import sale_refunded_event
from kiosk.protocol.sale_event import sale_completed_event
from kiosk.refunds import CompletedRefund, RefundTender
from kiosk.returns import OriginalSale, Refunded, plan_refund
from tests.central.conftest import inbound
from tests.central.factory import DAY, Item, KioskChain, new_id

NEXT_DAY = "2026-11-28"


def member_sale(
    chain: KioskChain,
    member: str,
    *,
    stored_value: int = 0,
    points: int = 0,
    earned: int = 0,
    day: str = DAY,
) -> dict[str, Any]:
    """The next sale of ``chain`` for ``member``, paid partly from the member's accounts."""
    sale = chain.completed_sale([Item("SKU0001", "2", unit_price=1000)])
    due = sale.totals.due
    tenders = []
    if points:
        tenders.append(Tender("points", points, new_id(), points=points))
    if stored_value:
        tenders.append(Tender("stored_value", stored_value, new_id()))
    rest = due - points - stored_value
    if rest:
        tenders.append(Tender("card", rest, new_id(), ref="T-1", auth="1", last4="4242"))
    sale = replace(
        sale,
        business_day=day,
        tenders=tuple(tenders),
        member_id=member,
        loyalty=MemberActivity(member, "gold", "138****0001", earned, points, stored_value),
    )
    return chain._append(sale_completed_event(sale, chain.seq + 1, chain.prev_hash))


def full_refund(chain: KioskChain, sale: dict[str, Any]) -> dict[str, Any]:
    original = OriginalSale.from_event(sale)
    picks = {line.line_no: line.units for line in original.lines}
    plan = plan_refund(original, Refunded(), picks, CashConfig())
    tenders = tuple(
        RefundTender("card", c.amount, new_id(), "card", c.tender_idx, c.original_ref, "T-R")
        for c in plan.card
    ) + tuple(
        RefundTender(p.account, p.amount, new_id(), p.account, points=p.points) for p in plan.member
    )
    refund = CompletedRefund(
        new_id(),
        new_id(),
        chain.kiosk_id,
        chain.store_id,
        1,
        f"{DAY}T11:00:00Z",
        DAY,
        "E01",
        original,
        plan,
        tenders,
    )
    return chain._append(sale_refunded_event(refund, chain.seq + 1, chain.prev_hash))


def movements(finance: Applier) -> list[tuple[Any, ...]]:
    mm = member_movements.c
    with finance.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(mm.member_id, mm.kiosk_id, mm.account, mm.kind, mm.amount).order_by(mm.id)
            )
        ]


def test_sales_and_refunds_become_member_movements(finance: Applier) -> None:
    k1 = KioskChain("s0001-k01")
    sale = member_sale(k1, "C1", stored_value=500, points=300, earned=9)
    plain = k1.sale()
    refund = full_refund(k1, sale)
    assert [t["type"] for t in refund["tenders"]] == ["card", "points", "stored_value"]
    result = finance.apply([inbound(e) for e in (sale, plain, refund)])
    assert result.outcomes == [APPLIED] * 3
    assert movements(finance) == [
        ("C1", "s0001-k01", "points", "redeem", -300),
        ("C1", "s0001-k01", "stored_value", "redeem", -500),
        ("C1", "s0001-k01", "points", "earn", 9),
        ("C1", "s0001-k01", "points", "refund", 300),
        ("C1", "s0001-k01", "stored_value", "refund", 500),
        ("C1", "s0001-k01", "points", "unearn", -9),
    ]


def test_two_kiosks_spending_one_balance_are_reported_over_the_cap_and_below_zero(
    finance: Applier,
) -> None:
    k1, k2 = KioskChain("s0001-k01"), KioskChain("s0001-k02")
    with finance.engine.begin() as conn:
        assert credit_member(conn, "C1", "stored_value", 1000, "s0001", DAY, "top-up T-9") == 1000
        credit_member(conn, "C2", "stored_value", 5000, "s0001", DAY, "top-up T-10")
    # Each kiosk allows 800 a day and sees only its own ledger: together they spend 1600 of
    # the 1000 C1 had. C2 spends within everything.
    events = [
        member_sale(k1, "C1", stored_value=800),
        member_sale(k2, "C1", stored_value=800),
        member_sale(k1, "C2", stored_value=700),
        member_sale(k1, "C1", stored_value=100, day=NEXT_DAY),
    ]
    assert finance.apply([inbound(e) for e in events]).outcomes == [APPLIED] * 4
    with finance.engine.connect() as conn:
        found = member_problems(conn, "s0001", DAY, NEXT_DAY, stored_value_cap=800)
        uncapped = member_problems(conn, "s0001", DAY, DAY)
        report = build_report(conn, "members", ReportQuery("s0001", DAY, DAY, stored_value_cap=800))
    assert [(m.business_day, m.member_id, m.kiosks, m.stored_value_spent) for m in found] == [
        (DAY, "C1", ("s0001-k01", "s0001-k02"), 1600),
        (NEXT_DAY, "C1", ("s0001-k01",), 100),
    ]
    assert found[0].stored_value_balance == -600
    assert found[0].problems == (
        "stored value spent 1600 over the daily cap 800 on 2 kiosk(s)",
        "stored value balance -600 below zero",
    )
    assert found[1].problems == ("stored value balance -700 below zero",)
    assert [m.problems for m in uncapped] == [("stored value balance -600 below zero",)]
    (row,) = report.rows
    assert (row["member_id"], row["kiosks"], row["stored_value_balance"]) == (
        "C1",
        "s0001-k01,s0001-k02",
        -600,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("C1", "cash", 10, "x"), "account 'cash'"),
        (("C1", "points", 0, "x"), "non-zero"),
        (("", "points", 5, "x"), "member id"),
        (("C1", "points", 5, "  "), "needs a reason"),
    ],
)
def test_a_bad_credit_is_refused_naming_what_was_wrong(
    finance: Applier, args: tuple[str, str, int, str], words: str
) -> None:
    member, account, amount, reason = args
    with finance.engine.begin() as conn, pytest.raises(ValueError, match=words):
        credit_member(conn, member, account, amount, "s0001", DAY, reason)
    assert movements(finance) == []


def test_cli_credits_a_member_and_reports_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "central.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///data/central.db"\n[kiosks]\nstores = ["s0001"]\n'
    )
    assert main(["db", "init", "--config", str(config)]) == 0
    base = ["members", "credit", "--config", str(config), "--store", "s0001", "--member", "C1"]
    assert (
        main(
            [
                *base,
                "--account",
                "stored_value",
                "--amount",
                "300",
                "--reason",
                "top-up",
                "--day",
                DAY,
            ]
        )
        == 0
    )
    assert "member C1 stored_value balance at central: 300" in capsys.readouterr().out
    assert main([*base, "--account", "stored_value", "--amount", "0", "--reason", "x"]) == 1
    assert "non-zero" in capsys.readouterr().err
    settings = load_config(config)
    engine = make_engine(settings.database_url)
    k1, k2 = KioskChain("s0001-k01"), KioskChain("s0001-k02")
    events = [member_sale(k1, "C1", stored_value=200), member_sale(k2, "C1", stored_value=200)]
    Applier(engine, FinanceHandler(settings.finance), settings.kiosks, 65536, "t").apply(
        [inbound(e) for e in events]
    )
    engine.dispose()
    report = ["report", "members", "--config", str(config), "--store", "s0001", "--from", DAY]
    assert main([*report, "--stored-value-cap", "300", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [(r["member_id"], r["stored_value_spent"], r["stored_value_balance"]) for r in rows] == [
        ("C1", 400, -100)
    ]
