"""The central database schema (SQLAlchemy Core ``MetaData``), one for SQLite and PostgreSQL.

Imported by every module that reads or writes the central database (any thread). Amounts are
integer minor units (``BigInteger``); quantities are integer thousandths of the SKU's unit
(``*_milli``: 1 ea = 1000, 0.512 kg = 512), so no float and no Decimal column exists.

Tables, by consumer (``consumer_group`` scopes the shared ones):

* pipeline, every group: ``processed_events`` (one row per applied event, ``UNIQUE(group,
  event_id)`` and ``UNIQUE(group, kiosk_id, seq)``), ``kiosk_chain`` (per kiosk: last contiguous
  seq and its hash), ``dead_letters`` (parked payloads with the reason), ``discrepancies``.
* inventory: ``stock_items`` (on hand per store and SKU), ``stock_movements``, ``alerts_outbox``.
* finance: ``sales``, ``ledger_lines``, ``shifts``, ``member_movements``.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION: Final = 1

metadata = MetaData()

# An autoincrement key that is INTEGER PRIMARY KEY (rowid) on SQLite and BIGSERIAL on PostgreSQL.
_Id = BigInteger().with_variant(Integer(), "sqlite")

schema_meta = Table(
    "schema_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer_group", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("kiosk_id", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("schema", Text, nullable=False),
    Column("business_day", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("applied_at", Text, nullable=False),
    Column("applied_by", Text, nullable=False),
    PrimaryKeyConstraint("consumer_group", "event_id"),
    UniqueConstraint("consumer_group", "kiosk_id", "seq", name="uq_processed_kiosk_seq"),
)

kiosk_chain = Table(
    "kiosk_chain",
    metadata,
    Column("consumer_group", Text, nullable=False),
    Column("kiosk_id", Text, nullable=False),
    Column("contiguous_seq", BigInteger, nullable=False),
    Column("contiguous_hash", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("consumer_group", "kiosk_id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("consumer_group", Text, nullable=False),
    Column("payload_sha256", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("kiosk_id", Text),
    Column("event_id", Text),
    Column("seq", BigInteger),
    Column("payload", LargeBinary, nullable=False),  # at most the size limit: oversized are cut
    Column("payload_size", BigInteger, nullable=False),
    Column("first_seen", Text, nullable=False),
    Column("last_seen", Text, nullable=False),
    Column("times_seen", BigInteger, nullable=False),
    UniqueConstraint(
        "consumer_group",
        "payload_sha256",
        "topic",
        "reason_code",
        name="uq_dead_letter_payload",
    ),
)

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("consumer_group", Text, nullable=False),
    Column("kind", Text, nullable=False),  # chain | shift | conflict
    Column("kiosk_id", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("seq", BigInteger),
    Column("event_id", Text),
    Column("business_day", Text),
    Column("detail", Text, nullable=False),
    Column("detected_at", Text, nullable=False),
)

# --------------------------------------------------------------------------------- inventory
stock_items = Table(
    "stock_items",
    metadata,
    Column("store_id", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("on_hand_milli", BigInteger, nullable=False),
    Column("low", Boolean, nullable=False),
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("store_id", "sku"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("movement_id", Text, nullable=False, unique=True),
    Column("store_id", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("kind", Text, nullable=False),  # sale | refund | void | receive | adjust | count
    Column("qty_milli", BigInteger, nullable=False),  # signed change of on hand
    Column("on_hand_after_milli", BigInteger, nullable=False),
    Column("unit", Text, nullable=False),
    Column("business_day", Text, nullable=False),
    Column("event_id", Text),
    Column("kiosk_id", Text),
    Column("seq", BigInteger),
    Column("supplier", Text),
    Column("purchase_order", Text),
    Column("reason", Text),
    Column("created_at", Text, nullable=False),
)
Index("ix_stock_movements_store_day", stock_movements.c.store_id, stock_movements.c.business_day)

alerts_outbox = Table(
    "alerts_outbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("alert_id", Text, nullable=False, unique=True),
    Column("topic", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("published_at", Text),
)
Index("ix_alerts_outbox_pending", alerts_outbox.c.published_at, alerts_outbox.c.id)

# ----------------------------------------------------------------------------------- finance
sales = Table(
    "sales",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("kiosk_id", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("business_day", Text, nullable=False),
    Column("occurred_at", Text, nullable=False),
    Column("receipt_no", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("tax_mode", Text, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("rounding", BigInteger, nullable=False),
    Column("due", BigInteger, nullable=False),
    Column("line_count", Integer, nullable=False),
)
Index("ix_sales_store_day", sales.c.store_id, sales.c.business_day)
Index("ix_sales_kiosk_seq", sales.c.kiosk_id, sales.c.seq)

ledger_lines = Table(
    "ledger_lines",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False),
    Column("kiosk_id", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("business_day", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("account", Text, nullable=False),  # revenue | tax | rounding | tender | gross | ...
    Column("code", Text, nullable=False),  # tax code, tender type or discount kind ("" if none)
    Column("side", Text, nullable=False),  # debit | credit | memo
    Column("amount", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),  # entries summed into the line (tenders: payments)
)
Index("ix_ledger_store_day", ledger_lines.c.store_id, ledger_lines.c.business_day)
Index("ix_ledger_kiosk_seq", ledger_lines.c.kiosk_id, ledger_lines.c.seq)
Index("ix_ledger_event", ledger_lines.c.event_id)

shifts = Table(
    "shifts",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("shift_id", Text, nullable=False),
    Column("kiosk_id", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("business_day", Text, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("declared", Text, nullable=False),  # the event's figures, canonical JSON
    Column("status", Text, nullable=False),  # pending | reconciled | discrepancy
    Column("reconciled_at", Text),
    Column("detail", Text, nullable=False),
)
Index("ix_shifts_kiosk_status", shifts.c.kiosk_id, shifts.c.status)

# Members' points and stored value as central follows them (central.members): one row per
# movement of a sale or refund event, or a credit recorded at central (event_id "credit:...").
member_movements = Table(
    "member_movements",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False),
    Column("member_id", Text, nullable=False),
    Column("account", Text, nullable=False),  # points | stored_value
    Column("kind", Text, nullable=False),  # earn | redeem | refund | unearn | credit | debit
    Column("amount", BigInteger, nullable=False),  # signed: points, or minor units
    Column("kiosk_id", Text, nullable=False),  # "" for a credit at central
    Column("store_id", Text, nullable=False),
    Column("seq", BigInteger),
    Column("business_day", Text, nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("event_id", "account", "kind", name="uq_member_movement"),
)
Index("ix_member_movements_member", member_movements.c.member_id, member_movements.c.business_day)
Index("ix_member_movements_store_day", member_movements.c.store_id, member_movements.c.business_day)
