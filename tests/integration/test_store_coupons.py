"""Coupon uses are written in complete_sale's own transaction: a recorded sale always has its
``coupon_redemptions`` rows and their ``coupon_redeemed`` audit rows, a sale that is not
recorded has none, and recording a sale again counts nothing twice."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sqlite_utils

from kiosk.errors import StoreError
from kiosk.loyalty import MemberActivity
from kiosk.payments import Tender
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.promotions import SqlitePromotions
from tests.integration.conftest import SaleFactory

COUPONS = (("CPONE0001", ("CP10S2",)), ("CPMULTI01", ("CPA", "CPB")))


def coupon_rows(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    rows = db.execute("SELECT code, rule_id, sale_id FROM coupon_redemptions ORDER BY 1, 2")
    return [(str(a), str(b), str(c)) for a, b, c in rows.fetchall()]


def audit_rows(db: sqlite_utils.Database) -> list[dict[str, object]]:
    rows = db.execute("SELECT detail FROM audit WHERE kind = 'coupon_redeemed' ORDER BY id")
    return [json.loads(r[0]) for r in rows.fetchall()]


def test_a_recorded_sale_has_its_coupon_uses_and_audit_rows_once(
    db: sqlite_utils.Database, store: SqliteLaneStore, sales: SaleFactory
) -> None:
    sale = replace(sales.make(lines=1, member_id="C1"), redeemed_coupons=COUPONS)
    record = store.complete_sale(sale, {"state": "idle"})
    assert store.complete_sale(sale, {"state": "idle"}) == record
    assert coupon_rows(db) == [
        ("CPMULTI01", "CPA", sale.sale_id),
        ("CPMULTI01", "CPB", sale.sale_id),
        ("CPONE0001", "CP10S2", sale.sale_id),
    ]
    assert audit_rows(db) == [
        {"sale_id": sale.sale_id, "code": "CPONE0001", "rules": ["CP10S2"]},
        {"sale_id": sale.sale_id, "code": "CPMULTI01", "rules": ["CPA", "CPB"]},
    ]
    promotions = SqlitePromotions(db, "CNY")
    assert promotions.coupon_uses(["CPONE0001", "CPMULTI01"]) == {"CPONE0001": 1, "CPMULTI01": 1}
    assert promotions.member_coupon_uses("C1") == {"CP10S2": 1, "CPA": 1, "CPB": 1}


def test_a_sale_that_is_not_recorded_counts_no_coupon(
    db: sqlite_utils.Database, store: SqliteLaneStore, sales: SaleFactory
) -> None:
    plain = sales.make(lines=1, member_id="C1")
    paid = (Tender("stored_value", 600, "i-sv"), replace(plain.tenders[0], amount=1980))
    sale = replace(
        plain,
        tenders=paid,
        loyalty=MemberActivity("C1", "gold", "", 0, 0, 600),  # no balance: the sale rolls back
        redeemed_coupons=COUPONS,
    )
    with pytest.raises(StoreError, match="below zero"):
        store.complete_sale(sale, {"state": "idle"})
    assert coupon_rows(db) == []
    assert audit_rows(db) == []
    assert db.execute("SELECT count(*) FROM sales").fetchone()[0] == 0
