"""Payments on a real kiosk.db: card (approve, decline, timeout, disconnect), unknown outcomes
resolved by an attendant, wallet payment codes, cash with change and rounding, split tender,
drawer and printer faults.

Each sale is checked where it counts: the sale, its lines and tenders, the journal and outbox
rows and the payment intents in kiosk.db, and ``kiosk db check`` passing on the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.store import check_db, open_db
from tests.integration.lane_kit import (
    BANANA_WEIGHT_LABEL,
    MILK,
    WALLET_CODE,
    WATER,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)


def db_checks_out(kit: LaneKit) -> bool:
    db = open_db(kit.db_path, read_only=True)
    try:
        report = check_db(db)
    finally:
        db.conn.close()
    assert report.problems == []
    return report.ok


def one_sale(kit: LaneKit) -> dict[str, int]:
    """The one recorded sale's figures."""
    rows = kit.rows("SELECT seq, due, paid, change, rounding FROM sales")
    assert len(rows) == 1, rows
    seq, due, paid, change, rounding = rows[0]
    return {"seq": seq, "due": due, "paid": paid, "change": change, "rounding": rounding}


def tenders(kit: LaneKit) -> list[tuple[object, ...]]:
    return kit.rows("SELECT type, amount, tendered, change, ref FROM sale_tenders ORDER BY idx")


# ------------------------------------------------------------------------------ card
def test_an_approved_card_payment_completes_and_commits_the_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("start", language="en")
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    sale_id = kit.view()["sale_id"]
    events = kit.cmd("pay", method="card")
    assert names(events) == [
        "payment_started",
        "payment_processing",
        "payment_approved",
        "sale_completed",
        "receipt_printed",
    ]
    completed = only(events, "sale_completed")
    assert (completed["sale_id"], completed["seq"], completed["due"], completed["paid"]) == (
        sale_id,
        1,
        1490,
        1490,
    )
    assert completed["receipt_no"] == "s0001-k01-1"
    assert kit.committed() == {
        "sales": 1,
        "sale_lines": 2,
        "sale_tenders": 1,
        "journal": 1,
        "outbox": 1,
        "payment_intents": 1,
    }
    assert one_sale(kit) == {"seq": 1, "due": 1490, "paid": 1490, "change": 0, "rounding": 0}
    assert tenders(kit) == [("card", 1490, 1490, 0, "T-000001")]
    assert [i["status"] for i in kit.intents()] == ["approved"]
    assert kit.rows("SELECT last4 FROM sale_tenders") == [("4242",)]
    view = kit.view()
    assert (view["mode"], view["lines"], view["sale_id"]) == ("complete", [], None)
    assert view["last_receipt"]["receipt_no"] == "s0001-k01-1"
    shown = view["last_receipt"]
    assert (shown["currency"], shown["due"], shown["paid"], shown["change"]) == (
        "CNY",
        1490,
        1490,
        0,
    )
    assert view["totals"]["paid"] == 0  # the view's totals moved on; the receipt kept them
    assert "Card ****4242" in view["last_receipt"]["text"]
    assert [job.job_id for job in kit.kiosk.printer.jobs] == ["s0001-k01-1"]
    assert kit.snapshot()["mode"] == "complete"
    assert db_checks_out(kit)


