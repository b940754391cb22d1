"""Finance: ledger per sale, daily summaries, shift reconciliation against the ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, case, func, select

from central.apply import APPLIED, Applier
from central.finance import daily_summaries
from central.storage.schema import discrepancies, ledger_lines, sales, shifts
from tests.central.conftest import inbound
from tests.central.factory import Item, KioskChain


def shift_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(shifts).order_by(shifts.c.seq)).all())


def found(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(discrepancies.c.detail).order_by(discrepancies.c.id)).scalars()
        )


def test_each_sale_gets_balanced_ledger_lines_equal_to_its_totals(
    finance: Applier, chain: KioskChain
) -> None:
    events = [
        chain.sale(),
        chain.sale(cash=True, cash_rounding=-2),
        chain.sale([Item("X", "3", discount=-50)]),
    ]
    finance.apply([inbound(e) for e in events])
    lc = ledger_lines.c
    signed = case((lc.side == "debit", lc.amount), (lc.side == "credit", -lc.amount), else_=0)
    with finance.engine.connect() as conn:
        balance = dict(
            conn.execute(select(lc.event_id, func.sum(signed)).group_by(lc.event_id)).all()
        )
        tenders = dict(
            conn.execute(
                select(lc.event_id, func.sum(lc.amount))
                .where(lc.account == "tender")
                .group_by(lc.event_id)
            ).all()
        )
        dues = dict(conn.execute(select(sales.c.event_id, sales.c.due)).all())
    assert set(balance.values()) == {0}
    assert tenders == dues == {e["event_id"]: e["totals"]["due"] for e in events}


def test_daily_summaries_per_kiosk_and_store(finance: Applier) -> None:
    k1, k2 = KioskChain("s0001-k01"), KioskChain("s0001-k02")
    events = [k1.sale(), k1.sale(), k2.sale([Item("A", "1", unit_price=500)])]
    finance.apply([inbound(e) for e in events])
    with finance.engine.connect() as conn:
        per_kiosk = daily_summaries(conn, "s0001", "2026-11-27", "2026-11-27", True)
        store = daily_summaries(conn, "s0001", "2026-11-27", "2026-11-27", False)
        none = daily_summaries(conn, "s0001", "2026-11-28", "2026-11-30", False)
    assert [(s.kiosk_id, s.sales, s.due) for s in per_kiosk] == [
        ("s0001-k01", 2, 2 * events[0]["totals"]["due"]),
        ("s0001-k02", 1, 500),
    ]
    assert [(s.kiosk_id, s.sales, s.due) for s in store] == [
        ("", 3, sum(e["totals"]["due"] for e in events))
    ]
    assert none == []


def test_shift_close_matching_the_ledger_is_reconciled(finance: Applier, chain: KioskChain) -> None:
    events = [chain.sale(), chain.sale(cash=True), chain.sale()]
    events.append(chain.shift_closed())
    assert finance.apply([inbound(e) for e in events]).outcomes == [APPLIED] * 4
    (shift,) = shift_rows(finance.engine)
    assert (shift.status, shift.first_seq, shift.last_seq, shift.detail) == ("reconciled", 1, 3, "")
    assert found(finance.engine) == []


def test_shift_close_that_disagrees_is_reported_item_by_item(
    finance: Applier, chain: KioskChain
) -> None:
    chain.sales(2)
    figures = chain.shift_figures(1, 2)
    sales_fig = {**figures["sales"], "count": 3}
    tenders = [
        {**figures["tenders"][0], "amount": figures["tenders"][0]["amount"] - 100},
        {"type": "cash", "count": 1, "amount": 100, "change": 0},
    ]
    chain.shift_closed(sales=sales_fig, tenders=tenders, last_hash="c" * 64)
    finance.apply([inbound(e) for e in chain.events])
    (shift,) = shift_rows(finance.engine)
    assert shift.status == "discrepancy"
    card = figures["tenders"][0]["amount"]
    assert found(finance.engine) == [
        f"shift {shift.shift_id}: sales.count: kiosk declared 3, ledger has 2",
        f"shift {shift.shift_id}: tenders.card.amount: kiosk declared {card - 100}, "
        f"ledger has {card}",
        f"shift {shift.shift_id}: tenders.cash.count: kiosk declared 1, ledger has 0",
        f"shift {shift.shift_id}: tenders.cash.amount: kiosk declared 100, ledger has 0",
        f"shift {shift.shift_id}: last_hash: kiosk declared {'c' * 16}..., the event at seq 2 has "
        f"{chain.events[1]['hash'][:16]}...",
    ]


def test_shift_close_waits_for_a_missing_sale(finance: Applier, chain: KioskChain) -> None:
    e1, e2, e3 = chain.sales(3)
    close = chain.shift_closed()
    finance.apply([inbound(e1), inbound(e3), inbound(close)])
    assert [s.status for s in shift_rows(finance.engine)] == ["pending"]
    finance.apply([inbound(e2)])
    assert [s.status for s in shift_rows(finance.engine)] == ["reconciled"]
    assert found(finance.engine) == []


def test_shifts_reconcile_their_own_range(finance: Applier, chain: KioskChain) -> None:
    chain.sales(2)
    first_close = chain.shift_closed()
    chain.sales(3)
    second_close = chain.shift_closed(first_seq=first_close["seq"] + 1)
    finance.apply([inbound(e) for e in chain.events])
    rows = shift_rows(finance.engine)
    assert [(s.first_seq, s.last_seq, s.status) for s in rows] == [
        (1, 2, "reconciled"),
        (4, 6, "reconciled"),
    ]
    assert second_close["sales"]["count"] == 3


def test_an_empty_shift_reconciles_with_nothing_sold(finance: Applier, chain: KioskChain) -> None:
    close = chain.shift_closed()
    assert close["last_seq"] == 0 and close["sales"]["count"] == 0
    finance.apply([inbound(close)])
    assert [s.status for s in shift_rows(finance.engine)] == ["reconciled"]


def test_inventory_records_a_shift_close_without_stock_effect(
    inventory: Applier, chain: KioskChain
) -> None:
    chain.sales(1)
    close = chain.shift_closed()
    result = inventory.apply([inbound(e) for e in chain.events])
    assert result.outcomes == [APPLIED, APPLIED]
    assert result.progress["s0001-k01"].contiguous_seq == close["seq"]
