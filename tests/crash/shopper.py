"""The seeded shopper of a crash run: ``Codes`` (what can be scanned, from the demo catalog) and
``Shopper``, which picks the next command from the last acknowledged view as a customer and an
attendant would. The same seed gives the same choices for the same views.

Called from the thread running a ``CrashRun`` (and ``Codes.load`` from any harness thread).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import kiosk
from tests.crash.faults import Event

ATTENDANT_BADGE = "ST0001"
WALLET_CODE = "134567890123456789"
WEIGHED = {"2110001012501": "100003", "2110002008503": "100011", "2010001008736": "100003"}
PLAIN = ("6921168509256", "6918473200565", "6918473201579", "6950318800233", "6931189000410")
PLAIN_MORE = ("6908876500195", "6926007701082", "6926007702072")
AGE_RESTRICTED = ("6935284410013", "6942103700125")
NO_LINE = ("6904552100369", "6900000000007")  # not for sale; unknown


@dataclass(frozen=True)
class Codes:
    """What to scan, from the demo catalog; ``sku_of`` maps a code to the sku it adds."""

    sku_of: Mapping[str, str]
    catalog: tuple[str, ...]

    @classmethod
    def load(cls) -> Codes:
        path = Path(kiosk.__file__).parent / "demo" / "catalog.csv"
        sku_of: dict[str, str] = dict(WEIGHED)
        catalog: list[str] = []
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                gtins = [g for g in row["gtins"].split("|") if g]
                if row["not_for_sale"] == "1" or not gtins:
                    continue
                sku_of.update(dict.fromkeys(gtins, row["sku"]))
                if row["age_limit"] == "0" and row["quantity_limit"] == "0":
                    catalog.append(gtins[0])
        missing = [c for c in (*PLAIN, *PLAIN_MORE, *AGE_RESTRICTED) if c not in sku_of]
        if missing:
            raise RuntimeError(f"{path} no longer sells the well-known codes {missing}")
        return cls(sku_of, tuple(catalog))


class Shopper:
    """Chooses the next command from the last acknowledged view, as a customer and an attendant
    would. Seeded. What it told the payment simulator lasts one life (a killed lane forgets)."""

    def __init__(self, rng: random.Random, codes: Codes) -> None:
        self.rng = rng
        self.codes = codes
        self.queue: list[Event] = []
        self.target = 1
        self.told: dict[str, str] = {}  # intent id -> what the simulator was scripted to do
        self._scripted: str | None = None
        self._refs = 0

    def new_life(self) -> None:
        self.queue.clear()
        self._scripted = None

    def saw(self, events: Sequence[Event]) -> None:
        for event in events:
            if event["event"] == "payment_processing":
                self.told[event["intent"]] = self._scripted or "approved"
                self._scripted = None

    def next(self, view: Event) -> Event:
        if self.queue:
            return self.queue.pop(0)
        rng = self.rng
        mode = view["mode"]
        staff = view["attendant"] is not None
        login: Event = {"cmd": "staff_login", "badge": ATTENDANT_BADGE}
        opened = view["interventions"]
        waiting = [i for i in opened if i["blocking"] and i["reason"] != "cash_payment"]
        if mode == "out_of_service":
            return {"cmd": "view"}
        if waiting:
            return self._clear(waiting[0]) if staff else login
        if mode == "paying":
            if any(i["reason"] == "cash_payment" for i in opened):
                if not staff:
                    return login
                return {"cmd": "cash", "tendered": self._tender(view["totals"]["remaining"])}
            if not view["tenders"] and rng.random() < 0.1:
                return {"cmd": "cancel_payment"}
            return self._pay()
        if mode == "scanning":
            active = [ln for ln in view["lines"] if not ln["voided"]]
            roll = rng.random()
            if active and roll < 0.03:
                return {"cmd": "remove_line", "line": rng.choice(active)["line"]}
            if active and roll < 0.06:
                return {"cmd": "void_line", "line": rng.choice(active)["line"]} if staff else login
            if roll < 0.08 and not view["tenders"]:
                return {"cmd": "cancel_sale"} if staff else login
            return self._scan() if len(active) < self.target else self._pay()
        if mode == "complete" and rng.random() < 0.4:
            return {"cmd": "new_sale"}
        self.target = rng.randint(1, 5)
        return self._scan()

    def _scan(self) -> Event:
        roll = self.rng.random()
        if roll < 0.45:
            pool: Sequence[str] = PLAIN
        elif roll < 0.55:
            pool = PLAIN_MORE
        elif roll < 0.75:
            pool = self.codes.catalog
        elif roll < 0.87:
            pool = AGE_RESTRICTED
        elif roll < 0.96:
            pool = tuple(WEIGHED)
        else:
            pool = NO_LINE
        return {"cmd": "scan", "code": self.rng.choice(pool)}

    def _clear(self, item: Event) -> Event:
        rng = self.rng
        command: Event = {"cmd": "clear", "intervention": item["intervention"]}
        reason = item["reason"]
        if reason == "age_check":
            approve = rng.random() < 0.85
        elif reason == "void":
            approve = True
        elif reason == "payment_unknown":
            told = self.told.get(str(item["detail"].get("intent")))
            # An honest attendant: approve what the terminal did charge. After a kill nobody
            # knows (the simulator forgot), so either answer is fair.
            approve = told == "late" if told else rng.random() < 0.5
            if approve:
                self._refs += 1
                command["ref"] = f"T-H{self._refs:06d}"
        else:
            approve = False
        command["resolution"] = "approve" if approve else "reject"
        return command

    def _pay(self) -> Event:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return {"cmd": "pay", "method": "cash"}
        if roll < 0.42:
            pay: Event = {"cmd": "pay", "method": "wallet", "code": WALLET_CODE}
            if rng.random() < 0.8:
                self._scripted = "approved"
                return pay
            self._scripted = "declined"
            self.queue = [pay]
            return {"cmd": "sim", "action": "wallet.next", "outcome": "declined"}
        pay = {"cmd": "pay", "method": "card"}
        roll = rng.random()
        if roll < 0.4:
            self._scripted = "approved"
            return pay
        script: Event = {"cmd": "sim", "action": "terminal.next"}
        if roll < 0.55:  # the terminal takes 10 ms: a wider window to be killed mid-charge
            self._scripted, script["outcome"], script["delay_s"] = "approved", "approved", 0.01
        elif roll < 0.67:
            self._scripted, script["outcome"] = "declined", "declined"
        elif roll < 0.8:
            self._scripted, script["outcome"], script["delay_s"] = "timeout", "timeout", 0
        elif roll < 0.92:  # approved at the terminal after the kiosk gave up waiting
            self._scripted, script["outcome"], script["delay_s"] = "late", "approved", 0.05
        else:
            self._scripted, script["outcome"] = "disconnected", "disconnected"
        self.queue = [pay]
        return script

    def _tender(self, remaining: int) -> int:
        roll = self.rng.random()
        if roll < 0.1 and remaining >= 20:
            return remaining // 2  # split tender: the rest is paid another way
        if roll < 0.5:
            return -(-remaining // 10) * 10  # exact after cash rounding
        return (remaining // 10000 + 1) * 10000  # a banknote
