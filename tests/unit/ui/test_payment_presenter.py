"""The payment presenter (kiosk.ui.presenters.payment) without Kivy."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.ui.presenters import payment as p


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor / 100:.2f}"


def view(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "mode": "scanning",
        "sale_id": "S1",
        "totals": {"due": 1000, "paid": 0, "remaining": 1000},
        "tenders": [],
        "interventions": [],
        "blocked": False,
        "awaiting_wallet": False,
        "loyalty": None,
    }
    base.update(over)
    return base


def intervention(reason: str, **detail: Any) -> dict[str, Any]:
    return {"intervention": "I1", "reason": reason, "detail": detail, "blocking": True}


def test_methods_follow_the_configuration_and_member_accounts() -> None:
    assert p.methods_offered(view()) == ("card", "wallet", "cash")
    assert p.methods_offered(view(), ("wallet", "card")) == ("wallet", "card")
    loyalty = {"points_payable": 500, "stored_value_payable": 0}
    assert p.methods_offered(view(loyalty=loyalty)) == ("card", "wallet", "cash", "points")
    model = p.payment_model(p.PaymentLocal(), view(), t, money)
    assert [b.label for b in model.buttons] == [
        "Bank card",
        "Payment code (WeChat / Alipay)",
        "Cash (an attendant comes)",
    ]
    assert model.amount == "¥10.00"
    assert model.can_go_back and not model.can_cancel and model.can_split


def test_card_pays_all_and_is_in_flight_until_answered() -> None:
    local = p.PaymentLocal()
    assert p.choose(local, view(), "card") == {"cmd": "pay", "method": "card"}
    assert local.in_flight == "card" and local.in_flight_amount == 1000
    paying = view(mode="paying")
    assert not p.can_cancel(paying, local)  # money may be moving
    busy = p.processing_model(local, paying, t, money, elapsed_s=12.4, timeout_s=60)
    assert busy.busy and busy.title == "Paying by bank card"
    assert busy.elapsed == "Waiting 12 s"
    assert busy.progress == pytest.approx(12.4 / 60)
    assert not busy.can_cancel
    late = p.processing_model(local, paying, t, money, elapsed_s=120, timeout_s=60)
    assert late.progress == 0.95  # never full before the answer
    p.apply_events(local, [{"event": "payment_approved", "amount": 1000, "remaining": 0}])
    assert local.in_flight == ""


def test_declined_card_can_be_retried_or_cancelled() -> None:
    local = p.PaymentLocal()
    p.choose(local, view(), "card")
    p.apply_events(local, [{"event": "payment_declined", "message": "insufficient funds"}])
    paying = view(mode="paying")
    model = p.processing_model(local, paying, t, money, 0, 60)
    assert model.message == "The payment was declined. Try again or choose another way."
    assert model.can_choose and model.can_cancel and not model.busy
    assert p.cancel_command(local, paying) == {"cmd": "cancel_payment"}


def test_split_pays_part_then_the_rest() -> None:
    local = p.PaymentLocal()
    p.open_split(local)
    for key in "400":
        p.press_split(local, key)
    assert p.payment_model(local, view(), t, money).split_text == "¥4.00"
    assert p.confirm_split(local, view())
    assert p.payment_model(local, view(), t, money).part_line == "Paying now: ¥4.00"
    assert p.choose(local, view(), "card") == {"cmd": "pay", "method": "card", "amount": 400}
    assert local.in_flight_amount == 400
    p.apply_events(local, [{"event": "payment_approved", "amount": 400, "remaining": 600}])
    assert local.split_amount == 0
    after = view(
        mode="paying",
        totals={"due": 1000, "paid": 400, "remaining": 600},
        tenders=[{"type": "card", "amount": 400}],
    )
    model = p.payment_model(local, after, t, money)
    assert model.paid_line == "Paid so far: ¥4.00"
    assert model.message == "Paid. Please choose how to pay the rest."
    assert not model.can_cancel  # a tender was taken: pay the rest
    assert p.cancel_command(local, after) is None
    assert local.message == "Part is already paid: please pay the rest."
    assert p.choose(local, after, "cash") == {"cmd": "pay", "method": "cash"}


def test_split_amount_must_be_less_than_what_remains() -> None:
    local = p.PaymentLocal()
    p.open_split(local)
    for key in "1000":
        p.press_split(local, key)
    assert not p.confirm_split(local, view())
    assert local.message == "Type an amount smaller than what is left to pay."
    local.split_digits = ""
    assert not p.confirm_split(local, view())
    p.cancel_split(local)
    assert not local.split and local.split_amount == 0


def test_wallet_without_code_then_typed_code() -> None:
    local = p.PaymentLocal()
    assert p.choose(local, view(), "wallet") == {"cmd": "pay", "method": "wallet"}
    assert local.in_flight == ""  # the lane waits for the code, nothing is charged yet
    waiting = view(mode="paying", awaiting_wallet=True)
    model = p.payment_model(local, waiting, t, money)
    assert model.status == "Show your payment code to the scanner, or type its number."
    assert model.can_type_wallet and model.can_cancel and not model.buttons
    proc = p.processing_model(local, waiting, t, money, 0, 60)
    assert proc.can_type_wallet and proc.can_cancel
    p.open_wallet_entry(local)
    for key in "134567890123456789":
        p.press_wallet(local, key)
    assert "1345678901234" not in repr(local)
    assert p.payment_model(local, waiting, t, money).wallet_text == "••••••••••••••6789"
    command = p.wallet_command(local, waiting)
    assert command == {"cmd": "pay", "method": "wallet", "code": "134567890123456789"}
    assert local.wallet_code == "" and local.in_flight == "wallet"


def test_wallet_code_of_wrong_length_is_refused() -> None:
    local = p.PaymentLocal()
    p.open_wallet_entry(local)
    local.wallet_code = "1234"
    assert p.wallet_command(local, view()) is None
    assert local.message == "A payment code has {min} to {max} digits."
    assert p.payment_model(local, view(), t, money).message == "A payment code has 16 to 24 digits."


def test_wallet_code_with_split_amount() -> None:
    local = p.PaymentLocal(split_amount=300, wallet_code="1" * 18)
    command = p.wallet_command(local, view())
    assert command == {"cmd": "pay", "method": "wallet", "code": "1" * 18, "amount": 300}


def test_cash_waits_for_the_attendant_and_can_be_cancelled() -> None:
    local = p.PaymentLocal()
    assert p.choose(local, view(), "cash") == {"cmd": "pay", "method": "cash"}
    waiting = view(mode="paying", interventions=[intervention("cash_payment", amount=1000)])
    model = p.payment_model(local, waiting, t, money)
    assert model.status == "An attendant is coming to take your cash."
    assert model.can_cancel and not model.can_go_back
    proc = p.processing_model(local, waiting, t, money, 0, 60)
    assert proc.title == "Cash payment" and proc.can_cancel


def test_unknown_payment_cannot_be_cancelled() -> None:
    local = p.PaymentLocal(in_flight="card")
    p.apply_events(local, [{"event": "payment_unknown", "outcome": "timeout"}])
    assert local.in_flight == ""
    unknown = view(mode="paying", interventions=[intervention("payment_unknown", sale_id="S1")])
    assert p.unknown_payment(unknown)
    assert not p.can_cancel(unknown, local)
    assert p.cancel_command(local, unknown) is None
    assert local.message == "An attendant is checking your payment. Please wait."
    proc = p.processing_model(local, unknown, t, money, 0, 60)
    assert proc.title == "Checking your payment" and not proc.can_cancel
    other_sale = view(interventions=[intervention("payment_unknown", sale_id="S0")])
    assert not p.unknown_payment(other_sale)


def test_points_and_stored_value_redeem() -> None:
    loyalty = {"points_payable": 500, "stored_value_payable": 1000}
    local = p.PaymentLocal()
    assert p.choose(local, view(loyalty=loyalty), "points") == {"cmd": "redeem", "type": "points"}
    local.split_amount = 200
    assert p.choose(local, view(loyalty=loyalty), "stored_value") == {
        "cmd": "redeem",
        "type": "stored_value",
        "amount": 200,
    }


def test_unknown_method_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown payment method 'bitcoin'"):
        p.choose(p.PaymentLocal(), view(), "bitcoin")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("blocked", "An attendant must check your basket first. Help is on the way."),
        ("storage", "This kiosk cannot take payments now. Please call an attendant."),
        ("limit", "Your member account does not allow that amount."),
        ("internal", "That did not work. Please call an attendant."),
    ],
)
def test_errors_end_the_flight_and_explain(code: str, message: str) -> None:
    local = p.PaymentLocal(in_flight="card")
    p.apply_events(local, [{"event": "error", "code": code, "message": "x"}])
    assert local.in_flight == ""
    assert p.payment_model(local, view(), t, money).message == message


def test_blocked_basket_offers_no_method() -> None:
    model = p.payment_model(p.PaymentLocal(), view(blocked=True), t, money)
    assert not model.buttons and not model.can_split
    assert model.status.startswith("An attendant must check your basket")


def test_cancelled_or_completed_resets_the_local_state() -> None:
    for kind in ("payment_cancelled", "sale_completed", "sale_cancelled"):
        local = p.PaymentLocal(split_amount=300, wallet_entry=True, message="x")
        p.apply_events(local, [{"event": kind}])
        assert (local.split_amount, local.wallet_entry, local.message) == (0, False, "")


def test_wallet_code_needed_and_complete_texts() -> None:
    local = p.PaymentLocal()
    p.apply_events(local, [{"event": "wallet_code_needed", "amount": 1000}])
    assert local.message.startswith("Show your payment code")
    done = p.processing_model(p.PaymentLocal(), view(mode="complete"), t, money, 0, 60)
    assert done.title == "Payment complete" and not done.can_choose
    zero = p.processing_model(p.PaymentLocal(in_flight="card"), view(), t, money, 5, 0)
    assert zero.progress == 0.0
