"""Opening kiosk.db and mapping SQLite failures into the kiosk's error tree.

Every connection the kiosk opens goes through ``connect`` (``open_db`` wraps it in a
``sqlite_utils.Database``), so every connection gets the same settings::

    PRAGMA busy_timeout=5000     wait up to 5 s for another writer instead of failing at once
    PRAGMA journal_mode=WAL      readers never block the writer, the writer never blocks readers
    PRAGMA synchronous=FULL      a COMMIT that returned survives a power cut
    PRAGMA foreign_keys=ON       the schema's references are enforced

Connections run in autocommit mode (``isolation_level=None``): a lone statement commits by
itself and ``write_transaction`` opens explicit ``BEGIN IMMEDIATE`` transactions, so nothing
depends on the sqlite3 module's implicit transactions. A connection may be handed to another
thread (``check_same_thread=False``) but must be used by one thread at a time: each thread (the
lane, ``kiosk sync``, a CLI command) opens its own.

``translate_errors`` maps ``sqlite3`` errors to ``kiosk.errors``: a full disk or database to
``StorageFull``, a read-only file, folder or connection to ``StorageReadOnly``, a corrupt file
to ``IntegrityError``, anything else to ``StoreError``. Every repository uses it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

import sqlite_utils

from kiosk.errors import IntegrityError, StorageFull, StorageReadOnly, StoreError

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS: Final[int] = 5000

# Primary SQLite result codes (extended codes carry the primary one in their low byte).
_SQLITE_PERM: Final[int] = 3
_SQLITE_BUSY: Final[int] = 5
_SQLITE_LOCKED: Final[int] = 6
_SQLITE_READONLY: Final[int] = 8
_SQLITE_CORRUPT: Final[int] = 11
_SQLITE_FULL: Final[int] = 13
_SQLITE_CANTOPEN: Final[int] = 14
_SQLITE_NOTADB: Final[int] = 26


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def map_error(exc: sqlite3.Error) -> StoreError:
    """The kiosk error for a sqlite3 error (the caller raises it ``from exc``)."""
    code = _primary_code(exc)
    text = str(exc)
    lowered = text.lower()
    if code == _SQLITE_FULL or "database or disk is full" in lowered:
        return StorageFull(f"kiosk.db is full (disk or size limit); nothing was written: {text}")
    if (
        code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN)
        or "readonly database" in lowered
        or "unable to open" in lowered
    ):
        return StorageReadOnly(f"kiosk.db cannot be written (read-only file or folder): {text}")
    if (
        code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
        or "not a database" in lowered
        or "malformed" in lowered
    ):
        return IntegrityError(f"kiosk.db is damaged: {text}; restore a backup")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(f"kiosk.db is busy (another writer held it too long): {text}")
    return StoreError(f"kiosk.db error: {text}")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise any ``sqlite3.Error`` inside the block as the matching ``StoreError``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise map_error(exc) from exc


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception; maps SQLite errors.

    IMMEDIATE takes the write lock at the start (waiting up to busy_timeout), so a transaction
    never fails half-way because another connection wrote first.
    """
    with translate_errors():
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLITE_FULL and some I/O errors roll the transaction back by themselves.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _configure(conn: sqlite3.Connection, read_only: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # A read-only connection cannot change the journal mode (a backup file is in rollback
    # mode until a writer opens it): it only reads the mode.
    pragma = "PRAGMA journal_mode" if read_only else "PRAGMA journal_mode=WAL"
    mode = conn.execute(pragma).fetchone()[0]
    if str(mode).lower() != "wal":
        if not read_only:
            raise StoreError(f"kiosk.db could not be put in WAL mode (journal_mode is {mode})")
        logger.warning("read-only kiosk.db is in journal mode %s, not WAL", mode)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> sqlite3.Connection:
    """A configured sqlite3 connection to ``path`` (see the module docstring).

    ``read_only`` opens with the URI ``mode=ro``: SQLite then refuses every write with
    SQLITE_READONLY, exactly as when the file or file system is read-only. Otherwise the
    parent folder is created when missing.
    """
    target = Path(path)
    with translate_errors():
        if read_only:
            uri = f"file:{quote(str(target.absolute()))}?mode=ro"
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0
            )
        else:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageReadOnly(f"cannot create the folder of {target}: {exc}") from exc
            conn = sqlite3.connect(
                str(target), isolation_level=None, check_same_thread=False, timeout=5.0
            )
        try:
            _configure(conn, read_only)
        except BaseException:
            conn.close()
            raise
    return conn


def open_db(path: str | os.PathLike[str], *, read_only: bool = False) -> sqlite_utils.Database:
    """kiosk.db at ``path`` as a ``sqlite_utils.Database`` over a ``connect`` connection.

    The schema is not touched: call ``kiosk.store.migrations.migrate(db)`` once at start.
    """
    conn = connect(path, read_only=read_only)
    with translate_errors():
        return sqlite_utils.Database(conn, execute_plugins=False)
