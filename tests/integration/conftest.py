"""Fixtures for integration tests on real kiosk.db files in tmp_path.

``sales`` builds ``CompletedSale`` objects by hand (lines, tax-inclusive 13 % totals, tenders)
so the store tests do not depend on the pricing engine.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.basket import Adjustment, Line
from kiosk.payments import Tender
from kiosk.pricing import PricedLine, TaxLine, Totals
from kiosk.protocol.ids import uuid7
from kiosk.sale import AttendantAction, CompletedSale
from kiosk.store.db import open_db
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.migrations import migrate

KIOSK = "s0001-k01"
STORE = "s0001"
RATE = Decimal("0.13")


@dataclass
class SaleFactory:
    """Builds consistent completed sales: ``make(lines=2)`` gives 2 lines of 12.90 each."""

    kiosk_id: str = KIOSK
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        n = next(self.counter)
        return uuid7(1_790_000_000_000 + n, n.to_bytes(10, "big"))

    def make(
        self,
        lines: int = 2,
        *,
        sale_id: str | None = None,
        unit_price: int = 1290,
        discount: int = 0,
        cash_rounding: int = 0,
        member_id: str | None = None,
        cash: bool = False,
    ) -> CompletedSale:
        basket_lines = []
        priced = []
        for n in range(1, lines + 1):
            adjustments = (
                (Adjustment(discount, "discount", "damaged packaging", "E07"),)
                if discount and n == 1
                else ()
            )
            line = Line(
                line_no=n,
                sku=f"SKU{n:04d}",
                names={"zh_CN": f"商品{n}", "en": f"Item {n}"},
                unit="ea",
                qty=Decimal(1 + n % 3),
                unit_price=unit_price,
                tax_code="VAT13",
                gtin=f"069010280758{n % 10}{n % 7}" if n % 2 else None,
                adjustments=adjustments,
            )
            gross = unit_price * int(line.qty)
            own = sum(a.amount for a in adjustments)
            amount = gross + own
            tax = int(
                (Decimal(amount) * RATE / (1 + RATE)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            )
            basket_lines.append(line)
            priced.append(PricedLine(n, "VAT13", gross, own, amount, tax))
        due = sum(p.amount for p in priced)
        tax_total = sum(p.tax for p in priced)
        totals = Totals(
            currency="CNY",
            tax_mode="inclusive",
            lines=tuple(priced),
            taxes=(TaxLine("VAT13", RATE, due - tax_total, tax_total),),
            gross=sum(p.gross for p in priced),
            discount=sum(p.discount for p in priced),
            tax=tax_total,
            due=due,
            item_count=sum(int(line.qty) for line in basket_lines),
        )
        sale_id = sale_id or self.new_id()
        paid = due + cash_rounding
        if cash:
            tendered = (paid // 10000 + 1) * 10000  # the next 100-yuan note
            tender = Tender("cash", paid, self.new_id(), tendered=tendered, change=tendered - paid)
        else:
            tender = Tender("card", paid, self.new_id(), ref="T-1", auth="123456", last4="4242")
        return CompletedSale(
            sale_id=sale_id,
            event_id=self.new_id(),
            kiosk_id=self.kiosk_id,
            store_id=STORE,
            boot=1,
            occurred_at="2026-11-27T09:15:02Z",
            business_day="2026-11-27",
            currency="CNY",
            language="zh_CN",
            lines=tuple(basket_lines),
            totals=totals,
            cash_rounding=cash_rounding,
            tenders=(tender,),
            member_id=member_id,
            attendant_actions=(AttendantAction("age_check", "E07", "2026-11-27T09:14:00Z"),),
        )


@pytest.fixture
def sales() -> SaleFactory:
    return SaleFactory()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "kiosk.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(db_path)
    migrate(database)
    yield database
    database.close()


@pytest.fixture
def store(db: sqlite_utils.Database) -> SqliteLaneStore:
    return SqliteLaneStore(db, KIOSK, min_free_disk_bytes=0)


@pytest.fixture
def root_logging_restored() -> Iterator[None]:
    """``kiosk.cli.main`` installs its JSON handler on the root logger; put pytest's back
    afterwards (the CLI and ``kiosk sim`` tests use it for every test)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``kiosk demo init`` per test module; tests copy it (its [paths] are relative)."""
    from kiosk.cli import main

    folder = tmp_path_factory.mktemp("template") / "kiosk"
    assert main(["demo", "init", "--dir", str(folder)]) == 0
    return folder
