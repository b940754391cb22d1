"""The local store: kiosk.db through sqlite-utils (adapter; the only package using sqlite).

Start-up (composition root)::

    db = open_db(config.paths.db)        # pragmas on the connection
    migrate(db)                          # schema to SCHEMA_VERSION, SchemaTooNew if newer
    store = SqliteLaneStore(db, config.kiosk.id)
    catalog = SqliteCatalog(db)
    staff = SqliteStaffDirectory(db)

Each thread or process opens its own ``open_db``. Errors are ``kiosk.errors.StoreError`` and
its subclasses (StorageFull, StorageReadOnly, IntegrityError, SchemaTooNew).
"""

from kiosk.store.backup import BackupReport, RestoreReport, backup, restore, verify_backup
from kiosk.store.catalog import SqliteCatalog, open_catalog_reader
from kiosk.store.catalog_import import ImportReport, import_catalog
from kiosk.store.check import CheckReport, check_db
from kiosk.store.db import connect, open_db, translate_errors, write_transaction
from kiosk.store.importing import ImportRejected, RowProblem
from kiosk.store.lane_store import SqliteLaneStore, StoredSale
from kiosk.store.migrations import SCHEMA_VERSION, migrate, schema_version
from kiosk.store.promotions import PromotionsImport, SqlitePromotions, import_promotions
from kiosk.store.staff import (
    SqliteMembers,
    SqliteStaffDirectory,
    import_members,
    import_staff,
    phone_hash,
)

__all__ = [
    "SCHEMA_VERSION",
    "BackupReport",
    "CheckReport",
    "ImportRejected",
    "ImportReport",
    "PromotionsImport",
    "RestoreReport",
    "RowProblem",
    "SqliteCatalog",
    "SqliteLaneStore",
    "SqliteMembers",
    "SqlitePromotions",
    "SqliteStaffDirectory",
    "StoredSale",
    "backup",
    "check_db",
    "connect",
    "import_catalog",
    "import_members",
    "import_promotions",
    "import_staff",
    "migrate",
    "open_catalog_reader",
    "open_db",
    "phone_hash",
    "restore",
    "schema_version",
    "translate_errors",
    "verify_backup",
    "write_transaction",
]
