"""kiosk.shift and kiosk.protocol.shift_event: X/Z figures from events, the shift close event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from central.event_schemas import SHIFT_CLOSED_SCHEMA as CENTRAL_SCHEMA
from central.event_schemas import parse_shift_closed
from central.events import Envelope
from kiosk.config import ReceiptConfig, StoreConfig
from kiosk.protocol.canonical import GENESIS_HASH
from kiosk.protocol.sale_event import seal, verify_event
from kiosk.protocol.shift_event import (
    SHIFT_CLOSED_SCHEMA,
    shift_closed_event,
    shift_number,
)
from kiosk.receipt import render_text
from kiosk.receipt_refund import shift_report
from kiosk.shift import REFUND, SALE, shift_figures

HASH = "ab" * 32


def sale(seq: int, due: int, tenders: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    tax = due * 13 // 113
    discount = extra.get("discount", 0)
    discounts = (
        [{"kind": "promotion", "reason": "2 for 5", "amount": discount, "promo_id": "P7"}]
        if discount
        else []
    )
    rounding = extra.get("rounding", 0)
    gross = due - rounding - discount
    return {
        "receipt_no": f"s0001-k01-{seq}",
        "seq": seq,
        "lines": [
            {
                "line": 1,
                "amount": gross,
                "discounts": discounts,
                "tax_code": extra.get("code", "VAT13"),
                "tax": tax,
            }
        ],
        "totals": {
            "gross": gross,
            "discount": discount,
            "tax": tax,
            "rounding": rounding,
            "due": due,
        },
        "tenders": tenders,
    }


def refund(seq: int, due: int, tenders: list[dict[str, Any]], discount: int = 0) -> dict[str, Any]:
    event = sale(seq, due, tenders, discount=discount)
    del event["receipt_no"]
    event["refund_no"] = f"s0001-k01-{seq}"
    return event


EVENTS: list[tuple[str, dict[str, Any]]] = [
    (SALE, sale(3, 1000, [{"type": "card", "amount": 1000, "ref": "T-1"}])),
    (
        SALE,
        sale(
            4,
            1260,
            [{"type": "cash", "amount": 1260, "tendered": 2000, "change": 740}],
            discount=-100,
            rounding=-3,
        ),
    ),
    ("shift.closed", {"seq": 5}),
    (SALE, sale(6, 500, [{"type": "wallet", "amount": 500, "ref": "W-1"}], code="VAT9")),
    (REFUND, refund(7, 630, [{"type": "cash", "amount": 630}], discount=-50)),
]


def figures(counted: int | None = None, float_amount: int = 5000) -> Any:
    return shift_figures(
        EVENTS,
        currency="CNY",
        first_seq=3,
        last_seq=7,
        last_hash=HASH,
        float_amount=float_amount,
        pickups=(2000,),
        counted=counted,
    )


def test_sales_and_tenders_are_what_central_reconciles() -> None:
    f = figures()
    assert f.sales.to_dict() == {
        "count": 3,
        "gross": 1000 + 1363 + 500,
        "discount": -100,
        "tax": 115 + 144 + 57,
        "rounding": -3,
        "due": 2760,
    }
    assert [(t.type, t.count, t.amount, t.change) for t in f.tenders] == [
        ("card", 1, 1000, 0),
        ("cash", 1, 1260, 740),
        ("wallet", 1, 500, 0),
    ]
    assert sum(t.amount for t in f.tenders) == f.sales.due
    assert (f.first_receipt, f.last_receipt) == ("s0001-k01-3", "s0001-k01-6")


def test_refunds_adjustments_and_taxes_are_counted_apart_from_sales() -> None:
    f = figures()
    assert (f.refunds.count, f.refunds.due, f.refund_numbers) == (1, 630, ("s0001-k01-7",))
    assert [(t.type, t.count, t.amount) for t in f.refund_tenders] == [("cash", 1, 630)]
    (promo,) = f.adjustments
    assert (promo.kind, promo.rule, promo.count, promo.amount, promo.refunded, promo.net) == (
        "promotion",
        "P7",
        1,
        -100,
        -50,
        -50,
    )
    by_code = {t.code: t for t in f.taxes}
    assert by_code["VAT9"].tax == 57 and by_code["VAT9"].refund_tax == 0
    assert by_code["VAT13"].refund_tax == 630 * 13 // 113
    assert by_code["VAT13"].net == (1000 - 115) + (1363 - 100 - 144)


def test_cash_expected_is_float_plus_cash_sales_less_refunds_and_pickups() -> None:
    open_ = figures()
    assert (open_.cash.sales, open_.cash.refunds, open_.cash.pickups) == (1260, 630, 2000)
    assert open_.cash.expected == 5000 + 1260 - 630 - 2000
    assert open_.cash.counted is None and open_.cash.difference is None
    closed = figures(counted=3500)
    assert closed.cash.difference == 3500 - 3630


def test_an_empty_first_shift_has_no_sales_and_the_genesis_hash() -> None:
    f = shift_figures(
        [], currency="CNY", first_seq=1, last_seq=0, last_hash=GENESIS_HASH, float_amount=0
    )
    assert f.sales.count == 0 and f.tenders == () and f.first_receipt is None
    event = shift_closed_event(
        event_id="e",
        kiosk_id="s0001-k01",
        store_id="s0001",
        seq=1,
        boot=1,
        occurred_at="2026-03-02T14:00:00.000Z",
        business_day="2026-03-02",
        prev_hash=GENESIS_HASH,
        shift_id=shift_number("s0001-k01", 1),
        figures=f,
    )
    assert (event["first_seq"], event["last_seq"], event["last_hash"]) == (1, 0, GENESIS_HASH)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"first_seq": 0, "last_seq": 0}, "not a range"),
        ({"first_seq": 5, "last_seq": 3}, "not a range"),
        ({"float_amount": -1}, "must not be negative"),
        ({"pickups": (0,)}, "must not be negative"),
        ({"counted": -5}, "must not be negative"),
    ],
)
def test_bad_shift_figures_are_refused(kwargs: dict[str, Any], match: str) -> None:
    base: dict[str, Any] = {
        "currency": "CNY",
        "first_seq": 1,
        "last_seq": 0,
        "last_hash": GENESIS_HASH,
        "float_amount": 0,
    }
    with pytest.raises(ValueError, match=match):
        shift_figures([], **{**base, **kwargs})


def close_event(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "event_id": "0192aaaa-0000-7000-8000-000000000001",
        "kiosk_id": "s0001-k01",
        "store_id": "s0001",
        "seq": 8,
        "boot": 2,
        "occurred_at": "2026-03-02T14:00:00.000Z",
        "business_day": "2026-03-02",
        "prev_hash": HASH,
        "shift_id": "s0001-k01-shift-1",
        "figures": figures(counted=3630),
    }
    return shift_closed_event(**{**args, **overrides})


def test_shift_closed_event_has_exactly_centrals_fields_and_parses_there() -> None:
    event = seal(close_event())
    assert SHIFT_CLOSED_SCHEMA == CENTRAL_SCHEMA
    assert set(event) == {
        "schema",
        "event_id",
        "kiosk_id",
        "store_id",
        "seq",
        "boot",
        "occurred_at",
        "business_day",
        "shift_id",
        "currency",
        "first_seq",
        "last_seq",
        "last_hash",
        "sales",
        "tenders",
        "prev_hash",
        "hash",
    }
    assert verify_event(event) is None
    envelope = Envelope(
        event["schema"],
        "shift.closed",
        event["event_id"],
        event["kiosk_id"],
        event["store_id"],
        event["seq"],
        event["boot"],
        event["occurred_at"],
        event["business_day"],
        event["prev_hash"],
        event["hash"],
    )
    parsed = parse_shift_closed(envelope, event)
    assert (parsed.first_seq, parsed.last_seq, parsed.sales.due) == (3, 7, 2760)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"seq": 9}, "not just before 9"),
        ({"prev_hash": "cd" * 32}, "last_hash"),
        ({"prev_hash": "x"}, "64 lowercase hex"),
    ],
)
def test_shift_closed_event_refuses_a_range_that_does_not_end_before_it(
    overrides: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        close_event(**overrides)


def test_shift_number_starts_at_one() -> None:
    assert shift_number("s0142-k03", 7) == "s0142-k03-shift-7"
    with pytest.raises(ValueError, match="starts at 1"):
        shift_number("s0142-k03", 0)


@pytest.mark.parametrize("width", [32, 42, 48])
def test_z_report_prints_every_section_within_the_paper(width: int) -> None:
    report = shift_report(
        figures(counted=3500),
        kind="z",
        report_id="s0001-k01-shift-1/Z",
        shift_id="s0001-k01-shift-1",
        seq=8,
        opened="2026-03-02 09:00 E01",
        closed="2026-03-02 22:00 E01",
        staff="E01",
        store=StoreConfig(name="Demo"),
        receipt_cfg=ReceiptConfig(width=width),
        local_time="2026-03-02 22:00",
        business_day="2026-03-02",
        kiosk_id="s0001-k01",
        language="en",
        rates={"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")},
    )
    text = render_text(report, width)
    assert all(len(row) <= width for row in text.splitlines())
    for word in ("Z REPORT", "Sales (3)", "Refunds (1)", "Promotion: P7 (1)", "Cash expected"):
        assert word in text
    assert "Difference" in text and "-1.30" in text
    assert "36.30" in text  # the cash expected: 50.00 + 12.60 - 6.30 - 20.00
    assert "VAT9 9%" in text
    with pytest.raises(ValueError, match="'x' or 'z'"):
        shift_report(
            figures(),
            kind="y",
            report_id="r",
            shift_id="s",
            seq=1,
            opened="",
            closed=None,
            staff="E01",
            store=StoreConfig(),
            receipt_cfg=ReceiptConfig(),
            local_time="",
            business_day="2026-03-02",
            kiosk_id="s0001-k01",
            language="en",
            rates={},
        )
