"""Crash safety at the lane level, in process: a "restart" drops the kiosk and builds a new one
on the same kiosk.db, as after SIGKILL or a power cut (the lane commits before it answers, so
nothing in memory is needed).

A crash in the middle of a command is simulated where it matters: while the card terminal is
working (the payment simulator's wait raises), and between a payment's approval and the sale's
commit (a temporary trigger on the lane's connection makes the sale's transaction fail, then
the kiosk is dropped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.lane_kit import (
    BANANA_WEIGHT_LABEL,
    BEER,
    EGGS,
    MEMBER_GOLD,
    MILK,
    UNKNOWN_GTIN,
    WATER,
    LaneKit,
    basket_of,
    error_of,
    make_kiosk,
    names,
    only,
)


class Crash(BaseException):
    """The process dying: nothing in the lane catches it."""


def assert_restart_keeps_the_basket(kit: LaneKit) -> None:
    before = basket_of(kit.view())
    kit.restart()
    assert basket_of(kit.view()) == before


STEPS: list[tuple[str, dict[str, Any]]] = [
    ("start", {"language": "en"}),
    ("scan", {"code": WATER}),
    ("scan", {"code": WATER}),
    ("scan", {"code": BANANA_WEIGHT_LABEL}),
    ("add", {"sku": "100006", "qty": "2"}),
    ("scan", {"code": BEER}),
    ("scan", {"code": UNKNOWN_GTIN}),
    ("member", {"code": MEMBER_GOLD}),
    ("help", {}),
    ("remove_line", {"line": 1}),
    ("set_qty", {"line": 3, "qty": "3"}),
    ("language", {"language": "zh_CN"}),
    ("scan", {"code": EGGS}),
    ("login", {}),
    ("clear", {"intervention": "age_check", "resolution": "approve"}),
    ("login", {}),
    ("clear", {"intervention": "unknown_item", "resolution": "approve", "sku": "100009"}),
    ("login", {}),
    ("clear", {"intervention": "void", "resolution": "approve"}),
    ("login", {}),
    ("price_override", {"line": 2, "unit_price": 600, "reason": "label"}),
    ("login", {}),
    ("discount_line", {"line": 3, "percent": "15", "reason": "dented"}),
    ("pay", {"method": "card", "amount": 1000}),
    ("login", {}),
    ("cash", {"tendered": 10000}),
]


def test_every_command_is_restored_exactly_after_a_restart(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    for name, args in STEPS:
        if name == "login":
            kit.login()
            continue
        events = kit.cmd(name, **args)
        assert "error" not in names(events), (name, events)
        assert_restart_keeps_the_basket(kit)
        if kit.view()["lines"] and kit.view()["mode"] != "complete":
            assert only(kit.restored, "basket_restored")["sale_id"] == kit.view()["sale_id"]
    assert kit.view()["mode"] == "complete"
    assert kit.count("sales") == 1
    kit.restart()
    kit.restart()
    assert kit.count("sales") == 1  # restarts never record a sale twice
    assert names(kit.restored) == []


def test_a_restart_mid_payment_keeps_the_approved_part(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=MILK)
    kit.cmd("pay", method="card", amount=500)
    kit.restart()
    view = kit.view()
    assert (view["mode"], view["totals"]["paid"], view["totals"]["remaining"]) == (
        "paying",
        500,
        790,
    )
    assert [t["ref"] for t in view["tenders"]] == ["T-000001"]
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert kit.rows("SELECT type, amount FROM sale_tenders ORDER BY idx") == [
        ("card", 500),
        ("card", 790),
    ]


def test_a_crash_while_the_terminal_works_becomes_an_unknown_payment_at_restart(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    sale_id = kit.view()["sale_id"]

    def die(_seconds: float) -> None:
        raise Crash

    kit.on_payment_wait = die
    kit.kiosk.terminal.queue_outcome("approved", delay_s=5)
    with pytest.raises(Crash):
        kit.cmd("pay", method="card")
    (intent,) = kit.intents()
    assert (intent["status"], intent["amount"], intent["sale_id"]) == ("pending", 200, sale_id)
    kit.on_payment_wait = None
    restored = kit.restart()
    assert names(restored) == ["basket_restored", "intervention_opened"]
    opened = restored[1]
    assert (opened["reason"], opened["detail"]["intent"]) == (
        "payment_unknown",
        intent["intent_id"],
    )
    assert [i["status"] for i in kit.intents()] == ["unknown"]
    assert kit.view()["mode"] == "paying"
    assert kit.kiosk.light.state == "intervention"
    # A second restart before anyone resolves it: still one intervention, nothing charged.
    restored = kit.restart()
    assert names(restored) == ["basket_restored"]
    assert [i["reason"] for i in kit.view()["interventions"]] == ["payment_unknown"]
    assert error_of(kit.cmd("pay", method="card"))["code"] == "blocked"
    assert kit.kiosk.terminal.charges == []  # never charged again by the lane
    kit.login()
    events = kit.cmd("clear", intervention="payment_unknown", resolution="approve", ref="T-9")
    assert "sale_completed" in names(events)
    assert kit.rows("SELECT sale_id, paid FROM sales") == [(sale_id, 200)]
    assert kit.rows("SELECT intent_id, ref FROM sale_tenders") == [(intent["intent_id"], "T-9")]


def test_an_unknown_payment_rejected_after_a_restart_is_paid_again_once(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)

    def die(_seconds: float) -> None:
        raise Crash

    kit.on_payment_wait = die
    kit.kiosk.terminal.queue_outcome("approved", delay_s=1)
    with pytest.raises(Crash):
        kit.cmd("pay", method="card")
    kit.on_payment_wait = None
    kit.restart()
    kit.login()
    kit.cmd("clear", intervention="payment_unknown", resolution="reject")
    kit.logout()
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert [i["status"] for i in kit.intents()] == ["declined", "approved"]
    assert kit.count("sale_tenders") == 1
    assert len(kit.kiosk.terminal.charges) == 1
    kit.restart()
    assert kit.view()["interventions"] == []  # resolved for good


def crash_at_insert_into(kit: LaneKit, table: str) -> None:
    """Make the lane's next insert into ``table`` fail, and the lane's attempt to save what it
    did about it: kiosk.db is left as a crash just before that insert leaves it."""
    kit.kiosk.db.execute(
        f"CREATE TEMP TRIGGER crash_{table} BEFORE INSERT ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )
    kit.kiosk.db.execute(
        "CREATE TEMP TRIGGER crash_lane BEFORE UPDATE ON lane "
        'WHEN NEW.snapshot LIKE \'%"reason":"storage"%\' '
        "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )


def crash_at_the_sale_commit(kit: LaneKit) -> None:
    """A crash right after a payment's commit, before the sale's."""
    crash_at_insert_into(kit, "sales")


def test_a_sale_paid_but_not_recorded_before_a_crash_is_completed_at_restart(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    sale_id = kit.view()["sale_id"]
    crash_at_the_sale_commit(kit)
    events = kit.cmd("pay", method="card")
    assert events[0]["event"] == "error"
    assert events[0]["code"] == "storage"
    assert kit.count("sales") == 0
    assert [i["status"] for i in kit.intents()] == ["approved"]
    restored = kit.restart()
    assert names(restored) == ["basket_restored", "sale_completed", "receipt_printed"]
    assert only(restored, "sale_completed")["sale_id"] == sale_id
    assert kit.rows("SELECT sale_id, paid FROM sales") == [(sale_id, 200)]
    assert kit.view()["mode"] == "complete"
    assert len(kit.kiosk.terminal.charges) == 0  # the new terminal was never asked
    kit.restart()
    assert kit.count("sales") == 1


def test_a_sale_paid_but_not_recorded_is_completed_by_pay_once_storage_is_back(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    crash_at_the_sale_commit(kit)
    kit.cmd("pay", method="card")
    view = kit.view()
    assert (view["mode"], view["totals"]["paid"], view["totals"]["remaining"]) == ("paying", 200, 0)
    assert [i["reason"] for i in view["interventions"]] == ["storage"]
    kit.kiosk.db.execute("DROP TRIGGER crash_sales")
    kit.kiosk.db.execute("DROP TRIGGER crash_lane")
    kit.login()
    assert "intervention_cleared" in names(
        kit.cmd("clear", intervention="storage", resolution="approve")
    )
    kit.logout()
    events = kit.cmd("pay", method="card")
    assert names(events) == ["sale_completed", "receipt_printed"]
    assert len(kit.kiosk.terminal.charges) == 1  # paid once, recorded once
    assert kit.count("sales") == 1


def test_a_completed_sale_and_its_open_faults_survive_a_restart(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.printer.run_out_of_paper()
    kit.cmd("pay", method="card")
    assert_restart_keeps_the_basket(kit)
    view = kit.view()
    assert view["mode"] == "complete"
    assert view["last_receipt"]["receipt_no"] == "s0001-k01-1"
    assert [i["reason"] for i in view["interventions"]] == ["printer_fault"]
    assert kit.kiosk.light.state == "attention"


def test_resolving_an_unknown_payment_commits_the_outcome_and_the_clearing_together(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.terminal.queue_outcome("timeout")
    kit.cmd("pay", method="card")
    kit.login()
    # The process dies right after the intent's outcome is committed, before the audit row.
    crash_at_insert_into(kit, "audit")
    events = kit.cmd("clear", intervention="payment_unknown", resolution="reject")
    assert events[0]["code"] == "storage"
    assert [i["status"] for i in kit.intents()] == ["declined"]
    saved = kit.snapshot()["interventions"]
    assert [(i["reason"], i["resolution"]) for i in saved] == [("payment_unknown", "reject")]
    kit.restart()
    assert kit.view()["interventions"] == []  # nothing left to resolve (and count) again
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    assert kit.count("sale_tenders") == 1


def test_cash_taken_just_before_a_crash_completes_without_a_stale_cash_intervention(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("pay", method="cash")
    kit.login()
    crash_at_the_sale_commit(kit)
    kit.cmd("cash", tendered=500)
    restored = kit.restart()
    assert "sale_completed" in names(restored)
    assert kit.view()["interventions"] == []
    assert kit.rows("SELECT type, amount, tendered, change FROM sale_tenders") == [
        ("cash", 200, 500, 300)
    ]


def test_an_unreadable_saved_lane_is_kept_and_the_lane_starts_out_of_service(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.kiosk.db.execute(
        "UPDATE lane SET snapshot = ? WHERE id = 1", ('{"version": 99, "mode": "future"}',)
    )
    restored = kit.restart()
    assert names(restored) == ["out_of_service"]
    assert restored[0]["reason"] == (
        "the saved lane could not be read: lane snapshot version 99 is not 1"
    )
    assert kit.audit("lane_snapshot_unreadable") == [
        {
            "error": "lane snapshot version 99 is not 1",
            "snapshot": {"version": 99, "mode": "future"},
        }
    ]
    assert kit.view()["mode"] == "out_of_service"
