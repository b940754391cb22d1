"""Hand-built, sealed kiosk events for the central tests.

``KioskChain`` plays one kiosk's journal: each ``sale()`` builds a ``CompletedSale`` from kiosk
types (tax-inclusive 13 %, like tests/integration/conftest.py's SaleFactory), turns it into a
``pos.sale.completed/1`` event with ``kiosk.protocol.sale_event`` and seals it onto the chain.
``shift_closed()`` seals a ``pos.shift.closed/1`` event (the schema docs/central.md defines)
whose figures are what the chain's own sales add up to, unless told otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kiosk.basket import Adjustment, Line
from kiosk.payments import Tender
from kiosk.pricing import PricedLine, TaxLine, Totals
from kiosk.protocol import GENESIS_HASH, canonical_json, sale_completed_event, seal, uuid7
from kiosk.protocol.mqtt import event_topic
from kiosk.sale import AttendantAction, CompletedSale

RATE = Decimal("0.13")
DAY = "2026-11-27"
_ids = itertools.count(1)


def new_id() -> str:
    n = next(_ids)
    return uuid7(1_790_000_000_000 + n, n.to_bytes(10, "big"))


@dataclass(frozen=True)
class Item:
    sku: str
    qty: str = "1"
    unit: str = "ea"
    unit_price: int = 1290
    discount: int = 0  # a manual discount on the line (negative)


DEFAULT_ITEMS = (Item("SKU0001", "2"), Item("BANANA", "0.512", "kg", 1580))


@dataclass
class KioskChain:
    kiosk_id: str = "s0001-k01"
    store_id: str = "s0001"
    seq: int = 0
    prev_hash: str = GENESIS_HASH
    events: list[dict[str, Any]] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------------- sales
    def completed_sale(
        self, items: Sequence[Item] = DEFAULT_ITEMS, *, cash: bool = False, cash_rounding: int = 0
    ) -> CompletedSale:
        lines, priced = [], []
        for n, item in enumerate(items, start=1):
            qty = Decimal(item.qty)
            adjustments = (
                (Adjustment(item.discount, "discount", "damaged packaging", "E07"),)
                if item.discount
                else ()
            )
            line = Line(
                line_no=n,
                sku=item.sku,
                names={"zh_CN": f"商品{n}", "en": f"Item {n}"},
                unit=item.unit,  # type: ignore[arg-type]
                qty=qty,
                unit_price=item.unit_price,
                tax_code="VAT13",
                adjustments=adjustments,
            )
            gross = int((qty * item.unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            amount = gross + item.discount
            tax = int((Decimal(amount) * RATE / (1 + RATE)).quantize(Decimal(1), ROUND_HALF_UP))
            lines.append(line)
            priced.append(PricedLine(n, "VAT13", gross, item.discount, amount, tax))
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
            item_count=len(lines),
        )
        cash_rounding = cash_rounding if cash else 0
        paid = due + cash_rounding
        if cash:
            given = (paid // 10000 + 1) * 10000
            tender = Tender("cash", paid, new_id(), tendered=given, change=given - paid)
        else:
            tender = Tender("card", paid, new_id(), ref="T-1", auth="123456", last4="4242")
        return CompletedSale(
            sale_id=new_id(),
            event_id=new_id(),
            kiosk_id=self.kiosk_id,
            store_id=self.store_id,
            boot=1,
            occurred_at=f"{DAY}T09:15:02Z",
            business_day=DAY,
            currency="CNY",
            language="zh_CN",
            lines=tuple(lines),
            totals=totals,
            cash_rounding=cash_rounding,
            tenders=(tender,),
            attendant_actions=(AttendantAction("age_check", "E07", f"{DAY}T09:14:00Z"),),
        )

    def _append(self, event: dict[str, Any]) -> dict[str, Any]:
        sealed = seal(event)
        self.seq = sealed["seq"]
        self.prev_hash = sealed["hash"]
        self.events.append(sealed)
        return sealed

    def sale(
        self, items: Sequence[Item] = DEFAULT_ITEMS, *, cash: bool = False, cash_rounding: int = 0
    ) -> dict[str, Any]:
        sale = self.completed_sale(items, cash=cash, cash_rounding=cash_rounding)
        return self._append(sale_completed_event(sale, self.seq + 1, self.prev_hash))

    def sales(self, n: int, **kwargs: Any) -> list[dict[str, Any]]:
        return [self.sale(**kwargs) for _ in range(n)]

    # ------------------------------------------------------------------------- shifts
    def shift_figures(self, first_seq: int, last_seq: int) -> dict[str, Any]:
        sold = [
            e
            for e in self.events
            if e["schema"] == "pos.sale.completed/1" and first_seq <= e["seq"] <= last_seq
        ]
        totals = {k: sum(e["totals"][k] for e in sold) for k in ("gross", "discount", "tax")}
        totals["rounding"] = sum(e["totals"]["rounding"] for e in sold)
        totals["due"] = sum(e["totals"]["due"] for e in sold)
        tenders: dict[str, dict[str, int]] = {}
        for e in sold:
            for t in e["tenders"]:
                entry = tenders.setdefault(t["type"], {"count": 0, "amount": 0, "change": 0})
                entry["count"] += 1
                entry["amount"] += t["amount"]
                entry["change"] += t.get("change", 0)
        last_hash = next((e["hash"] for e in self.events if e["seq"] == last_seq), GENESIS_HASH)
        return {
            "sales": {"count": len(sold), **totals},
            "tenders": [{"type": k, **v} for k, v in sorted(tenders.items())],
            "last_hash": last_hash,
        }

    def shift_closed(self, first_seq: int = 1, **overrides: Any) -> dict[str, Any]:
        last_seq = self.seq
        event: dict[str, Any] = {
            "schema": "pos.shift.closed/1",
            "event_id": new_id(),
            "kiosk_id": self.kiosk_id,
            "store_id": self.store_id,
            "seq": self.seq + 1,
            "boot": 1,
            "occurred_at": f"{DAY}T22:00:00Z",
            "business_day": DAY,
            "shift_id": f"{self.kiosk_id}-shift-{next(self.counter)}",
            "currency": "CNY",
            "first_seq": first_seq,
            "last_seq": last_seq,
            **self.shift_figures(first_seq, last_seq),
            "prev_hash": self.prev_hash,
        }
        event.update(overrides)
        return self._append(event)


def topic_of(event: dict[str, Any]) -> str:
    kind = event["schema"].removeprefix("pos.").split("/")[0]
    return event_topic(event["kiosk_id"], kind)


def payload_of(event: dict[str, Any]) -> bytes:
    return canonical_json(event)