def test_a_declined_card_can_be_paid_again(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.terminal.queue_outcome("declined", message="insufficient funds")
    events = kit.cmd("pay", method="card")
    assert names(events) == ["payment_started", "payment_processing", "payment_declined"]
    assert only(events, "payment_declined")["message"] == "insufficient funds"
    assert kit.view()["mode"] == "paying"
    assert kit.committed()["sales"] == 0
    assert [i["status"] for i in kit.intents()] == ["declined"]
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert [i["status"] for i in kit.intents()] == ["declined", "approved"]
    assert one_sale(kit)["paid"] == 200


def test_a_declined_payment_can_be_cancelled_and_the_basket_changed(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.terminal.queue_outcome("declined")
    kit.cmd("pay", method="card")
    assert error_of(kit.cmd("scan", code=MILK))["message"] == (
        "payment has started; cancel the payment to change the basket"
    )
    assert names(kit.cmd("cancel_payment")) == ["payment_cancelled"]
    assert names(kit.cmd("scan", code=MILK)) == ["item_added"]
    assert kit.view()["mode"] == "scanning"


def test_a_card_timeout_is_an_unknown_payment_an_attendant_confirms_with_the_ref(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    started = kit.clock.monotonic()
    kit.kiosk.terminal.queue_outcome("timeout")
    events = kit.cmd("pay", method="card")
    assert kit.clock.monotonic() - started == 60.0  # the terminal was given its full timeout
    assert names(events) == [
        "payment_started",
        "payment_processing",
        "payment_unknown",
        "intervention_opened",
    ]
    assert only(events, "payment_unknown")["outcome"] == "timeout"
    opened = only(events, "intervention_opened")
    intent = only(events, "payment_processing")["intent"]
    assert opened["reason"] == "payment_unknown"
    assert opened["detail"] == {
        "intent": intent,
        "method": "card",
        "amount": 200,
        "sale_id": kit.view()["sale_id"],
    }
    assert [(i["intent_id"], i["status"]) for i in kit.intents()] == [(intent, "unknown")]
    assert error_of(kit.cmd("pay", method="card"))["code"] == "blocked"
    assert error_of(kit.cmd("cancel_payment"))["code"] == "blocked"
    kit.login("ST0002")
    assert error_of(kit.cmd("cancel_sale"))["code"] == "wrong_state"
    no_ref = error_of(kit.cmd("clear", intervention="payment_unknown", resolution="approve"))
    assert no_ref["message"] == "approving an unknown payment needs the terminal's 'ref'"
    events = kit.cmd(
        "clear", intervention="payment_unknown", resolution="approve", ref="T-424242", auth="777"
    )
    assert names(events) == ["intervention_cleared", "sale_completed", "receipt_printed"]
    assert tenders(kit) == [("card", 200, 200, 0, "T-424242")]
    assert [(i["status"], i["ref"]) for i in kit.intents()] == [("approved", "T-424242")]
    assert len(kit.kiosk.terminal.charges) == 1  # asked once, never charged again
    assert db_checks_out(kit)


def test_a_disconnected_terminal_payment_rejected_lets_the_customer_pay_again(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.terminal.disconnect()
    events = kit.cmd("pay", method="card")
    assert only(events, "payment_unknown")["outcome"] == "disconnected"
    kit.login()
    events = kit.cmd("clear", intervention="payment_unknown", resolution="reject")
    assert only(events, "intervention_cleared")["resolution"] == "reject"
    assert [i["status"] for i in kit.intents()] == ["declined"]
    assert kit.view()["totals"]["paid"] == 0
    kit.logout()
    kit.kiosk.terminal.reconnect()
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert [i["status"] for i in kit.intents()] == ["declined", "approved"]
    actions = kit.sale_events()[0]["attendant_actions"]
    assert [(a["kind"], a["staff"]) for a in actions] == [("payment_rejected", "E01")]


def test_a_late_approval_is_resolved_from_the_terminal_journal(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.terminal.queue_outcome("approved", delay_s=90)  # after the 60 s timeout
    events = kit.cmd("pay", method="card")
    assert only(events, "payment_unknown")["outcome"] == "timeout"
    # The terminal did take the money: its own record says so.
    charge = kit.kiosk.terminal.charges[0]
    assert (charge.outcome, charge.approved_amount) == ("timeout", 0)
    kit.login()
    kit.cmd("clear", intervention="payment_unknown", resolution="approve", ref="T-000001")
    assert one_sale(kit)["paid"] == 200
    assert tenders(kit) == [("card", 200, 200, 0, "T-000001")]


def test_bad_pay_commands_are_refused_and_move_no_money(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, payments={"methods": ("card", "cash")})
    assert error_of(kit.cmd("pay", method="card"))["message"] == "there is no sale to pay"
    kit.cmd("start")
    assert error_of(kit.cmd("pay", method="card"))["message"] == "the basket is empty"
    kit.cmd("scan", code=WATER)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"method": "wallet"}, "payment method 'wallet' is not enabled here (card, cash)"),
        ({"method": "bitcoin"}, "payment method 'bitcoin' is not enabled here (card, cash)"),
        ({"method": "card", "amount": 0}, "pay.amount 0 must be from 1 to the 200 still to pay"),
        ({"method": "card", "amount": 201}, "pay.amount 201 must be from 1 to the 200"),
        ({"method": "card", "code": WALLET_CODE}, "pay.code is only for method 'wallet'"),
        ({"method": "cash", "amount": 100}, "pay.amount is not used for cash"),
        ({"method": "card", "amount": "100"}, "pay.amount must be a whole number, got '100'"),
    ]
    for args, message in cases:
        error = error_of(kit.cmd("pay", **args))
        assert error["code"] == "invalid_command", args
        assert error["message"].startswith(message), (args, error["message"])
    assert kit.view()["mode"] == "scanning"
    assert kit.kiosk.terminal.charges == []
    assert kit.intents() == []


# ------------------------------------------------------------------------------ wallet
def test_a_wallet_code_scanned_pays_the_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    events = kit.cmd("scan", code=WALLET_CODE)
    assert names(events) == [
        "payment_started",
        "payment_processing",
        "payment_approved",
        "sale_completed",
        "receipt_printed",
    ]
    assert only(events, "payment_processing")["method"] == "wallet"
    assert tenders(kit) == [("wallet", 200, 200, 0, "W-000001")]
    assert kit.rows("SELECT detail FROM payment_intents") == [("****6789",)]
    assert WALLET_CODE.encode() not in kit.db_path.read_bytes()  # only the masked code is kept


def test_pay_by_wallet_waits_for_the_code_and_charges_the_amount_asked(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=MILK)
    events = kit.cmd("pay", method="wallet", amount=500)
    assert names(events) == ["payment_started", "wallet_code_needed"]
    assert only(events, "wallet_code_needed")["amount"] == 500
    assert kit.view()["awaiting_wallet"] is True
    approved = only(kit.cmd("scan", code=WALLET_CODE), "payment_approved")
    assert (approved["amount"], approved["remaining"]) == (500, 790)
    assert kit.view()["awaiting_wallet"] is False
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert tenders(kit) == [("wallet", 500, 500, 0, "W-000001"), ("card", 790, 790, 0, "T-000001")]


def test_a_wallet_code_with_nothing_to_pay_is_rejected(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("scan", code=WALLET_CODE)
    assert names(events) == ["scan_rejected"]
    assert events[0]["reason"] == "nothing_to_pay"
    assert kit.kiosk.wallet.charges == []


def test_a_malformed_wallet_code_is_declined_by_the_gateway(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    events = kit.cmd("pay", method="wallet", code="12345")
    assert only(events, "payment_declined")["message"] == "invalid payment code"
    assert kit.committed()["sales"] == 0


# ------------------------------------------------------------------------------ cash
def test_cash_with_change_and_rounding_pulses_the_drawer(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 10})
    kit.cmd("start", language="en")
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=BANANA_WEIGHT_LABEL)  # 2.00 + 8.73 = 10.73
    events = kit.cmd("pay", method="cash")
    assert names(events) == ["payment_started", "intervention_opened"]
    assert only(events, "intervention_opened")["reason"] == "cash_payment"
    assert kit.kiosk.light.state == "intervention"
    kit.login()
    events = kit.cmd("cash", tendered=2000)
    assert names(events) == [
        "intervention_cleared",
        "cash_taken",
        "sale_completed",
        "receipt_printed",
        "drawer_opened",
    ]
    assert only(events, "cash_taken") == {
        "event": "cash_taken",
        "tendered": 2000,
        "amount": 1070,
        "change": 930,
        "rounding": -3,
        "remaining": 0,
    }
    assert (only(events, "sale_completed")["due"], only(events, "sale_completed")["change"]) == (
        1070,
        930,
    )
    assert one_sale(kit) == {"seq": 1, "due": 1070, "paid": 1070, "change": 930, "rounding": -3}
    assert tenders(kit) == [("cash", 1070, 2000, 930, None)]
    assert len(kit.kiosk.drawer.pulses) == 1
    assert "Rounding" in kit.view()["last_receipt"]["text"]
    assert db_checks_out(kit)


def test_cash_without_rounding_takes_the_exact_amount(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 1})
    kit.cmd("scan", code=BANANA_WEIGHT_LABEL)
    kit.login()
    taken = only(kit.cmd("cash", tendered=1000), "cash_taken")
    assert (taken["amount"], taken["change"], taken["rounding"]) == (873, 127, 0)


def test_cash_between_exact_and_rounded_amount_is_never_overpaid(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 10})
    kit.cmd("scan", code="6908876500195")  # toast 7.99: cash-rounded, 8.00 would be due
    kit.cmd("scan", code="6908876500195")  # 15.98, rounds up to 16.00
    kit.login()
    events = kit.cmd("cash", tendered=1599)
    taken = only(events, "cash_taken")
    assert (taken["amount"], taken["change"], taken["rounding"]) == (1598, 1, 0)
    assert one_sale(kit) == {"seq": 1, "due": 1598, "paid": 1598, "change": 1, "rounding": 0}


