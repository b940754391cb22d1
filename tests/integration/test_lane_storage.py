"""Disk full and read-only storage under the lane, simulated on the lane's own connection as
tests/integration/test_store_failures.py does for the store: ``PRAGMA max_page_count`` caps
kiosk.db at its size (SQLITE_FULL, as on a full disk) and ``PRAGMA query_only`` refuses every
write (SQLITE_READONLY, as a read-only file or mount; the tests run as root, which ignores file
permissions).

The lane must refuse to start a payment it could not record (no money moves), say so with a
``storage`` error, call an attendant, and lose nothing already committed.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.store import check_db, open_db
from tests.integration.lane_kit import MILK, WATER, LaneKit, make_kiosk, names, only


def fill_to_the_limit(kit: LaneKit) -> None:
    """No free page left in kiosk.db and no growth allowed."""
    db = kit.kiosk.db
    db.execute("VACUUM")
    db.execute("PRAGMA max_page_count = 1")  # SQLite clamps it to the current page count


def unlimited(kit: LaneKit) -> None:
    kit.kiosk.db.execute("PRAGMA max_page_count = 1073741823")


def read_only(kit: LaneKit, on: bool = True) -> None:
    kit.kiosk.db.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")


def sell_one(kit: LaneKit) -> str:
    kit.cmd("scan", code=WATER)
    events = kit.cmd("pay", method="card")
    return str(only(events, "sale_completed")["hash"])


def committed_sales_check_out(kit: LaneKit, hashes: list[str]) -> None:
    db = open_db(kit.db_path, read_only=True)
    try:
        report = check_db(db)
        stored = [row[0] for row in db.execute("SELECT hash FROM journal ORDER BY seq")]
    finally:
        db.conn.close()
    assert report.ok, report.problems
    assert stored == hashes


def storage_error(events: list[dict[str, object]]) -> dict[str, object]:
    assert events[0]["event"] == "error", events
    assert events[0]["code"] == "storage"
    return events[0]


def test_a_full_disk_refuses_to_start_a_payment_and_loses_nothing(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    hashes = [sell_one(kit), sell_one(kit)]
    kit.cmd("scan", code=MILK)
    fill_to_the_limit(kit)
    charges = len(kit.kiosk.terminal.charges)
    events = kit.cmd("pay", method="card")
    error = storage_error(events)
    assert "kiosk.db is full" in str(error["message"])
    assert names(events) == ["error", "intervention_opened"]
    assert only(events, "intervention_opened")["reason"] == "storage"
    assert len(kit.kiosk.terminal.charges) == charges  # no money moved
    assert kit.count("payment_intents") == 2
    view = kit.view()
    assert (view["mode"], view["blocked"]) == ("scanning", True)
    assert [line["sku"] for line in view["lines"]] == ["100006"]  # the basket stays
    assert kit.kiosk.light.state == "intervention"
    committed_sales_check_out(kit, hashes)
    # Space again: the attendant clears the storage intervention and the sale goes on.
    unlimited(kit)
    kit.login()
    assert "intervention_cleared" in names(
        kit.cmd("clear", intervention="storage", resolution="approve")
    )
    kit.logout()
    hashes.append(str(only(kit.cmd("pay", method="card"), "sale_completed")["hash"]))
    committed_sales_check_out(kit, hashes)


def test_clearing_the_storage_intervention_is_refused_while_still_full(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    fill_to_the_limit(kit)
    storage_error(kit.cmd("pay", method="card"))
    storage_error(kit.cmd("clear", intervention="storage", resolution="approve"))
    assert [i["reason"] for i in kit.view()["interventions"]] == ["storage"]


def test_read_only_storage_refuses_to_start_a_payment(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    hashes = [sell_one(kit)]
    kit.cmd("scan", code=WATER)
    read_only(kit)
    charges = len(kit.kiosk.terminal.charges)
    error = storage_error(kit.cmd("pay", method="card"))
    assert "query-only" in str(error["message"])
    blocked = kit.cmd("pay", method="cash")  # the storage intervention now stops it first
    assert (blocked[0]["code"], blocked[0]["message"]) == (
        "blocked",
        "an attendant must clear: storage",
    )
    storage_error(kit.cmd("staff_login", badge="ST0001"))  # a login cannot be recorded either
    assert kit.view()["attendant"] is None
    assert len(kit.kiosk.terminal.charges) == charges
    assert kit.count("payment_intents") == 1
    committed_sales_check_out(kit, hashes)


def test_a_scan_that_cannot_be_saved_is_not_shown(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    read_only(kit)
    events = kit.cmd("scan", code=MILK)
    storage_error(events)
    assert "item_added" not in names(events)
    assert [line["sku"] for line in kit.view()["lines"]] == ["100001"]  # what kiosk.db holds
    read_only(kit, on=False)
    kit.restart()
    assert [line["sku"] for line in kit.view()["lines"]] == ["100001"]


def test_a_storage_fault_with_no_sale_in_progress_takes_the_lane_out_of_service(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    read_only(kit)
    events = kit.cmd("staff_login", badge="ST0001")
    storage_error(events)
    assert only(events, "out_of_service")["reason"].startswith("storage: ")
    assert kit.view()["mode"] == "out_of_service"
    assert kit.kiosk.light.state == "out_of_service"


def test_read_only_storage_at_start_puts_the_lane_out_of_service_keeping_the_basket(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.kiosk.close()
    kit.kiosk = kit.build()
    read_only(kit)
    restored = kit.kiosk.lane.restore()
    assert names(restored) == ["basket_restored", "out_of_service"]
    assert restored[1]["reason"].startswith("storage: kiosk.db is open query-only")
    view = kit.view()
    assert view["mode"] == "out_of_service"
    assert len(view["lines"]) == 2
    # Writable again: an attendant puts the lane back in service, with the sale in progress.
    read_only(kit, on=False)
    kit.login()
    kit.cmd("out_of_service", on=False)
    view = kit.view()
    assert (view["mode"], len(view["lines"])) == ("scanning", 2)
    assert "sale_completed" in names(kit.cmd("pay", method="card"))


def test_a_payment_approved_while_storage_failed_is_kept_as_an_unknown_payment(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    sale_id = kit.view()["sale_id"]

    def storage_breaks(_seconds: float) -> None:
        read_only(kit)

    kit.on_payment_wait = storage_breaks
    kit.kiosk.terminal.queue_outcome("approved", delay_s=2)
    events = kit.cmd("pay", method="card")
    storage_error(events)
    assert [e["reason"] for e in events if e["event"] == "intervention_opened"] == [
        "payment_unknown",
        "storage",
    ]
    assert kit.kiosk.terminal.charges[0].outcome == "approved"  # the customer was charged
    assert [i["status"] for i in kit.intents()] == ["pending"]
    # After a restart with storage back, the attendant confirms it from the terminal.
    kit.on_payment_wait = None
    read_only(kit, on=False)
    kit.restart()
    assert [i["reason"] for i in kit.view()["interventions"]] == ["payment_unknown"]
    kit.login()
    kit.cmd("clear", intervention="payment_unknown", resolution="approve", ref="T-000001")
    assert kit.rows("SELECT sale_id, paid FROM sales") == [(sale_id, 200)]
