"""What ``kiosk sync`` needs from kiosk.db, as ``typing.Protocol`` s (no I/O here).

``kiosk.store.outbox.SqliteOutbox`` implements ``SyncStore``; the entry point hands it in (the
sync package never imports the store: adapters stay independent). Every method is a short
transaction of its own, called on the sync agent's one thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from kiosk.protocol.mqtt import Ack


class OutboxRow(Protocol):
    """One event to publish: ``payload`` is the canonical JSON of the sealed event."""

    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> str: ...


class AckCounts(Protocol):
    """What a batch of acks changed: rows that got a new group ack, rows settled by it, and
    event ids that matched no row (unknown or purged: harmless)."""

    @property
    def acked(self) -> int: ...
    @property
    def settled(self) -> int: ...
    @property
    def unknown(self) -> int: ...


class OutboxStats(Protocol):
    """The backlog: rows not settled, of those never PUBACKed, the oldest unsettled row's age
    in seconds (0 when none), and the last journal seq."""

    @property
    def unsettled(self) -> int: ...
    @property
    def unpublished(self) -> int: ...
    @property
    def oldest_unsettled_s(self) -> float: ...
    @property
    def last_seq(self) -> int: ...


class KioskStatus(Protocol):
    """From ``kiosk_state``: the lane's boot counter, catalog and config versions."""

    @property
    def boot(self) -> int: ...
    @property
    def catalog_version(self) -> str: ...
    @property
    def config_version(self) -> int: ...


class SyncStore(Protocol):
    def pending_after(self, after_seq: int, limit: int) -> Sequence[OutboxRow]:
        """Rows never PUBACKed (``pending``) with seq > ``after_seq``, in seq order."""
        ...

    def due_for_republish(self, ack_timeout_s: float, limit: int) -> Sequence[OutboxRow]:
        """``sent`` rows whose last PUBACK is older than ``ack_timeout_s`` (doubled with each
        further attempt, up to 16 x), in seq order."""
        ...

    def rows_in_range(self, from_seq: int, to_seq: int, limit: int) -> Sequence[OutboxRow]:
        """Every event with ``from_seq <= seq <= to_seq`` whatever its state (purged outbox
        rows are rebuilt from the journal), in seq order."""
        ...

    def record_publish_results(self, sent: Sequence[int], failed: Sequence[int]) -> None:
        """PUBACK outcomes: ``sent`` seqs are marked sent (a settled row stays settled),
        ``failed`` ones keep their state; both count an attempt."""
        ...

    def record_acks(
        self,
        acks: Sequence[tuple[str, Ack]],
        required_groups: Sequence[str],
        *,
        sent: Sequence[int] = (),
        failed: Sequence[int] = (),
    ) -> AckCounts:
        """Record ``(group, ack)`` pairs; settle rows every required group has acked. PUBACK
        results (as ``record_publish_results``) are written in the same transaction."""
        ...

    def settle_acked(self, required_groups: Sequence[str]) -> int:
        """Settle rows already acked by every required group (after a config change)."""
        ...

    def purge_settled(self, older_than_days: int) -> int:
        """Delete settled rows older than the given age (a seq prefix); returns the count."""
        ...

    def stats(self) -> OutboxStats: ...

    def kiosk_status(self) -> KioskStatus: ...

    def audit(self, kind: str, detail: Mapping[str, Any]) -> None:
        """Append one row to the local audit table."""
        ...

    def close(self) -> None: ...