def test_cash_refuses_a_tendered_amount_out_of_range(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    for tendered in (0, -5, 1_000_001):
        error = error_of(kit.cmd("cash", tendered=tendered))
        assert error["message"] == f"cash.tendered {tendered} must be from 1 to 1000000"
    assert kit.kiosk.drawer.pulses == []
    assert kit.intents() == []


def test_a_cash_payment_cleared_by_the_attendant_goes_back_to_scanning(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("pay", method="cash")
    kit.login()
    events = kit.cmd("clear", intervention="cash_payment", resolution="reject")
    assert names(events) == ["intervention_cleared", "payment_cancelled"]
    assert kit.view()["mode"] == "scanning"


def test_a_drawer_fault_after_cash_keeps_the_sale_and_calls_an_attendant(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    kit.kiosk.drawer.fail_next("solenoid fuse blown")
    events = kit.cmd("cash", tendered=500)
    # The sale is recorded and printed first; the drawer fault comes after and undoes nothing.
    assert names(events) == [
        "payment_started",
        "cash_taken",
        "sale_completed",
        "receipt_printed",
        "device_fault",
        "intervention_opened",
    ]
    assert only(events, "intervention_opened")["detail"] == {"message": "solenoid fuse blown"}
    assert one_sale(kit)["change"] == 300
    assert [i["reason"] for i in kit.view()["interventions"]] == ["drawer_fault"]
    assert kit.kiosk.light.state == "attention"
    kit.cmd("clear", intervention="drawer_fault", resolution="approve")
    assert kit.view()["interventions"] == []


def test_a_jammed_drawer_that_stays_closed_is_a_drawer_fault(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    kit.kiosk.drawer.jam()
    events = kit.cmd("cash", tendered=200)
    assert only(events, "device_fault")["message"] == (
        "the drawer did not open (its switch still reports closed)"
    )
    assert "sale_completed" in names(events)
    assert [i["reason"] for i in kit.view()["interventions"]] == ["drawer_fault"]


# ------------------------------------------------------------------------------ split tender
def test_split_tender_card_part_then_cash_for_the_rest(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 10})
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=BANANA_WEIGHT_LABEL)  # 12.90 + 8.73 = 21.63
    approved = only(kit.cmd("pay", method="card", amount=1000), "payment_approved")
    assert (approved["amount"], approved["remaining"]) == (1000, 1163)
    assert kit.view()["mode"] == "paying"
    assert error_of(kit.cmd("cancel_payment"))["code"] == "wrong_state"
    kit.login()
    taken = only(kit.cmd("cash", tendered=1200), "cash_taken")
    assert (taken["amount"], taken["change"], taken["rounding"]) == (1160, 40, -3)
    assert tenders(kit) == [("card", 1000, 1000, 0, "T-000001"), ("cash", 1160, 1200, 40, None)]
    assert one_sale(kit) == {"seq": 1, "due": 2160, "paid": 2160, "change": 40, "rounding": -3}
    assert db_checks_out(kit)


def test_a_partial_card_approval_leaves_the_rest_to_pay(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=MILK)
    kit.kiosk.terminal.queue_outcome("approved", amount=290)
    approved = only(kit.cmd("pay", method="card"), "payment_approved")
    assert (approved["amount"], approved["remaining"]) == (290, 1000)
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert [t[1] for t in tenders(kit)] == [290, 1000]


# ------------------------------------------------------------------------------ printer
def test_a_printer_out_of_paper_never_undoes_the_paid_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.printer.run_out_of_paper()
    events = kit.cmd("pay", method="card")
    assert names(events)[-3:] == ["sale_completed", "receipt_not_printed", "intervention_opened"]
    assert only(events, "receipt_not_printed")["receipt_no"] == "s0001-k01-1"
    assert only(events, "receipt_not_printed")["message"].startswith("paper_out:")
    opened = only(events, "intervention_opened")
    assert (opened["reason"], opened["detail"]["receipt_no"]) == ("printer_fault", "s0001-k01-1")
    assert one_sale(kit)["paid"] == 200
    view = kit.view()
    assert view["mode"] == "complete"
    assert view["last_receipt"]["receipt_no"] == "s0001-k01-1"  # on screen instead
    assert kit.kiosk.printer.jobs == []
    assert kit.kiosk.light.state == "attention"
    # The printer fault blocks nothing: the next customer buys.
    kit.kiosk.printer.refill()
    kit.cmd("scan", code=WATER)
    assert "receipt_printed" in names(kit.cmd("pay", method="card"))
    assert [i["reason"] for i in kit.view()["interventions"]] == ["printer_fault"]
    assert kit.count("sales") == 2
