"""The sync agent's store with fleet trust: outbox plus fleet keys, seen token ids, config.

``SqliteSyncStore`` is ``kiosk.store.outbox.SqliteOutbox`` (``kiosk.sync.ports.SyncStore``)
plus ``kiosk.sync.signing.TrustStore``: the tables ``fleet_keys``, ``fleet_tokens`` and
``fleet_config`` (migration 7). Used only by the sync agent, on its one thread, over its own
connection; every write is one short ``BEGIN IMMEDIATE`` transaction.

Applying a config document writes the document and ``kiosk_state.config_version`` (the highest
applied version over both scopes, what the birth reports) in one transaction, after checking
under the write lock that the version is above the applied one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Final

from kiosk.store.db import open_db, translate_errors, write_transaction
from kiosk.store.migrations import migrate
from kiosk.store.outbox import SqliteOutbox

logger = logging.getLogger(__name__)

FORGET_AFTER_S: Final = 3600.0  # a seen token id is kept this long past its exp


@dataclass(frozen=True, slots=True)
class FleetKeyRow:
    kid: str
    public_key: str
    retire_at: float | None


class SqliteSyncStore(SqliteOutbox):
    """``SyncStore`` and ``TrustStore`` over kiosk.db (see the module docstring)."""

    def fleet_keys(self) -> list[FleetKeyRow]:
        with translate_errors():
            rows = self._conn.execute(
                "SELECT kid, public_key, retire_at FROM fleet_keys ORDER BY n"
            ).fetchall()
        return [
            FleetKeyRow(str(r[0]), str(r[1]), None if r[2] is None else float(r[2])) for r in rows
        ]

    def add_fleet_key(
        self, kid: str, public_key: str, origin: str, retire_others_at: float | None
    ) -> None:
        with write_transaction(self._conn) as conn:
            added = conn.execute(
                "INSERT INTO fleet_keys (kid, public_key, origin) VALUES (?, ?, ?) "
                "ON CONFLICT (kid) DO NOTHING",
                (kid, public_key, origin),
            ).rowcount
            if retire_others_at is not None:
                conn.execute(
                    "UPDATE fleet_keys SET retire_at = ? WHERE kid != ? "
                    "AND (retire_at IS NULL OR retire_at > ?)",
                    (retire_others_at, kid, retire_others_at),
                )
        if added:
            logger.info("fleet key %s recorded (%s)", kid, origin)

    def remember_token(self, jti: str, exp: float, kind: str, now: float) -> bool:
        with write_transaction(self._conn) as conn:
            conn.execute("DELETE FROM fleet_tokens WHERE exp < ?", (now - FORGET_AFTER_S,))
            return bool(
                conn.execute(
                    "INSERT INTO fleet_tokens (jti, exp, kind) VALUES (?, ?, ?) "
                    "ON CONFLICT (jti) DO NOTHING",
                    (jti, exp, kind),
                ).rowcount
            )

    def config_version(self, scope: str) -> int:
        with translate_errors():
            row = self._conn.execute(
                "SELECT config_version FROM fleet_config WHERE scope = ?", (scope,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def apply_config(self, scope: str, version: int, body: str, jti: str, kid: str) -> bool:
        with write_transaction(self._conn) as conn:
            row = conn.execute(
                "SELECT config_version FROM fleet_config WHERE scope = ?", (scope,)
            ).fetchone()
            if row is not None and int(row[0]) >= version:
                return False
            conn.execute(
                "INSERT INTO fleet_config (scope, config_version, body, jti, kid) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET "
                "config_version = excluded.config_version, body = excluded.body, "
                "jti = excluded.jti, kid = excluded.kid, applied_at = excluded.applied_at",
                (scope, version, body, jti, kid),
            )
            conn.execute(
                "INSERT INTO kiosk_state (key, value) "
                "SELECT 'config_version', CAST(max(config_version) AS TEXT) FROM fleet_config "
                "WHERE true ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
        return True


def open_sync_store(path: str | os.PathLike[str]) -> SqliteSyncStore:
    """``SqliteSyncStore`` on a new connection to kiosk.db (schema brought up to date)."""
    db = open_db(path)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return SqliteSyncStore(db)
