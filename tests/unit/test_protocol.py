"""kiosk.protocol: canonical JSON, the hash chain, UUIDv7 and the sale.completed event."""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.basket import Adjustment, Line
from kiosk.payments import Tender
from kiosk.pricing import PricedLine, TaxLine, Totals
from kiosk.protocol import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    event_topic,
    sale_completed_event,
    seal,
    uuid7,
    verify_chain,
)
from kiosk.protocol.ids import uuid7_ms
from kiosk.protocol.sale_event import qty_text, verify_event
from kiosk.sale import AttendantAction, CompletedSale

H1 = "a" * 64


def make_sale(
    *,
    adjustments: tuple[Adjustment, ...] = (),
    priced_discount: int | None = None,
    member_id: str | None = None,
    cash_rounding: int = 0,
    extra_priced: tuple[PricedLine, ...] = (),
) -> CompletedSale:
    """Two lines: 2 × 12.90 (scanned, with ``adjustments``) and 0.512 kg × 15.80."""
    lines = (
        Line(
            1,
            "100234",
            {"zh_CN": "可口可乐", "en": "Coca-Cola"},
            "ea",
            Decimal("2"),
            1290,
            "VAT13",
            gtin="06901028075831",
            adjustments=adjustments,
        ),
        Line(2, "200001", {"en": "Bananas"}, "kg", Decimal("0.512"), 1580, "VAT9"),
    )
    own = sum(a.amount for a in adjustments)
    discount = own if priced_discount is None else priced_discount
    priced = (
        PricedLine(1, "VAT13", 2580, discount, 2580 + discount, 297),
        PricedLine(2, "VAT9", 809, 0, 809, 67),
        *extra_priced,
    )
    due = sum(p.amount for p in priced)
    totals = Totals(
        "CNY",
        "inclusive",
        priced,
        (TaxLine("VAT13", Decimal("0.13"), 2283, 297), TaxLine("VAT9", Decimal("0.09"), 742, 67)),
        3389,
        discount,
        364,
        due,
        3,
    )
    return CompletedSale(
        sale_id="sale-1",
        event_id="01900000-0000-7000-8000-000000000001",
        kiosk_id="s0142-k03",
        store_id="s0142",
        boot=912,
        occurred_at="2026-11-27T09:15:02Z",
        business_day="2026-11-27",
        currency="CNY",
        language="zh_CN",
        lines=lines,
        totals=totals,
        cash_rounding=cash_rounding,
        tenders=(
            Tender("card", due + cash_rounding, "i-1", ref="T-88812", auth="123456", last4="4242"),
        ),
        member_id=member_id,
        attendant_actions=(AttendantAction("age_check", "E07", "2026-11-27T09:14:00Z"),),
    )


def chain(n: int) -> list[dict[str, Any]]:
    events = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        event = seal(sale_completed_event(make_sale(), seq, prev))
        events.append(event)
        prev = event["hash"]
    return events


# -- canonical JSON ---------------------------------------------------------------------------


def test_canonical_json_sorts_keys_without_spaces_in_utf8() -> None:
    out = canonical_json({"b": 1, "a": {"z": [1, "可乐"], "y": None}, "c": True})
    assert out == '{"a":{"y":null,"z":[1,"可乐"]},"b":1,"c":true}'.encode()


@pytest.mark.parametrize(
    ("value", "where"),
    [(1.5, "$"), ({"a": [1, 2.0]}, "$.a[1]"), ({"t": {"due": 0.1}}, "$.t.due")],
)
def test_canonical_json_refuses_floats_naming_the_path(value: object, where: str) -> None:
    with pytest.raises(TypeError, match="refuses the float") as caught:
        canonical_json(value)
    assert f" at {where}:" in str(caught.value)


@pytest.mark.parametrize("value", [{1: "a"}, {"d": Decimal("1.5")}, {"s": {1, 2}}])
def test_canonical_json_refuses_non_json_values(value: object) -> None:
    with pytest.raises(TypeError, match="canonical JSON"):
        canonical_json(value)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_canonical_json_round_trips_to_the_same_bytes(value: object) -> None:
    out = canonical_json(value)
    assert canonical_json(json.loads(out)) == out


# -- chain hash -------------------------------------------------------------------------------


def test_chain_hash_is_sha256_of_prev_lf_seq_lf_body() -> None:
    body = canonical_json({"x": 1})
    expected = hashlib.sha256(GENESIS_HASH.encode() + b"\n7\n" + body).hexdigest()
    assert chain_hash(GENESIS_HASH, 7, body) == expected


@pytest.mark.parametrize("prev", ["", "A" * 64, "0" * 63, "g" * 64])
def test_chain_hash_refuses_a_malformed_prev_hash(prev: str) -> None:
    with pytest.raises(ValueError, match="prev_hash"):
        chain_hash(prev, 1, b"{}")


