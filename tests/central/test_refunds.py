"""pos.sale.refunded/1 at central: parsed and checked like a sale, its stock put back by the
inventory consumer, its ledger reversed by finance without touching shift reconciliation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import case, func, select

from central.apply import APPLIED, Applier
from central.events import INCONSISTENT, INVALID, Event, Rejection, SaleRefunded
from central.storage.schema import discrepancies, ledger_lines, sales, shifts, stock_items
from central.validation import validate
from kiosk.config import CashConfig
from kiosk.protocol import seal
from kiosk.protocol.refund_event import sale_refunded_event
from kiosk.refunds import CompletedRefund, RefundTender
from kiosk.returns import OriginalSale, Refunded, plan_refund
from tests.central.conftest import REGISTRY, inbound
from tests.central.factory import DAY, Item, KioskChain, new_id, payload_of, topic_of


def refund_of(
    chain: KioskChain, sale: dict[str, Any], picks: dict[int, int], cash: bool = False
) -> dict[str, Any]:
    """The next event of ``chain``: a refund of ``picks`` (thousandths) of ``sale``."""
    original = OriginalSale.from_event(sale)
    plan = plan_refund(original, Refunded(), picks, CashConfig())
    if cash or not plan.card:
        tenders = (RefundTender("cash", plan.due, new_id(), original.tenders[0].type),)
    else:
        tenders = tuple(
            RefundTender("card", c.amount, new_id(), "card", c.tender_idx, c.original_ref, "T-R1")
            for c in plan.card
        )
    refund = CompletedRefund(
        refund_id=new_id(),
        event_id=new_id(),
        kiosk_id=chain.kiosk_id,
        store_id=chain.store_id,
        boot=1,
        occurred_at=f"{DAY}T10:00:00Z",
        business_day=DAY,
        staff="E01",
        original=original,
        plan=plan,
        tenders=tenders,
    )
    return chain._append(sale_refunded_event(refund, chain.seq + 1, chain.prev_hash))


def check(event: dict[str, Any]) -> Event | Rejection:
    return validate(topic_of(event), payload_of(event), REGISTRY, 64 * 1024)


def resealed(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return seal({**{k: v for k, v in event.items() if k != "hash"}, **changes})


def test_a_kiosk_built_refund_is_accepted_with_its_lines_and_tenders(chain: KioskChain) -> None:
    sale = chain.sale([Item("SKU0001", "3", discount=-300), Item("BANANA", "0.512", "kg", 1580)])
    event = refund_of(chain, sale, {1: 1000})
    result = check(event)
    assert isinstance(result, Event), result
    body = result.body
    assert isinstance(body, SaleRefunded)
    assert (body.refund_no, body.original_receipt_no, body.original_seq) == (
        "s0001-k01-2",
        "s0001-k01-1",
        1,
    )
    assert [(line.sku, line.qty, line.amount) for line in body.lines] == [
        ("SKU0001", Decimal(1), 1290)
    ]
    assert body.lines[0].discounts[0].amount == -100
    assert body.totals.due == 1190 and body.tax_mode == "inclusive"
    assert [(t.type, t.amount) for t in body.tenders] == [("card", 1190)]


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"refund_no": "s0001-k01-9"}, INCONSISTENT, ("refund_no",)),
        ({"tenders": [{"type": "cash", "amount": 5}]}, INCONSISTENT, ("totals.due",)),
        ({"tenders": [{"type": "wallet", "amount": 1190}]}, INCONSISTENT, ("not wallet",)),
        (
            {"tenders": [{"type": "stored_value", "amount": 1190}]},
            INCONSISTENT,
            ("without a member",),
        ),
        (
            {
                "tenders": [{"type": "stored_value", "amount": 1190}],
                "member": {"id": "C1", "stored_value_refunded": 1000},
            },
            INCONSISTENT,
            ("member.stored_value_refunded",),
        ),
        (
            {"tenders": [{"type": "points", "amount": 1190}], "member": {"id": "C1"}},
            INCONSISTENT,
            ("points_refunded",),
        ),
        (
            {"member": {"id": "C1", "points_reversed": 2, "points_unrecovered": 3}},
            INCONSISTENT,
            ("points_unrecovered 3",),
        ),
        ({"member": {"id": "C1", "points_reversed": -2}}, INVALID, ("member.points_reversed",)),
        ({"lines": []}, INCONSISTENT, ("at least one line",)),
        (
            {"original": {"receipt_no": "x", "kiosk_id": "s0001-k01", "seq": 5}},
            INCONSISTENT,
            ("original.seq",),
        ),
        ({"original": None}, INVALID, ("original",)),
    ],
)
def test_a_refund_that_does_not_add_up_is_parked_with_the_reason(
    chain: KioskChain, changes: dict[str, Any], code: str, words: tuple[str, ...]
) -> None:
    sale = chain.sale([Item("SKU0001", "3", discount=-300)])
    event = resealed(refund_of(chain, sale, {1: 1000}), **changes)
    result = check(event)
    assert isinstance(result, Rejection) and result.code == code, result
    for word in words:
        assert word in result.detail


def test_finance_reverses_the_ledger_and_the_shift_still_reconciles(
    finance: Applier, chain: KioskChain
) -> None:
    sale = chain.sale([Item("SKU0001", "2")])
    cash_sale = chain.sale([Item("SKU0001", "1")], cash=True)
    card_refund = refund_of(chain, sale, {1: 1000})
    cash_refund = refund_of(chain, cash_sale, {1: 1000}, cash=True)
    close = chain.shift_closed()
    events = [sale, cash_sale, card_refund, cash_refund, close]
    assert finance.apply([inbound(e) for e in events]).outcomes == [APPLIED] * 5
    lc = ledger_lines.c
    signed = case((lc.side == "debit", lc.amount), (lc.side == "credit", -lc.amount), else_=0)
    with finance.engine.connect() as conn:
        balance = dict(
            conn.execute(select(lc.event_id, func.sum(signed)).group_by(lc.event_id)).all()
        )
        refunded = dict(
            conn.execute(
                select(lc.code, func.sum(lc.amount)).where(lc.account == "refund").group_by(lc.code)
            ).all()
        )
        revenue = conn.execute(
            select(func.sum(lc.amount)).where(lc.account.in_(("revenue", "tax")))
        ).scalar()
        sale_rows = conn.execute(select(func.count()).select_from(sales)).scalar()
        (shift,) = conn.execute(select(shifts)).all()
        found = list(conn.execute(select(discrepancies.c.detail)).scalars())
    assert set(balance.values()) == {0}
    assert refunded == {"card": -1290, "cash": -1290}
    assert revenue == 2580 + 1290 - 1290 - 1290
    assert sale_rows == 2
    assert (shift.status, shift.last_seq, found) == ("reconciled", 4, [])


def test_inventory_puts_refunded_quantities_back(inventory: Applier, chain: KioskChain) -> None:
    sale = chain.sale([Item("SKU0001", "3"), Item("BANANA", "0.512", "kg", 1580)])
    refund = refund_of(chain, sale, {1: 2000, 2: 512})
    again = inventory.apply([inbound(sale), inbound(refund), inbound(refund)])
    assert again.outcomes == [APPLIED, APPLIED, "duplicate"]
    with inventory.engine.connect() as conn:
        on_hand = dict(conn.execute(select(stock_items.c.sku, stock_items.c.on_hand_milli)).all())
    assert on_hand == {"SKU0001": -1000, "BANANA": 0}
