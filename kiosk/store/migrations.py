"""Numbered schema migrations for kiosk.db; ``PRAGMA user_version`` holds the version.

Called once at start (``kiosk run``, ``kiosk sim``, ``kiosk sync``, CLI commands) on the
caller's thread. ``migrate(db)`` applies each missing migration in its own ``BEGIN IMMEDIATE``
transaction together with the new ``user_version``, so a crash leaves the schema at a whole
version, and two processes starting together apply each migration once. A kiosk.db written by
newer software (a higher version than ``SCHEMA_VERSION``) is refused with ``SchemaTooNew``.

Schema notes:

- ``products.id`` is an explicit INTEGER PRIMARY KEY (``sku`` is UNIQUE) because the FTS5
  index ``products_fts`` is an external-content index keyed by it (an implicit rowid could be
  renumbered by VACUUM). ``products.search_text`` holds every name, one per line;
  ``products.gtins`` the product's GTINs joined by ``|`` (read with the product);
  ``products.pinyin`` (version 9) the pinyin keys of its Chinese names, indexed by
  ``products_pinyin_fts`` (``kiosk.store.pinyin_keys``).
- ``product_gtins`` maps a 14-digit GTIN to ``products.id`` (WITHOUT ROWID, the GTIN is the
  key): a scan costs two B-tree descents, gtin -> id -> product, whatever the catalog size.
- ``products_fts`` uses the ``trigram`` tokenizer (SQLite 3.34+), which finds any substring of
  3 characters or more in any script, Chinese included. Shorter queries (``可乐``) are answered
  by a LIKE scan (``kiosk.store.catalog``). On an SQLite without trigram the index falls back to
  ``unicode61`` (word search; CJK then relies on the LIKE scan); the choice is recorded in
  ``kiosk_state`` as ``fts_tokenizer``.
- The catalog tables carry their constraints inline (no named indexes) because a catalog
  import builds ``*_new`` copies from this DDL and swaps them in by renaming
  (``kiosk.store.catalog_import``).
- ``journal.seq`` is the per-kiosk 64-bit, gap-free event sequence; sales and outbox rows
  share the seq of their journal entry.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Final

import sqlite_utils

from kiosk.errors import SchemaTooNew
from kiosk.store.db import translate_errors, write_transaction
from kiosk.store.pinyin_keys import PINYIN_FTS, fill_keys

logger = logging.getLogger(__name__)

Step = str | Callable[[sqlite3.Connection], None]

_NOW: Final[str] = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"


def _catalog_fts(conn: sqlite3.Connection) -> None:
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE products_fts USING fts5(search_text, content='products', "
            "content_rowid='id', tokenize='trigram')"
        )
        tokenizer = "trigram"
    except sqlite3.OperationalError as exc:
        if "tokenizer" not in str(exc):
            raise
        logger.warning(
            "SQLite %s has no trigram tokenizer; using unicode61", sqlite3.sqlite_version
        )
        conn.execute(
            "CREATE VIRTUAL TABLE products_fts USING fts5(search_text, content='products', "
            "content_rowid='id', tokenize='unicode61')"
        )
        tokenizer = "unicode61"
    conn.execute("INSERT INTO kiosk_state(key, value) VALUES ('fts_tokenizer', ?)", (tokenizer,))


_V1: Final[tuple[Step, ...]] = (
    """CREATE TABLE kiosk_state (
        key TEXT PRIMARY KEY,
        value TEXT
    ) WITHOUT ROWID""",
    """CREATE TABLE products (
        id INTEGER PRIMARY KEY,
        sku TEXT NOT NULL UNIQUE,
        names TEXT NOT NULL,
        price INTEGER NOT NULL CHECK (price >= 0),
        tax_code TEXT NOT NULL,
        unit TEXT NOT NULL CHECK (unit IN ('ea', 'kg')),
        plu TEXT UNIQUE,
        category TEXT NOT NULL DEFAULT '',
        age_limit INTEGER NOT NULL DEFAULT 0,
        not_for_sale INTEGER NOT NULL DEFAULT 0 CHECK (not_for_sale IN (0, 1)),
        quantity_limit INTEGER NOT NULL DEFAULT 0,
        gtins TEXT NOT NULL DEFAULT '',
        search_text TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE product_gtins (
        gtin TEXT PRIMARY KEY CHECK (length(gtin) = 14),
        product_id INTEGER NOT NULL,
        sku TEXT NOT NULL
    ) WITHOUT ROWID""",
    _catalog_fts,
    """CREATE TABLE staff (
        staff_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('attendant', 'supervisor')),
        badge TEXT UNIQUE,
        pin_hash TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    )""",
    """CREATE TABLE members (
        member_id TEXT PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        phone_hash TEXT UNIQUE,
        masked_phone TEXT NOT NULL DEFAULT '',
        level TEXT NOT NULL DEFAULT 'standard',
        name TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE lane (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        snapshot TEXT,
        updated_at TEXT
    )""",
    "INSERT INTO lane (id, snapshot, updated_at) VALUES (1, NULL, NULL)",
    f"""CREATE TABLE payment_intents (
        intent_id TEXT PRIMARY KEY,
        sale_id TEXT NOT NULL,
        method TEXT NOT NULL CHECK (method IN ('card', 'wallet', 'cash')),
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'approved', 'declined', 'unknown', 'cancelled')),
        ref TEXT,
        auth TEXT,
        last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
        detail TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT {_NOW},
        updated_at TEXT NOT NULL DEFAULT {_NOW}
    )""",
    "CREATE INDEX payment_intents_open ON payment_intents (status) "
    "WHERE status IN ('pending', 'unknown')",
    """CREATE TABLE journal (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    """CREATE TABLE sales (
        seq INTEGER PRIMARY KEY REFERENCES journal (seq),
        sale_id TEXT NOT NULL UNIQUE,
        event_id TEXT NOT NULL UNIQUE,
        receipt_no TEXT NOT NULL UNIQUE,
        business_day TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        currency TEXT NOT NULL,
        language TEXT NOT NULL,
        gross INTEGER NOT NULL,
        discount INTEGER NOT NULL,
        tax INTEGER NOT NULL,
        rounding INTEGER NOT NULL,
        due INTEGER NOT NULL,
        paid INTEGER NOT NULL,
        change INTEGER NOT NULL,
        item_count INTEGER NOT NULL,
        member_id TEXT,
        taxes TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX sales_business_day ON sales (business_day)",
    """CREATE TABLE sale_lines (
        seq INTEGER NOT NULL REFERENCES sales (seq),
        line_no INTEGER NOT NULL,
        sku TEXT NOT NULL,
        gtin TEXT,
        name TEXT NOT NULL,
        qty TEXT NOT NULL,
        unit TEXT NOT NULL,
        unit_price INTEGER NOT NULL,
        gross INTEGER NOT NULL,
        discount INTEGER NOT NULL,
        amount INTEGER NOT NULL,
        tax_code TEXT NOT NULL,
        tax INTEGER NOT NULL,
        PRIMARY KEY (seq, line_no)
    ) WITHOUT ROWID""",
    """CREATE TABLE sale_tenders (
        seq INTEGER NOT NULL REFERENCES sales (seq),
        idx INTEGER NOT NULL,
        type TEXT NOT NULL,
        amount INTEGER NOT NULL,
        tendered INTEGER NOT NULL,
        change INTEGER NOT NULL,
        intent_id TEXT NOT NULL,
        ref TEXT,
        auth TEXT,
        last4 TEXT,
        PRIMARY KEY (seq, idx)
    ) WITHOUT ROWID""",
    f"""CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY REFERENCES journal (seq),
        event_id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'settled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT {_NOW},
        sent_at TEXT,
        settled_at TEXT,
        acks TEXT NOT NULL DEFAULT '{{}}'
    )""",
    "CREATE INDEX outbox_unsettled ON outbox (state, seq) WHERE state != 'settled'",
    f"""CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL DEFAULT {_NOW},
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    )""",
)

# Version 2: print jobs. A receipt is queued in the sale's own transaction, so every paid sale
# has exactly one receipt job; a job found 'printing' after a crash becomes 'uncertain' (it may
# have printed) and is never re-sent without an attendant's explicit, audited reprint.
_V2: Final[tuple[Step, ...]] = (
    f"""CREATE TABLE print_jobs (
        job_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('receipt', 'reprint', 'test', 'report')),
        seq INTEGER REFERENCES sales (seq),
        state TEXT NOT NULL DEFAULT 'queued'
            CHECK (state IN ('queued', 'printing', 'done', 'failed', 'uncertain')),
        document TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        requested_by TEXT,
        created_at TEXT NOT NULL DEFAULT {_NOW},
        updated_at TEXT NOT NULL DEFAULT {_NOW}
    )""",
    "CREATE INDEX print_jobs_open ON print_jobs (state, created_at) "
    "WHERE state IN ('queued', 'printing')",
)

# Version 3: the members' points and stored value (kiosk.store.loyalty, docs/loyalty.md) as an
# append-only ledger (a balance is the sum of a member's rows; triggers refuse UPDATE, DELETE
# and a row that would take a balance below zero), and payment intents for the new "points"
# and "stored_value" tenders (the table is rebuilt: SQLite cannot change a CHECK in place).
_V3: Final[tuple[Step, ...]] = (
    f"""CREATE TABLE member_ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT NOT NULL,
        account TEXT NOT NULL CHECK (account IN ('points', 'stored_value')),
        kind TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'credit', 'debit')),
        amount INTEGER NOT NULL
            CHECK (amount != 0 AND (kind IN ('earn', 'credit')) = (amount > 0)),
        business_day TEXT NOT NULL,
        seq INTEGER REFERENCES sales (seq),
        sale_id TEXT,
        reason TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL DEFAULT {_NOW},
        CHECK ((seq IS NULL) = (kind IN ('credit', 'debit'))),
        UNIQUE (sale_id, account, kind)
    )""",
    "CREATE INDEX member_ledger_balance ON member_ledger (member_id, account, amount)",
    "CREATE INDEX member_ledger_redeemed ON member_ledger (member_id, business_day) "
    "WHERE kind = 'redeem'",
    """CREATE TRIGGER member_ledger_no_update BEFORE UPDATE ON member_ledger
    BEGIN SELECT RAISE(ABORT, 'member_ledger is append-only: add a row instead'); END""",
    """CREATE TRIGGER member_ledger_no_delete BEFORE DELETE ON member_ledger
    BEGIN SELECT RAISE(ABORT, 'member_ledger is append-only: add a row instead'); END""",
    """CREATE TRIGGER member_ledger_not_negative AFTER INSERT ON member_ledger
    WHEN (SELECT sum(amount) FROM member_ledger
          WHERE member_id = NEW.member_id AND account = NEW.account) < 0
    BEGIN SELECT RAISE(ABORT, 'member_ledger: the balance would go below zero'); END""",
    f"""CREATE TABLE payment_intents_v3 (
        intent_id TEXT PRIMARY KEY,
        sale_id TEXT NOT NULL,
        method TEXT NOT NULL
            CHECK (method IN ('card', 'wallet', 'cash', 'points', 'stored_value')),
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'approved', 'declined', 'unknown', 'cancelled')),
        ref TEXT,
        auth TEXT,
        last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
        detail TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT {_NOW},
        updated_at TEXT NOT NULL DEFAULT {_NOW}
    )""",
    "INSERT INTO payment_intents_v3 (intent_id, sale_id, method, amount, currency, status, ref, "
    "auth, last4, detail, created_at, updated_at) SELECT intent_id, sale_id, method, amount, "
    "currency, status, ref, auth, last4, detail, created_at, updated_at FROM payment_intents",
    "DROP TABLE payment_intents",
    "ALTER TABLE payment_intents_v3 RENAME TO payment_intents",
    "CREATE INDEX payment_intents_open ON payment_intents (status) "
    "WHERE status IN ('pending', 'unknown')",
)

# Version 4: returns and shifts (kiosk.store.refunds, kiosk.store.shifts, see
# docs/returns-and-shifts.md).
# A refund is a journal event like a sale; refund_lines keeps the refunded quantity of each
# original line (thousandths) so a second refund of the same units is refused; refund_intents
# are the card refunds asked of the terminal, recorded before it is asked; return_draft holds
# the return being built (one row, like lane). At most one shift is open (partial unique index).
_V4_RETURNS_SHIFTS: Final[tuple[Step, ...]] = (
    """CREATE TABLE refunds (
        seq INTEGER PRIMARY KEY REFERENCES journal (seq),
        refund_id TEXT NOT NULL UNIQUE,
        event_id TEXT NOT NULL UNIQUE,
        refund_no TEXT NOT NULL UNIQUE,
        original_seq INTEGER NOT NULL REFERENCES sales (seq),
        original_receipt_no TEXT NOT NULL,
        business_day TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        gross INTEGER NOT NULL,
        discount INTEGER NOT NULL,
        tax INTEGER NOT NULL,
        rounding INTEGER NOT NULL,
        due INTEGER NOT NULL CHECK (due >= 0),
        body TEXT NOT NULL
    )""",
    "CREATE INDEX refunds_original ON refunds (original_seq)",
    """CREATE TABLE refund_lines (
        seq INTEGER NOT NULL REFERENCES refunds (seq),
        line_no INTEGER NOT NULL,
        original_seq INTEGER NOT NULL REFERENCES sales (seq),
        sku TEXT NOT NULL,
        qty_milli INTEGER NOT NULL CHECK (qty_milli > 0),
        gross INTEGER NOT NULL,
        discount INTEGER NOT NULL,
        tax INTEGER NOT NULL,
        PRIMARY KEY (seq, line_no)
    ) WITHOUT ROWID""",
    "CREATE INDEX refund_lines_original ON refund_lines (original_seq, line_no)",
    """CREATE TABLE refund_tenders (
        seq INTEGER NOT NULL REFERENCES refunds (seq),
        idx INTEGER NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('card', 'cash')),
        amount INTEGER NOT NULL CHECK (amount >= 0),
        original_type TEXT NOT NULL,
        tender_idx INTEGER,
        intent_id TEXT NOT NULL,
        original_ref TEXT,
        ref TEXT,
        auth TEXT,
        last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
        PRIMARY KEY (seq, idx)
    ) WITHOUT ROWID""",
    f"""CREATE TABLE refund_intents (
        intent_id TEXT PRIMARY KEY,
        refund_id TEXT NOT NULL,
        tender_idx INTEGER NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        original_ref TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'approved', 'declined', 'unknown', 'cancelled')),
        ref TEXT,
        auth TEXT,
        last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
        detail TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT {_NOW},
        updated_at TEXT NOT NULL DEFAULT {_NOW}
    )""",
    "CREATE INDEX refund_intents_refund ON refund_intents (refund_id)",
    """CREATE TABLE return_draft (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        draft TEXT,
        updated_at TEXT
    )""",
    "INSERT INTO return_draft (id, draft, updated_at) VALUES (1, NULL, NULL)",
    """CREATE TABLE shifts (
        shift_id TEXT PRIMARY KEY,
        number INTEGER NOT NULL UNIQUE,
        per TEXT NOT NULL CHECK (per IN ('kiosk', 'attendant')),
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        opened_at TEXT NOT NULL,
        opened_by TEXT NOT NULL,
        float_amount INTEGER NOT NULL CHECK (float_amount >= 0),
        closed_at TEXT,
        closed_by TEXT,
        counted INTEGER CHECK (counted IS NULL OR counted >= 0),
        first_seq INTEGER,
        last_seq INTEGER,
        close_seq INTEGER UNIQUE REFERENCES journal (seq),
        report TEXT
    )""",
    "CREATE UNIQUE INDEX shifts_one_open ON shifts (status) WHERE status = 'open'",
    """CREATE TABLE cash_movements (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        shift_id TEXT NOT NULL REFERENCES shifts (shift_id),
        kind TEXT NOT NULL CHECK (kind IN ('pickup')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        staff_id TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    )""",
)

# Version 5: the imported promotion rules (one row: the file's text, its version and currency)
# and the coupon redemptions of recorded sales (single-use and per-member limits count them).
_V5_PROMOTIONS: Final[tuple[Step, ...]] = (
    """CREATE TABLE promotion_rules (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version TEXT NOT NULL,
        currency TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('json', 'toml')),
        body TEXT NOT NULL,
        digest TEXT NOT NULL,
        imported_at TEXT NOT NULL
    )""",
    """CREATE TABLE coupon_redemptions (
        code TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        sale_id TEXT NOT NULL,
        member_id TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (code, rule_id, sale_id)
    )""",
    "CREATE INDEX coupon_redemptions_member ON coupon_redemptions (member_id, rule_id)",
)

# Version 6: refunds of sales paid with points or stored value (kiosk.store.loyalty,
# docs/loyalty.md). The member ledger gets the kinds ``refund`` (points or stored value given
# back, +) and ``unearn`` (earned points taken back, -), and its seq is any journal event (a
# refund's too); refund_tenders may be ``points`` or ``stored_value`` and keep the points.
# SQLite cannot change a CHECK: both tables are rebuilt with their rows.
_V6_MEMBER_REFUNDS: Final[tuple[Step, ...]] = (
    f"""CREATE TABLE member_ledger_v6 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT NOT NULL,
        account TEXT NOT NULL CHECK (account IN ('points', 'stored_value')),
        kind TEXT NOT NULL
            CHECK (kind IN ('earn', 'redeem', 'credit', 'debit', 'refund', 'unearn')),
        amount INTEGER NOT NULL
            CHECK (amount != 0 AND (kind IN ('earn', 'credit', 'refund')) = (amount > 0)),
        business_day TEXT NOT NULL,
        seq INTEGER REFERENCES journal (seq),
        sale_id TEXT,
        reason TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL DEFAULT {_NOW},
        CHECK ((seq IS NULL) = (kind IN ('credit', 'debit'))),
        UNIQUE (sale_id, account, kind)
    )""",
    "INSERT INTO member_ledger_v6 (id, member_id, account, kind, amount, business_day, seq, "
    "sale_id, reason, at) SELECT id, member_id, account, kind, amount, business_day, seq, "
    "sale_id, reason, at FROM member_ledger ORDER BY id",
    "DROP TABLE member_ledger",
    "ALTER TABLE member_ledger_v6 RENAME TO member_ledger",
    "CREATE INDEX member_ledger_balance ON member_ledger (member_id, account, amount)",
    "CREATE INDEX member_ledger_redeemed ON member_ledger (member_id, business_day) "
    "WHERE kind = 'redeem'",
    """CREATE TRIGGER member_ledger_no_update BEFORE UPDATE ON member_ledger
    BEGIN SELECT RAISE(ABORT, 'member_ledger is append-only: add a row instead'); END""",
    """CREATE TRIGGER member_ledger_no_delete BEFORE DELETE ON member_ledger
    BEGIN SELECT RAISE(ABORT, 'member_ledger is append-only: add a row instead'); END""",
    """CREATE TRIGGER member_ledger_not_negative AFTER INSERT ON member_ledger
    WHEN (SELECT sum(amount) FROM member_ledger
          WHERE member_id = NEW.member_id AND account = NEW.account) < 0
    BEGIN SELECT RAISE(ABORT, 'member_ledger: the balance would go below zero'); END""",
    """CREATE TABLE refund_tenders_v6 (
        seq INTEGER NOT NULL REFERENCES refunds (seq),
        idx INTEGER NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('card', 'cash', 'points', 'stored_value')),
        amount INTEGER NOT NULL CHECK (amount >= 0),
        original_type TEXT NOT NULL,
        tender_idx INTEGER,
        intent_id TEXT NOT NULL,
        original_ref TEXT,
        ref TEXT,
        auth TEXT,
        last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
        points INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
        PRIMARY KEY (seq, idx)
    ) WITHOUT ROWID""",
    "INSERT INTO refund_tenders_v6 (seq, idx, type, amount, original_type, tender_idx, "
    "intent_id, original_ref, ref, auth, last4) SELECT seq, idx, type, amount, original_type, "
    "tender_idx, intent_id, original_ref, ref, auth, last4 FROM refund_tenders",
    "DROP TABLE refund_tenders",
    "ALTER TABLE refund_tenders_v6 RENAME TO refund_tenders",
)

# Version 7: signed fleet messages (kiosk.sync.signing, kiosk.store.fleet_trust). The fleet
# public keys (the pinned one and those named by key rotations; retire_at in Unix seconds, NULL
# while current), the ids of signed commands seen (kept until they expire: replays are refused)
# and the applied config document of each scope (kiosk, store).
_V7_FLEET_TRUST: Final[tuple[Step, ...]] = (
    f"""CREATE TABLE fleet_keys (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        kid TEXT NOT NULL UNIQUE,
        public_key TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('config', 'rollover')),
        added_at TEXT NOT NULL DEFAULT {_NOW},
        retire_at REAL
    )""",
    f"""CREATE TABLE fleet_tokens (
        jti TEXT PRIMARY KEY,
        exp REAL NOT NULL,
        kind TEXT NOT NULL,
        seen_at TEXT NOT NULL DEFAULT {_NOW}
    ) WITHOUT ROWID""",
    "CREATE INDEX fleet_tokens_exp ON fleet_tokens (exp)",
    f"""CREATE TABLE fleet_config (
        scope TEXT PRIMARY KEY CHECK (scope IN ('kiosk', 'store')),
        config_version INTEGER NOT NULL CHECK (config_version > 0),
        body TEXT NOT NULL,
        jti TEXT NOT NULL,
        kid TEXT NOT NULL,
        applied_at TEXT NOT NULL DEFAULT {_NOW}
    ) WITHOUT ROWID""",
)

# Version 8: catalog categories (kiosk.store.catalog, docs/lane-protocol.md `categories`).
# ``categories`` lists each category with its names (JSON, from the catalog's
# ``category_name_<lang>`` columns), picture file name, number of products for sale and
# position (first line in the catalog file); ``category_products`` is the (category, product
# id) index of the products for sale, so listing and browsing a category never scans
# ``products``. Both are catalog tables: the catalog import rebuilds them and swaps them in.
# An existing catalog is indexed here (names and pictures arrive with the next import).
_V8_CATEGORIES: Final[tuple[Step, ...]] = (
    """CREATE TABLE categories (
        category TEXT PRIMARY KEY CHECK (category != ''),
        names TEXT NOT NULL DEFAULT '{}',
        picture TEXT NOT NULL DEFAULT '',
        count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
        position INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE category_products (
        category TEXT NOT NULL,
        product_id INTEGER NOT NULL,
        PRIMARY KEY (category, product_id)
    ) WITHOUT ROWID""",
    "INSERT INTO category_products (category, product_id) "
    "SELECT category, id FROM products WHERE category != '' AND not_for_sale = 0",
    "INSERT INTO categories (category, count, position) "
    "SELECT category, sum(not_for_sale = 0), min(id) FROM products WHERE category != '' "
    "GROUP BY category",
)


# Version 9: pinyin search (kiosk.store.pinyin_keys, docs/architecture.md). ``products.pinyin``
# holds the pinyin keys of the product's Chinese names, one per line (``niunai``, ``nn``), and
# ``products_pinyin_fts`` indexes them like ``products_fts`` indexes the names (same tokenizer,
# every product: an external-content index must hold every row to pass its integrity check).
# Both are catalog tables the import rebuilds. The keys of
# the catalog already here are computed now, in a child process (pypinyin stays out of the
# kiosk's memory).
def _pinyin_fts(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT value FROM kiosk_state WHERE key = 'fts_tokenizer'").fetchone()
    tokenizer = "trigram" if row is not None and row[0] == "trigram" else "unicode61"
    conn.execute(
        f"CREATE VIRTUAL TABLE {PINYIN_FTS} USING fts5(pinyin, content='products', "
        f"content_rowid='id', tokenize='{tokenizer}')"
    )


def _pinyin_keys(conn: sqlite3.Connection) -> None:
    filled = fill_keys(conn)
    if filled:
        logger.info("pinyin search keys computed for %d products", filled)


_V9_PINYIN: Final[tuple[Step, ...]] = (
    "ALTER TABLE products ADD COLUMN pinyin TEXT NOT NULL DEFAULT ''",
    _pinyin_fts,
    _pinyin_keys,
)

# MIGRATIONS[i] brings the schema from version i to version i + 1.
MIGRATIONS: Final[tuple[tuple[Step, ...], ...]] = (
    _V1,
    _V2,
    _V3,
    _V4_RETURNS_SHIFTS,
    _V5_PROMOTIONS,
    _V6_MEMBER_REFUNDS,
    _V7_FLEET_TRUST,
    _V8_CATEGORIES,
    _V9_PINYIN,
)
SCHEMA_VERSION: Final[int] = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the database (0 for a new, empty file)."""
    with translate_errors():
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def too_new_message(found: int) -> str:
    return (
        f"kiosk.db schema version {found} is newer than this software ({SCHEMA_VERSION}); "
        "upgrade the kiosk software or restore a backup"
    )


def check_version(conn: sqlite3.Connection) -> int:
    """The stored version; raises ``SchemaTooNew`` when it is newer than this code."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(too_new_message(found))
    return found


def _apply(conn: sqlite3.Connection, steps: Sequence[Step]) -> None:
    for step in steps:
        if isinstance(step, str):
            conn.execute(step)
        else:
            step(conn)


def migrate(db: sqlite_utils.Database) -> int:
    """Bring kiosk.db to ``SCHEMA_VERSION``; returns the version. Safe to call every start."""
    conn = db.conn
    if check_version(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    for target in range(1, SCHEMA_VERSION + 1):
        with write_transaction(conn):
            current = check_version(conn)  # re-read under the write lock
            if current >= target:
                continue
            logger.info("migrating kiosk.db from schema %d to %d", current, target)
            _apply(conn, MIGRATIONS[target - 1])
            conn.execute(f"PRAGMA user_version = {target}")
    return SCHEMA_VERSION