@pytest.mark.parametrize("seq", [0, -1, 2**63, True])
def test_chain_hash_refuses_a_seq_outside_64_bits(seq: int) -> None:
    with pytest.raises(ValueError, match="seq"):
        chain_hash(GENESIS_HASH, seq, b"{}")


def test_chain_hash_refuses_text_as_body() -> None:
    with pytest.raises(TypeError, match="bytes"):
        chain_hash(GENESIS_HASH, 1, "{}")  # type: ignore[arg-type]


# -- uuid7 ------------------------------------------------------------------------------------


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_uuid7_is_a_version_7_rfc_uuid_carrying_its_time(ms: int, rand: bytes) -> None:
    text = uuid7(ms, rand)
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert uuid7_ms(text) == ms


@given(
    st.integers(0, 2**48 - 2),
    st.binary(min_size=10, max_size=10),
    st.binary(min_size=10, max_size=10),
)
def test_uuid7_sorts_by_time(ms: int, a: bytes, b: bytes) -> None:
    assert uuid7(ms, a) < uuid7(ms + 1, b)


def test_uuid7_uses_the_random_bytes() -> None:
    assert uuid7(1, bytes(10)) != uuid7(1, b"\xff" * 10)
    assert uuid7(1, bytes(10)) == "00000000-0001-7000-8000-000000000000"


@pytest.mark.parametrize(("ms", "rand"), [(-1, bytes(10)), (2**48, bytes(10)), (1, bytes(9))])
def test_uuid7_refuses_bad_input(ms: int, rand: bytes) -> None:
    with pytest.raises(ValueError):
        uuid7(ms, rand)


def test_uuid7_ms_refuses_other_uuids() -> None:
    with pytest.raises(ValueError, match="UUIDv7"):
        uuid7_ms(str(uuid.uuid4()))
    with pytest.raises(ValueError, match="not a UUID"):
        uuid7_ms("zz")


# -- sale event -------------------------------------------------------------------------------


def test_sale_event_has_the_contract_fields() -> None:
    event = sale_completed_event(make_sale(member_id="M-000123"), 184467, H1)
    assert event["schema"] == "pos.sale.completed/1"
    assert event["receipt_no"] == "s0142-k03-184467"
    assert (event["seq"], event["boot"], event["prev_hash"]) == (184467, 912, H1)
    assert (event["kiosk_id"], event["store_id"], event["currency"]) == (
        "s0142-k03",
        "s0142",
        "CNY",
    )
    assert event["member"] == {"id": "M-000123"}
    assert event["tenders"] == [
        {"type": "card", "amount": 3389, "ref": "T-88812", "auth": "123456", "last4": "4242"}
    ]
    assert event["attendant_actions"] == [
        {"kind": "age_check", "staff": "E07", "at": "2026-11-27T09:14:00Z"}
    ]
    first, second = event["lines"]
    assert first == {
        "line": 1,
        "sku": "100234",
        "gtin": "06901028075831",
        "name": "可口可乐",
        "qty": "2",
        "unit": "ea",
        "unit_price": 1290,
        "amount": 2580,
        "discounts": [],
        "tax_code": "VAT13",
        "tax": 297,
    }
    assert "gtin" not in second
    assert (second["name"], second["qty"], second["unit"]) == ("Bananas", "0.512", "kg")
    canonical_json(event)  # no float anywhere


def test_sale_event_totals_due_includes_cash_rounding() -> None:
    event = sale_completed_event(make_sale(cash_rounding=-9), 1, GENESIS_HASH)
    assert event["totals"] == {
        "gross": 3389,
        "discount": 0,
        "tax": 364,
        "rounding": -9,
        "due": 3380,
    }


def test_sale_event_has_no_member_without_one() -> None:
    assert "member" not in sale_completed_event(make_sale(), 1, GENESIS_HASH)


def test_sale_event_discounts_name_promotion_or_staff() -> None:
    sale = make_sale(
        adjustments=(
            Adjustment(-300, "promotion", "满100减10", "P-MJ-100-10"),
            Adjustment(-100, "discount", "damaged packaging", "E07"),
        )
    )
    discounts = sale_completed_event(sale, 1, GENESIS_HASH)["lines"][0]["discounts"]
    assert discounts == [
        {"kind": "promotion", "reason": "满100减10", "amount": -300, "promo_id": "P-MJ-100-10"},
        {"kind": "discount", "reason": "damaged packaging", "amount": -100, "staff": "E07"},
    ]


