"""Returns through the lane on a real kiosk.db: full and partial, refused repeats, card refunds
at the simulated terminal, cash from the drawer, receipts of other kiosks, restarts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import CashConfig
from kiosk.errors import LaneError
from kiosk.payments import PaymentIntent
from kiosk.protocol.refund_event import SALE_REFUNDED_SCHEMA
from kiosk.protocol.sale_event import verify_chain
from kiosk.refunds import CompletedRefund, RefundTender
from kiosk.returns import OriginalSale, plan_refund
from kiosk.store import check_db, open_db
from tests.integration.lane_kit import (
    BANANA_PLU,
    CHIPS,
    MILK,
    WALLET_CODE,
    WATER,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)


def sell_by_card(kit: LaneKit, *codes: str) -> dict[str, Any]:
    for code in codes:
        kit.cmd("scan", code=code)
    done = only(kit.cmd("pay", method="card"), "sale_completed")
    kit.cmd("new_sale")
    return done


def sell_by_cash(kit: LaneKit, tendered: int, *codes: str) -> dict[str, Any]:
    for code in codes:
        kit.cmd("scan", code=code)
    kit.login()
    kit.cmd("pay", method="cash")
    done = only(kit.cmd("cash", tendered=tendered), "sale_completed")
    kit.logout()
    kit.cmd("new_sale")
    return done


def refunds(kit: LaneKit) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in kit.rows("SELECT body FROM refunds ORDER BY seq")]


def outbox_events(kit: LaneKit) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in kit.rows("SELECT payload FROM outbox ORDER BY seq")]


def chain_is_valid(kit: LaneKit) -> None:
    db = open_db(str(kit.db_path))
    try:
        report = check_db(db)
    finally:
        db.conn.close()
    assert report.ok, report.summary()
    assert verify_chain(outbox_events(kit)) == []


@pytest.fixture
def kit(tmp_path: Path) -> LaneKit:
    return make_kiosk(tmp_path)


def test_a_full_return_by_receipt_scan_refunds_the_card_by_reference(kit: LaneKit) -> None:
    sale = sell_by_card(kit, WATER, WATER, CHIPS[0])
    kit.login()
    started = only(kit.cmd("scan", code=f"R{sale['receipt_no']}"), "return_started")
    assert [(x["line"], x["qty"], x["left"], x["paid"]) for x in started["lines"]] == [
        (1, "2", "2", 400),
        (2, "1", "1", 650),
    ]
    assert kit.view()["return"]["receipt_no"] == sale["receipt_no"]
    kit.cmd("return_line", line=1)
    assert only(kit.cmd("return_line", line=2), "return_line_set")["due"] == 1050
    events = kit.cmd("return_confirm")
    assert names(events) == [
        "refund_processing",
        "refund_approved",
        "refund_completed",
        "receipt_printed",
    ]
    done = only(events, "refund_completed")
    assert (done["due"], done["cash"], done["receipt_no"]) == (1050, 0, sale["receipt_no"])
    (asked,) = kit.kiosk.terminal.refunds
    assert (asked.amount, asked.outcome, asked.approved_amount) == (1050, "approved", 1050)
    (event,) = refunds(kit)
    original_ref = kit.sale_events()[0]["tenders"][0]["ref"]
    assert event["schema"] == SALE_REFUNDED_SCHEMA
    assert event["totals"]["due"] == sale["due"] == 1050
    assert event["tenders"][0]["original_ref"] == original_ref
    assert event["tenders"][0]["ref"] != original_ref
    assert (event["seq"], event["refund_no"]) == (2, f"{kit.config.kiosk.id}-2")
    assert outbox_events(kit)[-1] == event
    topic = kit.rows("SELECT topic FROM outbox WHERE seq = 2")[0][0]
    assert topic == f"pos/v1/{kit.config.kiosk.id}/evt/sale.refunded"
    assert done["refund_no"] in kit.printed
    assert kit.view()["return"] is None
    assert "REFUND" in kit.view()["last_receipt"]["text"]
    chain_is_valid(kit)


def test_partial_returns_add_up_and_a_second_refund_of_the_same_units_is_refused(
    kit: LaneKit,
) -> None:
    sale = sell_by_card(kit, WATER, WATER, WATER)
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=1, qty="2")
    first = only(kit.cmd("return_confirm"), "refund_completed")
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    refused = error_of(kit.cmd("return_line", line=1, qty="2"))
    assert refused["code"] == "wrong_state" and "more than is left" in refused["message"]
    kit.cmd("return_line", line=1, qty="1")
    second = only(kit.cmd("return_confirm"), "refund_completed")
    assert first["due"] + second["due"] == sale["due"] == 600
    again = error_of(kit.cmd("return_start", receipt_no=sale["receipt_no"]))
    assert again["code"] == "wrong_state" and "refunded in full" in again["message"]
    assert [r[0] for r in kit.rows("SELECT sum(qty_milli) FROM refund_lines")] == [3000]
    chain_is_valid(kit)


def test_a_cash_refund_comes_from_the_drawer_rounded_like_the_sale(kit: LaneKit) -> None:
    # 2.00 + 12.90 + 6.50 = 21.40: rounded to 0.10 it stays 21.40; the milk alone is 12.90
    sale = sell_by_cash(kit, 5000, WATER, MILK, CHIPS[0])
    pulses = len(kit.kiosk.drawer.pulses)
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=2)
    events = kit.cmd("return_confirm")
    assert names(events) == ["refund_completed", "receipt_printed", "drawer_opened"]
    assert only(events, "refund_completed")["cash"] == 1290
    assert len(kit.kiosk.drawer.pulses) == pulses + 1
    assert kit.kiosk.terminal.refunds == []
    (event,) = refunds(kit)
    assert event["tenders"] == [{"type": "cash", "amount": 1290}]


def test_a_wallet_payment_is_refunded_in_cash(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    receipt = only(kit.cmd("pay", method="wallet", code=WALLET_CODE), "sale_completed")[
        "receipt_no"
    ]
    kit.cmd("new_sale")
    kit.login()
    kit.cmd("return_start", receipt_no=receipt)
    kit.cmd("return_line", line=1)
    events = kit.cmd("return_confirm")
    assert only(events, "refund_completed")["cash"] == 200
    assert "drawer_opened" in names(events)


def test_a_receipt_of_another_kiosk_needs_a_central_lookup_and_refunds_nothing(
    kit: LaneKit,
) -> None:
    kit.login()
    other = only(kit.cmd("scan", code="Rs0001-k02-17"), "return_lookup_needed")
    assert (other["kiosk"], other["reason"]) == ("s0001-k02", "other_kiosk")
    assert "central lookup" in other["message"]
    store = only(kit.cmd("return_start", receipt_no="s0099-k01-5"), "return_lookup_needed")
    assert store["reason"] == "other_store"
    assert kit.count("refunds") == 0 and kit.view()["return"] is None
    assert [a["receipt_no"] for a in kit.audit("return_lookup_needed")] == [
        "s0001-k02-17",
        "s0099-k01-5",
    ]


def test_a_return_needs_an_attendant(kit: LaneKit) -> None:
    sale = sell_by_card(kit, WATER)
    rejected = only(kit.cmd("scan", code=f"R{sale['receipt_no']}"), "scan_rejected")
    assert rejected["reason"] == "receipt_scanned" and "attendant" in rejected["message"]
    assert kit.view()["return"] is None
    for cmd, args in (
        ("return_start", {"receipt_no": sale["receipt_no"]}),
        ("return_line", {"line": 1}),
        ("return_confirm", {}),
        ("return_cancel", {}),
    ):
        assert error_of(kit.cmd(cmd, **args))["code"] == "not_allowed"


@pytest.mark.parametrize(
    ("receipt", "code", "match"),
    [
        ("   ", "invalid_command", "must not be blank"),
        ("s0001-k01-99", "not_found", "no sale with receipt s0001-k01-99"),
        ("nonsense", "not_found", "not a receipt number"),
    ],
)
def test_return_start_names_a_receipt_it_cannot_use(
    kit: LaneKit, receipt: str, code: str, match: str
) -> None:
    kit.login()
    refused = error_of(kit.cmd("return_start", receipt_no=receipt))
    assert refused["code"] == code and match in refused["message"]


def test_bad_return_commands_are_refused_and_change_nothing(kit: LaneKit) -> None:
    sale = sell_by_card(kit, WATER, CHIPS[0])
    kit.login()
    assert error_of(kit.cmd("return_line", line=1))["code"] == "wrong_state"  # no return open
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    cases = [
        ({"cmd": "return_line", "line": 9}, "not_found", "no line 9"),
        ({"cmd": "return_line", "line": 1, "qty": "1.5"}, "invalid_command", "whole units"),
        ({"cmd": "return_line", "line": 1, "qty": "3"}, "wrong_state", "more than is left"),
        ({"cmd": "return_line", "line": 1, "qty": 1.0}, "invalid_command", "not a float"),
        ({"cmd": "return_confirm"}, "invalid_command", "pick at least one line"),
        ({"cmd": "return_confirm", "method": "gold"}, "invalid_command", "only be 'cash'"),
        ({"cmd": "return_start", "receipt_no": "s0001-k01-1x"}, "wrong_state", "still open"),
    ]
    for message, code, match in cases:
        refused = error_of(kit.kiosk.lane.handle(message))
        assert refused["code"] == code and match in refused["message"], message
    # a refund slip's number is not a sale
    kit.cmd("return_line", line=1)
    slip = only(kit.cmd("return_confirm"), "refund_completed")["refund_no"]
    refused = error_of(kit.cmd("return_start", receipt_no=slip))
    assert refused["code"] == "not_found" and "refund slip" in refused["message"]
    assert kit.count("refunds") == 1


def test_no_return_while_a_sale_is_in_progress(kit: LaneKit) -> None:
    sale = sell_by_card(kit, WATER)
    kit.cmd("scan", code=CHIPS[0])
    kit.login()
    refused = error_of(kit.cmd("return_start", receipt_no=sale["receipt_no"]))
    assert refused["code"] == "wrong_state" and "sale is in progress" in refused["message"]


def test_cancel_drops_the_return_and_is_audited(kit: LaneKit) -> None:
    sale = sell_by_card(kit, WATER)
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=1)
    cancelled = only(kit.cmd("return_cancel"), "return_cancelled")
    assert (cancelled["receipt_no"], cancelled["staff"]) == (sale["receipt_no"], "E01")
    assert kit.view()["return"] is None and kit.count("refunds") == 0
    assert kit.audit("return_cancelled")[0]["receipt_no"] == sale["receipt_no"]


def test_a_return_survives_a_restart_and_is_resumed(kit: LaneKit) -> None:
    sale = sell_by_card(kit, WATER, CHIPS[0])
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=2)
    before = kit.view()["return"]
    kit.restart()
    assert kit.view()["return"] == before
    assert before["lines"][1]["pick"] == "1" and before["due"] == 650
    kit.login()
    resumed = only(kit.cmd("return_start", receipt_no=sale["receipt_no"]), "return_started")
    assert resumed["resumed"] is True and resumed["refund_id"] == before["refund_id"]
    assert only(kit.cmd("return_confirm"), "refund_completed")["due"] == 650
    chain_is_valid(kit)


def test_a_refund_whose_terminal_answer_was_lost_is_asked_again_and_paid_once(
    kit: LaneKit,
) -> None:
    sale = sell_by_card(kit, MILK)
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=1)
    # the terminal refunds, but answers after the kiosk stopped waiting
    kit.kiosk.terminal.queue_outcome("approved", delay_s=120)
    events = kit.cmd("return_confirm")
    assert names(events) == ["refund_processing", "refund_unknown"]
    refused = error_of(kit.cmd("return_cancel"))
    assert refused["code"] == "wrong_state" and "may have been" in refused["message"]
    assert error_of(kit.cmd("return_confirm", method="cash"))["code"] == "blocked"
    events = kit.cmd("return_confirm")
    assert names(events)[:3] == ["refund_processing", "refund_approved", "refund_completed"]
    first, second = kit.kiosk.terminal.refunds
    assert first.intent_id == second.intent_id and second.repeat
    assert [r[0] for r in kit.rows("SELECT status FROM refund_intents")] == ["approved"]
    assert kit.count("refunds") == 1


def test_a_kiosk_that_dies_while_the_terminal_refunds_asks_again_after_restart(
    kit: LaneKit,
) -> None:
    sale = sell_by_card(kit, WATER)
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=1)

    class Crash(Exception):
        pass

    def crash(_seconds: float) -> None:
        raise Crash

    kit.on_payment_wait = crash
    kit.kiosk.terminal.queue_outcome("approved", delay_s=1)
    with pytest.raises(Crash):
        kit.cmd("return_confirm")
    kit.on_payment_wait = None
    assert [r[0] for r in kit.rows("SELECT status FROM refund_intents")] == ["pending"]
    kit.restart()
    assert kit.view()["return"]["status"] == "refunding"
    kit.login()
    events = kit.cmd("return_confirm")
    assert names(events)[:3] == ["refund_processing", "refund_approved", "refund_completed"]
    (asked,) = kit.kiosk.terminal.refunds  # the new terminal object: the same intent id
    assert asked.intent_id == kit.rows("SELECT intent_id FROM refund_intents")[0][0]
    assert kit.count("refunds") == 1 and kit.count("refund_intents") == 1
    chain_is_valid(kit)


def test_a_declined_card_refund_can_be_paid_in_cash_instead(kit: LaneKit) -> None:
    sale = sell_by_card(kit, CHIPS[0])
    kit.login()
    kit.cmd("return_start", receipt_no=sale["receipt_no"])
    kit.cmd("return_line", line=1)
    kit.kiosk.terminal.queue_outcome("declined", message="card closed")
    events = kit.cmd("return_confirm")
    assert names(events) == ["refund_processing", "refund_declined"]
    assert only(events, "refund_declined")["message"] == "card closed"
    events = kit.cmd("return_confirm", method="cash")
    assert only(events, "refund_completed")["cash"] == 650
    assert "drawer_opened" in names(events)
    (event,) = refunds(kit)
    assert event["tenders"] == [{"type": "cash", "amount": 650}]


def test_a_weighed_item_is_returned_whole(kit: LaneKit) -> None:
    kit.cmd("add", plu=BANANA_PLU, weight_kg="0.735")
    kit.cmd("pay", method="card")
    receipt = kit.sale_events()[-1]["receipt_no"]
    kit.cmd("new_sale")
    kit.login()
    kit.cmd("return_start", receipt_no=receipt)
    refused = error_of(kit.cmd("return_line", line=1, qty="0.5"))
    assert refused["code"] == "invalid_command" and "whole line" in refused["message"]
    kit.cmd("return_line", line=1, qty="0.735")
    assert only(kit.cmd("return_confirm"), "refund_completed")["due"] == 513
    (event,) = refunds(kit)
    assert event["lines"][0]["qty"] == "0.735"


def test_the_store_refuses_units_already_refunded_and_records_a_refund_once(
    kit: LaneKit,
) -> None:
    sale = sell_by_card(kit, WATER, WATER)
    store = kit.kiosk.store.refunds
    found = store.original(sale["receipt_no"])
    assert found is not None
    original = OriginalSale.from_event(found.event)

    def refund(refund_id: str) -> CompletedRefund:
        plan = plan_refund(original, store.refunded(original.seq), {1: 2000}, CashConfig())
        return CompletedRefund(
            refund_id=refund_id,
            event_id=f"event-{refund_id}",
            kiosk_id=kit.config.kiosk.id,
            store_id=kit.config.store.id,
            boot=1,
            occurred_at="2026-03-02T03:00:00.000Z",
            business_day="2026-03-02",
            staff="E01",
            original=original,
            plan=plan,
            tenders=(RefundTender("cash", plan.due, f"cash-{refund_id}", "card"),),
        )

    first = refund("r-1")
    record = store.record_refund(first)
    assert store.record_refund(first) == record  # the same refund again: nothing new
    with pytest.raises(LaneError) as caught:
        store.record_refund(replace(first, refund_id="r-2", event_id="e-2"))
    assert caught.value.code == "wrong_state" and "0 left to refund" in str(caught.value)
    assert kit.count("refunds") == 1 and kit.count("journal") == 2
    chain_is_valid(kit)


def test_the_simulated_terminal_refunds_a_payment_at_most_once_in_full(kit: LaneKit) -> None:
    sell_by_card(kit, WATER)
    terminal = kit.kiosk.terminal
    ref = kit.sale_events()[0]["tenders"][0]["ref"]

    def intent(intent_id: str, amount: int) -> PaymentIntent:
        return PaymentIntent(intent_id, "r-1", "card", amount, "CNY")

    assert terminal.refund(intent("i-1", 150), ref, 150, 5).outcome == "approved"
    again = terminal.refund(intent("i-1", 150), ref, 150, 5)
    assert again.outcome == "approved" and terminal.refunds[-1].repeat
    over = terminal.refund(intent("i-2", 100), ref, 100, 5)
    assert (over.outcome, over.message) == ("declined", f"refund exceeds what payment {ref} took")
    assert terminal.refund(intent("i-3", 50), ref, 50, 5).outcome == "approved"
    with pytest.raises(ValueError, match="differs from intent"):
        terminal.refund(intent("i-4", 50), ref, 40, 5)
    with pytest.raises(ValueError, match="reference of the original payment"):
        terminal.refund(intent("i-5", 50), " ", 50, 5)
    assert len(terminal.charges) == 1  # refunds are kept apart from charges
