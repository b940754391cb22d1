"""``kiosk db backup`` and ``kiosk db restore``: online consistent backups and safe restores.

Called from the CLI on its own thread and connections.

``backup`` uses SQLite's online backup API in a single step on a read-only connection: the copy
is one consistent snapshot of the database (a committed state), even while the lane keeps
selling on its own connection (WAL: the reader does not block the writer). The copy is written
next to the destination as ``*.partial``, converted to a self-contained rollback-journal file,
checked (``quick_check``), fsynced and renamed into place, so a backup file is whole or absent.

``restore`` first verifies the backup (integrity_check, schema version, hash chain, outbox and
sales consistency: ``kiosk.store.check``) and refuses a damaged or newer one. Then, with the
kiosk stopped (``kiosk run`` and ``kiosk sync`` must not have kiosk.db open), it keeps the
current database as ``<db>.pre-restore-<UTC time>`` (plus its ``-wal``), removes the stale
``-wal``/``-shm`` (which must never be replayed onto another file), and renames a verified
copy into place. If the machine dies between those two steps the old main file stays in place
and the aside copy still has its WAL.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from kiosk.errors import IntegrityError, SchemaTooNew, StoreError
from kiosk.store.check import CheckReport, check_db
from kiosk.store.db import connect, translate_errors
from kiosk.store.migrations import SCHEMA_VERSION, too_new_message

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    schema_version: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class RestoreReport:
    path: Path
    previous_saved_as: Path | None
    schema_version: int
    last_seq: int


def _utc_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(db_path: str | os.PathLike[str], dest: str | os.PathLike[str]) -> BackupReport:
    """Write a consistent copy of kiosk.db at ``db_path`` to ``dest`` (a file, or an existing
    folder to get ``kiosk-<UTC time>.db`` inside it)."""
    source = Path(db_path)
    if not source.is_file():
        raise StoreError(f"no database at {source}")
    target = Path(dest)
    if target.is_dir():
        target = target / f"kiosk-{_utc_stamp()}.db"
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = connect(source, read_only=True)
    try:
        with translate_errors():
            dst = sqlite3.connect(str(partial), isolation_level=None)
            try:
                src.backup(dst)  # pages=-1: one step, one read transaction, one snapshot
                dst.execute("PRAGMA journal_mode=DELETE")
                if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise IntegrityError(f"the backup written to {partial} does not check ok")
                version = int(dst.execute("PRAGMA user_version").fetchone()[0])
                last = dst.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0]
            finally:
                dst.close()
    finally:
        src.close()
    _fsync_file(partial)
    os.replace(partial, target)
    _fsync_dir(target.parent)
    size = target.stat().st_size
    logger.info("backup of %s written to %s (%d bytes, last seq %s)", source, target, size, last)
    return BackupReport(target, size, version, int(last))


def verify_backup(backup_path: str | os.PathLike[str]) -> CheckReport:
    """Check a backup file without changing it; raise if it must not be restored."""
    path = Path(backup_path)
    if not path.is_file():
        raise StoreError(f"no backup file at {path}")
    uri = f"file:{quote(str(path.absolute()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise IntegrityError(f"{path} cannot be opened as a database: {exc}") from exc
    try:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise IntegrityError(f"{path} is not a kiosk.db backup: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(too_new_message(version).replace("kiosk.db", f"backup {path}"))
        if version == 0:
            raise IntegrityError(f"{path} is not a kiosk.db backup (no schema)")
        report = check_db(sqlite_utils.Database(conn, execute_plugins=False))
    finally:
        conn.close()
    if not report.ok:
        raise IntegrityError(f"backup {path} failed its check, not restored: {report.summary()}")
    return report


def restore(backup_path: str | os.PathLike[str], db_path: str | os.PathLike[str]) -> RestoreReport:
    """Replace kiosk.db at ``db_path`` with a verified copy of ``backup_path``.

    Stop ``kiosk run`` and ``kiosk sync`` first. Raises ``IntegrityError`` (damaged backup) or
    ``SchemaTooNew`` (backup from newer software) before touching anything.
    """
    report = verify_backup(backup_path)
    target = Path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup_path, staged)
    _fsync_file(staged)
    saved_as: Path | None = None
    wal = target.with_name(target.name + "-wal")
    shm = target.with_name(target.name + "-shm")
    if target.exists():
        saved_as = target.with_name(f"{target.name}.pre-restore-{_utc_stamp()}")
        shutil.copyfile(target, saved_as)
        if wal.exists():
            shutil.copyfile(wal, saved_as.with_name(saved_as.name + "-wal"))
        _fsync_file(saved_as)
    wal.unlink(missing_ok=True)
    shm.unlink(missing_ok=True)
    os.replace(staged, target)
    _fsync_dir(target.parent)
    logger.info("restored %s from %s (last seq %d)", target, backup_path, report.last_seq)
    return RestoreReport(target, saved_as, report.schema_version, report.last_seq)
