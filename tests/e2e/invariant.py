"""The end-to-end invariant: every kiosk sale applied exactly once by each central consumer.

``invariant_check(kiosks, central_url)`` (test thread) first waits, with a deadline, until
every outbox row of every kiosk is settled (acked by both consumer groups), then reads each
kiosk.db (journal, sales, sale_lines, sale_tenders, outbox) and the central database (through
SQLAlchemy) and asserts:

- kiosk side: the journal's seq is 1..N without a gap, every entry has its outbox row (same
  event id) and every sale its sales row; ``kiosk db check`` passes (hash chain, integrity);
- per consumer group: ``processed_events`` holds exactly the kiosks' (seq, event id, hash),
  each once, and nothing else; ``kiosk_chain`` is at the kiosk's last seq and hash;
- finance: one ``sales`` row per kiosk sale with the same receipt, gross, discount, tax,
  rounding, due and line count; the ledger of each sale has the kiosk's tenders per type
  (amount, payments; tendered and change for cash), balances, and revenue + tax + rounding
  = due;
- inventory: one stock movement per sale line with the line's SKU, unit and quantity, and
  stock on hand per SKU = minus what the kiosks sold (the tests record no back-office moves);
- no discrepancy (hash chain, conflict) and exactly the dead letters the test expects.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import create_engine, func, select

from central.storage.schema import (
    dead_letters,
    discrepancies,
    kiosk_chain,
    ledger_lines,
    processed_events,
    sales,
    stock_items,
    stock_movements,
)
from tests.e2e.stack import GROUPS, STORE, Kiosk, kiosk_cli, run_cli, wait_until

Tenders = dict[str, tuple[int, int, int, int]]  # type -> (amount, payments, tendered, change)


@dataclass(frozen=True)
class SaleFacts:
    kiosk_id: str
    seq: int
    receipt_no: str
    business_day: str
    gross: int
    discount: int
    tax: int
    rounding: int
    due: int
    line_count: int
    lines: tuple[tuple[str, int, str], ...]  # (sku, qty in thousandths, unit), sorted
    tenders: Tenders


@dataclass
class KioskFacts:
    kiosk_id: str
    journal: list[tuple[int, str, str, str]]  # (seq, event_id, type, hash)
    sales: dict[str, SaleFacts]  # by event id
    outbox: dict[int, tuple[str, str]]  # seq -> (event_id, state)


@dataclass
class Totals:
    sales: int = 0
    gross: int = 0
    discount: int = 0
    tax: int = 0
    rounding: int = 0
    due: int = 0
    tenders: Counter[str] = field(default_factory=Counter)


@dataclass
class InvariantReport:
    """What was checked: per kiosk its last seq and sale totals; how long settling took."""

    last_seq: dict[str, int]
    totals: dict[str, Totals]
    settle_s: float


def milli(qty: str) -> int:
    return int((Decimal(qty) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def processed_seqs(url: str, group: str, kiosk_id: str) -> set[int]:
    """The seqs of ``kiosk_id`` that ``group`` has applied."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(processed_events.c.seq).where(
                processed_events.c.consumer_group == group, processed_events.c.kiosk_id == kiosk_id
            )
            return {int(seq) for seq in conn.execute(query).scalars()}
    finally:
        engine.dispose()