def test_sale_event_discounts_sum_to_the_priced_discount_with_a_basket_share() -> None:
    sale = make_sale(
        adjustments=(Adjustment(-100, "coupon", "coupon", "CP1234"),), priced_discount=-250
    )
    line = sale_completed_event(sale, 1, GENESIS_HASH)["lines"][0]
    assert line["discounts"][-1] == {
        "kind": "allocation",
        "reason": "basket adjustments",
        "amount": -150,
    }
    assert sum(d["amount"] for d in line["discounts"]) == -250


def test_sale_event_refuses_a_line_without_priced_line() -> None:
    sale = make_sale()
    broken = CompletedSale(
        **{
            **{f: getattr(sale, f) for f in sale.__dataclass_fields__},
            "totals": Totals("CNY", "inclusive", sale.totals.lines[:1], (), 0, 0, 0, 0, 0),
        }
    )
    with pytest.raises(ValueError, match="line 2 has no priced line"):
        sale_completed_event(broken, 1, GENESIS_HASH)


def test_sale_event_refuses_a_priced_line_not_in_the_sale() -> None:
    with pytest.raises(ValueError, match="price line 9, not in the sale"):
        sale_completed_event(
            make_sale(extra_priced=(PricedLine(9, "VAT13", 100, 0, 100, 12),)), 1, GENESIS_HASH
        )


def test_sale_event_ignores_an_all_zero_priced_line_not_in_the_sale() -> None:
    sale = make_sale(extra_priced=(PricedLine(9, "VAT13", 0, 0, 0, 0),))
    assert len(sale_completed_event(sale, 1, GENESIS_HASH)["lines"]) == 2


def test_sale_event_refuses_a_bad_prev_hash_or_seq() -> None:
    with pytest.raises(ValueError, match="prev_hash"):
        sale_completed_event(make_sale(), 1, "abc")
    with pytest.raises(ValueError, match="seq"):
        sale_completed_event(make_sale(), 0, GENESIS_HASH)


@pytest.mark.parametrize(
    ("qty", "text"),
    [
        (Decimal("2"), "2"),
        (Decimal("2.000"), "2"),
        (Decimal("0.5120"), "0.512"),
        (Decimal("1E+1"), "10"),
    ],
)
def test_qty_text_has_no_exponent_or_trailing_zeros(qty: Decimal, text: str) -> None:
    assert qty_text(qty) == text


# -- seal and chain ---------------------------------------------------------------------------


def test_seal_adds_the_chain_hash_of_the_body_without_hash() -> None:
    event = sale_completed_event(make_sale(), 5, H1)
    sealed = seal(event)
    assert "hash" not in event
    assert sealed["hash"] == chain_hash(H1, 5, canonical_json(event))
    assert verify_event(sealed) is None


def test_verify_chain_accepts_a_good_chain() -> None:
    assert verify_chain(chain(4)) == []


def test_verify_chain_detects_a_changed_amount() -> None:
    events = chain(3)
    events[1]["totals"]["due"] += 100
    problems = verify_chain(events)
    assert problems == ["seq 2: hash does not match the event's content (changed after sealing?)"]


def test_verify_chain_detects_a_missing_event() -> None:
    events = chain(4)
    del events[2]
    problems = verify_chain(events)
    assert "seq 4 follows seq 2: expected 3" in problems
    assert "seq 4: prev_hash does not match the hash of the event before" in problems


def test_verify_chain_detects_a_first_event_not_from_genesis() -> None:
    event = seal(sale_completed_event(make_sale(), 1, H1))
    assert verify_chain([event]) == ["seq 1: prev_hash is not the genesis hash"]


def test_verify_chain_checks_a_later_run_against_the_given_prev_hash() -> None:
    events = chain(5)
    assert verify_chain(events[2:], prev_hash=events[1]["hash"]) == []
    assert verify_chain(events[2:], prev_hash=H1) != []


def test_verify_chain_reports_a_float_smuggled_into_an_event() -> None:
    events = chain(1)
    events[0]["totals"]["due"] = 33.89
    assert "cannot be hashed" in verify_chain(events)[0]


@given(st.integers(0, 2), st.sampled_from(["boot", "seq", "receipt_no", "event_id"]))
def test_verify_chain_detects_any_changed_field(index: int, key: str) -> None:
    events = chain(3)
    value = events[index][key]
    events[index][key] = value + 1 if isinstance(value, int) else value + "x"
    assert verify_chain(events) != []


def test_event_topic_is_under_pos_v1() -> None:
    assert event_topic("s0142-k03", "sale.completed") == "pos/v1/s0142-k03/evt/sale.completed"


@pytest.mark.parametrize(("kiosk", "kind"), [("a/b", "x"), ("+", "x"), ("k", "#"), ("", "x")])
def test_event_topic_refuses_levels_that_break_the_tree(kiosk: str, kind: str) -> None:
    with pytest.raises(ValueError, match=r"must be|is not like"):
        event_topic(kiosk, kind)
