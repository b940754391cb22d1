"""central.validation: every refused payload gets a reason code and a detail naming the problem."""

from __future__ import annotations

import json
from typing import Any

import pytest

from central.event_schemas import SHIFT_CLOSED_SCHEMA
from central.events import (
    BAD_TOPIC,
    HASH_MISMATCH,
    INCONSISTENT,
    INVALID,
    MALFORMED,
    OVERSIZED,
    UNKNOWN_KIOSK,
    UNKNOWN_SCHEMA,
    Event,
    Rejection,
    SaleCompleted,
    ShiftClosed,
)
from central.validation import validate
from kiosk.protocol import canonical_json, seal
from tests.central.conftest import REGISTRY
from tests.central.factory import Item, KioskChain, payload_of, topic_of

LIMIT = 64 * 1024


def check(event: dict[str, Any], topic: str | None = None) -> Event | Rejection:
    return validate(topic or topic_of(event), payload_of(event), REGISTRY, LIMIT)


def rejected(result: Event | Rejection, code: str, *words: str) -> Rejection:
    assert isinstance(result, Rejection), result
    assert result.code == code, result.reason
    for word in words:
        assert word in result.detail, result.detail
    return result


def resealed(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``event`` with ``changes`` and a fresh (self-consistent) hash."""
    body = {k: v for k, v in event.items() if k != "hash"}
    body.update(changes)
    return seal(body)


def test_validate_accepts_a_sealed_sale_with_typed_lines(chain: KioskChain) -> None:
    event = chain.sale([Item("SKU0001", "2"), Item("BANANA", "0.512", "kg", 1580)])
    result = check(event)
    assert isinstance(result, Event)
    assert result.envelope.seq == 1 and result.envelope.kiosk_id == "s0001-k01"
    body = result.body
    assert isinstance(body, SaleCompleted)
    assert [str(line.qty) for line in body.lines] == ["2", "0.512"]
    assert body.tax_mode == "inclusive"
    assert body.totals.due == sum(t.amount for t in body.tenders)


def test_validate_accepts_a_shift_close(chain: KioskChain) -> None:
    chain.sales(2)
    result = check(chain.shift_closed())
    assert isinstance(result, Event) and isinstance(result.body, ShiftClosed)
    assert (result.body.first_seq, result.body.last_seq, result.body.sales.count) == (1, 2, 2)


def test_validate_refuses_an_oversized_payload(chain: KioskChain) -> None:
    event = chain.sale()
    result = validate(topic_of(event), payload_of(event) + b" " * LIMIT, REGISTRY, LIMIT)
    rejected(result, OVERSIZED, "over the limit of 65536")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{not json", ("not JSON",)),
        (b"\xff\xfe{}", ("not UTF-8",)),
        (b"[1, 2]", ("JSON list, not an object",)),
        (b'{"seq": NaN}', ("NaN is not valid JSON",)),
        (b"", ("not JSON",)),
    ],
)
def test_validate_refuses_malformed_payloads(payload: bytes, words: tuple[str, ...]) -> None:
    rejected(
        validate("pos/v1/s0001-k01/evt/sale.completed", payload, REGISTRY, LIMIT), MALFORMED, *words
    )


def test_validate_refuses_a_payload_on_a_non_event_topic(chain: KioskChain) -> None:
    result = check(chain.sale(), "pos/v1/s0001-k01/state")
    rejection = rejected(result, BAD_TOPIC, "not an event topic")
    assert rejection.kiosk_id == "s0001-k01" and rejection.seq == 1


def test_validate_refuses_an_unknown_schema(chain: KioskChain) -> None:
    event = resealed(chain.sale(), schema="pos.sale.voided/1")
    rejected(check(event), UNKNOWN_SCHEMA, "'pos.sale.voided/1' is not one of", SHIFT_CLOSED_SCHEMA)


def test_validate_refuses_a_schema_on_the_wrong_event_type(chain: KioskChain) -> None:
    event = chain.sale()
    rejected(check(event, "pos/v1/s0001-k01/evt/shift.closed"), UNKNOWN_SCHEMA, "shift.closed")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"seq": "1"}, ("seq must be an integer",)),
        ({"seq": 0}, ("seq 0 is outside",)),
        ({"event_id": ""}, ("event_id must be a non-empty string",)),
        ({"event_id": "a b"}, ("ULID or UUID",)),
        ({"business_day": "27/11/2026"}, ("business_day must be a date",)),
        ({"occurred_at": "2026-11-27T09:15:02"}, ("occurred_at must be an RFC 3339",)),
        ({"boot": True}, ("boot must be an integer",)),
    ],
)
def test_validate_refuses_bad_envelope_fields(
    chain: KioskChain, change: dict[str, Any], words: tuple[str, ...]
) -> None:
    # The envelope is checked before the hash, so the stale hash does not matter here.
    rejected(check({**chain.sale(), **change}), INVALID, *words)


def test_validate_refuses_a_missing_field(chain: KioskChain) -> None:
    event = chain.sale()
    del event["store_id"]
    rejected(check(resealed(event)), INVALID, "store_id is missing")


def test_validate_refuses_money_that_is_not_integer_minor_units(chain: KioskChain) -> None:
    event = chain.sale()
    totals = {**event["totals"], "due": str(event["totals"]["due"])}
    rejected(
        check(resealed(event, totals=totals)),
        INVALID,
        "totals.due must be an integer of minor units",
    )


def test_validate_refuses_a_float_amount_as_unhashable(chain: KioskChain) -> None:
    event = chain.sale()
    event["totals"]["due"] = 22.8
    payload = json.dumps(event).encode()
    rejected(validate(topic_of(event), payload, REGISTRY, LIMIT), HASH_MISMATCH, "float 22.8")


def test_validate_refuses_a_quantity_given_as_a_number(chain: KioskChain) -> None:
    event = chain.sale()
    lines = [{**event["lines"][0], "qty": 2}, *event["lines"][1:]]
    rejected(check(resealed(event, lines=lines)), INVALID, "lines[0].qty must be a decimal string")


def test_validate_refuses_an_unknown_currency(chain: KioskChain) -> None:
    rejected(check(resealed(chain.sale(), currency="XXX")), INVALID, "currency 'XXX'")


def test_validate_refuses_a_kiosk_of_an_unknown_store() -> None:
    event = KioskChain("s0999-k01", "s0999").sale()
    rejected(check(event), UNKNOWN_KIOSK, "s0999-k01", "not in kiosks.stores")


def test_validate_accepts_a_kiosk_listed_by_name() -> None:
    assert isinstance(check(KioskChain("s0002-k01", "s0002").sale()), Event)


def test_validate_refuses_a_listed_kiosk_claiming_another_store() -> None:
    event = KioskChain("s0002-k01", "s0001").sale()
    rejected(check(event), UNKNOWN_KIOSK, "registered to store s0002")


def test_validate_refuses_an_event_on_another_kiosks_topic(chain: KioskChain) -> None:
    rejected(check(chain.sale(), "pos/v1/s0001-k02/evt/sale.completed"), UNKNOWN_KIOSK, "s0001-k02")


def test_validate_refuses_a_changed_event(chain: KioskChain) -> None:
    event = chain.sale()
    event["totals"]["due"] += 100
    rejected(check(event), HASH_MISMATCH, "hash does not match")


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("tenders.0.amount", 1, ("totals.due is",)),
        ("totals.gross", 1, ("totals.gross is",)),
        ("receipt_no", "x-1", ("receipt_no",)),
        ("lines", [], ("at least one line",)),
    ],
)
def test_validate_refuses_an_inconsistent_sale(
    chain: KioskChain, path: str, value: Any, words: tuple[str, ...]
) -> None:
    event = json.loads(canonical_json(chain.sale()))
    target = event
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    rejected(check(resealed(event)), INCONSISTENT, *words)


def test_validate_refuses_a_cash_tender_whose_change_does_not_add_up(chain: KioskChain) -> None:
    event = chain.sale(cash=True)
    tender = {**event["tenders"][0], "change": event["tenders"][0]["change"] + 1}
    rejected(check(resealed(event, tenders=[tender])), INCONSISTENT, "tendered")


def test_validate_refuses_a_shift_close_ending_after_itself(chain: KioskChain) -> None:
    chain.sales(2)
    event = chain.shift_closed()
    rejected(check(resealed(event, last_seq=event["seq"])), INCONSISTENT, "last_seq")


def test_validate_refuses_a_shift_close_whose_tenders_miss_the_total(chain: KioskChain) -> None:
    chain.sales(2)
    event = chain.shift_closed()
    tenders = [{**event["tenders"][0], "amount": 1}]
    rejected(check(resealed(event, tenders=tenders)), INCONSISTENT, "sales.due")
