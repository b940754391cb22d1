"""The crash checks: each compares what the lane acknowledged (a ``Ledger``) or showed (a view)
with what kiosk.db holds (``StoreFacts``) and returns the problems it finds, an empty list when
everything held.

After each kill (``store_problems``, ``payment_problems``): every sale reported complete present
exactly once with the reported seq, receipt number and hash and its outbox row, every recorded
sale one the shopper made with exactly the lines acknowledged for it, each intent in at most one
tender, tenders adding up to what was due, every approved intent counted in its sale or in the
open basket.

After each restart, on the first view (``restore_problems``, ``view_problems``,
``unknown_payment_problems``): the basket acknowledged before the kill is there (lines,
quantities, tenders, interventions), changed at most by the one command that was in flight, or
that command completed the sale; no line that was never scanned; totals add up; every intent
whose outcome is unknown is exactly one payment_unknown intervention; no basket is left fully
paid but unrecorded.

Pure functions; called from whichever harness thread holds the ledger.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal

from tests.crash.faults import Event
from tests.crash.ledger import Ledger
from tests.crash.shopper import Codes
from tests.crash.store_facts import Intent, StoreFacts

# In-flight commands that change nothing the lane saves (staff sessions are not saved).
NEUTRAL = frozenset({"view", "sim", "staff_login", "staff_logout"})
MODE_CHANGERS = frozenset(
    {"scan", "new_sale", "pay", "cash", "clear", "cancel_sale", "cancel_payment"}
)
CLOSERS = frozenset({"clear", "cash", "cancel_sale", "cancel_payment", "void_line", "remove_line"})
PAYERS = frozenset({"pay", "cash", "clear"})


def sold_lines(lines: Sequence[Event]) -> list[tuple[int, str, Decimal, int]]:
    return [
        (ln["line"], ln["sku"], Decimal(ln["qty"]), ln["amount"])
        for ln in lines
        if not ln["voided"]
    ]


def view_problems(view: Event, where: str) -> list[str]:
    """Totals agree with the lines and tenders (tax-inclusive demo store)."""
    totals = view["totals"]
    active = [ln for ln in view["lines"] if not ln["voided"]]
    figures = {
        "gross": (sum(ln["gross"] for ln in active), totals["gross"]),
        "due": (sum(ln["amount"] for ln in active) + totals["cash_rounding"], totals["due"]),
        "paid": (sum(t["amount"] for t in view["tenders"]), totals["paid"]),
        "remaining": (totals["due"] - totals["paid"], totals["remaining"]),
    }
    return [
        f"{where}: totals.{name} is {shown} but the lines and tenders give {summed}"
        for name, (summed, shown) in figures.items()
        if summed != shown
    ]


def store_problems(facts: StoreFacts, ledger: Ledger) -> list[str]:
    """Sales and payments in kiosk.db against what the lane acknowledged."""
    problems = list(facts.problems)
    problems += [
        f"sale {sid} is in the sales table {n} times"
        for sid, n in facts.sales_per_id.items()
        if n > 1
    ]
    for sid, event in ledger.reported.items():
        row = facts.sales.get(sid)
        if row is None:
            problems.append(
                f"sale {sid} was reported complete (seq {event['seq']}, {event['receipt_no']}) "
                "but is not in the sales table"
            )
            continue
        seq, receipt_no, _, _ = row
        if (seq, receipt_no) != (event["seq"], event["receipt_no"]):
            problems.append(
                f"sale {sid} was reported as seq {event['seq']} {event['receipt_no']} but is "
                f"recorded as seq {seq} {receipt_no}"
            )
        if facts.journal.get(seq) != event["hash"]:
            problems.append(f"seq {seq}: journal hash differs from the reported {event['hash']}")
        if seq not in facts.outbox:
            problems.append(f"seq {seq}: reported sale has no outbox row")
    for sid, (seq, _, _, _) in facts.sales.items():
        basket = ledger.baskets.get(sid)
        if basket is None:
            problems.append(f"seq {seq} records sale {sid}, which the lane never showed")
        elif sold_lines(basket) != facts.lines.get(seq, []):
            problems.append(
                f"seq {seq}: recorded lines {facts.lines.get(seq, [])} are not the acknowledged "
                f"basket {sold_lines(basket)}"
            )
    return problems + payment_problems(facts)


def payment_problems(facts: StoreFacts) -> list[str]:
    """No payment counted twice, none taken without being counted."""
    problems = [
        f"intent {intent} is a tender {n} times"
        for intent, n in Counter(t[2] for t in facts.tenders).items()
        if n > 1
    ]
    sale_of_seq = {row[0]: sid for sid, row in facts.sales.items()}
    counted: dict[str, set[str]] = defaultdict(set)
    paid: Counter[int] = Counter()
    for seq, kind, intent_id, amount in facts.tenders:
        sid = sale_of_seq.get(seq, "?")
        counted[sid].add(intent_id)
        paid[seq] += amount
        intent = facts.intents.get(intent_id)
        if intent != Intent(sid, kind, amount, "approved"):
            problems.append(
                f"seq {seq}: tender {kind} {amount} of intent {intent_id} does not match its "
                f"recorded intent {intent}"
            )
    for seq, _, due, sale_paid in facts.sales.values():
        if not paid[seq] == sale_paid == due:
            problems.append(f"seq {seq}: tenders {paid[seq]}, paid {sale_paid}, due {due}")
    snap = facts.snapshot
    basket_intents = {t["intent_id"]: t for t in snap.get("tenders", [])}
    for intent_id, intent in facts.intents.items():
        if intent.status != "approved":
            continue
        if intent.sale_id in facts.sales:
            if intent_id not in counted[intent.sale_id]:
                problems.append(
                    f"approved intent {intent_id} ({intent.method} {intent.amount}) is not a "
                    f"tender of its sale seq {facts.sales[intent.sale_id][0]}"
                )
        elif snap.get("sale_id") != intent.sale_id or intent_id not in basket_intents:
            problems.append(
                f"approved intent {intent_id} ({intent.method} {intent.amount}) belongs to sale "
                f"{intent.sale_id}, which is neither recorded nor the open basket: money taken "
                "for no sale"
            )
    for intent_id in basket_intents:
        intent = facts.intents.get(intent_id)
        if intent is None or intent.status != "approved" or intent.sale_id != snap.get("sale_id"):
            problems.append(f"the open basket counts intent {intent_id}, recorded as {intent}")
    return problems


def restore_problems(ledger: Ledger, view: Event, facts: StoreFacts, codes: Codes) -> list[str]:
    """The view after a restart against the view acknowledged before the kill."""
    before, command = ledger.ack, ledger.inflight
    cmd = command["cmd"] if command and command["cmd"] not in NEUTRAL else None
    problems = view_problems(view, "restored view")
    if view["mode"] == "out_of_service":
        problems.append(f"restored lane is out of service: {view['out_of_service']}")
    problems += unknown_payment_problems(view, facts)
    if view["mode"] == "paying" and view["totals"]["remaining"] <= 0:
        problems.append(
            f"restored sale {view['sale_id']} is fully paid ({view['totals']['paid']}) but not "
            "recorded, and the lane offers no way to complete it"
        )
    for event in ledger.inflight_events:
        if event["event"] == "item_added" and not any(
            ln["line"] == event["line"] and ln["sku"] == event["sku"] for ln in view["lines"]
        ):
            problems.append(f"line {event['line']} ({event['sku']}) was reported added but is lost")
    if before is not None and cmd not in MODE_CHANGERS and view["mode"] != before["mode"]:
        problems.append(f"mode {before['mode']} became {view['mode']} with {cmd} in flight")
    if before is None or before["mode"] not in ("scanning", "paying"):
        if view["sale_id"] is not None:
            problems += new_sale_problems(view, facts, command, codes)
        elif view["lines"]:
            problems.append(f"lines {view['lines']} appeared without a sale")
        return problems
    open_sale = before["sale_id"]
    if open_sale in facts.sales:
        if cmd not in PAYERS:
            problems.append(f"sale {open_sale} was recorded with {cmd} in flight")
        if view["mode"] != "complete" or view["lines"]:
            problems.append(f"sale {open_sale} is recorded but the lane shows {view['mode']}")
        return problems
    if view["sale_id"] != open_sale:
        if not (cmd == "cancel_sale" and view["sale_id"] is None and not view["lines"]):
            problems.append(f"open sale {open_sale} came back as {view['sale_id']}")
        return problems
    problems += line_problems(before["lines"], view["lines"], command, codes)
    kept = Counter((t["type"], t["amount"]) for t in before["tenders"])
    now = Counter((t["type"], t["amount"]) for t in view["tenders"])
    if kept - now:
        problems.append(f"acknowledged tenders {dict(kept - now)} lost")
    if now - kept and cmd not in PAYERS:
        problems.append(f"tenders {dict(now - kept)} appeared with {cmd} in flight")
    if cmd not in CLOSERS:
        still = {i["intervention"] for i in view["interventions"]}
        lost = [i["reason"] for i in before["interventions"] if i["intervention"] not in still]
        if lost:
            problems.append(f"open interventions {lost} lost with {cmd} in flight")
    return problems


def unknown_payment_problems(view: Event, facts: StoreFacts) -> list[str]:
    """Each intent of unknown outcome is shown once as payment_unknown, and only those are."""
    shown = Counter(
        str(i["detail"].get("intent"))
        for i in view["interventions"]
        if i["reason"] == "payment_unknown"
    )
    problems = []
    for intent_id, intent in facts.intents.items():
        if intent.status in ("pending", "unknown") and shown[intent_id] != 1:
            problems.append(
                f"intent {intent_id} ({intent.method} {intent.amount}) is {intent.status} after "
                f"restart but shown {shown[intent_id]} times as payment_unknown"
            )
    for intent_id in shown:
        found = facts.intents.get(intent_id)
        if found is None or found.status not in ("pending", "unknown"):
            problems.append(
                f"payment_unknown is open for intent {intent_id} recorded as "
                f"{found.status if found else 'missing'}: resolving it again could count it twice"
            )
    return problems


def expected_sku(command: Event | None, codes: Codes) -> str | None:
    if command is None or command["cmd"] != "scan":
        return None
    return codes.sku_of.get(command["code"])


def new_sale_problems(
    view: Event, facts: StoreFacts, command: Event | None, codes: Codes
) -> list[str]:
    sku = expected_sku(command, codes)
    if command is None or command["cmd"] != "scan":
        return [f"sale {view['sale_id']} appeared with {command} in flight"]
    if view["sale_id"] in facts.sales:
        return [f"a sale started by a scan in flight is already recorded: {view['sale_id']}"]
    lines = [(ln["line"], ln["sku"]) for ln in view["lines"]]
    if lines not in ([], [(1, sku)]):
        return [f"a new sale started by scanning {command['code']} holds {lines}"]
    return []


def line_problems(
    before: Sequence[Event], after: Sequence[Event], command: Event | None, codes: Codes
) -> list[str]:
    """Acknowledged lines all kept; changed or added only as the in-flight command could."""
    cmd = command["cmd"] if command else None
    sku = expected_sku(command, codes)
    old = {ln["line"]: ln for ln in before}
    new = {ln["line"]: ln for ln in after}
    problems = [f"acknowledged line {n} ({old[n]['sku']}) lost" for n in old if n not in new]
    scan_effects = 0
    for n in sorted(set(old) & set(new)):
        a, b = old[n], new[n]
        if (a["sku"], a["unit_price"]) != (b["sku"], b["unit_price"]) or (
            a["voided"] and not b["voided"]
        ):
            problems.append(f"line {n} changed from {a} to {b}")
            continue
        if Decimal(b["qty"]) != Decimal(a["qty"]):
            if sku == a["sku"] and Decimal(b["qty"]) == Decimal(a["qty"]) + 1:
                scan_effects += 1
            else:
                problems.append(
                    f"line {n} qty {a['qty']} came back as {b['qty']} with {cmd} in flight"
                )
        if b["voided"] and not a["voided"] and cmd not in ("void_line", "remove_line", "clear"):
            problems.append(f"line {n} ({a['sku']}) came back voided with {cmd} in flight")
    for n in sorted(set(new) - set(old)):
        if sku is None or new[n]["sku"] != sku or n != max(old, default=0) + 1:
            problems.append(
                f"line {n} ({new[n]['sku']}) was never acknowledged and {command} could not add it"
            )
        scan_effects += 1
    if scan_effects > 1:
        problems.append(f"one scan in flight ({command}) changed {scan_effects} lines")
    return problems
