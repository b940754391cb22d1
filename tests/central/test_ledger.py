"""central.ledger: every sale's ledger balances and its lines add up to the sale's totals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from central.events import Event, SaleCompleted
from central.ledger import CREDIT, DEBIT, MEMO, LedgerLine, imbalance, sale_ledger
from central.validation import validate
from tests.central.conftest import REGISTRY
from tests.central.factory import Item, KioskChain, payload_of, topic_of


def parsed(event: dict[str, object]) -> SaleCompleted:
    result = validate(topic_of(event), payload_of(event), REGISTRY, 1 << 20)
    assert isinstance(result, Event), result
    assert isinstance(result.body, SaleCompleted)
    return result.body


def total(lines: list[LedgerLine], account: str) -> int:
    return sum(line.amount for line in lines if line.account == account)


items = st.builds(
    Item,
    sku=st.sampled_from(["SKU0001", "SKU0002", "BANANA"]),
    qty=st.sampled_from(["1", "2", "3", "0.512", "1.25"]),
    unit=st.sampled_from(["ea", "kg"]),
    unit_price=st.integers(100, 100_000),
    discount=st.integers(-50, 0),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(items, min_size=1, max_size=6), st.booleans(), st.integers(-4, 4))
def test_sale_ledger_sums_equal_the_sale_totals(
    chosen: list[Item], cash: bool, rounding: int
) -> None:
    sale = parsed(KioskChain().sale(chosen, cash=cash, cash_rounding=rounding))
    lines = sale_ledger(sale)
    t = sale.totals
    assert imbalance(lines) == 0
    assert total(lines, "tender") == t.due
    assert total(lines, "revenue") + total(lines, "tax") + total(lines, "rounding") == t.due
    assert total(lines, "tax") == t.tax
    assert total(lines, "gross") == t.gross
    assert total(lines, "discount") == t.discount
    assert total(lines, "rounding") == t.rounding
    assert {line.side for line in lines} <= {DEBIT, CREDIT, MEMO}


def test_sale_ledger_splits_revenue_net_of_inclusive_tax() -> None:
    sale = parsed(KioskChain().sale([Item("SKU0001", "2", unit_price=1290)]))
    lines = {(x.account, x.code): x for x in sale_ledger(sale)}
    assert lines[("gross", "VAT13")].amount == 2580
    assert lines[("tax", "VAT13")].amount == 297
    assert lines[("revenue", "VAT13")].amount == 2580 - 297
    assert lines[("tender", "card")] == LedgerLine("tender", "card", DEBIT, 2580, 1)


def test_sale_ledger_records_cash_given_change_and_rounding() -> None:
    sale = parsed(
        KioskChain().sale([Item("SKU0001", "1", unit_price=1299)], cash=True, cash_rounding=-9)
    )
    lines = {(x.account, x.code): x.amount for x in sale_ledger(sale)}
    assert lines[("tender", "cash")] == 1290
    assert lines[("rounding", "")] == -9
    assert lines[("tendered", "cash")] == 10000
    assert lines[("change", "cash")] == 10000 - 1290


def test_sale_ledger_lists_discounts_by_kind() -> None:
    sale = parsed(KioskChain().sale([Item("SKU0001", "1", discount=-100), Item("SKU0002")]))
    lines = {(x.account, x.code): x.amount for x in sale_ledger(sale)}
    assert lines[("discount", "discount")] == -100
    assert lines[("revenue", "VAT13")] + lines[("tax", "VAT13")] == 1290 * 2 - 100
