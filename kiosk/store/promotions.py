"""The imported promotion rules and the coupon redemptions in kiosk.db (adapter).

``import_promotions`` (the ``kiosk promo import`` CLI, main thread) reads a promotion file,
validates it with ``kiosk.promotions.parse_promotions``, refuses a currency that is not the
store's, and replaces the stored rules in one transaction: a bad file keeps the old rules.

``SqlitePromotions`` (``kiosk.ports.Promotions``) is read on the lane thread: ``current()`` gives
the ``RuleSet`` of the stored rules, parsed once per stored version (the digest of the text);
``on_load`` runs after a new rule set is parsed (the composition root passes ``gc.freeze``, as
docs/promotions.md advises). Coupon redemptions are written by ``write_coupon_redemptions``
inside ``SqliteLaneStore.complete_sale``'s transaction (with a ``coupon_redeemed`` audit row
each), keyed on (code, rule, sale): a recorded sale always has its coupon uses, a crash can
never lose them, and a retried completion never counts a coupon twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import sqlite_utils

from kiosk.promotions import PromotionFormatError, RuleSet, parse_promotions
from kiosk.sale import CompletedSale
from kiosk.store.db import translate_errors, write_transaction

Format = Literal["json", "toml"]


@dataclass(frozen=True, slots=True)
class PromotionsImport:
    """What ``import_promotions`` stored."""

    version: str
    currency: str
    promotions: int
    replaced: str | None  # the version it replaced, None when there were no rules


def file_format(path: str) -> Format:
    """``json`` or ``toml`` from the file name; anything else is refused."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".toml":
        return "toml"
    raise PromotionFormatError(
        None, "(file)", f"{path}: a promotion file ends in .json or .toml, not {suffix!r}"
    )


def parse_checked(text: str, fmt: Format, currency: str) -> RuleSet:
    """The rule set of ``text``; refused when its currency is not the store's ``currency``."""
    rules = parse_promotions(text, fmt)
    if rules.currency != currency:
        raise PromotionFormatError(
            None,
            "currency",
            f"the file's currency {rules.currency} is not the store's currency {currency}",
        )
    return rules


def import_promotions(
    db: sqlite_utils.Database, path: str, currency: str, now: datetime | None = None
) -> PromotionsImport:
    """Validate the promotion file at ``path`` and make it the stored rules (all or nothing)."""
    fmt = file_format(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromotionFormatError(None, "(file)", f"cannot read {path}: {exc}") from exc
    rules = parse_checked(text, fmt, currency)
    at = (now or datetime.now(UTC)).isoformat()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with translate_errors(), write_transaction(db.conn) as conn:
        row = conn.execute("SELECT version FROM promotion_rules WHERE id = 1").fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO promotion_rules "
            "(id, version, currency, format, body, digest, imported_at) "
            "VALUES (1, ?, ?, ?, ?, ?, ?)",
            (rules.version, rules.currency, fmt, text, digest, at),
        )
    return PromotionsImport(
        rules.version, rules.currency, len(rules.rules), str(row[0]) if row else None
    )


class SqlitePromotions:
    """``kiosk.ports.Promotions`` over ``promotion_rules`` and ``coupon_redemptions``."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        currency: str,
        on_load: Callable[[], None] | None = None,
    ) -> None:
        self._conn = db.conn
        self._currency = currency
        self._on_load = on_load
        self._digest: str | None = None
        self._rules: RuleSet | None = None
        self.loads = 0  # how many times a rule set was parsed (once per stored version)

    def current(self) -> RuleSet | None:
        """The stored rules, parsed once per stored version; None when none were imported."""
        with translate_errors():
            row = self._conn.execute("SELECT digest FROM promotion_rules WHERE id = 1").fetchone()
            if row is None:
                self._digest, self._rules = None, None
                return None
            if row[0] == self._digest:
                return self._rules
            full = self._conn.execute(
                "SELECT digest, format, body FROM promotion_rules WHERE id = 1"
            ).fetchone()
        digest, fmt, body = str(full[0]), str(full[1]), str(full[2])
        self._rules = parse_checked(body, "toml" if fmt == "toml" else "json", self._currency)
        self._digest = digest
        self.loads += 1
        if self._on_load is not None:
            self._on_load()
        return self._rules

    def coupon_uses(self, codes: Iterable[str]) -> dict[str, int]:
        """Sales that redeemed each code so far."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        marks = ", ".join("?" for _ in wanted)
        with translate_errors():
            rows = self._conn.execute(
                "SELECT code, count(DISTINCT sale_id) FROM coupon_redemptions "
                f"WHERE code IN ({marks}) GROUP BY code",
                wanted,
            ).fetchall()
        return {str(code): int(n) for code, n in rows}

    def member_coupon_uses(self, member_id: str) -> dict[str, int]:
        """Promotion id -> sales of this member that redeemed one of its coupons."""
        with translate_errors():
            rows = self._conn.execute(
                "SELECT rule_id, count(DISTINCT sale_id) FROM coupon_redemptions "
                "WHERE member_id = ? GROUP BY rule_id",
                (member_id,),
            ).fetchall()
        return {str(rule): int(n) for rule, n in rows}

    def record_redeemed(
        self,
        sale_id: str,
        member_id: str | None,
        redeemed: Mapping[str, Iterable[str]],
        at: str,
    ) -> None:
        """The coupons (code -> promotion ids) a recorded sale redeemed; idempotent per sale."""
        rows = [
            (code, rule_id, sale_id, member_id, at)
            for code, rule_ids in sorted(redeemed.items())
            for rule_id in rule_ids
        ]
        if not rows:
            return
        with translate_errors(), write_transaction(self._conn) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO coupon_redemptions (code, rule_id, sale_id, member_id, at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )


def write_coupon_redemptions(conn: sqlite3.Connection, sale: CompletedSale) -> None:
    """Record the coupons ``sale`` redeemed and audit each (``coupon_redeemed``). Call inside
    the sale's transaction; idempotent per (code, rule, sale)."""
    rows = [
        (code, rule_id, sale.sale_id, sale.member_id, sale.occurred_at)
        for code, rule_ids in sale.redeemed_coupons
        for rule_id in rule_ids
    ]
    if not rows:
        return
    conn.executemany(
        "INSERT OR IGNORE INTO coupon_redemptions (code, rule_id, sale_id, member_id, at) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO audit (kind, detail) VALUES ('coupon_redeemed', ?)",
        [
            (
                json.dumps(
                    {"sale_id": sale.sale_id, "code": code, "rules": list(rule_ids)},
                    ensure_ascii=False,
                    separators=(",", ":"),
                ),
            )
            for code, rule_ids in sale.redeemed_coupons
        ],
    )
