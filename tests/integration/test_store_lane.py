"""kiosk.store.lane_store on a real kiosk.db: snapshot, intents, sales, concurrency."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.errors import StoreError
from kiosk.payments import PaymentIntent
from kiosk.protocol import GENESIS_HASH, verify_chain
from kiosk.store.check import check_db
from kiosk.store.db import open_db
from kiosk.store.lane_store import SqliteLaneStore
from tests.integration.conftest import KIOSK, SaleFactory

SNAPSHOT = {"state": "scanning", "basket": {"lines": [{"sku": "A", "qty": "2", "名": "可乐"}]}}


def count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- lane snapshot ----------------------------------------------------------------------------


def test_load_lane_is_none_before_any_save(store: SqliteLaneStore) -> None:
    assert store.load_lane() is None


def test_save_lane_survives_a_new_connection(store: SqliteLaneStore, db_path: Path) -> None:
    store.save_lane(SNAPSHOT)
    store.save_lane({**SNAPSHOT, "state": "paying"})
    other = open_db(db_path)
    assert SqliteLaneStore(other, KIOSK).load_lane() == {**SNAPSHOT, "state": "paying"}
    other.close()


def test_save_lane_commits_by_itself(store: SqliteLaneStore, db: sqlite_utils.Database) -> None:
    store.save_lane(SNAPSHOT)
    assert not db.conn.in_transaction
    assert db.execute("SELECT updated_at FROM lane").fetchone()[0].endswith("Z")


# -- payment intents --------------------------------------------------------------------------


def intent(intent_id: str = "i-1", method: str = "card") -> PaymentIntent:
    return PaymentIntent(intent_id, "sale-1", method, 2580, "CNY")  # type: ignore[arg-type]


def test_intent_lifecycle_from_pending_to_approved(store: SqliteLaneStore) -> None:
    store.record_intent(intent(), lane_snapshot=SNAPSHOT)
    assert store.load_lane() == SNAPSHOT
    assert store.unresolved_intents() == [intent()]
    store.update_intent(
        "i-1", "approved", ref="T-1", auth="123456", last4="4242", lane_snapshot={"state": "paid"}
    )
    assert store.unresolved_intents() == []
    assert store.load_lane() == {"state": "paid"}
    stored = store.intent("i-1")
    assert stored is not None
    assert (stored.status, stored.ref, stored.auth, stored.last4) == (
        "approved",
        "T-1",
        "123456",
        "4242",
    )


def test_update_intent_keeps_values_not_given(store: SqliteLaneStore) -> None:
    store.record_intent(intent())
    store.update_intent("i-1", "unknown", ref="T-9", detail="terminal timed out")
    store.update_intent("i-1", "unknown")
    stored = store.intent("i-1")
    assert stored is not None
    assert (stored.ref, stored.detail) == ("T-9", "terminal timed out")
    assert [i.intent_id for i in store.unresolved_intents()] == ["i-1"]


def test_update_of_an_unknown_intent_is_refused_and_changes_nothing(
    store: SqliteLaneStore,
) -> None:
    store.save_lane(SNAPSHOT)
    with pytest.raises(StoreError, match="no payment intent nope"):
        store.update_intent("nope", "approved", lane_snapshot={"state": "paid"})
    assert store.load_lane() == SNAPSHOT


def test_record_intent_twice_is_refused(store: SqliteLaneStore) -> None:
    store.record_intent(intent())
    with pytest.raises(StoreError, match="payment intent i-1 cannot be recorded"):
        store.record_intent(intent())


@pytest.mark.parametrize("last4", ["4111111111111111", "42", "abcd"])
def test_intent_refuses_anything_but_four_digits_of_a_card(
    store: SqliteLaneStore, last4: str
) -> None:
    store.record_intent(intent())
    with pytest.raises(StoreError, match="last4 must be exactly 4 digits"):
        store.update_intent("i-1", "approved", last4=last4)


# -- complete_sale ----------------------------------------------------------------------------


def test_complete_sale_writes_every_row_in_one_go(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    sale = sales.make(lines=3, member_id="M-000123")
    record = store.complete_sale(sale, {"state": "idle"})
    assert (record.seq, record.receipt_no, record.prev_hash) == (1, f"{KIOSK}-1", GENESIS_HASH)
    assert [count(db, t) for t in ("sales", "sale_lines", "sale_tenders", "journal", "outbox")] == [
        1,
        3,
        1,
        1,
        1,
    ]
    topic, state, payload = db.execute("SELECT topic, state, payload FROM outbox").fetchone()
    assert (topic, state) == (f"pos/v1/{KIOSK}/evt/sale.completed", "pending")
    event = json.loads(payload)
    assert event["hash"] == record.hash and event["member"] == {"id": "M-000123"}
    assert event["seq"] == 1 and len(event["lines"]) == 3
    row = db.execute("SELECT sale_id, due, paid, change, item_count FROM sales").fetchone()
    assert row == (sale.sale_id, sale.totals.due, sale.paid, 0, sale.totals.item_count)
    assert store.load_lane() == {"state": "idle"}


def test_complete_sale_chains_gap_free_seqs(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    records = [store.complete_sale(sales.make(cash=n % 2 == 0), {}) for n in range(5)]
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    events = [json.loads(p) for (p,) in db.execute("SELECT payload FROM outbox ORDER BY seq")]
    assert verify_chain(events) == []
    assert check_db(db).ok


def test_complete_sale_is_idempotent_on_sale_id(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    sale = sales.make()
    first = store.complete_sale(sale, {"state": "idle"})
    store.save_lane(SNAPSHOT)
    again = store.complete_sale(sale, {"state": "idle"})
    assert again == first
    assert [count(db, t) for t in ("sales", "journal", "outbox")] == [1, 1, 1]
    assert store.load_lane() == SNAPSHOT  # the retry wrote nothing at all


def test_complete_sale_refuses_another_kiosks_sale(
    store: SqliteLaneStore, db: sqlite_utils.Database
) -> None:
    with pytest.raises(StoreError, match="is for kiosk s0001-k99"):
        store.complete_sale(SaleFactory(kiosk_id="s0001-k99").make(), {})
    assert count(db, "journal") == 0


def test_complete_sale_with_a_reused_event_id_rolls_back_everything(
    store: SqliteLaneStore, db: sqlite_utils.Database, sales: SaleFactory
) -> None:
    first = sales.make()
    store.complete_sale(first, {"state": "idle"})
    clash = sales.make()
    clash = type(clash)(
        **{**{f: getattr(clash, f) for f in clash.__dataclass_fields__}, "event_id": first.event_id}
    )
    with pytest.raises(StoreError, match="UNIQUE"):
        store.complete_sale(clash, {"state": "lost"})
    assert [count(db, t) for t in ("sales", "sale_lines", "journal", "outbox")] == [1, 2, 1, 1]
    assert store.load_lane() == {"state": "idle"}


def test_sale_by_receipt_and_last_sales_read_back_the_sale(
    store: SqliteLaneStore, sales: SaleFactory
) -> None:
    records = [store.complete_sale(sales.make(lines=n), {}) for n in (1, 2, 3)]
    stored = store.sale_by_receipt(records[1].receipt_no)
    assert stored is not None
    assert (stored.seq, stored.language, len(stored.event["lines"])) == (2, "zh_CN", 2)
    assert stored.taxes[0].code == "VAT13" and str(stored.taxes[0].rate) == "0.13"
    assert stored.event["hash"] == records[1].hash
    assert [s.seq for s in store.last_sales(2)] == [3, 2]
    assert store.sale_by_receipt("nope") is None
    assert store.last_seq() == 3


def test_boot_counts_up(store: SqliteLaneStore) -> None:
    assert [store.boot(), store.boot(), store.boot()] == [1, 2, 3]


def test_record_audit_appends_rows(store: SqliteLaneStore, db: sqlite_utils.Database) -> None:
    store.record_audit("drawer_opened", {"staff": "E07", "reason": "change"})
    kind, detail = db.execute("SELECT kind, detail FROM audit").fetchone()
    assert (kind, json.loads(detail)) == ("drawer_opened", {"staff": "E07", "reason": "change"})


# -- concurrency ------------------------------------------------------------------------------


def test_threads_completing_sales_never_share_a_seq(
    db_path: Path, db: sqlite_utils.Database
) -> None:
    per_thread = 15
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def sell(n: int) -> None:
        own = open_db(db_path)
        try:
            store = SqliteLaneStore(own, KIOSK, min_free_disk_bytes=0)
            factory = SaleFactory(counter=iter(range(n * 1000, n * 1000 + 999)))
            barrier.wait()
            for _ in range(per_thread):
                store.complete_sale(factory.make(lines=1), {"thread": n})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=sell, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [r[0] for r in db.execute("SELECT seq FROM journal ORDER BY seq")]
    assert seqs == list(range(1, 3 * per_thread + 1))
    assert check_db(db).ok


def _sell_in_process(db_path: str, n: int, count: int) -> list[int]:
    own = open_db(db_path)
    store = SqliteLaneStore(own, KIOSK, min_free_disk_bytes=0)
    factory = SaleFactory(counter=iter(range(n * 1000, n * 1000 + 999)))
    seqs = [store.complete_sale(factory.make(lines=1), {}).seq for _ in range(count)]
    own.close()
    return seqs


def test_processes_completing_sales_never_share_a_seq(
    db_path: Path, db: sqlite_utils.Database
) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = [pool.submit(_sell_in_process, str(db_path), n, 20) for n in (1, 2)]
        results = [f.result(timeout=60) for f in futures]
    all_seqs = sorted(results[0] + results[1])
    assert all_seqs == list(range(1, 41))
    assert check_db(db).ok