def processed_count(url: str, group: str) -> int:
    """How many events ``group`` has applied, of every kiosk."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).where(processed_events.c.consumer_group == group)
            return int(conn.execute(query.select_from(processed_events)).scalar_one())
    finally:
        engine.dispose()


def read_kiosk(kiosk: Kiosk) -> KioskFacts:
    q = kiosk.query
    journal = [
        (int(r[0]), str(r[1]), str(r[2]), str(r[3]))
        for r in q("SELECT seq, event_id, type, hash FROM journal ORDER BY seq")
    ]
    lines: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    for seq, sku, qty, unit in q("SELECT seq, sku, qty, unit FROM sale_lines"):
        lines[seq].append((sku, milli(qty), unit))
    tenders: dict[int, Tenders] = defaultdict(dict)
    for seq, kind, amount, tendered, change in q(
        "SELECT seq, type, amount, tendered, change FROM sale_tenders"
    ):
        a, n, t, c = tenders[seq].get(kind, (0, 0, 0, 0))
        tenders[seq][kind] = (a + amount, n + 1, t + tendered, c + change)
    facts: dict[str, SaleFacts] = {}
    for row in q(
        "SELECT seq, event_id, receipt_no, business_day, gross, discount, tax, rounding, due "
        "FROM sales"
    ):
        seq = int(row[0])
        gross, discount, tax, rounding, due = (int(v) for v in row[4:9])
        facts[row[1]] = SaleFacts(
            kiosk.kiosk_id, seq, row[2], row[3], gross, discount, tax, rounding, due,
            line_count=len(lines[seq]), lines=tuple(sorted(lines[seq])), tenders=tenders[seq],
        )  # fmt: skip
    outbox = {
        int(r[0]): (str(r[1]), str(r[2])) for r in q("SELECT seq, event_id, state FROM outbox")
    }
    return KioskFacts(kiosk.kiosk_id, journal, facts, outbox)


def unsettled(kiosks: list[Kiosk]) -> dict[str, dict[str, int]]:
    """Per kiosk, its outbox rows by state, for the kiosks with any row not settled."""
    out = {}
    for kiosk in kiosks:
        states = kiosk.outbox_states()
        if any(state != "settled" for state in states):
            out[kiosk.kiosk_id] = states
    return out


def _diff(what: str, kiosk_side: Mapping[Any, Any], central_side: Mapping[Any, Any]) -> None:
    """Assert equal mappings, naming the first differences."""
    if kiosk_side == central_side:
        return
    missing = [k for k in kiosk_side if k not in central_side]
    extra = [k for k in central_side if k not in kiosk_side]
    wrong = [
        (k, kiosk_side[k], central_side[k])
        for k in kiosk_side
        if k in central_side and kiosk_side[k] != central_side[k]
    ]
    raise AssertionError(
        f"{what}: {len(missing)} missing centrally {missing[:3]}, {len(extra)} extra {extra[:3]}, "
        f"{len(wrong)} differ (key, kiosk, central) {wrong[:3]}"
    )


def check_kiosk(facts: KioskFacts) -> None:
    k = facts.kiosk_id
    seqs = [row[0] for row in facts.journal]
    assert seqs == list(range(1, len(seqs) + 1)), f"{k}: journal seq has a gap: {seqs[:5]}..."
    _diff(f"{k} outbox rows", {s: e for s, e, _t, _h in facts.journal}, {
        s: e for s, (e, _state) in facts.outbox.items()
    })  # fmt: skip
    sale_ids = {e for _s, e, t, _h in facts.journal if t == "sale.completed"}
    assert sale_ids == set(facts.sales), f"{k}: journal sales and sales rows differ"
    assert all(state == "settled" for _e, state in facts.outbox.values())


def invariant_check(
    kiosks: list[Kiosk],
    central_url: str,
    *,
    timeout: float = 60.0,
    dead: Mapping[tuple[str, str], int] | None = None,
    diagnostics: Callable[[], str] | None = None,
) -> InvariantReport:
    """Wait for every outbox row to settle, then assert the invariant (module docstring).
    ``dead``: the dead letters expected, as (group, reason code) -> rows."""
    started = time.monotonic()
    wait_until(
        lambda: not unsettled(kiosks),
        timeout,
        "every outbox row settled",
        lambda: f"unsettled: {unsettled(kiosks)}\n{diagnostics() if diagnostics else ''}",
        interval=0.1,
    )
    settle_s = time.monotonic() - started
    facts = {k.kiosk_id: read_kiosk(k) for k in kiosks}
    for kiosk_facts in facts.values():
        check_kiosk(kiosk_facts)
    for kiosk in kiosks:
        run_cli(kiosk_cli("db", "check", "--config", str(kiosk.config)))
    engine = create_engine(central_url)
    try:
        with engine.connect() as conn:
            _check_central(conn, facts, dict(dead or {}))
    finally:
        engine.dispose()
    totals = {k: _totals(f) for k, f in facts.items()}
    return InvariantReport({k: len(f.journal) for k, f in facts.items()}, totals, settle_s)


def _totals(facts: KioskFacts) -> Totals:
    t = Totals()
    for sale in facts.sales.values():
        t.sales += 1
        t.gross += sale.gross
        t.discount += sale.discount
        t.tax += sale.tax
        t.rounding += sale.rounding
        t.due += sale.due
        for kind, (amount, _n, _t, _c) in sale.tenders.items():
            t.tenders[kind] += amount
    return t


def _check_central(
    conn: Any, facts: dict[str, KioskFacts], dead: dict[tuple[str, str], int]
) -> None:
    all_sales = {e: s for f in facts.values() for e, s in f.sales.items()}
    # Every event exactly once per group, nothing else, the chain at the last seq.
    for group in GROUPS:
        rows = conn.execute(
            select(
                processed_events.c.kiosk_id,
                processed_events.c.seq,
                processed_events.c.event_id,
                processed_events.c.hash,
            ).where(processed_events.c.consumer_group == group)
        ).all()
        seen = Counter((r.kiosk_id, r.seq) for r in rows)
        twice = [key for key, n in seen.items() if n > 1]
        assert not twice, f"{group} applied some seqs more than once: {twice[:5]}"
        central = {(r.kiosk_id, r.seq): (r.event_id, r.hash) for r in rows}
        expected = {
            (k, seq): (event_id, digest)
            for k, f in facts.items()
            for seq, event_id, _t, digest in f.journal
        }
        _diff(f"{group} processed events", expected, central)
        chains = {
            r.kiosk_id: (r.contiguous_seq, r.contiguous_hash)
            for r in conn.execute(
                select(kiosk_chain).where(kiosk_chain.c.consumer_group == group)
            ).all()
        }
        want = {k: (f.journal[-1][0], f.journal[-1][3]) for k, f in facts.items() if f.journal}
        _diff(f"{group} contiguous seq per kiosk", want, chains)

    # Finance: the sales rows and each sale's ledger.
    central_sales = {
        r.event_id: SaleFacts(
            r.kiosk_id, r.seq, r.receipt_no, r.business_day, r.gross, r.discount, r.tax,
            r.rounding, r.due, r.line_count, (), {},
        )
        for r in conn.execute(select(sales)).all()
    }  # fmt: skip
    _diff(
        "finance sales (receipt, day, gross, discount, tax, rounding, due, lines)",
        {e: _strip(s) for e, s in all_sales.items()},
        central_sales,
    )
    ledger: dict[str, dict[tuple[str, str, str], tuple[int, int]]] = defaultdict(dict)
    for r in conn.execute(select(ledger_lines)).all():
        key = (r.account, r.code, r.side)
        amount, count = ledger[r.event_id].get(key, (0, 0))
        ledger[r.event_id][key] = (amount + r.amount, count + r.count)
    assert set(ledger) == set(all_sales), (
        f"ledger events differ from the kiosks' sales: {len(set(ledger) ^ set(all_sales))} "
        "events on one side only"
    )
    for event_id, sale in all_sales.items():
        _check_ledger(event_id, sale, ledger[event_id])

    # Inventory: one movement per sale line; stock on hand = minus what was sold.
    moves: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for r in conn.execute(select(stock_movements)).all():
        assert r.kind == "sale", f"an unexpected stock movement: {r.kind} {r.movement_id}"
        moves[r.event_id].append((r.sku, -r.qty_milli, r.unit))
    _diff(
        "inventory movements per sale (sku, qty, unit)",
        {e: s.lines for e, s in all_sales.items()},
        {e: tuple(sorted(m)) for e, m in moves.items()},
    )
    sold: Counter[str] = Counter()
    for sale in all_sales.values():
        for sku, qty, _unit in sale.lines:
            sold[sku] -= qty
    on_hand = {
        r.sku: r.on_hand_milli
        for r in conn.execute(select(stock_items).where(stock_items.c.store_id == STORE)).all()
    }
    _diff("stock on hand per SKU", dict(sold), on_hand)

    found = [(r.kind, r.kiosk_id, r.seq, r.detail) for r in conn.execute(select(discrepancies))]
    assert not found, f"discrepancies recorded: {found[:5]}"
    parked = Counter(
        (r.consumer_group, r.reason_code) for r in conn.execute(select(dead_letters)).all()
    )
    assert dict(parked) == dead, f"dead letters {dict(parked)}, expected {dead}"


def _strip(sale: SaleFacts) -> SaleFacts:
    return SaleFacts(
        sale.kiosk_id, sale.seq, sale.receipt_no, sale.business_day, sale.gross, sale.discount,
        sale.tax, sale.rounding, sale.due, sale.line_count, (), {},
    )  # fmt: skip


def _check_ledger(
    event_id: str, sale: SaleFacts, lines: dict[tuple[str, str, str], tuple[int, int]]
) -> None:
    where = f"ledger of {sale.kiosk_id} seq {sale.seq} ({event_id})"
    tenders = {
        code: (amount, count) for (acc, code, _side), (amount, count) in lines.items()
        if acc == "tender"
    }  # fmt: skip
    assert tenders == {k: (a, n) for k, (a, n, _t, _c) in sale.tenders.items()}, (
        f"{where}: tenders {tenders} != kiosk {sale.tenders}"
    )
    for memo, index in (("tendered", 2), ("change", 3)):
        got = {code: a for (acc, code, _s), (a, _n) in lines.items() if acc == memo}
        # The event carries what was handed over and given back for cash only.
        want = {k: v[index] for k, v in sale.tenders.items() if v[index] and k == "cash"}
        assert got == want, f"{where}: {memo} {got} != kiosk {want}"
    debit = sum(a for (_acc, _c, side), (a, _n) in lines.items() if side == "debit")
    credit = sum(a for (_acc, _c, side), (a, _n) in lines.items() if side == "credit")
    assert debit == credit == sale.due, f"{where}: debit {debit}, credit {credit}, due {sale.due}"
    tax = sum(a for (acc, _c, _s), (a, _n) in lines.items() if acc == "tax")
    assert tax == sale.tax, f"{where}: tax {tax} != kiosk {sale.tax}"
