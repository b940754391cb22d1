"""The project's exception tree. Every module raises the most specific class here.

    KioskError                      base of everything the kiosk raises on purpose
    ├── ConfigError                 bad configuration; names the key (``key``) and why
    ├── MoneyError                  currency mismatch, unknown currency, float given as money
    ├── CatalogError                catalog data or import problem
    │   └── CatalogImportError      a row of an import file is wrong (``line`` number)
    ├── LaneError                   a lane command that cannot be done now (``code`` for clients)
    │   ├── NotAllowed              needs an attendant or a role the current user lacks
    │   └── InvalidCommand          malformed command or bad argument
    ├── AuthError                   staff login refused (bad PIN, unknown badge, locked out)
    ├── PaymentError                a payment adapter failure mapped to the core
    ├── StoreError                  the local database cannot do what was asked
    │   ├── SchemaTooNew            kiosk.db was written by newer code than this one
    │   ├── StorageFull             disk or database size limit reached; nothing was written
    │   ├── StorageReadOnly         the file system or database is read-only
    │   └── IntegrityError          integrity check or hash chain verification failed
    └── DeviceError                 a device adapter failure (hardware issue)

Adapters map library errors into this tree with ``raise ... from exc``.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base class for every error the kiosk raises deliberately."""


class ConfigError(KioskError):
    """A configuration value is missing or wrong. ``key`` is the dotted TOML key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")


class MoneyError(KioskError):
    """Money misuse: mixing currencies, an unknown currency code, or a float."""


class CatalogError(KioskError):
    """The catalog cannot be read or used as asked."""


class CatalogImportError(CatalogError):
    """A catalog import file has a bad row; ``line`` is the 1-based line number in the file."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}")


class LaneError(KioskError):
    """A lane command cannot be done in the lane's current state.

    ``code`` is a stable, machine-readable identifier used by the lane protocol.
    """

    code = "lane_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(message)


class NotAllowed(LaneError):
    """The command needs an attendant (or a supervisor) to be logged in."""

    code = "not_allowed"


class InvalidCommand(LaneError):
    """The command is malformed or one of its arguments is wrong."""

    code = "invalid_command"


class AuthError(KioskError):
    """Staff authentication refused: unknown badge, wrong PIN, or locked out."""


class PaymentError(KioskError):
    """A payment adapter failed in a way the core must handle."""


class StoreError(KioskError):
    """The local store (kiosk.db) could not do what was asked."""


class SchemaTooNew(StoreError):
    """kiosk.db has a schema version newer than this code knows."""


class StorageFull(StoreError):
    """The disk or the database size limit is full; the transaction was rolled back."""


class StorageReadOnly(StoreError):
    """The database file or its folder is read-only; nothing can be recorded."""


class IntegrityError(StoreError):
    """An integrity, schema or hash-chain check failed."""


class DeviceError(KioskError):
    """A device could not do what was asked."""
